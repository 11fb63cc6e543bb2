//! Every variable the compose file, its env files, the Kubernetes manifests and the image set is
//! a setting the binary actually reads: it is listed in `.env.example`, and `.env.example` lists
//! exactly the variables `src/settings.rs` reads. AWS SDK variables are allowed where the binary
//! hands them on (the allowlist of `src/pulumi/env.rs`).

use std::collections::BTreeSet;

use yaml_serde::Value;

use super::{at, dotenv_names, items, read, scalar, yaml, yaml_docs};

/// `"BYOC_…"` / `"PULUMI_…"` string literals in a Rust source.
pub fn quoted_names(src: &str, prefixes: &[&str]) -> BTreeSet<String> {
    src.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| prefixes.iter().any(|p| s.starts_with(p)))
        .filter(|s| {
            s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(str::to_owned)
        .collect()
}

/// The settings `src/settings.rs` reads, plus `RUST_LOG` (read by the tracing filter).
fn settings_read() -> BTreeSet<String> {
    let mut names = quoted_names(&read("src/settings.rs"), &["BYOC_", "PULUMI_"]);
    assert!(
        names.len() > 10,
        "parsing src/settings.rs found only {names:?}"
    );
    assert!(
        read("src/telemetry.rs").contains("from_default_env")
            || read("src/telemetry.rs").contains("RUST_LOG"),
        "RUST_LOG is documented in .env.example; src/telemetry.rs must read it"
    );
    names.insert("RUST_LOG".into());
    names
}

/// AWS (and pulumi) variables the binary passes to pulumi (exact names, and prefixes).
fn aws_passthrough() -> (BTreeSet<String>, Vec<String>) {
    let src = read("src/pulumi/env.rs");
    let block = |name: &str| -> BTreeSet<String> {
        let start = src
            .find(&format!("const {name}: &[&str] = &["))
            .unwrap_or_else(|| panic!("src/pulumi/env.rs: no const {name}"));
        let body = &src[start..];
        quoted_names(&body[..body.find("];").unwrap()], &["AWS_", "PULUMI_"])
    };
    (
        block("PASSTHROUGH"),
        block("PASSTHROUGH_PREFIXES").into_iter().collect(),
    )
}

fn example() -> BTreeSet<String> {
    dotenv_names(&read(".env.example"))
}

#[test]
fn env_example_lists_exactly_the_settings_the_binary_reads() {
    let read_by_binary = settings_read();
    let documented = example();
    let undocumented: Vec<_> = read_by_binary.difference(&documented).collect();
    let unread: Vec<_> = documented.difference(&read_by_binary).collect();
    assert!(
        undocumented.is_empty(),
        "read by src/settings.rs, missing from .env.example: {undocumented:?}"
    );
    assert!(
        unread.is_empty(),
        "in .env.example, never read by src/settings.rs: {unread:?}"
    );
}

/// Environment variable names a compose service sets (`environment` map or list).
fn compose_environment(service: &Value) -> BTreeSet<String> {
    match at(service, &["environment"]) {
        Value::Mapping(m) => m.keys().filter_map(scalar).collect(),
        Value::Sequence(s) => s
            .iter()
            .filter_map(scalar)
            .map(|e| e.split('=').next().unwrap_or_default().to_owned())
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Every variable set in the compose files and their env files, by where it is set.
pub fn compose_vars() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in [
        "docker/docker-compose.yml",
        "docker/docker-compose.sqlite.yml",
    ] {
        compose_file_vars(file, &mut out);
    }
    for v in dotenv_names(&read("docker/local-aws.env")) {
        out.push(("docker/local-aws.env".into(), v));
    }
    out
}

fn compose_file_vars(file: &str, out: &mut Vec<(String, String)>) {
    let compose = yaml(file);
    let services = at(&compose, &["services"]).as_mapping().expect("services");
    for (name, svc) in services {
        let name = scalar(name).unwrap();
        if name == "moto" || name == "postgres" {
            continue; // third-party images, configured by their own variables
        }
        for v in compose_environment(svc) {
            out.push((format!("{file} service {name}"), v));
        }
        let env_files: Vec<String> = match at(svc, &["env_file"]) {
            Value::String(s) => vec![s.clone()],
            v => items(v).iter().filter_map(scalar).collect(),
        };
        for f in env_files {
            for v in dotenv_names(&read(&format!("docker/{f}"))) {
                out.push((format!("docker/{f}"), v));
            }
        }
    }
}

/// Every variable the Kubernetes base sets: container `env` names, `secretKeyRef` keys and the
/// data keys of the ConfigMaps (all of them reach the containers through `envFrom`).
pub fn k8s_vars() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in super::k8s::resource_files() {
        for doc in yaml_docs(&format!("docker/k8s/{file}")) {
            let kind = scalar(at(&doc, &["kind"])).unwrap_or_default();
            if let (true, Value::Mapping(m)) = (kind == "ConfigMap", at(&doc, &["data"])) {
                out.extend(m.keys().filter_map(scalar).map(|k| (file.clone(), k)));
            }
            let spec = at(&doc, &["spec", "template", "spec"]);
            for c in items(at(spec, &["containers"]))
                .iter()
                .chain(items(at(spec, &["initContainers"])))
            {
                for e in items(at(c, &["env"])) {
                    out.push((file.clone(), scalar(at(e, &["name"])).unwrap()));
                    if let Some(key) = scalar(at(e, &["valueFrom", "secretKeyRef", "key"])) {
                        out.push((format!("{file} (secret key)"), key));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn compose_and_k8s_set_only_settings_the_binary_reads() {
    let documented = example();
    let (aws_exact, aws_prefixes) = aws_passthrough();
    assert!(
        aws_exact.contains("AWS_REGION"),
        "parsing src/pulumi/env.rs: {aws_exact:?}"
    );
    let known = |v: &str| {
        documented.contains(v)
            || aws_exact.contains(v)
            || aws_prefixes.iter().any(|p| v.starts_with(p.as_str()))
    };
    let all: Vec<(String, String)> = compose_vars().into_iter().chain(k8s_vars()).collect();
    assert!(all.len() > 20, "too few variables found: {all:?}");
    let unknown: Vec<_> = all.iter().filter(|(_, v)| !known(v)).collect();
    assert!(
        unknown.is_empty(),
        "set but not read by byoc (not in .env.example): {unknown:?}"
    );
    // And the byoc settings among them are in .env.example (AWS ones and the pulumi ones of
    // the allowlist only pass through).
    for (place, v) in &all {
        if (v.starts_with("BYOC_") || v.starts_with("PULUMI_")) && !aws_exact.contains(v) {
            assert!(documented.contains(v), "{place}: {v} not in .env.example");
        }
    }
}

#[test]
fn the_image_sets_only_settings_the_binary_reads() {
    let text = read("docker/Dockerfile");
    let ins = super::dockerfile::instructions(&text);
    let env = super::dockerfile::runtime_env(&ins);
    let documented = example();
    for k in env.keys().filter(|k| k.starts_with("BYOC_")) {
        assert!(
            documented.contains(k),
            "Dockerfile ENV {k} not in .env.example"
        );
    }
}

#[test]
fn secrets_come_from_a_secret_never_from_literals() {
    const SECRETS: &[&str] = &[
        "BYOC_DATABASE_URL",
        "BYOC_MASTER_KEY",
        "PULUMI_CONFIG_PASSPHRASE",
        "BYOC_BOOTSTRAP_TOKEN",
    ];
    for file in super::k8s::resource_files() {
        for doc in yaml_docs(&format!("docker/k8s/{file}")) {
            let kind = scalar(at(&doc, &["kind"])).unwrap_or_default();
            assert_ne!(
                kind, "Secret",
                "{file}: the operator creates the Secret; none is committed"
            );
            if kind == "ConfigMap" {
                for s in SECRETS {
                    assert!(
                        at(&doc, &["data", s]).is_null(),
                        "{file}: {s} in a ConfigMap"
                    );
                }
            }
            let spec = at(&doc, &["spec", "template", "spec"]);
            for c in items(at(spec, &["containers"])) {
                for e in items(at(c, &["env"])) {
                    let name = scalar(at(e, &["name"])).unwrap();
                    if SECRETS.contains(&name.as_str()) {
                        assert!(at(e, &["value"]).is_null(), "{file}: literal {name}");
                        assert_eq!(
                            scalar(at(e, &["valueFrom", "secretKeyRef", "name"])).as_deref(),
                            Some("byoc-secrets"),
                            "{file}: {name} must come from the byoc-secrets Secret"
                        );
                    }
                }
            }
        }
    }
    // Compose: no secret value is committed (they are generated into the data volume).
    for (place, k) in compose_vars() {
        assert!(
            !SECRETS.contains(&k.as_str()),
            "{place}: {k} is set; leave it to the operator"
        );
    }
}
