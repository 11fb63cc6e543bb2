//! The one deadline poll of the test suite: tests that wait for a real child process, a
//! background worker or a server poll a condition against a deadline instead of sleeping.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this support module"
)]

use std::time::{Duration, Instant};

/// How often conditions are checked.
const EVERY: Duration = Duration::from_millis(20);

/// Polls `check` until it gives a value; fails the test naming `what` after `deadline`.
pub async fn eventually<T>(
    what: &str,
    deadline: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(EVERY).await;
    }
}

/// [`eventually`] for a plain condition.
pub async fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    eventually(what, deadline, async || cond().then_some(())).await
}
