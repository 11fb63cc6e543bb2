//! Printing what a command read: the API's JSON as is, the same as YAML, or a table that fits
//! the terminal (80 columns at most). Also the small formatters tables share.

use comfy_table::{ContentArrangement, Table, presets};
use serde_json::Value;

use super::error::ClientError;
use crate::cli::OutputFormat;

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Requested format.
    pub format: OutputFormat,
    /// Table width.
    pub width: u16,
}

impl Printer {
    /// Prints `body` as JSON or YAML, or the table `table` builds from it.
    pub fn show(
        &self,
        body: &Value,
        table: impl FnOnce(&Value) -> String,
    ) -> Result<(), ClientError> {
        match self.format {
            OutputFormat::Table => print_text(&table(body)),
            OutputFormat::Json => println!("{}", json(body)),
            OutputFormat::Yaml => print!("{}", yaml(body)?),
        }
        Ok(())
    }

    /// A table with a header row.
    pub fn table(&self, header: &[&str], rows: Vec<Vec<String>>) -> String {
        let mut t = base(self.width);
        t.set_header(header.to_vec());
        for row in rows {
            t.add_row(row);
        }
        pad(&mut t);
        t.trim_fmt()
    }

    /// A two-column `key  value` table (one record).
    pub fn pairs(&self, rows: Vec<(&str, String)>) -> String {
        let mut t = base(self.width);
        for (k, v) in rows {
            t.add_row(vec![format!("{k}:"), v]);
        }
        pad(&mut t);
        t.trim_fmt()
    }
}

fn base(width: u16) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width);
    t
}

fn pad(t: &mut Table) {
    let n = t.column_count();
    for (i, col) in t.column_iter_mut().enumerate() {
        col.set_padding((0, if i + 1 == n { 0 } else { 2 }));
    }
}

/// Prints text followed by exactly one newline.
pub fn print_text(text: &str) {
    println!("{}", text.trim_end_matches('\n'));
}

/// Pretty JSON.
pub fn json(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// YAML.
pub fn yaml(v: &Value) -> Result<String, ClientError> {
    yaml_serde::to_string(v).map_err(|e| ClientError::Protocol(e.to_string()))
}

/// A string field, or `-` when absent or null.
pub fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM` (UTC), or `-`.
pub fn time(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(
            || "-".to_owned(),
            |t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            },
        )
}

/// A duration in seconds as `45s`, `3m05s` or `1h02m`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `create: 3, same: 5` as `3 created, 5 unchanged` (the change summary of an operation).
pub fn changes(summary: &Value) -> String {
    let Some(map) = summary.as_object() else {
        return "-".to_owned();
    };
    let words: Vec<String> = map
        .iter()
        .filter_map(|(op, n)| Some((op, n.as_u64()?)))
        .filter(|(_, n)| *n > 0)
        .map(|(op, n)| format!("{n} {}", past_tense(op)))
        .collect();
    if words.is_empty() {
        "no changes".to_owned()
    } else {
        words.join(", ")
    }
}

/// `create` → `created`, `same` → `unchanged`, …
pub fn past_tense(op: &str) -> String {
    match op {
        "same" => "unchanged".to_owned(),
        "create" => "created".to_owned(),
        "update" => "updated".to_owned(),
        "delete" => "deleted".to_owned(),
        "replace" => "replaced".to_owned(),
        "read" => "read".to_owned(),
        "refresh" => "refreshed".to_owned(),
        "import" => "imported".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn printer() -> Printer {
        Printer {
            format: OutputFormat::Table,
            width: 80,
        }
    }

    #[test]
    fn tables_fit_80_columns_even_with_long_cells() {
        let long = "x".repeat(200);
        let out = printer().table(
            &["ID", "NAME", "VALUE"],
            vec![vec![
                "0d1fbc36-4888-49ed-bd0a-3d7f88e236a9".into(),
                "n".into(),
                long,
            ]],
        );
        assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
        assert!(out.starts_with("ID"), "{out}");
    }

    #[test]
    fn durations_and_changes_read_naturally() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(185), "3m05s");
        assert_eq!(duration(3720), "1h02m");
        assert_eq!(
            changes(&json!({"create": 3, "same": 5, "delete": 0})),
            "3 created, 5 unchanged"
        );
        assert_eq!(changes(&json!({})), "no changes");
        assert_eq!(
            time(&json!({"t": "2026-01-02T03:04:05.6Z"}), "t"),
            "2026-01-02 03:04"
        );
    }
}
