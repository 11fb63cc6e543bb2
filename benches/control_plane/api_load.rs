//! API GETs under 32 keep-alive connections against a real `byoc serve` on loopback. The load
//! generator is this bench (a minimal HTTP/1.1 client on a 2-thread tokio runtime), so it
//! shares the machine's cores with the server, as the target says.
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
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::cluster::TOKEN;
use crate::http::{Conn, get_request};
use crate::report::{Report, percentile};

pub const CONNECTIONS: usize = 32;

struct Load {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<i64>,
}

async fn load(addr: SocketAddr, path: &str, duration: Duration) -> Load {
    let request = get_request(addr, path, TOKEN);
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0;
            let mut conn = Conn::connect(addr).await.expect("connect");
            while Instant::now() < deadline {
                let t = Instant::now();
                match conn.send(&request).await {
                    Ok(200) => lat.push(t.elapsed().as_micros() as i64),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        conn = Conn::connect(addr).await.expect("reconnect");
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut out = Load {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies_us: vec![],
    };
    for t in tasks {
        let (lat, errors) = t.await.unwrap();
        out.requests += lat.len();
        out.errors += errors;
        out.latencies_us.extend(lat);
    }
    out.elapsed = start.elapsed();
    out
}

struct OpenLoad {
    requests: usize,
    errors: usize,
    /// First intended send to the last answer.
    elapsed: Duration,
    /// Answer time minus intended send time.
    latencies_us: Vec<i64>,
    /// Actual send time minus intended send time (the generator's own delay, plus any wait
    /// behind a slow answer on the same connection): a diagnostic.
    lags_us: Vec<i64>,
}

/// `rate` requests a second for `duration`, spread round-robin over the connections: request
/// k is intended at `start + k / rate` on connection `k % CONNECTIONS`, whatever happened to
/// the earlier ones. The schedule is kept by one OS thread sleeping to each intended time
/// (`nanosleep`, tens of microseconds late at most on an idle core; tokio's timer wheel has a
/// 1 ms resolution, which would be counted as latency); a connection still waiting for an
/// answer when its next request is due sends it as soon as the answer arrives, and that
/// request's latency includes the wait.
///
/// `batch` (`BENCH_API_BATCH_US`, default 0): the pacer sleeps that much past each due time
/// and then hands out every request due by then at once: fewer wake-ups of the pacer and of
/// the generator's workers, at the price of up to `batch` of the generator's own delay,
/// counted as latency.
async fn open_load(
    addr: SocketAddr,
    path: &str,
    rate: f64,
    batch: Duration,
    duration: Duration,
) -> OpenLoad {
    let request = get_request(addr, path, TOKEN);
    let mut queues = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut conn = Conn::connect(addr).await.expect("connect");
        let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
        queues.push(tx);
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut lags) = (Vec::new(), Vec::new());
            let mut errors = 0;
            let mut last = None;
            while let Some(intended) = rx.recv().await {
                lags.push(
                    Instant::now()
                        .saturating_duration_since(intended)
                        .as_micros() as i64,
                );
                match conn.send(&request).await {
                    Ok(200) => {
                        let done = Instant::now();
                        lat.push(done.duration_since(intended).as_micros() as i64);
                        last = Some(done);
                    }
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        conn = Conn::connect(addr).await.expect("reconnect");
                    }
                }
            }
            (lat, lags, errors, last)
        }));
    }
    let start = Instant::now() + Duration::from_millis(5);
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let pacer = std::thread::spawn(move || {
        for k in 0..total {
            let intended = start + Duration::from_secs_f64(k as f64 / rate);
            let now = Instant::now();
            if intended > now {
                std::thread::sleep(intended - now + batch);
            }
            if queues[k as usize % CONNECTIONS].send(intended).is_err() {
                break;
            }
        }
        // Dropping the queues ends each connection's task once it has sent what it holds.
    });
    let mut out = OpenLoad {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies_us: vec![],
        lags_us: vec![],
    };
    let mut end = start;
    for t in tasks {
        let (lat, lags, errors, last) = t.await.unwrap();
        out.requests += lat.len();
        out.errors += errors;
        out.latencies_us.extend(lat);
        out.lags_us.extend(lags);
        end = end.max(last.unwrap_or(start));
    }
    pacer.join().unwrap();
    out.elapsed = end.duration_since(start);
    out
}

/// This process's (the load generator's) CPU time since `cpu0` per request, µs.
fn per_request(cpu0: Duration, requests: usize) -> f64 {
    (crate::ingest::cpu() - cpu0).as_secs_f64() * 1e6 / requests.max(1) as f64
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

/// What a closed-loop run gives.
struct Closed {
    rps: f64,
    /// The load generator's CPU time (this process) per request, µs.
    cpu_us: f64,
    p50_us: i64,
    p99_us: i64,
    errors: usize,
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors, generator {:.1} µs CPU/request \
             (load {})",
            self.rps,
            ms(self.p50_us),
            ms(self.p99_us),
            self.errors,
            self.cpu_us,
            load_average()
        )
    }
}

/// A one-second warm-up, then the closed loop for `duration` on the generator runtime `rt`.
fn closed(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    path: &str,
    duration: Duration,
) -> Closed {
    rt.block_on(load(addr, path, Duration::from_secs(1)));
    let cpu0 = crate::ingest::cpu();
    let mut l = rt.block_on(load(addr, path, duration));
    Closed {
        cpu_us: per_request(cpu0, l.requests),
        rps: l.requests as f64 / l.elapsed.as_secs_f64(),
        p50_us: percentile(&mut l.latencies_us, 50.0),
        p99_us: percentile(&mut l.latencies_us, 99.0),
        errors: l.errors,
    }
}

const TARGET: &str = "≥ 15,000 req/s, p99 ≤ 2.5 ms";
const TARGET_RPS: f64 = 15_000.0;
const TARGET_P99_US: i64 = 2_500;

/// The floor, then GET tenant / config / status, each for `secs` after a one-second warm-up,
/// in each of the modes of `BENCH_API_MODES` (default `closed,open,closed1`):
/// - `closed`: the closed loop at maximum throughput (the row as it was before session 8);
/// - `open`: the open loop at `BENCH_API_RATE` req/s (default 15,000, the target's rate);
/// - `closed1`: the closed loop with the load generator on one thread instead of two, a
///   diagnostic only (how much of the closed loop's p99 is the generator's two busy threads
///   competing with the server's two workers for the two cores).
///
/// The floor is `GET /health` under the same load: no authentication, no database, a tiny
/// body, but the same middleware (request span, request id, edge headers), HTTP parsing and
/// scheduling of 32 connections on the shared cores. What the three GETs cost beyond it is
/// their own work; what they share with it is the machine, the load generator and actix.
/// `BENCH_API_ONLY=floor,status` measures only those (e.g. while `perf record` watches one).
pub fn measure(addr: SocketAddr, secs: u64, report: &mut Report) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rt1 = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
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
            let c = closed(&rt, addr, path, duration);
            let figure = c.to_string();
            let met = floor || (c.rps >= TARGET_RPS && c.p99_us <= TARGET_P99_US && c.errors == 0);
            report.row(
                &format!("API {name}, {CONNECTIONS} connections"),
                figure,
                target,
                met,
            );
        }
        if picked(&modes, "open") {
            rt.block_on(open_load(addr, path, rate, batch, Duration::from_secs(1)));
            let cpu0 = crate::ingest::cpu();
            let mut l = rt.block_on(open_load(addr, path, rate, batch, duration));
            let cpu_us = per_request(cpu0, l.requests);
            let scheduled = (rate * duration.as_secs_f64()).round() as usize;
            let achieved = l.requests as f64 / l.elapsed.as_secs_f64();
            let v = &mut l.latencies_us;
            let (p50, p99, p999) = (
                percentile(v, 50.0),
                percentile(v, 99.0),
                percentile(v, 99.9),
            );
            let lag99 = percentile(&mut l.lags_us, 99.0);
            let figure = format!(
                "{achieved:.0} req/s achieved of {rate:.0} offered (batch {} µs); from the intended send: \
                 p50 {:.2}, p99 {:.2}, p99.9 {:.2} ms (send lag p99 {:.2} ms), {} errors, \
                 generator {cpu_us:.1} µs CPU/request (load {})",
                batch.as_micros(),
                ms(p50),
                ms(p99),
                ms(p999),
                ms(lag99),
                l.errors,
                load_average()
            );
            // Every scheduled request answered, at (within rounding) the offered rate.
            let kept_up = l.requests == scheduled && achieved >= 0.99 * rate;
            let met =
                floor || (rate >= TARGET_RPS && kept_up && p99 <= TARGET_P99_US && l.errors == 0);
            report.row(
                &format!("API {name}, open loop, {CONNECTIONS} connections"),
                figure,
                target,
                met,
            );
        }
        if picked(&modes, "closed1") {
            let c = closed(&rt1, addr, path, duration);
            report.detail(format!(
                "diagnostic: API {name}, closed loop, generator on 1 thread: {c}"
            ));
        }
    }
}
