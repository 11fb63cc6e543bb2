//! docker/docker-compose.yml: api + scalable workers on one data volume, health checks,
//! restart policies, a stop grace period longer than the operation shutdown grace, and the
//! `local-aws` profile with a pinned moto image.

use yaml_serde::Value;

use super::{at, dotenv_pairs, items, read, scalar, yaml};

fn compose() -> Value {
    yaml("docker/docker-compose.yml")
}

fn service(name: &str) -> Value {
    at(&compose(), &["services", name]).clone()
}

/// A setting of a service: its `environment`, else its env files, else `.env.example`'s default.
fn setting(svc: &Value, key: &str) -> Option<String> {
    if let Some(v) = scalar(at(svc, &["environment", key])) {
        return Some(v);
    }
    for f in items(at(svc, &["env_file"])).iter().filter_map(scalar) {
        if let Some((_, v)) = dotenv_pairs(&read(&format!("docker/{f}")))
            .into_iter()
            .find(|(k, _)| k == key)
        {
            return Some(v);
        }
    }
    dotenv_pairs(&read(".env.example"))
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// `90s`, `3m`, `1m30s` → seconds.
fn duration_secs(s: &str) -> u64 {
    let (mut total, mut num) = (0, String::new());
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: u64 = num.parse().unwrap_or_else(|_| panic!("bad duration {s}"));
            num.clear();
            total += n * match c {
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => panic!("bad duration {s}"),
            };
        }
    }
    assert!(num.is_empty(), "duration {s} needs a unit");
    total
}

#[test]
fn api_and_scalable_workers_share_the_data_volume() {
    let (api, worker) = (service("api"), service("worker"));
    assert_eq!(
        items(at(&api, &["command"]))
            .iter()
            .filter_map(scalar)
            .collect::<Vec<_>>(),
        ["serve"]
    );
    assert_eq!(
        items(at(&worker, &["command"]))
            .iter()
            .filter_map(scalar)
            .collect::<Vec<_>>(),
        ["worker"]
    );
    assert_eq!(
        setting(&api, "BYOC_WORKER_CONCURRENCY").as_deref(),
        Some("0"),
        "the API runs no operations"
    );
    assert!(setting(&worker, "BYOC_WORKER_CONCURRENCY").is_some_and(|c| c != "0"));
    // --scale worker=N needs no fixed name and no host port.
    assert!(at(&worker, &["container_name"]).is_null() && at(&worker, &["ports"]).is_null());
    assert_eq!(
        scalar(at(&api, &["image"])),
        scalar(at(&worker, &["image"])),
        "one image"
    );
    assert_eq!(
        scalar(at(&api, &["build", "dockerfile"])).as_deref(),
        Some("docker/Dockerfile")
    );
    let data_dir = setting(&api, "BYOC_DATA_DIR").unwrap();
    assert_eq!(
        setting(&worker, "BYOC_DATA_DIR").as_deref(),
        Some(data_dir.as_str())
    );
    for svc in [&api, &worker] {
        let vols: Vec<String> = items(at(svc, &["volumes"]))
            .iter()
            .filter_map(scalar)
            .collect();
        assert!(vols.contains(&format!("byoc-data:{data_dir}")), "{vols:?}");
        // The dev image's plugins, downloaded at first use, shared and kept across restarts.
        let home = setting(svc, "BYOC_PULUMI_HOME").unwrap();
        assert!(vols.contains(&format!("pulumi-home:{home}")), "{vols:?}");
        assert!(!at(svc, &["healthcheck", "test"]).is_null(), "health check");
        assert_eq!(
            scalar(at(svc, &["restart"])).as_deref(),
            Some("unless-stopped")
        );
        // Docker's default 10 s would SIGKILL pulumi mid-operation and leave the stack locked.
        let stop =
            duration_secs(&scalar(at(svc, &["stop_grace_period"])).expect("stop_grace_period"));
        let shutdown: u64 = setting(svc, "BYOC_SHUTDOWN_GRACE_SECONDS")
            .unwrap()
            .parse()
            .unwrap();
        let cancel: u64 = setting(svc, "BYOC_CANCEL_GRACE_SECONDS")
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            stop > shutdown && shutdown > cancel,
            "stop {stop} > shutdown {shutdown} > cancel {cancel}"
        );
        assert!(
            !items(at(svc, &["env_file"])).is_empty(),
            "settings from an env file"
        );
    }
    assert!(at(&compose(), &["volumes"]).get("byoc-data").is_some());
    assert!(at(&compose(), &["volumes"]).get("pulumi-home").is_some());
    assert_eq!(
        scalar(at(&worker, &["depends_on", "api", "condition"])).as_deref(),
        Some("service_healthy"),
        "workers start after the API has migrated the database"
    );
}

#[test]
fn local_aws_profile_runs_a_pinned_moto_and_points_byoc_at_it() {
    let moto = service("moto");
    let profiles: Vec<String> = items(at(&moto, &["profiles"]))
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(profiles, ["local-aws"]);
    let image = scalar(at(&moto, &["image"])).unwrap();
    let tag = image
        .strip_prefix("motoserver/moto:")
        .expect("motoserver/moto image");
    assert!(
        tag.split('.').count() == 3 && tag.split('.').all(|p| p.parse::<u32>().is_ok()),
        "pinned tag, got {image}"
    );
    assert!(!at(&moto, &["healthcheck", "test"]).is_null());
    // byoc services take BYOC_AWS_ENDPOINT_URL from the shell; docker/local-aws.env sets it to moto.
    for name in ["api", "worker"] {
        let svc = service(name);
        assert!(
            at(&svc, &["environment"])
                .get("BYOC_AWS_ENDPOINT_URL")
                .is_some(),
            "{name}"
        );
        assert!(
            at(&svc, &["profiles"]).is_null(),
            "{name} runs in every profile"
        );
    }
    let local = dotenv_pairs(&read("docker/local-aws.env"));
    assert!(local.contains(&("BYOC_AWS_ENDPOINT_URL".into(), "http://moto:5000".into())));
    // File state backend: PULUMI_BACKEND_URL is not set anywhere in compose, so state lives
    // under the data volume (file://<data dir>/state).
    for name in ["api", "worker"] {
        assert_eq!(
            setting(&service(name), "PULUMI_BACKEND_URL")
                .as_deref()
                .unwrap_or(""),
            ""
        );
    }
}

#[test]
fn readme_documents_compose_and_kubernetes() {
    let readme = read("README.md");
    for heading in [
        "## Local development with docker compose",
        "### Production image",
        "## Deploy workers on Kubernetes",
    ] {
        assert!(readme.contains(heading), "README lacks '{heading}'");
    }
    // Local development is two commands on a fresh clone: build, then up.
    let section = readme
        .split("## Local development with docker compose")
        .nth(1)
        .unwrap();
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh code block");
    let commands: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        commands,
        [
            "docker compose -f docker/docker-compose.yml build",
            "docker compose -f docker/docker-compose.yml up"
        ]
    );
    for must in [
        "compose -f docker/docker-compose.yml",
        "--scale worker=",
        "--profile local-aws",
        "PULUMI_AWS_PLUGIN_SHA256",
        "scripts/plugin-checksums",
        "--target production",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
        "create secret generic byoc-secrets",
        "kubectl apply -k",
        "SQLite",
    ] {
        assert!(readme.contains(must), "README lacks '{must}'");
    }
}

/// The services of profile `local`, by name.
fn local_services() -> Vec<(String, Value)> {
    let compose = compose();
    let services = at(&compose, &["services"]).as_mapping().expect("services");
    services
        .iter()
        .filter(|(_, svc)| {
            items(at(svc, &["profiles"]))
                .iter()
                .filter_map(scalar)
                .any(|p| p == "local")
        })
        .map(|(name, svc)| (scalar(name).unwrap(), svc.clone()))
        .collect()
}

/// An `environment` entry set in the compose file itself (no env file, no default).
fn env_here(svc: &Value, key: &str) -> Option<String> {
    scalar(at(svc, &["environment", key]))
}

#[test]
fn local_profile_runs_the_simulated_engine_on_its_own_moto_and_volume_never_real_credentials() {
    let mut names: Vec<String> = local_services().into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(names, ["local-api", "local-moto", "local-worker"]);
    for (name, svc) in local_services() {
        let profiles: Vec<String> = items(at(&svc, &["profiles"]))
            .iter()
            .filter_map(scalar)
            .collect();
        assert_eq!(profiles, ["local"], "{name} runs only in profile local");
    }
    // The same pinned moto as profile local-aws.
    assert_eq!(
        scalar(at(&service("local-moto"), &["image"])),
        scalar(at(&service("moto"), &["image"]))
    );
    assert!(!at(&service("local-moto"), &["healthcheck", "test"]).is_null());

    let standin_in_image = read("src/executor/simulated.rs")
        .lines()
        .find_map(|l| l.strip_prefix("pub const STANDIN_IN_IMAGE: &str = \""))
        .and_then(|l| l.strip_suffix("\";"))
        .expect("STANDIN_IN_IMAGE in src/executor/simulated.rs")
        .to_owned();
    let (api, worker) = (service("local-api"), service("local-worker"));
    assert_eq!(
        scalar(at(&api, &["build", "target"])).as_deref(),
        Some("local"),
        "the image target with the stand-in"
    );
    for (name, svc) in [("local-api", &api), ("local-worker", &worker)] {
        assert_eq!(scalar(at(svc, &["image"])).as_deref(), Some("byoc:local"));
        // The simulated engine, labelled by its setting, on the stand-in the image carries.
        assert_eq!(
            env_here(svc, "BYOC_EXECUTOR").as_deref(),
            Some("simulated"),
            "{name}"
        );
        assert_eq!(
            env_here(svc, "BYOC_PULUMI_BIN").as_deref(),
            Some(standin_in_image.as_str()),
            "{name}"
        );
        assert_eq!(
            env_here(svc, "BYOC_AWS_ENDPOINT_URL").as_deref(),
            Some("http://local-moto:5000"),
            "{name}: AWS calls go to the profile's moto"
        );
        assert_eq!(
            scalar(at(
                svc,
                &[
                    "depends_on",
                    if name == "local-api" {
                        "local-moto"
                    } else {
                        "local-api"
                    },
                    "condition"
                ]
            ))
            .as_deref(),
            Some("service_healthy"),
            "{name}"
        );
        // Nothing real can leak in: no env file (docker/byoc.env may hold a real setup), no
        // AWS variable passed through from the shell, no state backend, no secret.
        assert!(at(svc, &["env_file"]).is_null(), "{name}: no env_file");
        let env = at(svc, &["environment"]).as_mapping().expect("a map");
        for key in env.keys().filter_map(scalar) {
            assert!(!key.starts_with("AWS_"), "{name}: {key}");
            assert!(
                ![
                    "PULUMI_BACKEND_URL",
                    "PULUMI_ACCESS_TOKEN",
                    "BYOC_MASTER_KEY",
                    "PULUMI_CONFIG_PASSPHRASE",
                    "BYOC_BOOTSTRAP_TOKEN",
                    "BYOC_DATABASE_URL",
                ]
                .contains(&key.as_str()),
                "{name}: {key}"
            );
        }
        // Its own volume, never the real one.
        let vols: Vec<String> = items(at(svc, &["volumes"]))
            .iter()
            .filter_map(scalar)
            .collect();
        let data_dir = env_here(svc, "BYOC_DATA_DIR").unwrap();
        assert_eq!(vols, [format!("byoc-local-data:{data_dir}")], "{name}");
        let stop =
            duration_secs(&scalar(at(svc, &["stop_grace_period"])).expect("stop_grace_period"));
        let shutdown: u64 = env_here(svc, "BYOC_SHUTDOWN_GRACE_SECONDS")
            .unwrap()
            .parse()
            .unwrap();
        let cancel: u64 = env_here(svc, "BYOC_CANCEL_GRACE_SECONDS")
            .unwrap()
            .parse()
            .unwrap();
        assert!(stop > shutdown && shutdown > cancel, "{name}");
        assert!(!at(svc, &["healthcheck", "test"]).is_null(), "{name}");
    }
    assert_eq!(
        env_here(&api, "BYOC_WORKER_CONCURRENCY").as_deref(),
        Some("0")
    );
    assert!(env_here(&worker, "BYOC_WORKER_CONCURRENCY").is_some_and(|c| c != "0"));
    assert!(
        at(&compose(), &["volumes"])
            .get("byoc-local-data")
            .is_some()
    );
}

#[test]
fn readme_documents_trying_it_without_aws() {
    let readme = read("README.md");
    let section = readme
        .split("## Try it without AWS")
        .nth(1)
        .expect("README lacks '## Try it without AWS'");
    let section = section.split("\n## ").next().unwrap();
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh code block");
    let commands: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(commands, ["cargo run -- dev"], "one command");
    for must in [
        "SIMULATED",
        "nothing is deployed",
        "docker compose -f docker/docker-compose.yml --profile local up --build local-api local-worker",
    ] {
        assert!(
            section.contains(must),
            "'Try it without AWS' lacks '{must}'"
        );
    }
}
