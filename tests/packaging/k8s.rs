//! docker/k8s (kustomize base): the kustomization lists exactly the manifests present, pods
//! follow the `restricted` Pod Security Standard with a read-only root filesystem, grace
//! periods nest, SQLite's topology (one API replica, workers on its node) is enforced, and the
//! NetworkPolicies only open the API port and DNS/HTTPS egress.

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
        "PersistentVolumeClaim",
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
        let data_dir = config_value("BYOC_DATA_DIR").unwrap();
        let data = mount_of(&data_dir).unwrap_or_else(|| panic!("{file}: data dir not mounted"));
        assert!(volumes.iter().any(
            |v| scalar(at(v, &["name"])).as_deref() == Some(data.as_str())
                && scalar(at(v, &["persistentVolumeClaim", "claimName"])).as_deref()
                    == Some("byoc-data")
        ));
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

#[test]
fn sqlite_topology_one_api_replica_and_workers_on_its_node() {
    let api = kind_named("Deployment", "byoc-api");
    let worker = kind_named("Deployment", "byoc-worker");
    assert_eq!(
        at(&api, &["spec", "replicas"]).as_u64(),
        Some(1),
        "one API replica (embedded SQLite)"
    );
    assert_eq!(
        scalar(at(&api, &["spec", "strategy", "type"])).as_deref(),
        Some("Recreate")
    );
    assert_eq!(
        env_value(&api, "BYOC_WORKER_CONCURRENCY").as_deref(),
        Some("0"),
        "operations run in worker pods"
    );
    assert!(env_value(&worker, "BYOC_WORKER_CONCURRENCY").is_some_and(|c| c != "0"));
    let worker_args: Vec<String> =
        items(&items(at(&worker, &["spec", "template", "spec", "containers"]))[0]["args"])
            .iter()
            .filter_map(scalar)
            .collect();
    assert_eq!(worker_args, ["worker"]);
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
    let pvc = kind_named("PersistentVolumeClaim", "byoc-data");
    let modes: Vec<String> = items(at(&pvc, &["spec", "accessModes"]))
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(modes, ["ReadWriteOnce"]);
    let pdb = kind_named("PodDisruptionBudget", "byoc-worker");
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
        Some("worker")
    );
    let sa = kind_named("ServiceAccount", "byoc");
    assert!(
        scalar(at(
            &sa,
            &["metadata", "annotations", "eks.amazonaws.com/role-arn"]
        ))
        .is_some_and(|a| a.starts_with("arn:aws:iam::"))
    );
}

#[test]
fn network_policies_open_only_the_api_and_worker_health_ports_and_dns_https_egress() {
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
                    53 | 443 => {}
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
