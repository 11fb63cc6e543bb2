//! API GETs under 32 keep-alive connections against a real `byoc serve` on loopback. The load
//! generator is this bench (a minimal HTTP/1.1 client on a 2-thread tokio runtime), so it
//! shares the machine's cores with the server, as the target says.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

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

/// The floor, then GET tenant / config / status, each for `secs` after a one-second warm-up.
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
    let only = std::env::var("BENCH_API_ONLY").ok();
    let wanted = |key: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|w| w.trim() == key))
    };
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
        if !wanted(key) {
            continue;
        }
        rt.block_on(load(addr, path, Duration::from_secs(1)));
        let mut l = rt.block_on(load(addr, path, Duration::from_secs(secs)));
        let rps = l.requests as f64 / l.elapsed.as_secs_f64();
        let (p50, p99) = (
            percentile(&mut l.latencies_us, 50.0),
            percentile(&mut l.latencies_us, 99.0),
        );
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_default();
        let figure = format!(
            "{rps:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors (load {load})",
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0,
            l.errors
        );
        if key == "floor" {
            report.row(
                &format!("API {name}, {CONNECTIONS} connections"),
                figure,
                "(the machine's floor)",
                true,
            );
            continue;
        }
        report.row(
            &format!("API {name}, {CONNECTIONS} connections"),
            figure,
            "≥ 15,000 req/s, p99 ≤ 2.5 ms",
            rps >= 15_000.0 && p99 <= 2_500 && l.errors == 0,
        );
    }
}
