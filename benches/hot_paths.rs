//! Benchmarks of byoc's CPU-bound hot paths: rendering + validating a program, and decoding an
//! engine event log. Run with `cargo bench`; prints mean wall time per iteration and throughput.
//! (A plain harness: no extra benchmark crate to build in CI.)

use std::hint::black_box;
use std::time::{Duration, Instant};

use byoc::domain::config::{parse_request, resolve};
use byoc::domain::{AwsAccountId, AwsRegion, EnvName, RoleArn, Slug, StackName};
use byoc::program::{self, RenderInput};
use serde_json::json;

fn bench(name: &str, min_time: Duration, mut f: impl FnMut() -> usize) {
    // Warm up once (schema parsing, template compilation).
    black_box(f());
    let start = Instant::now();
    let (mut iterations, mut units) = (0u64, 0usize);
    while start.elapsed() < min_time {
        units += black_box(f());
        iterations += 1;
    }
    let per_iter = start.elapsed() / iterations as u32;
    println!("{name:<40} {per_iter:>12.2?}/iter  ({iterations} iterations, {units} units)");
}

fn main() {
    let region = AwsRegion::parse("eu-west-1").unwrap();
    let request = parse_request(json!({
        "vpc_config": {"nat_gateway_strategy": "one_per_az", "secondary_cidr_blocks": ["100.64.0.0/16"]},
        "components": {"argocd": {"repository": {"url": "https://github.com/acme/platform.git", "root_app_path": "apps/"}}}
    }))
    .unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let config = resolve(request, &region, today).unwrap();
    let (slug, env) = (
        Slug::parse("acme").unwrap(),
        EnvName::parse("prod").unwrap(),
    );
    let stack = StackName::new(&slug, &env);
    let account = AwsAccountId::parse("123456789012").unwrap();
    let role = RoleArn::parse("arn:aws:iam::123456789012:role/BYOCPlatformRole").unwrap();
    let input = RenderInput {
        stack: &stack,
        slug: &slug,
        env: &env,
        account_id: &account,
        region: &region,
        tenant_role_arn: &role,
        project: program::DEFAULT_PROJECT,
        config: &config,
    };
    let min = Duration::from_secs(2);
    bench("render (managed, 3 AZs, all components)", min, || {
        program::render(&input).unwrap().yaml().len()
    });
    let rendered = program::render(&input).unwrap();
    bench("validate against the provider schema", min, || {
        program::validate(&rendered).len()
    });
    bench(
        "render_checked (validates the document, no YAML parse)",
        min,
        || program::render_checked(&input).unwrap().yaml().len(),
    );

    let log = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/pulumi/events/display/up-2-eks.jsonl"
    ))
    .or_else(|_| {
        std::fs::read_to_string("/work/shared/fixtures/pulumi/events/display/up-2-eks.jsonl")
    })
    .expect("the recorded EKS event log");
    bench("decode a recorded 28 KB event log", min, || {
        byoc::pulumi::decode_all(log.as_bytes()).len()
    });
}
