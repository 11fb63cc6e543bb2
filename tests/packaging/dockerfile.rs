//! docker/Dockerfile: every downloaded artifact is pinned by a version ARG and verified by a
//! sha256 ARG right after the download; the runtime image runs `byoc` as a fixed non-root user;
//! the `dev` target builds with no argument, the default `production` target bakes the plugins.

use std::collections::BTreeMap;

use super::read;

/// Checksum ARGs with an empty default on purpose: no published value could be checked when
/// they were pinned, so the `production` target refuses to build until they are passed with
/// `--build-arg` (scripts/plugin-checksums records them). Everything else carries its sha256.
pub const REQUIRED_CHECKSUM_ARGS: &[&str] = &[
    "PULUMI_AWS_PLUGIN_SHA256",
    "PULUMI_KUBERNETES_PLUGIN_SHA256",
];

/// One Dockerfile instruction: keyword (upper case) and its arguments, continuation lines
/// joined, comments dropped.
#[derive(Debug, Clone)]
pub struct Instruction {
    pub keyword: String,
    pub args: String,
}

/// The instructions of a Dockerfile.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (current.is_empty() && trimmed.is_empty()) {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (kw, args) = current
            .split_once(char::is_whitespace)
            .unwrap_or((&current, ""));
        out.push(Instruction {
            keyword: kw.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        });
        current.clear();
    }
    out
}

/// `ARG NAME[=default]` declarations, by name (the last declaration wins).
pub fn args(ins: &[Instruction]) -> BTreeMap<String, Option<String>> {
    ins.iter()
        .filter(|i| i.keyword == "ARG")
        .map(|i| match i.args.split_once('=') {
            Some((k, v)) => (
                k.trim().to_owned(),
                Some(v.trim().trim_matches('"').to_owned()),
            ),
            None => (i.args.trim().to_owned(), None),
        })
        .collect()
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_version(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Every problem with the pinning and verification of downloads in `text`; empty = fine.
pub fn pinning_problems(text: &str) -> Vec<String> {
    let ins = instructions(text);
    let args = args(&ins);
    let mut problems = Vec::new();

    for (name, default) in &args {
        if name.ends_with("_VERSION") {
            match default.as_deref() {
                Some(v) if is_version(v) => {}
                other => problems.push(format!("ARG {name} must pin a version, has {other:?}")),
            }
        }
        if name.ends_with("_SHA256") {
            let required = REQUIRED_CHECKSUM_ARGS.contains(&name.as_str());
            match (default.as_deref(), required) {
                (Some(v), _) if is_sha256(v) => {}
                (Some(""), true) => {}
                (other, _) => {
                    problems.push(format!("ARG {name} must be a 64-hex sha256, has {other:?}"))
                }
            }
        }
    }
    // Every pinned artifact version has its checksum (the Rust toolchain is a base image tag).
    for name in args
        .keys()
        .filter(|n| n.ends_with("_VERSION") && *n != "RUST_VERSION")
    {
        let sha = name.replace("_VERSION", "_SHA256");
        if !args.contains_key(&sha) {
            problems.push(format!("ARG {name} has no checksum ARG {sha}"));
        }
    }
    // A checksum without a default must be refused at build time when empty or malformed.
    for name in REQUIRED_CHECKSUM_ARGS
        .iter()
        .filter(|n| args.contains_key(**n))
    {
        let guarded = ins.iter().any(|i| {
            i.keyword == "RUN"
                && i.args.contains(&format!("{name}=${{{name}}}"))
                && i.args.contains("grep -Eqx '[0-9a-f]{64}'")
                && i.args.contains("exit 1")
        });
        if !guarded {
            problems.push(format!(
                "required ARG {name} is not checked for a sha256 before use"
            ));
        }
    }

    for i in ins.iter().filter(|i| i.keyword == "ADD") {
        if i.args.contains("://") {
            problems.push(format!("ADD of a URL is not verified: {}", i.args));
        }
    }
    for i in ins.iter().filter(|i| i.keyword == "RUN") {
        let run = &i.args;
        if run.contains("wget ") {
            problems.push("use curl -o FILE + sha256sum -c, not wget".into());
        }
        let piped_to_shell = run.split('|').skip(1).any(|cmd| {
            matches!(
                cmd.split_whitespace().next(),
                Some("sh" | "bash" | "/bin/sh" | "/bin/bash")
            )
        });
        if piped_to_shell {
            problems.push(format!("a download is piped to a shell: {run}"));
        }
        for (start, _) in run.match_indices("curl ") {
            // The curl command ends at the next `&&`/`;`.
            let rest = &run[start..];
            let cmd: Vec<&str> = rest
                .split_whitespace()
                .take_while(|w| *w != "&&" && *w != ";")
                .collect();
            let is_download = cmd.iter().any(|w| w.contains("http"));
            if !is_download {
                continue;
            }
            let file = cmd
                .iter()
                .position(|w| {
                    *w == "-o" || (w.starts_with('-') && !w.starts_with("--") && w.ends_with('o'))
                })
                .and_then(|p| cmd.get(p + 1))
                .map(|f| f.trim_matches('"'));
            let Some(file) = file else {
                problems.push(format!(
                    "download not saved to a file to verify: {}",
                    cmd.join(" ")
                ));
                continue;
            };
            let url = cmd
                .iter()
                .find(|w| w.contains("http"))
                .copied()
                .unwrap_or_default();
            if !url.contains("${") || !url.contains("_VERSION}") {
                problems.push(format!(
                    "download URL is not pinned by a version ARG: {url}"
                ));
            }
            let check = rest.find("| sha256sum -c -").filter(|pos| {
                // The checksum line names this file and an ARG: echo "${X_SHA256}  FILE" | sha256sum -c -
                let before = &rest[..*pos];
                let line = before.rsplit("&&").next().unwrap_or(before);
                line.contains("_SHA256}") && line.contains(&format!("  {file}\""))
            });
            let Some(check) = check else {
                problems.push(format!(
                    "download of {file} is not followed by sha256sum -c"
                ));
                continue;
            };
            // Nothing reads the file before it is verified.
            let use_pos = [
                format!("-xzf {file}"),
                format!("unzip -q {file}"),
                format!("--file {file}"),
            ]
            .iter()
            .filter_map(|u| rest.find(u.as_str()))
            .min();
            if use_pos.is_some_and(|u| u < check) {
                problems.push(format!("{file} is used before its checksum is verified"));
            }
        }
    }
    problems
}

#[test]
fn every_download_is_pinned_and_verified() {
    let problems = pinning_problems(&read("docker/Dockerfile"));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_pinned_artifacts_are_the_expected_ones() {
    let text = read("docker/Dockerfile");
    let args = args(&instructions(&text));
    for name in [
        "PULUMI_VERSION",
        "PULUMI_SHA256",
        "AWSCLI_VERSION",
        "AWSCLI_SHA256",
        "PULUMI_AWS_PLUGIN_VERSION",
        "PULUMI_AWS_PLUGIN_SHA256",
        "PULUMI_KUBERNETES_PLUGIN_VERSION",
        "PULUMI_KUBERNETES_PLUGIN_SHA256",
    ] {
        assert!(args.contains_key(name), "ARG {name} missing");
    }
    // The driver needs pulumi >= 3.100.0 (src/pulumi/version.rs).
    let pulumi = args["PULUMI_VERSION"].clone().unwrap();
    let minor: u32 = pulumi.split('.').nth(1).unwrap().parse().unwrap();
    assert!(pulumi.starts_with("3.") && minor >= 100, "pulumi {pulumi}");
    // The plugins baked in are the versions rendered programs pin, when the program module
    // declares them (src/program: AWS_PLUGIN_VERSION / KUBERNETES_PLUGIN_VERSION).
    for (konst, arg) in [
        ("AWS_PLUGIN_VERSION", "PULUMI_AWS_PLUGIN_VERSION"),
        (
            "KUBERNETES_PLUGIN_VERSION",
            "PULUMI_KUBERNETES_PLUGIN_VERSION",
        ),
    ] {
        match program_constant(konst) {
            Some(v) => assert_eq!(args[arg].as_deref(), Some(v.as_str()), "{arg} vs {konst}"),
            None => println!("note: src/program declares no {konst}; {arg} not cross-checked"),
        }
    }
}

/// `pub const NAME: &str = "…";` anywhere under src/program.
fn program_constant(name: &str) -> Option<String> {
    let needle = format!("pub const {name}: &str = \"");
    let dir = super::repo("src/program");
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                if let Some(i) = text.find(&needle) {
                    let rest = &text[i + needle.len()..];
                    return rest.split('"').next().map(str::to_owned);
                }
            }
        }
    }
    None
}

#[test]
fn the_checker_catches_a_missing_checksum_or_verification() {
    let good = read("docker/Dockerfile");
    assert!(pinning_problems(&good).is_empty());
    let mutations: Vec<(&str, String)> = vec![
        (
            "empty checksum",
            good.replace(
                "ARG PULUMI_SHA256=cf559568e2c32f7fae56ea3de8ae5fa48973ba8c5aa9dd2b3dc0c8898fe50dba",
                "ARG PULUMI_SHA256=",
            ),
        ),
        ("truncated checksum", good.replace("50fbb7a2f44a78eab4a2", "50fbb7a2f44a78eab4a")),
        ("version not pinned", good.replace("ARG AWSCLI_VERSION=2.36.11", "ARG AWSCLI_VERSION")),
        ("checksum ARG removed", good.replace("ARG AWSCLI_SHA256=", "ARG AWSCLI_DIGEST=")),
        (
            "verification removed",
            good.replace(
                r#" && echo "${PULUMI_SHA256}  pulumi.tar.gz" | sha256sum -c - \"#,
                " \\",
            ),
        ),
        (
            "required checksum unguarded",
            good.replace(
                r#""PULUMI_AWS_PLUGIN_SHA256=${PULUMI_AWS_PLUGIN_SHA256}" \"#,
                "\\",
            ),
        ),
    ];
    for (what, text) in mutations {
        assert_ne!(text, good, "mutation '{what}' did not apply");
        assert!(
            !pinning_problems(&text).is_empty(),
            "'{what}' was not caught"
        );
    }
}

#[test]
fn the_runtime_image_runs_byoc_as_a_fixed_non_root_user() {
    let text = read("docker/Dockerfile");
    let ins = instructions(&text);
    let froms: Vec<&Instruction> = ins.iter().filter(|i| i.keyword == "FROM").collect();
    assert!(froms.len() >= 3, "multi-stage build expected");
    assert!(
        froms[0].args.starts_with("rust:"),
        "build stage: {}",
        froms[0].args
    );
    let stage_names: Vec<&str> = froms
        .iter()
        .filter_map(|f| f.args.rsplit_once(" AS ").map(|(_, n)| n))
        .collect();
    for f in &froms {
        // A stage built on an earlier stage (`FROM base AS dev`) pins nothing itself.
        let image = f.args.split_whitespace().next().unwrap_or_default();
        if stage_names.contains(&image) {
            continue;
        }
        assert!(
            !f.args.contains(":latest") && f.args.contains(':'),
            "unpinned base {}",
            f.args
        );
    }
    // `base` is the runtime both targets (dev, production) are built from.
    let runtime = stage(&ins, "base");
    assert!(
        runtime[0].args.starts_with("debian:${DEBIAN_RELEASE}-slim"),
        "{}",
        runtime[0].args
    );
    assert_eq!(
        args(&ins)
            .get("DEBIAN_RELEASE")
            .cloned()
            .flatten()
            .as_deref(),
        Some("bookworm")
    );
    let build = ins
        .iter()
        .find(|i| i.keyword == "RUN" && i.args.contains("cargo build"))
        .unwrap();
    // The `dist` profile (release + whole-program LTO, Cargo.toml) and its output directory.
    assert!(build.args.contains("--profile dist") && build.args.contains("--locked"));
    assert!(build.args.contains("target/dist/byoc"), "{}", build.args);
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("[profile.dist]\ninherits = \"release\""),
        "Cargo.toml defines the dist profile on top of release"
    );

    let last = |kw: &str| {
        runtime
            .iter()
            .rev()
            .find(|i| i.keyword == kw)
            .map(|i| i.args.clone())
    };
    let uid = args(runtime).get("BYOC_UID").cloned().flatten().unwrap();
    assert!(uid.parse::<u32>().unwrap() >= 10000, "uid {uid}");
    assert_eq!(last("USER").as_deref(), Some("${BYOC_UID}:${BYOC_GID}"));
    let entrypoint: Vec<String> = serde_json::from_str(&last("ENTRYPOINT").unwrap()).unwrap();
    assert_eq!(
        entrypoint.last().map(String::as_str),
        Some("/usr/local/bin/byoc")
    );
    let cmd: Vec<String> = serde_json::from_str(&last("CMD").unwrap()).unwrap();
    assert_eq!(cmd, ["serve"]);
    let health = last("HEALTHCHECK").unwrap();
    assert!(health.contains("/health"), "{health}");

    let env = runtime_env(runtime);
    for (k, v) in [
        ("BYOC_DATA_DIR", "/data"),
        ("BYOC_BIND", "0.0.0.0:8000"),
        ("BYOC_PULUMI_HOME", "/opt/pulumi-home"),
        ("BYOC_WORKSPACE_DIR", "/var/lib/byoc/workspaces"),
        ("BYOC_PULUMI_BIN", "/opt/pulumi/pulumi"),
    ] {
        assert_eq!(env.get(k).map(String::as_str), Some(v), "ENV {k}");
    }
    // The plugin cache the production image bakes is the one BYOC_PULUMI_HOME points at.
    assert!(text.contains("ENV PULUMI_HOME=/opt/pulumi-home"));
    assert!(
        stage(&ins, "production").iter().any(|i| i.keyword == "COPY"
            && i.args
                == "--from=plugins --chown=root:root /opt/pulumi-home/plugins /opt/pulumi-home/plugins")
    );
}

/// The instructions of the stage `FROM … AS name`, its FROM first.
pub fn stage<'a>(ins: &'a [Instruction], name: &str) -> &'a [Instruction] {
    let start = ins
        .iter()
        .position(|i| i.keyword == "FROM" && i.args.ends_with(&format!(" AS {name}")))
        .unwrap_or_else(|| panic!("no stage {name}"));
    let end = ins[start + 1..]
        .iter()
        .position(|i| i.keyword == "FROM")
        .map_or(ins.len(), |p| start + 1 + p);
    &ins[start..end]
}

/// `ENV K=V …` of some instructions (quoted values unquoted).
pub fn runtime_env(ins: &[Instruction]) -> BTreeMap<String, String> {
    ins.iter()
        .filter(|i| i.keyword == "ENV")
        .flat_map(|i| {
            i.args
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}
