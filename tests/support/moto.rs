//! A real moto server for one test: spawned on a free loopback port, polled until it answers
//! (against a deadline), killed on drop. Also runs `moto_cfn.py` (boto3) for setup steps.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this support module"
)]

#[path = "skipped.rs"]
pub mod skipped;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::poll::eventually;

/// Whether CI demands the oracle tools (a missing tool then fails instead of skipping).
pub fn oracles_required() -> bool {
    std::env::var("BYOC_REQUIRE_ORACLES").as_deref() == Ok("1")
}

/// Whether moto itself listens on `port`: its own API answers 200 (a bare connect would also
/// succeed against any other listener that took the port).
fn moto_answers(port: u16) -> bool {
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut head = [0u8; 12];
    conn.write_all(request.as_bytes()).is_ok()
        && conn.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
        && &head[9..12] == b"200"
}

/// `Some(path)` of `bin` on PATH.
pub fn find_on_path(bin: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(bin))
        .find(|p| p.is_file())
}

/// A moto server process; killed when dropped.
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl MotoServer {
    /// Starts moto, or returns `None` after printing `SKIPPED: …` when moto or boto3 is missing
    /// (panics instead when `BYOC_REQUIRE_ORACLES=1`).
    pub async fn start() -> Option<Self> {
        let Some(bin) = find_on_path("moto_server") else {
            return skip("moto_server not found");
        };
        if !python_has_boto3() {
            return skip("python3 with boto3 and PyYAML not found");
        }
        // The port is free when `free_port` returns, but another test of the same binary may
        // bind it before moto does (seen in CI: a test's own `bind("127.0.0.1:0")` got it,
        // moto exited on EADDRINUSE, and a bare TCP connect reached the other listener). So
        // moto is ready only when *it* answers its own API; if it exited, try another port.
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn moto_server");
            let state = eventually(
                "moto_server to answer",
                Duration::from_secs(20),
                async || match child.try_wait() {
                    Ok(Some(_)) => Some(false),
                    _ => moto_answers(port).then_some(true),
                },
            )
            .await;
            if state {
                return Some(Self {
                    child,
                    url: format!("http://127.0.0.1:{port}"),
                });
            }
        }
        panic!("moto_server exited on five ports in a row");
    }

    /// [`MotoServer::start`] for synchronous tests (the CLI and stand-in suites).
    pub fn start_blocking() -> Option<Self> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime to start moto")
            .block_on(Self::start())
    }

    /// Switches on IAM authorization: from now on every request is checked against policies.
    pub async fn enable_iam_auth(&self) {
        let res = reqwest::Client::new()
            .post(format!("{}/moto-api/reset-auth", self.url))
            .header("Content-Type", "text/plain")
            .body("0")
            .send()
            .await
            .expect("reset-auth");
        assert!(res.status().is_success(), "reset-auth: {}", res.status());
    }

    /// What moto recorded (`GET /moto-api/data.json`).
    pub async fn data(&self) -> Value {
        reqwest::get(format!("{}/moto-api/data.json", self.url))
            .await
            .expect("data.json")
            .json()
            .await
            .expect("data.json is JSON")
    }

    /// Every AssumeRole moto granted: `(role_arn, session_name, external_id)`.
    pub async fn assumed_roles(&self) -> Vec<(String, String, String)> {
        let data = self.data().await;
        data["sts"]["AssumedRole"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                (s("role_arn"), s("session_name"), s("external_id"))
            })
            .collect()
    }

    /// Runs `tests/support/moto_cfn.py <args…>` against this server and parses its JSON answer.
    pub async fn cfn_script(&self, command: &str, args: &[&str]) -> Value {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/moto_cfn.py");
        let out = tokio::process::Command::new(python())
            .arg(script)
            .arg(command)
            .arg(&self.url)
            .args(args)
            .output()
            .await
            .expect("run moto_cfn.py");
        assert!(
            out.status.success(),
            "moto_cfn.py {command} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("moto_cfn.py prints JSON")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // The process may already be gone; nothing to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skip(reason: &str) -> Option<MotoServer> {
    assert!(
        !oracles_required(),
        "{reason} and BYOC_REQUIRE_ORACLES=1: pip install 'moto[server]'"
    );
    skipped::record(reason, "pip install 'moto[server]' boto3");
    None
}

/// The interpreter for setup scripts: `BYOC_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("BYOC_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Whether the interpreter imports boto3 and PyYAML: asked once per test binary (importing
/// boto3 costs ~0.35 CPU-s, and every moto-backed test used to ask again).
fn python_has_boto3() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        Command::new(python())
            .args(["-c", "import boto3, yaml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A port that was free a moment ago (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}
