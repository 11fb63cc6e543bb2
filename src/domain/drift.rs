//! Drift detection (issue 18): an environment's check schedule (`drift_check: {every: "6h"}`),
//! and what a refresh preview's events say drifted. Pure: the worker runs the checks, the
//! store keeps the reports.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::ValidationErrors;

/// The shortest interval a check may repeat at.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// An environment's drift check schedule (`drift_check` in its config; absent: off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftCheck {
    /// How often: `<n>m`, `<n>h` or `<n>d` (from `1m` to `365d`), e.g. `6h`. Each check runs at a
    /// jittered time within the interval.
    pub every: String,
    /// Queue a deploy (subject to the environment's approval policy) when a check finds
    /// drift. Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remediate: bool,
}

impl DriftCheck {
    /// The interval (`every` was validated when the config was saved).
    pub fn interval(&self) -> Duration {
        parse_every(&self.every).unwrap_or(MIN_INTERVAL)
    }

    /// Validates `every`; errors name `/drift_check/every`.
    pub fn check(&self, errors: &mut ValidationErrors) {
        match parse_every(&self.every) {
            Some(d) if d > MAX_INTERVAL => errors.push(
                "/drift_check/every",
                "drift checks run at least once a year (`365d`)",
            ),
            Some(d) if d >= MIN_INTERVAL => {}
            Some(_) => errors.push(
                "/drift_check/every",
                "drift checks run at most once a minute (`1m`)",
            ),
            None => errors.push(
                "/drift_check/every",
                format!(
                    "'{}' is not an interval: use <n>m, <n>h or <n>d, e.g. `6h`",
                    self.every
                ),
            ),
        }
    }
}

/// The longest interval: far-future times would overflow date arithmetic in the schedule.
const MAX_INTERVAL: Duration = Duration::from_secs(365 * 86_400);

/// `30m`, `6h`, `1d`.
fn parse_every(s: &str) -> Option<Duration> {
    // The unit is the last character (not byte: any text may arrive here).
    let (at, _) = s.char_indices().last()?;
    let (n, unit) = s.split_at(at);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(secs).map(Duration::from_secs)
}

/// One resource whose cloud state differs from what the stack holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DriftedResource {
    /// Resource URN.
    pub urn: String,
    /// Type token.
    #[serde(rename = "type")]
    pub type_: String,
    /// Logical name.
    pub name: String,
    /// `update` (properties differ) or `delete` (gone from the cloud).
    pub op: String,
    /// The property paths that differ (never their values).
    pub paths: Vec<String>,
}

/// Folds a refresh preview's events into the drifted resources: every `resOutputsEvent` whose
/// step is an `update` or `delete`, or a `refresh` step that found a difference (`preview
/// --refresh`) (`refresh --preview-only` frames what the provider read as
/// a change from the state, pulumi/pulumi `pkg/resource/deploy/step.go` RefreshStep), with the
/// paths from `detailedDiff`'s keys, else `diffs`.
///
/// With `refresh_steps_only` (the events of `preview --refresh`) only the `refresh` steps
/// count: the update steps after them are what `up` would do, program changes included.
pub fn drifted(events: &[Value], refresh_steps_only: bool) -> Vec<DriftedResource> {
    let mut out: Vec<DriftedResource> = Vec::new();
    for e in events {
        let Some(meta) = e.pointer("/resOutputsEvent/metadata") else {
            continue;
        };
        let s = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or_default();
        let (op, urn, type_) = (s("op"), s("urn"), s("type"));
        if type_ == "pulumi:pulumi:Stack" || urn.is_empty() {
            continue;
        }
        let changed = |m: &Value| {
            matches!(m.get("detailedDiff"), Some(Value::Object(d)) if !d.is_empty())
                || m.get("diffs")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
        };
        // `preview --refresh` shows its refresh steps as op `refresh` (not counted), with the
        // differing properties, or without a new state for a resource that is gone (the
        // stand-in's framing of pulumi/pulumi `step.go` RefreshStep; NOT VERIFIED against a
        // real CLI's log).
        let op = match op {
            "update" | "delete" if !refresh_steps_only => op,
            "refresh" if meta.get("new").is_some_and(Value::is_null) => "delete",
            "refresh" if changed(meta) => "update",
            _ => continue,
        };
        let mut paths: Vec<String> = match meta.get("detailedDiff") {
            Some(Value::Object(d)) if !d.is_empty() => d.keys().cloned().collect(),
            _ => meta
                .get("diffs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        };
        paths.sort();
        paths.dedup();
        if out.iter().any(|d| d.urn == urn) {
            continue;
        }
        out.push(DriftedResource {
            urn: urn.to_owned(),
            type_: type_.to_owned(),
            name: urn.rsplit("::").next().unwrap_or(urn).to_owned(),
            op: op.to_owned(),
            paths,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn any_text_as_an_interval_is_a_field_error_never_a_panic() {
        for every in [
            "6\u{1F600}",
            "\u{e9}",
            "",
            "h",
            "99999999999999d",
            "366d",
            "0m",
        ] {
            let mut errors = ValidationErrors::new();
            DriftCheck {
                every: every.into(),
                remediate: false,
            }
            .check(&mut errors);
            assert!(!errors.0.is_empty(), "{every:?} was accepted");
            assert_eq!(errors.0[0].field, "/drift_check/every");
        }
        let mut errors = ValidationErrors::new();
        DriftCheck {
            every: "365d".into(),
            remediate: false,
        }
        .check(&mut errors);
        assert!(errors.0.is_empty());
    }

    use serde_json::json;

    use super::*;

    #[test]
    fn intervals_parse_and_are_bounded() {
        assert_eq!(parse_every("6h"), Some(Duration::from_secs(21_600)));
        assert_eq!(parse_every("1d"), Some(Duration::from_secs(86_400)));
        for bad in ["", "h", "6", "6s", "-1h", "1.5h"] {
            assert_eq!(parse_every(bad), None, "{bad}");
        }
        let mut errors = ValidationErrors::new();
        for every in ["0m", "often"] {
            let check = DriftCheck {
                every: every.into(),
                remediate: false,
            };
            check.check(&mut errors);
        }
        assert_eq!(errors.0.len(), 2);
        assert!(errors.0.iter().all(|e| e.field == "/drift_check/every"));
    }

    #[test]
    fn only_changed_or_gone_resources_drift() {
        let ev = |op: &str, name: &str, dd: Value| {
            json!({"resOutputsEvent": {"planning": true, "metadata": {
                "op": op, "urn": format!("urn:pulumi:s::p::aws:ec2/vpc:Vpc::{name}"),
                "type": "aws:ec2/vpc:Vpc", "detailedDiff": dd, "diffs": ["ignored"]}}})
        };
        let events = [
            ev("same", "a", Value::Null),
            ev(
                "update",
                "b",
                json!({"enableDnsHostnames": {"diffKind": "update"}}),
            ),
            ev("delete", "c", Value::Null),
        ];
        let found = drifted(&events, false);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name, "b");
        assert_eq!(found[0].paths, ["enableDnsHostnames"]);
        assert_eq!(found[1].op, "delete");
        // In a `preview --refresh` only the refresh steps say what drifted.
        assert!(drifted(&events, true).is_empty());
        let refreshed = [ev("refresh", "d", json!({"tags": {"diffKind": "update"}}))];
        assert_eq!(drifted(&refreshed, true)[0].paths, ["tags"]);
    }
}
