//! docker/docker-compose.yml: PostgreSQL, two API replicas and two workers sharing no data
//! volume, secrets generated (never committed), health checks, restart policies, a stop grace
//! period longer than the operation shutdown grace, and the `local-aws` profile with a pinned
//! moto image. docker/docker-compose.sqlite.yml: the single-node option, api + scalable workers
//! on one data volume.

use yaml_serde::Value;

use super::{at, dotenv_pairs, items, read, scalar, yaml};

const MAIN: &str = "docker/docker-compose.yml";
const SQLITE: &str = "docker/docker-compose.sqlite.yml";

fn compose() -> Value {
    yaml(MAIN)
}

fn service(name: &str) -> Value {
    service_in(MAIN, name)
}

fn service_in(file: &str, name: &str) -> Value {
    at(&yaml(file), &["services", name]).clone()
}

fn strings(v: &Value) -> Vec<String> {
    items(v).iter().filter_map(scalar).collect()
}

/// `image:tag` with a pinned `major.minor[.patch]` tag (a variant suffix such as `-bookworm`
/// allowed).
fn assert_pinned(image: &str, repo: &str) {
    let tag = image
        .strip_prefix(&format!("{repo}:"))
        .unwrap_or_else(|| panic!("{image} is not {repo}:<tag>"));
    let version = tag.split('-').next().unwrap();
    assert!(
        version.split('.').count() >= 2 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
        "pinned tag, got {image}"
    );
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

/// What every byoc service of both files keeps: one image, settings from an env file, a
/// health check, restarts, and grace periods that nest (Docker's default 10 s would SIGKILL
/// pulumi mid-operation and leave the stack locked).
fn assert_byoc_service(svc: &Value, what: &str) {
    assert!(
        !at(svc, &["healthcheck", "test"]).is_null(),
        "{what}: health check"
    );
    assert_eq!(
        scalar(at(svc, &["restart"])).as_deref(),
        Some("unless-stopped"),
        "{what}"
    );
    let stop = duration_secs(&scalar(at(svc, &["stop_grace_period"])).expect("stop_grace_period"));
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
        "{what}: stop {stop} > shutdown {shutdown} > cancel {cancel}"
    );
    assert!(
        !items(at(svc, &["env_file"])).is_empty(),
        "{what}: settings from an env file"
    );
    assert_eq!(
        scalar(at(svc, &["image"])).as_deref(),
        Some("byoc:dev"),
        "{what}"
    );
}

#[test]
fn postgres_two_api_replicas_and_two_workers_share_no_data_volume() {
    let (api, api2, worker) = (service("api"), service("api-2"), service("worker"));
    for (name, svc) in [("api", &api), ("api-2", &api2)] {
        assert_eq!(strings(at(svc, &["command"])), ["serve"], "{name}");
        assert_eq!(
            setting(svc, "BYOC_WORKER_CONCURRENCY").as_deref(),
            Some("0"),
            "{name} runs no operations"
        );
        assert_eq!(
            scalar(at(svc, &["depends_on", "postgres", "condition"])).as_deref(),
            Some("service_healthy"),
            "{name} starts on a ready database"
        );
    }
    // Two replicas, each on a host port of its own.
    let port = |svc: &Value| strings(at(svc, &["ports"]));
    assert_ne!(port(&api), port(&api2));
    assert_eq!(strings(at(&worker, &["command"])), ["worker"]);
    assert!(setting(&worker, "BYOC_WORKER_CONCURRENCY").is_some_and(|c| c != "0"));
    assert!(
        at(&worker, &["scale"]).as_u64().is_some_and(|n| n >= 2),
        "two workers by default"
    );
    // --scale worker=N needs no fixed name and no host port.
    assert!(at(&worker, &["container_name"]).is_null() && at(&worker, &["ports"]).is_null());
    assert_eq!(
        scalar(at(&api, &["build", "dockerfile"])).as_deref(),
        Some("docker/Dockerfile")
    );
    let postgres = service("postgres");
    assert_pinned(&scalar(at(&postgres, &["image"])).unwrap(), "postgres");
    assert!(!at(&postgres, &["healthcheck", "test"]).is_null());
    let init = service("init");
    for (name, svc) in [("api", &api), ("api-2", &api2), ("worker", &worker)] {
        assert_byoc_service(svc, name);
        // No data volume: the database is PostgreSQL, the state backend is shared by URL.
        let data_dir = setting(svc, "BYOC_DATA_DIR").unwrap();
        let vols = strings(at(svc, &["volumes"]));
        assert!(
            !vols.iter().any(|v| v.ends_with(&format!(":{data_dir}"))),
            "{name}: {vols:?}"
        );
        let home = setting(svc, "BYOC_PULUMI_HOME").unwrap();
        assert!(vols.contains(&format!("pulumi-home:{home}")), "{vols:?}");
        // The generated secrets, read-only; loaded by the entrypoint before byoc starts.
        assert!(
            vols.contains(&"byoc-secrets:/secrets:ro".to_owned()),
            "{vols:?}"
        );
        let entry = strings(at(svc, &["entrypoint"])).join(" ");
        assert!(
            entry.starts_with("/usr/bin/tini -- /bin/sh -c")
                && entry.contains(". /secrets/byoc.env")
                && entry.contains("exec /usr/local/bin/byoc"),
            "{name}: {entry}"
        );
        let deps = at(svc, &["depends_on"]);
        if name != "worker" {
            assert_eq!(
                scalar(at(deps, &["init", "condition"])).as_deref(),
                Some("service_completed_successfully"),
                "{name}"
            );
        }
    }
    assert_eq!(
        scalar(at(&worker, &["depends_on", "api", "condition"])).as_deref(),
        Some("service_healthy"),
        "workers start after the API has migrated the database"
    );
    // The init service writes every secret byoc needs with PostgreSQL, and the URL.
    let script = strings(at(&init, &["command"])).join("\n");
    for var in [
        "BYOC_MASTER_KEY",
        "PULUMI_CONFIG_PASSPHRASE",
        "BYOC_DATABASE_URL=postgres://",
    ] {
        assert!(script.contains(var), "init does not write {var}");
    }
    assert_eq!(
        scalar(at(&postgres, &["environment", "POSTGRES_PASSWORD_FILE"])).as_deref(),
        Some("/secrets/postgres-password")
    );
    for v in [
        "byoc-secrets",
        "postgres-data",
        "pulumi-home",
        "pulumi-state",
    ] {
        assert!(at(&compose(), &["volumes"]).get(v).is_some(), "volume {v}");
    }
}

#[test]
fn the_sqlite_option_runs_api_and_scalable_workers_on_one_data_volume() {
    let (api, worker) = (service_in(SQLITE, "api"), service_in(SQLITE, "worker"));
    assert_eq!(strings(at(&api, &["command"])), ["serve"]);
    assert_eq!(strings(at(&worker, &["command"])), ["worker"]);
    assert_eq!(
        setting(&api, "BYOC_WORKER_CONCURRENCY").as_deref(),
        Some("0")
    );
    let data_dir = setting(&api, "BYOC_DATA_DIR").unwrap();
    for (name, svc) in [("api", &api), ("worker", &worker)] {
        assert_byoc_service(svc, name);
        let vols = strings(at(svc, &["volumes"]));
        assert!(vols.contains(&format!("byoc-data:{data_dir}")), "{vols:?}");
        assert!(
            setting(svc, "BYOC_DATABASE_URL")
                .unwrap_or_default()
                .is_empty()
        );
        assert!(
            setting(svc, "PULUMI_BACKEND_URL")
                .unwrap_or_default()
                .is_empty()
        );
    }
    let services = at(&yaml(SQLITE), &["services"])
        .as_mapping()
        .unwrap()
        .clone();
    assert!(services.get("postgres").is_none() && services.get("api-2").is_none());
    assert_eq!(
        scalar(at(&worker, &["depends_on", "api", "condition"])).as_deref(),
        Some("service_healthy")
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
    for name in ["api", "api-2", "worker"] {
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
    // State: a file backend on the volume every byoc container of this host mounts, unless
    // the shell names another (s3://…).
    for name in ["api", "api-2", "worker"] {
        let svc = service(name);
        assert_eq!(
            setting(&svc, "PULUMI_BACKEND_URL").as_deref(),
            Some("${PULUMI_BACKEND_URL:-file:///var/lib/byoc/state}"),
            "{name}"
        );
        assert!(
            strings(at(&svc, &["volumes"])).contains(&"pulumi-state:/var/lib/byoc/state".into()),
            "{name}"
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
