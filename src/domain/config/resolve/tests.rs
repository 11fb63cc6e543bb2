//! Tests of `resolve`: one passing and one failing case per rule, grouped by section.

mod basics;
mod components;
mod eks;
mod network;
mod node_groups;
mod subnets;

use chrono::NaiveDate;
use serde_json::Value;

use crate::domain::config::{EnvironmentConfig, EnvironmentConfigRequest, parse_request, resolve};
use crate::domain::{AwsRegion, FieldError, ValidationErrors};

fn region() -> AwsRegion {
    AwsRegion::parse("us-east-1").expect("region")
}

/// The day the tests judge Kubernetes support windows on (when the default was chosen).
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
}

fn run(body: Value) -> Result<EnvironmentConfig, ValidationErrors> {
    run_on(body, today())
}

fn run_on(body: Value, day: NaiveDate) -> Result<EnvironmentConfig, ValidationErrors> {
    let request = parse_request(body)?;
    resolve(request, &region(), day)
}

/// Resolves `body`, failing the test with every error if it is refused.
fn ok(body: Value) -> EnvironmentConfig {
    match run(body) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got {e}"),
    }
}

/// Every field error of `body`.
fn errors(body: Value) -> Vec<FieldError> {
    match run(body) {
        Ok(c) => panic!("expected errors, got a valid config: {c:#?}"),
        Err(e) => e.0,
    }
}

/// Asserts `body` is refused with an error at `field` whose message contains `phrase`.
fn rejects(body: Value, field: &str, phrase: &str) {
    let errs = errors(body);
    assert!(
        errs.iter()
            .any(|e| e.field == field && e.message.contains(phrase)),
        "no error at {field} containing {phrase:?}; got {errs:#?}"
    );
}

/// Resolving the request built from a resolved config gives the same config back.
fn assert_round_trip(config: &EnvironmentConfig) {
    let request = EnvironmentConfigRequest::from(config);
    let json = serde_json::to_value(&request).expect("serialize");
    let again = ok(json);
    assert_eq!(&again, config);
}
