//! #15: the S3 state backend against moto: the DIY layout as objects under the URL's prefix,
//! lock objects that a process on another "host" sees, and `cancel` deleting them.

use std::io::{Read, Write};
use std::net::TcpStream;
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
