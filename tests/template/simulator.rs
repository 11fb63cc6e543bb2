//! The request model of the policy evaluation tests: a call, the resources it authorizes and
//! the context keys AWS has for each, evaluated with principalmapper's local policy simulator
//! (tests/template/simulate.py says what it models).
//!
//! Why not moto: moto 5.2.5 in IAM-auth mode passes no condition values to identity policies
//! (moto/iam/access_control.py, `check_action_permitted` → `is_action_permitted(action,
//! resource)`; a StringEquals with no incoming value counts as met), and authorizes every
//! service except IAM, STS, SQS and S3 against resource `"*"` (moto/core/responses.py,
//! `call_action` uses `_determine_resource` only where a service defines it). A tag-scoped
//! policy would be allowed on an untagged queue there and denied on every tagged VPC.
//!
//! The request context is ours, written from the Service Authorization Reference: one call
//! authorizes each of its resources separately (all must be allowed); a resource being created
//! carries `aws:RequestTag/*` and `aws:TagKeys`, an existing one `aws:ResourceTag/*`; keys of
//! the action-wide row (EKS, SQS, KMS and EventBridge request tags, `ec2:CreateAction`,
//! `kms:*`, `events:TargetArn`, `sts:*`, `s3:prefix`) go with every resource of the call; and
//! `aws:RequestedRegion` is always present. principalmapper evaluates `ForAllValues:Arn*`
//! against all values at once (any value matching is enough), so calls name one target.

use serde_json::{Map, Value as Json, json};

use super::{REGION, run_script};

/// One resource of a call and the context keys AWS has for it.
pub struct Res(pub String, pub Map<String, Json>);

/// An existing resource, with its tags.
pub fn existing(arn: &str, tags: &[(&str, &str)]) -> Res {
    Res(
        arn.to_owned(),
        tags.iter()
            .map(|(k, v)| (format!("aws:ResourceTag/{k}"), json!(v)))
            .collect(),
    )
}

/// A resource the call creates, with the tags of the request.
pub fn created(arn: &str, tags: &[(&str, &str)]) -> Res {
    let mut m: Map<String, Json> = tags
        .iter()
        .map(|(k, v)| (format!("aws:RequestTag/{k}"), json!(v)))
        .collect();
    m.insert(
        "aws:TagKeys".into(),
        json!(tags.iter().map(|(k, _)| *k).collect::<Vec<_>>()),
    );
    Res(arn.to_owned(), m)
}

/// The default tags the programs' provider sets (src/program/context.rs).
pub const BYOC: &[(&str, &str)] = &[("ManagedBy", "byoc"), ("Stack", "acme-prod")];
pub const OTHER: &[(&str, &str)] = &[("ManagedBy", "terraform"), ("Stack", "acme-prod")];
pub const NONE: &[(&str, &str)] = &[];

/// A call: action, its resources, action-wide keys, and whether AWS should allow it.
pub struct Call {
    pub what: &'static str,
    pub action: &'static str,
    pub resources: Vec<Res>,
    pub wide: Vec<(&'static str, Json)>,
    pub allow: bool,
}

pub fn call(what: &'static str, action: &'static str, resources: Vec<Res>, allow: bool) -> Call {
    Call {
        what,
        action,
        resources,
        wide: Vec::new(),
        allow,
    }
}

impl Call {
    pub fn with(mut self, key: &'static str, value: Json) -> Self {
        self.wide.push((key, value));
        self
    }
}

/// Evaluates every call; returns one line per call whose outcome differs from `allow`.
pub fn wrong_decisions(policies: &[(String, Json)], calls: &[Call]) -> Vec<String> {
    let mut requests = Vec::new();
    for (c, call) in calls.iter().enumerate() {
        for (r, Res(arn, ctx)) in call.resources.iter().enumerate() {
            let mut context = ctx.clone();
            context.insert("aws:RequestedRegion".into(), json!(REGION));
            for (k, v) in &call.wide {
                context.insert((*k).to_owned(), v.clone());
            }
            requests.push(json!({"id": format!("{c}/{r}"), "action": call.action, "resource": arn, "context": context}));
        }
    }
    let docs: Vec<Json> = policies.iter().map(|(_, d)| d.clone()).collect();
    let out = run_script(
        "simulate.py",
        &json!({"policies": docs, "requests": requests}),
    );
    let decisions = out.as_array().unwrap();
    let mut wrong = Vec::new();
    for (c, call) in calls.iter().enumerate() {
        let mine: Vec<&Json> = decisions
            .iter()
            .filter(|d| d["id"].as_str().unwrap().starts_with(&format!("{c}/")))
            .collect();
        let allowed = mine.iter().all(|d| d["decision"] == "allow");
        if allowed != call.allow {
            wrong.push(format!(
                "{} ({}): expected {}, got {}: {}",
                call.what,
                call.action,
                if call.allow { "allow" } else { "deny" },
                if allowed { "allow" } else { "deny" },
                Json::Array(mine.into_iter().cloned().collect())
            ));
        }
    }
    wrong
}
