//! docker/k8s (kustomize base): the kustomization lists exactly the manifests present, pods
//! follow the `restricted` Pod Security Standard with a read-only root filesystem, grace
//! periods nest, the PostgreSQL topology holds (API replicas ≥ 2 behind a Service, workers
//! sharing no volume, the database URL and keys from the Secret, an S3 state backend), the
//! SQLite overlay (docker/k8s-sqlite) turns it back into one node, and the NetworkPolicies only
//! open the API port and DNS/HTTPS/PostgreSQL egress.

use std::collections::BTreeSet;

use yaml_serde::Value;

use super::{at, items, read, scalar, yaml, yaml_docs};

/// The `resources:` of docker/k8s/kustomization.yaml.
pub fn resource_files() -> Vec<String> {
    let k = yaml("docker/k8s/kustomization.yaml");
    items(at(&k, &["resources"]))
        .iter()
        .filter_map(scalar)
        .collect()
}

/// Every object of the base, with the file it is in.
fn objects() -> Vec<(String, Value)> {
    resource_files()
        .into_iter()
        .flat_map(|f| {
            yaml_docs(&format!("docker/k8s/{f}"))
                .into_iter()
                .map(move |d| (f.clone(), d))
        })
        .collect()
}

fn kind_named(kind: &str, name: &str) -> Value {
    objects()
        .into_iter()
        .map(|(_, o)| o)
        .find(|o| {
            scalar(at(o, &["kind"])).as_deref() == Some(kind)
                && scalar(at(o, &["metadata", "name"])).as_deref() == Some(name)
        })
        .unwrap_or_else(|| panic!("no {kind} {name} in docker/k8s"))
}

fn config_value(key: &str) -> Option<String> {
    scalar(at(&kind_named("ConfigMap", "byoc-config"), &["data", key]))
}

fn deployments() -> Vec<(String, Value)> {
    objects()
        .into_iter()
        .filter(|(_, o)| scalar(at(o, &["kind"])).as_deref() == Some("Deployment"))
        .collect()
}

fn secs(v: Option<String>, default: u64) -> u64 {
    v.map(|s| s.parse().unwrap()).unwrap_or(default)
}

#[test]
fn kustomization_lists_exactly_the_manifests_present() {
    let listed: BTreeSet<String> = resource_files().into_iter().collect();
    let present: BTreeSet<String> = std::fs::read_dir(super::repo("docker/k8s"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| (n.ends_with(".yaml") || n.ends_with(".yml")) && n != "kustomization.yaml")
        .collect();
    assert_eq!(
        listed, present,
        "docker/k8s/kustomization.yaml resources vs files"
    );
    let kinds: BTreeSet<String> = objects()
        .iter()
        .filter_map(|(_, o)| scalar(at(o, &["kind"])))
        .collect();
    for k in [
        "Deployment",
        "Service",
        "ServiceAccount",
        "ConfigMap",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(kinds.contains(k), "no {k} in the base");
    }
}

#[test]
fn pods_are_restricted_with_a_read_only_root_filesystem() {
    let deps = deployments();
    assert_eq!(deps.len(), 2, "API and worker Deployments");
    let dockerfile = read("docker/Dockerfile");
    let image_uid =
        super::dockerfile::args(&super::dockerfile::instructions(&dockerfile))["BYOC_UID"]
            .clone()
            .unwrap();
    for (file, d) in deps {
        let pod = at(&d, &["spec", "template", "spec"]);
        let psc = at(pod, &["securityContext"]);
        assert_eq!(at(psc, &["runAsNonRoot"]).as_bool(), Some(true), "{file}");
        assert_eq!(
            scalar(at(psc, &["runAsUser"])),
            Some(image_uid.clone()),
            "{file}: image uid"
        );
        assert_eq!(
            scalar(at(psc, &["seccompProfile", "type"])).as_deref(),
            Some("RuntimeDefault"),
            "{file}"
        );
        assert_eq!(
            at(pod, &["automountServiceAccountToken"]).as_bool(),
            Some(false),
            "{file}"
        );
        assert_eq!(
            scalar(at(pod, &["serviceAccountName"])).as_deref(),
            Some("byoc"),
            "{file}"
        );
        let volumes = items(at(pod, &["volumes"]));
        let empty_dirs: BTreeSet<String> = volumes
            .iter()
            .filter(|v| !at(v, &["emptyDir"]).is_null())
            .map(|v| {
                assert!(
                    !at(v, &["emptyDir", "sizeLimit"]).is_null(),
                    "{file}: emptyDir without sizeLimit"
                );
                scalar(at(v, &["name"])).unwrap()
            })
            .collect();
        let containers: Vec<&Value> = items(at(pod, &["containers"]))
            .iter()
            .chain(items(at(pod, &["initContainers"])))
            .collect();
        for c in &containers {
            let name = scalar(at(c, &["name"])).unwrap();
            let sc = at(c, &["securityContext"]);
            assert_eq!(
                at(sc, &["allowPrivilegeEscalation"]).as_bool(),
                Some(false),
                "{file}/{name}"
            );
            assert_eq!(
                at(sc, &["readOnlyRootFilesystem"]).as_bool(),
                Some(true),
                "{file}/{name}"
            );
            let drop: Vec<String> = items(at(sc, &["capabilities", "drop"]))
                .iter()
                .filter_map(scalar)
                .collect();
            assert_eq!(drop, ["ALL"], "{file}/{name}");
            assert!(
                at(sc, &["capabilities", "add"]).is_null(),
                "{file}/{name} adds capabilities"
            );
            for part in ["requests", "limits"] {
                assert!(
                    !at(c, &["resources", part, "ephemeral-storage"]).is_null(),
                    "{file}/{name}: ephemeral-storage {part}"
                );
                assert!(
                    !at(c, &["resources", part, "memory"]).is_null(),
                    "{file}/{name}: memory {part}"
                );
            }
        }
        // Every writable path byoc, pulumi and the AWS CLI use is a mounted volume; the
        // workspaces, PULUMI_HOME, HOME and /tmp are node-local emptyDirs, /data the PVC.
        let main = items(at(pod, &["containers"]))[0].clone();
        let mounts: Vec<(String, String)> = items(at(&main, &["volumeMounts"]))
            .iter()
            .map(|m| {
                (
                    scalar(at(m, &["mountPath"])).unwrap(),
                    scalar(at(m, &["name"])).unwrap(),
                )
            })
            .collect();
        let mount_of = |path: &str| {
            mounts
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, n)| n.clone())
        };
        for (setting, default) in [
            ("BYOC_WORKSPACE_DIR", None),
            ("BYOC_PULUMI_HOME", None),
            ("", Some("/tmp")),
            ("", Some("/home/byoc")),
        ] {
            let path = default
                .map(str::to_owned)
                .or_else(|| config_value(setting))
                .unwrap();
            let vol =
                mount_of(&path).unwrap_or_else(|| panic!("{file}: nothing mounted at {path}"));
            assert!(
                empty_dirs.contains(&vol),
                "{file}: {path} must be an emptyDir"
            );
        }
        // The data dir too: with PostgreSQL no pod keeps anything another one needs (the
        // SQLite overlay swaps it for the ReadWriteOnce claim).
        let data_dir = config_value("BYOC_DATA_DIR").unwrap();
        let data = mount_of(&data_dir).unwrap_or_else(|| panic!("{file}: data dir not mounted"));
        assert!(
            empty_dirs.contains(&data),
            "{file}: the data dir must be an emptyDir"
        );
        assert!(
            volumes
                .iter()
                .all(|v| at(v, &["persistentVolumeClaim"]).is_null()),
            "{file}: no shared volume"
        );
        // The plugin cache is the image's: the init container links it into PULUMI_HOME.
        let init = items(at(pod, &["initContainers"]));
        let link = init
            .iter()
            .find(|c| scalar(at(c, &["name"])).as_deref() == Some("link-plugins"))
            .expect("link-plugins init container");
        let cmd: Vec<String> = items(at(link, &["command"]))
            .iter()
            .filter_map(scalar)
            .collect();
        assert_eq!(
            cmd,
            [
                "ln",
                "-sfn",
                "/opt/pulumi-home/plugins",
                &format!("{}/plugins", config_value("BYOC_PULUMI_HOME").unwrap())
            ]
        );
    }
}

#[test]
fn grace_periods_nest_so_sigterm_cancels_cleanly() {
    let cancel = secs(config_value("BYOC_CANCEL_GRACE_SECONDS"), 120);
    let shutdown = secs(config_value("BYOC_SHUTDOWN_GRACE_SECONDS"), 150);
    assert!(
        shutdown > cancel,
        "BYOC_SHUTDOWN_GRACE_SECONDS {shutdown} must exceed BYOC_CANCEL_GRACE_SECONDS {cancel}"
    );
    for (file, d) in deployments() {
        let tgps = at(
            &d,
            &["spec", "template", "spec", "terminationGracePeriodSeconds"],
        )
        .as_u64();
        let tgps = tgps.unwrap_or_else(|| panic!("{file}: no terminationGracePeriodSeconds"));
        assert!(
            tgps > shutdown,
            "{file}: terminationGracePeriodSeconds {tgps} <= shutdown grace {shutdown}"
        );
    }
}

fn env_value(d: &Value, name: &str) -> Option<String> {
    items(at(d, &["spec", "template", "spec", "containers"]))
        .iter()
        .flat_map(|c| items(at(c, &["env"])))
        .find(|e| scalar(at(e, &["name"])).as_deref() == Some(name))
        .and_then(|e| scalar(at(e, &["value"])))
}

fn secret_key(d: &Value, name: &str) -> Option<String> {
    items(at(d, &["spec", "template", "spec", "containers"]))
        .iter()
        .flat_map(|c| items(at(c, &["env"])))
        .find(|e| scalar(at(e, &["name"])).as_deref() == Some(name))
        .and_then(|e| scalar(at(e, &["valueFrom", "secretKeyRef", "key"])))
}

fn worker_args(worker: &Value) -> Vec<String> {
    items(&items(at(worker, &["spec", "template", "spec", "containers"]))[0]["args"])
        .iter()
        .filter_map(scalar)
        .collect()
}

#[test]
fn postgres_topology_api_replicas_behind_a_service_and_workers_on_any_node() {
    let api = kind_named("Deployment", "byoc-api");
    let worker = kind_named("Deployment", "byoc-worker");
    assert!(
        at(&api, &["spec", "replicas"])
            .as_u64()
            .is_some_and(|n| n >= 2),
        "two API replicas or more"
    );
    // Rolled one at a time, never below the replicas asked for.
    assert_eq!(
        scalar(at(&api, &["spec", "strategy", "type"])).as_deref(),
        Some("RollingUpdate")
    );
    assert_eq!(
        scalar(at(
            &api,
            &["spec", "strategy", "rollingUpdate", "maxUnavailable"]
        ))
        .as_deref(),
        Some("0")
    );
    assert_eq!(
        env_value(&api, "BYOC_WORKER_CONCURRENCY").as_deref(),
        Some("0"),
        "operations run in worker pods"
    );
    assert!(env_value(&worker, "BYOC_WORKER_CONCURRENCY").is_some_and(|c| c != "0"));
    assert_eq!(worker_args(&worker), ["worker"]);
    // Workers are not tied to the API's node any more.
    assert!(
        at(
            &worker,
            &["spec", "template", "spec", "affinity", "podAffinity"]
        )
        .is_null(),
        "workers run on any node"
    );
    // The database URL (it carries the password) and the shared keys come from the Secret.
    for d in [&api, &worker] {
        for key in [
            "BYOC_DATABASE_URL",
            "BYOC_MASTER_KEY",
            "PULUMI_CONFIG_PASSPHRASE",
        ] {
            assert_eq!(secret_key(d, key).as_deref(), Some(key));
        }
    }
    // One state backend every worker reaches: a bucket, not a path on a pod.
    assert!(
        config_value("PULUMI_BACKEND_URL").is_some_and(|u| u.starts_with("s3://")),
        "the ConfigMap names an s3:// state backend"
    );
    // A Service in front of the API pods (and of nothing else).
    let svc = kind_named("Service", "byoc-api");
    let selector = at(&svc, &["spec", "selector"]);
    let pod_labels = at(&api, &["spec", "template", "metadata", "labels"]);
    for (k, v) in selector.as_mapping().expect("a selector") {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "the Service selects the API pods"
        );
    }
    assert_eq!(
        scalar(at(selector, &["app.kubernetes.io/component"])).as_deref(),
        Some("api")
    );
    for (name, component) in [("byoc-api", "api"), ("byoc-worker", "worker")] {
        let pdb = kind_named("PodDisruptionBudget", name);
        assert_eq!(
            scalar(at(
                &pdb,
                &[
                    "spec",
                    "selector",
                    "matchLabels",
                    "app.kubernetes.io/component"
                ]
            ))
            .as_deref(),
            Some(component)
        );
    }
    let sa = kind_named("ServiceAccount", "byoc");
    assert!(
        scalar(at(
            &sa,
            &["metadata", "annotations", "eks.amazonaws.com/role-arn"]
        ))
        .is_some_and(|a| a.starts_with("arn:aws:iam::"))
    );
}

/// docker/k8s-sqlite: its kustomization and patches, read as YAML (CI also renders it with
/// `kubectl kustomize` and validates the result).
#[test]
fn the_sqlite_overlay_is_one_api_replica_and_workers_on_its_node_sharing_a_claim() {
    const DIR: &str = "docker/k8s-sqlite";
    let k = yaml(&format!("{DIR}/kustomization.yaml"));
    let resources: Vec<String> = items(at(&k, &["resources"]))
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(resources, ["../k8s", "pvc.yaml"]);
    let patch_files: Vec<String> = items(at(&k, &["patches"]))
        .iter()
        .filter_map(|p| scalar(at(p, &["path"])))
        .collect();
    let patch = |name: &str| {
        let file = format!("{name}.yaml");
        assert!(patch_files.contains(&file), "{DIR}: no patch {file}");
        yaml(&format!("{DIR}/{file}"))
    };
    let pvc = yaml(&format!("{DIR}/pvc.yaml"));
    assert_eq!(
        scalar(at(&pvc, &["metadata", "name"])).as_deref(),
        Some("byoc-data")
    );
    let modes: Vec<String> = items(at(&pvc, &["spec", "accessModes"]))
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(modes, ["ReadWriteOnce"]);

    let api = patch("api-deployment");
    assert_eq!(at(&api, &["spec", "replicas"]).as_u64(), Some(1));
    assert_eq!(
        scalar(at(&api, &["spec", "strategy", "type"])).as_deref(),
        Some("Recreate")
    );
    let worker = patch("worker-deployment");
    let term = &items(at(
        &worker,
        &[
            "spec",
            "template",
            "spec",
            "affinity",
            "podAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
        ],
    ))[0];
    assert_eq!(
        scalar(at(term, &["topologyKey"])).as_deref(),
        Some("kubernetes.io/hostname")
    );
    assert_eq!(
        scalar(at(
            term,
            &[
                "labelSelector",
                "matchLabels",
                "app.kubernetes.io/component"
            ]
        ))
        .as_deref(),
        Some("api")
    );
    for (name, d) in [("api", &api), ("worker", &worker)] {
        let spec = at(d, &["spec", "template", "spec"]);
        let data = items(at(spec, &["volumes"]))
            .iter()
            .find(|v| scalar(at(v, &["name"])).as_deref() == Some("data"))
            .unwrap_or_else(|| panic!("{name}: no data volume patch"));
        assert_eq!(
            scalar(at(data, &["persistentVolumeClaim", "claimName"])).as_deref(),
            Some("byoc-data")
        );
        assert!(at(data, &["emptyDir"]).is_null());
        // The database URL entry is deleted: SQLite in the data dir.
        let deleted: Vec<String> = items(at(&items(at(spec, &["containers"]))[0], &["env"]))
            .iter()
            .filter(|e| scalar(at(e, &["$patch"])).as_deref() == Some("delete"))
            .filter_map(|e| scalar(at(e, &["name"])))
            .collect();
        assert_eq!(deleted, ["BYOC_DATABASE_URL"], "{name}");
    }
    // File state on the data volume: the bucket URL is removed.
    let cm = patch("configmap");
    assert!(
        at(&cm, &["data"])
            .get("PULUMI_BACKEND_URL")
            .is_some_and(Value::is_null)
    );
    // The single API pod has no disruption budget (it would block every drain of its node).
    let inline: String = items(at(&k, &["patches"]))
        .iter()
        .filter_map(|p| scalar(at(p, &["patch"])))
        .collect();
    assert!(inline.contains("$patch: delete") && inline.contains("name: byoc-api"));
}

#[test]
fn network_policies_open_only_the_api_and_worker_health_ports_and_dns_https_postgres_egress() {
    for name in ["byoc-api", "byoc-worker"] {
        let np = kind_named("NetworkPolicy", name);
        let types: Vec<String> = items(at(&np, &["spec", "policyTypes"]))
            .iter()
            .filter_map(scalar)
            .collect();
        assert_eq!(types, ["Ingress", "Egress"], "{name}");
        let ingress = items(at(&np, &["spec", "ingress"]));
        let in_ports: Vec<u64> = ingress
            .iter()
            .flat_map(|r| items(at(r, &["ports"])))
            .filter_map(|p| at(p, &["port"]).as_u64())
            .collect();
        assert!(ingress.iter().all(|r| !items(at(r, &["ports"])).is_empty()));
        if name == "byoc-api" {
            assert_eq!(in_ports, [8000], "{name}: ingress to the API port only");
        } else {
            // The port the workers serve /health, /ready and /metrics on, which the probes and
            // Prometheus (README) reach: exactly that one.
            let worker = kind_named("Deployment", "byoc-worker");
            let bind = env_value(&worker, "BYOC_WORKER_HEALTH_BIND").expect("health bind");
            let port: u64 = bind.rsplit(':').next().unwrap().parse().unwrap();
            assert_eq!(
                in_ports,
                [port],
                "{name}: ingress to the health/metrics port only"
            );
            let readme = read("README.md");
            assert!(
                readme.contains("Prometheus") && readme.contains(&format!("port {port}")),
                "README tells Prometheus to scrape port {port}"
            );
        }
        for rule in items(at(&np, &["spec", "egress"])) {
            let ports: Vec<u64> = items(at(rule, &["ports"]))
                .iter()
                .filter_map(|p| at(p, &["port"]).as_u64())
                .collect();
            assert!(
                !ports.is_empty(),
                "{name}: an egress rule without ports opens everything"
            );
            for p in ports {
                match p {
                    // DNS, HTTPS, PostgreSQL (BYOC_DATABASE_URL).
                    53 | 443 | 5432 => {}
                    // Only to the EKS Pod Identity agent.
                    80 => assert_eq!(
                        scalar(at(&items(at(rule, &["to"]))[0], &["ipBlock", "cidr"])).as_deref(),
                        Some("169.254.170.23/32")
                    ),
                    other => panic!("{name}: egress port {other}"),
                }
            }
        }
    }
}
