//! Every recorded event log decodes, and summaries and per-resource progress come out right.

use std::path::PathBuf;

use byoc::pulumi::{EventPayload, OpType, RunDigest, StepStatus, decode_all};

fn fixtures_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let relative = repo.join("../shared/fixtures/pulumi/events");
    if relative.is_dir() {
        relative
    } else {
        PathBuf::from("/work/shared/fixtures/pulumi/events")
    }
}

fn digest(rel: &str) -> (RunDigest, usize) {
    let bytes = std::fs::read(fixtures_dir().join(rel)).unwrap();
    let mut d = RunDigest::new();
    let mut n = 0;
    for item in decode_all(&bytes) {
        let ev = item.unwrap_or_else(|e| panic!("{rel}: {e:?}"));
        d.observe(&ev);
        n += 1;
    }
    (d, n)
}

#[test]
fn every_recorded_event_log_decodes_to_one_summary_and_an_end() {
    let mut seen = 0;
    for sub in ["display", "engine"] {
        for entry in std::fs::read_dir(fixtures_dir().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let rel = format!("{sub}/{}", path.file_name().unwrap().to_string_lossy());
            let (d, n) = digest(&rel);
            assert!(n >= 2, "{rel}: only {n} events");
            assert_eq!(d.summaries.len(), 1, "{rel}: summaries");
            if !rel.ends_with("pretty-printed-json-stream.json") {
                assert!(d.ended, "{rel}: no cancelEvent");
            }
            seen += 1;
        }
    }
    assert!(seen >= 27, "only {seen} fixtures found");
}

#[test]
fn replacement_chain_is_one_resource_with_three_steps() {
    let (d, _) = digest("display/webserver-userdata.jsonl");
    let s = d.last_summary().unwrap();
    assert_eq!(s.resource_changes.get("replace"), Some(&1));
    assert_eq!(s.resource_changes.get("same"), Some(&2));
    assert_eq!(s.result, None, "old CLI: no result field");
    let www = d
        .resources()
        .iter()
        .find(|r| r.urn.ends_with("::web-server-www"))
        .unwrap();
    assert_eq!(
        www.ops,
        [
            OpType::CreateReplacement,
            OpType::Replace,
            OpType::DeleteReplaced
        ]
    );
    assert_eq!(www.status, StepStatus::Done);
}

#[test]
fn failed_update_marks_the_resource_and_maybe_corrupt() {
    let (d, _) = digest("display/failed-stacks-dont-rewrite-operations.jsonl");
    assert!(d.last_summary().unwrap().maybe_corrupt);
    let failed: Vec<_> = d
        .resources()
        .iter()
        .filter(|r| r.status == StepStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].urn.ends_with("::test-x"));

    let (d, _) = digest("engine/replace-failed-maybecorrupt.jsonl");
    let s = d.last_summary().unwrap();
    assert!(s.maybe_corrupt);
    assert_eq!(s.result.as_deref(), Some("failed"));
    assert!(!d.error_diagnostics.is_empty());
}

#[test]
fn interrupted_update_leaves_started_resources() {
    let (d, _) = digest("display/up-interrupted.jsonl");
    let started = d
        .resources()
        .iter()
        .filter(|r| r.status == StepStatus::Started)
        .count();
    assert!(started >= 3, "{:?}", d.resources());
}

#[test]
fn pretty_printed_stream_decodes_value_by_value() {
    let bytes =
        std::fs::read(fixtures_dir().join("display/pretty-printed-json-stream.json")).unwrap();
    let items = decode_all(&bytes);
    assert!(items.iter().all(Result::is_ok));
    let first = items[0].as_ref().unwrap();
    assert!(matches!(first.payload, EventPayload::Prelude(_)));
    let planning = items.iter().flatten().any(|e| {
        matches!(&e.payload, EventPayload::ResourcePre(s) if s.planning && s.metadata.op == OpType::Update)
    });
    assert!(planning);
}

#[test]
fn cancellation_fixture_reads_as_failed_with_update_canceled() {
    let (d, _) = digest("engine/language-runtime-cancellation.jsonl");
    assert_eq!(d.error_diagnostics, ["update canceled"]);
    assert_eq!(d.last_summary().unwrap().result.as_deref(), Some("failed"));
}
