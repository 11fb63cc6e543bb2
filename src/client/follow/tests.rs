//! The follow view's model on event values shaped like the stored ones (the engine's JSON
//! lines, as `tests/support/pulumi-standin` and the real CLI write them).

use serde_json::{Value, json};

use super::progress::{Item, Progress, Step, resource_name};
use super::resources_after;

fn ev(kind: &str, ts: i64, body: Value) -> Value {
    json!({ kind: body, "sequence": 0, "timestamp": ts })
}

fn step(op: &str, name: &str) -> Value {
    json!({"metadata": {
        "op": op,
        "urn": format!("urn:pulumi:acme-prod::byoc-platform::aws:ec2/vpc:Vpc::{name}"),
        "type": "aws:ec2/vpc:Vpc",
    }})
}

fn feed(p: &mut Progress, kind: &str, ts: i64, body: Value) -> Vec<Item> {
    p.on_event(kind, &ev(kind, ts, body))
}

#[test]
fn a_completed_step_is_one_line_with_its_duration() {
    let mut p = Progress::new(Some(2));
    assert_eq!(p.position(), (0, 2));
    let items = feed(&mut p, "resourcePreEvent", 100, step("create", "vpc"));
    assert!(matches!(&items[..], [Item::Activity(a)] if a == "create vpc"));
    let items = feed(&mut p, "resOutputsEvent", 103, step("create", "vpc"));
    assert_eq!(
        items,
        vec![Item::Done(Step {
            op: "create".into(),
            name: "vpc".into(),
            type_: "aws:ec2/vpc:Vpc".into(),
            seconds: Some(3),
            planned: false,
        })]
    );
    assert_eq!(
        items[0].line().unwrap(),
        "+ created   vpc  aws:ec2/vpc:Vpc  3s"
    );
    assert_eq!(p.position(), (1, 2));
}

#[test]
fn unchanged_resources_count_but_print_nothing() {
    let mut p = Progress::new(None);
    feed(&mut p, "resourcePreEvent", 1, step("same", "a"));
    assert!(feed(&mut p, "resOutputsEvent", 1, step("same", "a")).is_empty());
    assert_eq!(p.position(), (1, 1));
}

#[test]
fn the_total_grows_past_the_plan_and_the_summary_completes_the_bar() {
    let mut p = Progress::new(Some(1));
    feed(&mut p, "resourcePreEvent", 1, step("create", "a"));
    feed(&mut p, "resourcePreEvent", 1, step("create", "b"));
    assert_eq!(p.position(), (0, 2));
    feed(&mut p, "resOutputsEvent", 2, step("create", "a"));
    let items = feed(
        &mut p,
        "summaryEvent",
        3,
        json!({"resourceChanges": {"create": 1, "same": 0}, "durationSeconds": 65, "result": "failed"}),
    );
    assert_eq!(p.position(), (1, 1));
    assert_eq!(items[0].line().unwrap(), "Resources: 1 created; took 1m05s");
}

#[test]
fn a_new_engine_run_starts_counting_again() {
    let mut p = Progress::new(Some(3));
    feed(&mut p, "resourcePreEvent", 1, step("create", "a"));
    feed(&mut p, "resOutputsEvent", 1, step("create", "a"));
    feed(&mut p, "preludeEvent", 2, json!({"config": {}}));
    assert_eq!(p.position(), (0, 3));
}

#[test]
fn failures_and_diagnostics_are_lines() {
    let mut p = Progress::new(None);
    feed(&mut p, "resourcePreEvent", 10, step("create", "vpc"));
    let diag = feed(
        &mut p,
        "diagnosticEvent",
        11,
        json!({"urn": "urn:pulumi:s::p::aws:ec2/vpc:Vpc::vpc", "prefix": "error: ",
               "message": "<{%fg 1%}>creating failed: boom<{%reset%}>\n", "severity": "error"}),
    );
    assert_eq!(diag[0].line().unwrap(), "error: vpc: creating failed: boom");
    let failed = feed(
        &mut p,
        "resOpFailedEvent",
        12,
        json!({"metadata": step("create", "vpc")["metadata"], "status": 1, "steps": 0}),
    );
    assert_eq!(
        failed[0].line().unwrap(),
        "x create failed vpc  aws:ec2/vpc:Vpc  2s"
    );
    assert_eq!(p.position(), (1, 1));
    let eph = feed(
        &mut p,
        "diagnosticEvent",
        13,
        json!({"message": "still creating", "severity": "info", "ephemeral": true}),
    );
    assert!(matches!(&eph[..], [Item::Activity(a)] if a == "still creating"));
    let debug = feed(
        &mut p,
        "diagnosticEvent",
        13,
        json!({"message": "x", "severity": "debug"}),
    );
    assert!(debug.is_empty());
}

#[test]
fn previews_say_what_would_change() {
    let mut p = Progress::new(None);
    let mut planned = step("create", "vpc");
    planned["planning"] = json!(true);
    feed(&mut p, "resourcePreEvent", 1, planned.clone());
    let items = feed(&mut p, "resOutputsEvent", 1, planned);
    assert_eq!(items[0].line().unwrap(), "+ create    vpc  aws:ec2/vpc:Vpc");
    let sum = feed(
        &mut p,
        "summaryEvent",
        1,
        json!({"resourceChanges": {"create": 2, "same": 1}, "isPreview": true}),
    );
    assert_eq!(
        sum[0].line().unwrap(),
        "Resources: 2 to create, 1 unchanged; took 0s"
    );
}

#[test]
fn byoc_events_show_their_message() {
    let mut p = Progress::new(None);
    let retry = json!({"byoc.retry": {"message": "AWS unreachable", "attempt": 1}});
    let items = p.on_event("byoc.retry", &retry);
    assert_eq!(
        items,
        vec![Item::Message("byoc: AWS unreachable (attempt 1)".into())]
    );
    let off = json!({"targets": ["urn:x"]});
    let items = p.on_event("byoc.deletion-protection-off", &off);
    assert_eq!(
        items,
        vec![Item::Message(
            r#"byoc: deletion protection off {"targets":["urn:x"]}"#.into()
        )]
    );
}

#[test]
fn plan_size_of_a_refresh_or_destroy_is_what_the_last_change_left() {
    assert_eq!(
        resources_after(&json!({"create": 3, "same": 2, "delete": 4})),
        Some(5)
    );
    assert_eq!(resources_after(&Value::Null), None);
    assert_eq!(resource_name("urn:pulumi:s::p::t::name"), "name");
}
