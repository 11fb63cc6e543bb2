//! The offline validators of TESTING.md on the packaging files, when installed (`.ci/run`
//! installs them and sets BYOC_REQUIRE_ORACLES=1; elsewhere a missing tool prints SKIPPED).

#[path = "../support/skipped.rs"]
mod skipped;

use std::process::Command;

use super::{repo, require_oracles};

/// Runs `tool args…` from the repository root; `None` (after SKIPPED) when it is not installed.
fn run(tool: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(tool).args(args).current_dir(repo("")).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                !require_oracles(),
                "{tool} is missing and BYOC_REQUIRE_ORACLES=1 (see .ci/run)"
            );
            skipped::record(
                &format!("{tool} is not installed"),
                "see .ci/run for the pinned tools",
            );
            None
        }
        Err(e) => panic!("cannot run {tool}: {e}"),
    }
}

fn assert_ok(tool: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{tool} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hadolint_accepts_the_dockerfile() {
    if let Some(out) = run("hadolint", &["docker/Dockerfile"]) {
        assert_ok("hadolint", &out);
    }
}

#[test]
fn docker_compose_accepts_both_compose_files() {
    for file in [
        "docker/docker-compose.yml",
        "docker/docker-compose.sqlite.yml",
    ] {
        if let Some(out) = run("docker-compose", &["-f", file, "config", "-q"]) {
            assert_ok(&format!("docker-compose config {file}"), &out);
        }
    }
}

#[test]
fn kubernetes_validate_accepts_every_manifest() {
    let files: Vec<String> = super::k8s::resource_files()
        .into_iter()
        .map(|f| format!("docker/k8s/{f}"))
        .collect();
    let mut args = vec!["--strict", "-k", "1.31"];
    args.extend(files.iter().map(String::as_str));
    if let Some(out) = run("kubernetes-validate", &args) {
        assert_ok("kubernetes-validate", &out);
    }
}

/// A profile's services are checked only when it is active.
#[test]
fn docker_compose_accepts_the_local_profiles() {
    for profile in ["local", "local-aws"] {
        let args = [
            "-f",
            "docker/docker-compose.yml",
            "--profile",
            profile,
            "config",
            "-q",
        ];
        if let Some(out) = run("docker-compose", &args) {
            assert_ok(&format!("docker-compose --profile {profile} config"), &out);
        }
    }
}
