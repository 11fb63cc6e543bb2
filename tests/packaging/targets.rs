//! The two image targets (docker/Dockerfile): `dev`, what docker compose builds with no build
//! argument (plugins fetched by pulumi at first use), and `production`, the default target the
//! Kubernetes manifests run (plugins baked, verified, and no download at run time).

use std::collections::BTreeMap;

use super::dockerfile::{Instruction, instructions, runtime_env, stage};
use super::{at, items, read, scalar, yaml};

/// The file the plugins stage writes once every plugin is verified (path in the image).
pub const VERIFIED_MARKER: &str = "/opt/pulumi-home/plugins/BYOC_PLUGINS_VERIFIED";

/// Stage name → its instructions, in file order.
fn stages(ins: &[Instruction]) -> Vec<(String, &[Instruction])> {
    ins.iter()
        .filter(|i| i.keyword == "FROM")
        .map(|i| {
            let name = i.args.rsplit(" AS ").next().unwrap().to_owned();
            (name.clone(), stage(ins, &name))
        })
        .inspect(|(_, s)| assert!(!s.is_empty()))
        .collect()
}

/// Every `ARG` a `RUN` uses (`$NAME` or `${NAME}`) that has no default in its stage: such a
/// build fails or, worse, runs with an empty value. An ARG declared before the first FROM is
/// global; a stage redeclaring it bare inherits that default.
pub fn args_without_default_used_by_run(text: &str) -> Vec<String> {
    let ins = instructions(text);
    let first_from = ins
        .iter()
        .position(|i| i.keyword == "FROM")
        .unwrap_or(ins.len());
    let global = super::dockerfile::args(&ins[..first_from]);
    let mut problems = Vec::new();
    for (name, st) in stages(&ins) {
        let mut declared: BTreeMap<String, Option<String>> = BTreeMap::new();
        for i in st.iter() {
            match i.keyword.as_str() {
                "ARG" => {
                    let (k, v) = match i.args.split_once('=') {
                        Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
                        None => {
                            let k = i.args.trim().to_owned();
                            let inherited = global.get(&k).cloned().flatten();
                            (k, inherited)
                        }
                    };
                    declared.insert(k, v);
                }
                "RUN" => {
                    for (arg, default) in &declared {
                        let used = i.args.contains(&format!("${{{arg}}}"))
                            || i.args.contains(&format!("${arg} "))
                            || i.args.ends_with(&format!("${arg}"));
                        if used && default.is_none() {
                            problems.push(format!(
                                "stage {name}: RUN uses ARG {arg}, which has no default"
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    problems
}

#[test]
fn no_run_needs_an_arg_without_a_default() {
    let text = read("docker/Dockerfile");
    let problems = args_without_default_used_by_run(&text);
    assert!(problems.is_empty(), "{problems:#?}");
    // The checker sees an ARG that lost its default.
    let broken = text.replacen("ARG PULUMI_VERSION=3.255.0", "ARG PULUMI_VERSION", 1);
    assert_ne!(broken, text);
    assert!(
        args_without_default_used_by_run(&broken)
            .iter()
            .any(|p| p.contains("PULUMI_VERSION")),
        "a bare ARG used by RUN must be reported"
    );
}

/// The stages `target` is built from: itself, its FROM parents and every `COPY --from`.
fn needed(all: &[(String, &[Instruction])], target: &str) -> Vec<String> {
    let mut out = vec![target.to_owned()];
    let mut i = 0;
    while i < out.len() {
        let st = all
            .iter()
            .find(|(n, _)| *n == out[i])
            .map(|(_, s)| *s)
            .unwrap();
        let parent = st[0].args.split_whitespace().next().unwrap().to_owned();
        let copies = st
            .iter()
            .filter(|i| i.keyword == "COPY")
            .filter_map(|i| {
                i.args
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("--from="))
            })
            .map(str::to_owned);
        for dep in std::iter::once(parent).chain(copies) {
            if all.iter().any(|(n, _)| *n == dep) && !out.contains(&dep) {
                out.push(dep);
            }
        }
        i += 1;
    }
    out
}

#[test]
fn the_dev_target_builds_without_arguments_and_production_bakes_verified_plugins() {
    let text = read("docker/Dockerfile");
    let ins = instructions(&text);
    let all = stages(&ins);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    // `docker build` without --target builds the last stage: production, which needs the
    // checksums. The legacy builder (docker-compose 1.29) runs every stage up to the target in
    // file order, so `dev` comes before the stage that downloads the plugins.
    assert_eq!(names.last(), Some(&"production"), "{names:?}");
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("dev") < pos("plugins"), "{names:?}");
    let dev = needed(&all, "dev");
    assert!(
        !dev.contains(&"plugins".to_owned()),
        "dev must not need the plugins: {dev:?}"
    );
    for (name, st) in &all {
        if dev.contains(name) {
            let text = st
                .iter()
                .map(|i| i.args.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                !text.contains("PLUGIN_SHA256"),
                "stage {name} (needed by dev) uses a plugin checksum"
            );
        }
    }
    assert!(needed(&all, "production").contains(&"plugins".to_owned()));

    let dev_env = runtime_env(stage(&ins, "dev"));
    assert!(!dev_env.contains_key("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"));
    let prod_env = runtime_env(stage(&ins, "production"));
    assert_eq!(
        prod_env
            .get("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION")
            .map(String::as_str),
        Some("true")
    );
    // The plugins stage refuses empty checksums, verifies, then writes the marker.
    let plugins = stage(&ins, "plugins")
        .iter()
        .filter(|i| i.keyword == "RUN")
        .map(|i| i.args.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let verify = plugins.find("sha256sum -c").expect("verification");
    let marker = plugins
        .find(&format!("> {VERIFIED_MARKER}"))
        .expect("marker written");
    assert!(verify < marker, "the marker is written after verification");
    assert!(plugins.contains("grep -Eqx '[0-9a-f]{64}'"));
}

#[test]
fn production_manifests_run_the_baking_image_and_forbid_plugin_downloads() {
    for file in ["api-deployment.yaml", "worker-deployment.yaml"] {
        let d = yaml(&format!("docker/k8s/{file}"));
        let pod = at(&d, &["spec", "template", "spec"]);
        let init = items(at(pod, &["initContainers"]));
        let guard = init
            .iter()
            .position(|c| {
                items(at(c, &["command"]))
                    .iter()
                    .filter_map(scalar)
                    .collect::<Vec<_>>()
                    == ["test", "-s", VERIFIED_MARKER]
            })
            .unwrap_or_else(|| panic!("{file}: no init container requiring {VERIFIED_MARKER}"));
        assert_eq!(guard, 0, "{file}: the guard runs first");
        for c in items(at(pod, &["containers"])).iter().chain(init) {
            let image = scalar(at(c, &["image"])).unwrap();
            assert_eq!(
                image, "byoc",
                "{file}: the production image, set by the overlay"
            );
        }
        for c in items(at(pod, &["containers"])) {
            let env: Vec<(String, Option<String>)> = items(at(c, &["env"]))
                .iter()
                .map(|e| (scalar(at(e, &["name"])).unwrap(), scalar(at(e, &["value"]))))
                .collect();
            assert!(
                env.contains(&(
                    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION".into(),
                    Some("true".into())
                )),
                "{file}: {env:?}"
            );
        }
    }
    // Compose runs the dev image, never the production one's name.
    let compose = yaml("docker/docker-compose.yml");
    assert_eq!(
        scalar(at(&compose, &["services", "api", "build", "target"])).as_deref(),
        Some("dev")
    );
    assert!(
        at(&compose, &["services", "api", "build", "args"]).is_null(),
        "no build args"
    );
}

#[test]
fn the_checksum_script_reads_the_pinned_versions() {
    let script = read("scripts/plugin-checksums");
    for arg in [
        "PULUMI_${upper}_PLUGIN_VERSION",
        "PULUMI_${upper}_PLUGIN_SHA256",
    ] {
        assert!(script.contains(arg), "scripts/plugin-checksums lacks {arg}");
    }
    assert!(script.contains("docker/plugin-checksums.env"));
    let mode = std::fs::metadata(super::repo("scripts/plugin-checksums"))
        .unwrap()
        .permissions();
    assert!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111 != 0,
        "executable"
    );
}

#[test]
fn the_local_target_is_the_labelled_simulated_engine_from_the_tests_stand_in() {
    let text = read("docker/Dockerfile");
    let ins = instructions(&text);
    let all = stages(&ins);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    // Built by the legacy builder without the plugin checksums, like `dev`.
    assert!(pos("local") < pos("plugins"), "{names:?}");
    let local = needed(&all, "local");
    assert!(!local.contains(&"plugins".to_owned()), "{local:?}");
    let st = stage(&ins, "local");
    assert_eq!(st[0].args, "base AS local");

    let env = runtime_env(st);
    assert_eq!(
        env.get("BYOC_EXECUTOR").map(String::as_str),
        Some("simulated")
    );
    let standin = env.get("BYOC_PULUMI_BIN").expect("BYOC_PULUMI_BIN");
    assert!(
        read("src/executor/simulated.rs").contains(&format!(
            "pub const STANDIN_IN_IMAGE: &str = \"{standin}\";"
        )),
        "the image's stand-in is where the simulated engine looks: {standin}"
    );
    // The stand-in is copied from tests/support, its single source, next to its package.
    let dir = standin.rsplit_once('/').unwrap().0;
    let copies: Vec<&str> = st
        .iter()
        .filter(|i| i.keyword == "COPY")
        .map(|i| i.args.as_str())
        .collect();
    for (from, to) in [
        ("tests/support/pulumi-standin", standin.clone()),
        (
            "tests/support/pulumi_standin",
            format!("{dir}/pulumi_standin"),
        ),
    ] {
        assert!(
            copies.iter().any(|c| c.ends_with(&format!("{from} {to}"))),
            "COPY {from} {to}: {copies:?}"
        );
    }
    let ignore = read("docker/Dockerfile.dockerignore");
    for path in [
        "!tests/support/pulumi-standin",
        "!tests/support/pulumi_standin/",
    ] {
        assert!(
            ignore.lines().any(|l| l == path),
            "dockerignore lacks {path}"
        );
    }
    // Labelled as what it is.
    let label = st
        .iter()
        .find(|i| i.keyword == "LABEL")
        .expect("a LABEL")
        .args
        .clone();
    assert!(
        label.contains("SIMULATED") && label.contains("nothing is deployed"),
        "{label}"
    );
    // Back to base's fixed non-root user after installing python.
    let base_uid = super::dockerfile::args(stage(&ins, "base"))
        .get("BYOC_UID")
        .cloned()
        .flatten()
        .unwrap();
    let base_gid = super::dockerfile::args(stage(&ins, "base"))
        .get("BYOC_GID")
        .cloned()
        .flatten()
        .unwrap();
    let user = st.iter().rev().find(|i| i.keyword == "USER").unwrap();
    assert_eq!(user.args, format!("{base_uid}:{base_gid}"));
    // No downloads: python3 and PyYAML from Debian, pinned.
    let run = st.iter().find(|i| i.keyword == "RUN").unwrap();
    assert!(
        run.args.contains("python3=") && run.args.contains("python3-yaml="),
        "{}",
        run.args
    );
    assert!(!run.args.contains("curl "), "{}", run.args);
}
