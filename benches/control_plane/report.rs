//! The figures, each next to its target, printed as a Markdown table.

pub struct Row {
    measure: String,
    figure: String,
    target: String,
    met: bool,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    details: Vec<String>,
}

impl Report {
    pub fn row(&mut self, measure: &str, figure: String, target: &str, met: bool) {
        println!("  {measure}: {figure} (target {target}) {}", verdict(met));
        self.rows.push(Row {
            measure: measure.to_owned(),
            figure,
            target: target.to_owned(),
            met,
        });
    }

    pub fn detail(&mut self, line: String) {
        println!("{line}");
        self.details.push(line);
    }

    pub fn print(&self) {
        println!("\n| measure | figure | target | |\n|---|---|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} |",
                r.measure,
                r.figure,
                r.target,
                verdict(r.met)
            );
        }
        if !self.details.is_empty() {
            println!();
            for d in &self.details {
                println!("{}", d.trim_start());
            }
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// The q-th percentile (nearest rank) of `v` (sorted in place); 0 when empty.
pub fn percentile(v: &mut [i64], q: f64) -> i64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let rank = ((q / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Microseconds as milliseconds with one decimal.
pub fn ms(us: i64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}
