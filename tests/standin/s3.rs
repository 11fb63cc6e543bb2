//! #15: the S3 state backend against moto: the DIY layout as objects under the URL's prefix,
//! lock objects that a process on another "host" sees, and `cancel` deleting them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::harness::{World, program, wait_until};
use crate::moto::MotoServer;

/// One plain HTTP request to moto (path-style S3 needs no signature there); the body.
fn http(url: &str, method: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

fn keys(moto: &MotoServer, prefix: &str) -> Vec<String> {
    let body = http(
        &moto.url,
        "GET",
        &format!("/state?list-type=2&prefix={prefix}"),
    );
    body.split("<Key>")
        .skip(1)
        .map(|k| k.split("</Key>").next().unwrap().to_owned())
        .collect()
}

fn s3_world(moto: &MotoServer) -> World {
    http(&moto.url, "PUT", "/state");
    let mut w = World::new(&program(&[("bucket", "aws:s3:Bucket", "value: 1")]));
    let url = format!(
        "s3://state/team-a?region=us-east-1&endpoint={}&s3ForcePathStyle=true",
        moto.url
    );
    w.set("PULUMI_BACKEND_URL", &url);
    w.set("AWS_ACCESS_KEY_ID", "testing");
    w.set("AWS_SECRET_ACCESS_KEY", "testing");
    w.set("AWS_REGION", "us-east-1");
    w.run(&["stack", "init", "dev"]).ok();
    w
}

#[test]
fn the_diy_layout_lives_in_the_bucket_and_locks_are_seen_across_hosts() {
    let Some(moto) = MotoServer::start_blocking() else {
        return;
    };
    let w = s3_world(&moto);
    w.up("up.jsonl", &[]).ok();
    let all = keys(&moto, "team-a/");
    assert!(
        all.contains(&"team-a/.pulumi/meta.yaml".to_owned()),
        "{all:?}"
    );
    assert!(all.contains(&"team-a/.pulumi/stacks/proj/dev.json".to_owned()));
    assert!(
        all.iter()
            .any(|k| k.starts_with("team-a/.pulumi/history/proj/dev/dev-")
                && k.ends_with(".history.json"))
    );

    // A slow update on host A holds a lock object; host B's update is refused and names it.
    w.write_program(&program(&[("bucket", "aws:s3:Bucket", "value: 2")]));
    let lock_prefix = "team-a/.pulumi/locks/organization/proj/dev/";
    let mut a = w.spawn(
        &["up", "--yes", "--skip-preview", "--stack", "dev"],
        &[
            ("PULUMI_STANDIN_SLEEP_MS", "30000"),
            ("PULUMI_STANDIN_HOSTNAME", "host-a"),
        ],
    );
    wait_until("host A's lock object", Duration::from_secs(30), || {
        !keys(&moto, lock_prefix).is_empty()
    });
    let lock = keys(&moto, lock_prefix).remove(0);
    let out = w.up("b.jsonl", &[("PULUMI_STANDIN_HOSTNAME", "host-b")]);
    assert_ne!(out.code, 0);
    let endpoint = moto.url.replace(':', "%3A").replace('/', "%2F");
    let expected = format!(
        "  s3://state/{lock}?endpoint={endpoint}&region=us-east-1&request_checksum_calculation=when_required\
         &s3ForcePathStyle=true: created by "
    );
    assert!(
        out.stderr
            .contains("the stack is currently locked by 1 lock(s)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&expected), "{}\n{expected}", out.stderr);
    assert!(
        out.stderr.contains(&format!("@host-a (pid {})", a.id())),
        "{}",
        out.stderr
    );

    // Killed, host A leaves its lock object; cancel from host B deletes it.
    a.kill().unwrap();
    a.wait().unwrap();
    assert_eq!(keys(&moto, lock_prefix).len(), 1);
    w.run_with(
        &["cancel", "--yes", "--stack", "dev"],
        &[("PULUMI_STANDIN_HOSTNAME", "host-b")],
    )
    .ok();
    assert!(keys(&moto, lock_prefix).is_empty());
    w.up("c.jsonl", &[("PULUMI_STANDIN_HOSTNAME", "host-b")])
        .ok();
}

/// The stand-in's own S3 client (`tests/support/pulumi_standin/s3.py`, which replaced boto3 to
/// cut each run's start-up) signs requests as AWS documents (the GET Object example of the SigV4
/// Authorization-header page) and exactly as botocore's S3 signer does for keys with spaces,
/// `+`, `=`, `~`, `*`, `!`, a list query with a continuation token, a body and a session token.
#[test]
fn the_s3_client_signs_requests_like_aws_documents_and_botocore_does() {
    let python = std::env::var("BYOC_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let run = |script: &str| {
        Command::new(&python)
            .args(["-c", script])
            .env("PYTHONPATH", &support)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap()
    };
    let vector = run("from pulumi_standin import s3; print(s3.test_vector())");
    assert_eq!(
        String::from_utf8_lossy(&vector.stdout).trim(),
        "True",
        "{}",
        String::from_utf8_lossy(&vector.stderr)
    );
    if !run("import botocore").status.success() {
        assert!(
            !crate::moto::oracles_required(),
            "python botocore not found and BYOC_REQUIRE_ORACLES=1: pip install boto3"
        );
        crate::moto::skipped::record("python botocore not found", "pip install boto3");
        return;
    }
    let out = run(BOTOCORE_COMPARISON);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "3 signatures equal"
    );
}

const BOTOCORE_COMPARISON: &str = r#"
import hashlib
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pulumi_standin import s3
cases = [
    ("GET", "/state/team a/.pulumi/x+y=.json", [], b"", None),
    ("GET", "/state/", [("list-type", "2"), ("prefix", "team-a/.pulumi/locks/o/p q/"),
                        ("continuation-token", "a/b+c=")], b"", "TOKEN"),
    ("PUT", "/state/k~(1)*!", [], b"hello", None),
]
equal = 0
for method, path, query, body, token in cases:
    host = "127.0.0.1:5000"
    payload = hashlib.sha256(body).hexdigest()
    url = "http://" + host + s3._quote(path, safe="/-_.~")
    if query:
        url += "?" + "&".join("%s=%s" % (s3._quote(k), s3._quote(v)) for k, v in query)
    req = AWSRequest(method=method, url=url, data=body, headers={"x-amz-content-sha256": payload})
    S3SigV4Auth(Credentials("AK", "SK", token), "s3", "us-east-1").add_auth(req)
    date = req.headers["X-Amz-Date"]
    headers = {"x-amz-content-sha256": payload, "x-amz-date": date}
    if token:
        headers["x-amz-security-token"] = token
    mine = s3.signature_v4(method, host, path, query, headers, payload, date, "us-east-1", "AK", "SK")
    theirs = req.headers["Authorization"].replace(", ", ",")
    assert mine == theirs, (mine, theirs)
    equal += 1
print("%d signatures equal" % equal)
"#;
