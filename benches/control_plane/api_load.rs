//! API GETs under 32 keep-alive connections against a real `byoc serve` on loopback. The load
//! generator is this bench (`loadgen.rs`: one thread, plain epoll, the request's bytes built
//! once), so it shares the machine's cores with the server, as the target says; each row
//! prints what it cost per request.
//!
//! Two ways of loading, each row printed next to the target:
//! - *closed loop*: each connection sends its next request when the answer arrives, as fast
//!   as the server goes. Its throughput is the maximum; its latency is latency at saturation,
//!   and it hides coordinated omission (a stalled server also stops the clock of the requests
//!   that would have been sent meanwhile).
//! - *open loop* (wrk2's method): the connections send at a fixed aggregate rate (the target's
//!   15,000 req/s) on a schedule set in advance, and each latency is measured from the
//!   request's *intended* send time, so a stall counts for every request it delayed, including
//!   those waiting to be sent. The latency at the target's rate is what the target states.

use std::net::SocketAddr;
use std::time::Duration;

use crate::cluster::TOKEN;
use crate::http::get_request;
use crate::loadgen::{self, Mode, Outcome};
use crate::report::{Report, percentile};

pub const CONNECTIONS: usize = 32;

/// A one-second warm-up in `mode`, then the run.
fn load(addr: SocketAddr, path: &str, mode: Mode) -> Outcome {
    let request = get_request(addr, path, TOKEN);
    let warm = match mode {
        Mode::Closed { .. } => Mode::Closed {
            duration: Duration::from_secs(1),
        },
        Mode::Open { rate, batch, .. } => Mode::Open {
            rate,
            batch,
            duration: Duration::from_secs(1),
        },
    };
    loadgen::run(addr, &request, CONNECTIONS, warm).expect("warm-up");
    loadgen::run(addr, &request, CONNECTIONS, mode).expect("load")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

const TARGET: &str = "≥ 15,000 req/s, p99 ≤ 2.5 ms";
const TARGET_RPS: f64 = 15_000.0;
const TARGET_P99_US: i64 = 2_500;

/// The floor, then GET tenant / config / status, each for `secs` after a one-second warm-up,
/// in each of the modes of `BENCH_API_MODES` (default `closed,open`):
/// - `closed`: the closed loop at maximum throughput;
/// - `open`: the open loop at `BENCH_API_RATE` req/s (default 15,000, the target's rate),
///   its pacer's wake-ups put off by up to `BENCH_API_BATCH_US` (default 0).
///
/// The floor is `GET /health` under the same load: no authentication, no database, a tiny
/// body, but the same middleware (request span, request id, edge headers), HTTP parsing and
/// scheduling of 32 connections on the shared cores. What the three GETs cost beyond it is
/// their own work; what they share with it is the machine, the load generator and actix.
/// `BENCH_API_ONLY=floor,status` measures only those (e.g. while `perf record` watches one).
pub fn measure(addr: SocketAddr, secs: u64, report: &mut Report) {
    loadgen::self_check();
    let list = |name: &str| std::env::var(name).ok();
    let (only, modes) = (list("BENCH_API_ONLY"), list("BENCH_API_MODES"));
    let picked = |list: &Option<String>, key: &str| {
        list.as_deref()
            .is_none_or(|o| o.split(',').any(|w| w.trim() == key))
    };
    let rate: f64 = list("BENCH_API_RATE")
        .and_then(|r| r.parse().ok())
        .unwrap_or(TARGET_RPS);
    let batch = Duration::from_micros(
        list("BENCH_API_BATCH_US")
            .and_then(|b| b.parse().ok())
            .unwrap_or(0),
    );
    let duration = Duration::from_secs(secs);
    for (key, name, path) in [
        ("floor", "floor (GET /health)", "/health"),
        ("tenant", "GET tenant", "/api/v1/tenants/acme"),
        (
            "config",
            "GET config",
            "/api/v1/tenants/acme/environments/prod/config",
        ),
        (
            "status",
            "GET status",
            "/api/v1/tenants/acme/environments/prod/status",
        ),
    ] {
        if !picked(&only, key) {
            continue;
        }
        let floor = key == "floor";
        let target = if floor {
            "(the machine's floor)"
        } else {
            TARGET
        };
        if picked(&modes, "closed") {
            let mut c = load(addr, path, Mode::Closed { duration });
            let (p50, p99) = (
                percentile(&mut c.latencies_us, 50.0),
                percentile(&mut c.latencies_us, 99.0),
            );
            let rps = c.rate();
            let figure = format!(
                "{rps:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors, generator {:.1} µs \
                 CPU/request (load {})",
                ms(p50),
                ms(p99),
                c.errors,
                c.cpu_us(),
                load_average()
            );
            let met = floor || (rps >= TARGET_RPS && p99 <= TARGET_P99_US && c.errors == 0);
            report.row(
                &format!("API {name}, {CONNECTIONS} connections"),
                figure,
                target,
                met,
            );
        }
        if picked(&modes, "open") {
            let mut l = load(
                addr,
                path,
                Mode::Open {
                    rate,
                    duration,
                    batch,
                },
            );
            let achieved = l.rate();
            let v = &mut l.latencies_us;
            let (p50, p99, p999) = (
                percentile(v, 50.0),
                percentile(v, 99.0),
                percentile(v, 99.9),
            );
            let lag99 = percentile(&mut l.lags_us, 99.0);
            let figure = format!(
                "{achieved:.0} req/s achieved of {rate:.0} offered (batch {} µs); from the \
                 intended send: p50 {:.2}, p99 {:.2}, p99.9 {:.2} ms (send lag p99 {:.2} ms), \
                 {} errors, {} unanswered, generator {:.1} µs CPU/request, {:.2} wake-ups/request \
                 (load {})",
                batch.as_micros(),
                ms(p50),
                ms(p99),
                ms(p999),
                ms(lag99),
                l.errors,
                l.unanswered,
                l.cpu_us(),
                l.wakeups as f64 / l.completed().max(1) as f64,
                load_average()
            );
            // Every scheduled request answered, at (within rounding) the offered rate.
            let kept_up = l.answered == l.scheduled && achieved >= 0.99 * rate;
            let met =
                floor || (rate >= TARGET_RPS && kept_up && p99 <= TARGET_P99_US && l.errors == 0);
            report.row(
                &format!("API {name}, open loop, {CONNECTIONS} connections"),
                figure,
                target,
                met,
            );
        }
    }
}
