//! Runs last (cargo runs integration test binaries in target-name order): prints which
//! oracle-backed tests of this `cargo test` run were skipped and how to install what they
//! need, so a skip never looks like a pass. `BYOC_REQUIRE_ORACLES=1` turns skips into
//! failures instead (CI).

#[path = "support/skipped.rs"]
mod skipped;

use std::io::Write;

#[test]
fn summary_of_skipped_oracle_backed_tests() {
    let path = skipped::list_path();
    let Ok(list) = std::fs::read_to_string(&path) else {
        return;
    };
    let _ = std::fs::remove_file(&path);
    let lines: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\n{} oracle-backed test check(s) were SKIPPED in this run (they passed without checking):",
        lines.len()
    );
    for line in lines {
        let _ = writeln!(err, "  {line}");
    }
    let _ = writeln!(
        err,
        "Install what they name (or run .ci/run), or set BYOC_REQUIRE_ORACLES=1 to make a skip fail.\n"
    );
}
