//! The exact command lines of `docs/pulumi-contract.md` §1.3–1.5, and no secret in any argv,
//! output or file.

use byoc::pulumi::{
    ConfigValue, DestroyOptions, PreviewOptions, RefreshOptions, RunControl, UpOptions,
};
use secrecy::SecretString;
use tokio::sync::mpsc;

use super::support::{Harness, PASSPHRASE, files_under, program, stack};

const EXTERNAL_ID: &str = "ext-id-5b1e9c0d-SECRET";

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn each_operation_runs_the_contract_argv() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ws = h.workspace(&program(&[("bucket", "aws:s3:Bucket", "a")], ""));
    let log = ws.event_log_path().display().to_string();
    let ctl = RunControl::default();
    assert!(
        h.runner
            .select_or_create_stack(&ws, &s, "passphrase", &ctl)
            .await
            .unwrap()
    );
    h.runner
        .set_config(
            &ws,
            &s,
            "aws:region",
            &ConfigValue::Plain("eu-west-1".into()),
            false,
            &ctl,
        )
        .await
        .unwrap();
    h.runner
        .set_config(
            &ws,
            &s,
            "externalId",
            &ConfigValue::Secret(SecretString::from(EXTERNAL_ID)),
            false,
            &ctl,
        )
        .await
        .unwrap();
    h.runner
        .set_plain_config_all(
            &ws,
            &s,
            &[
                ("aws:region".into(), "eu-west-1".into()),
                ("tier".into(), "a=b".into()),
            ],
            false,
            &ctl,
        )
        .await
        .unwrap();
    h.runner
        .preview(&ws, &s, &PreviewOptions::default(), &ctl, None)
        .await
        .unwrap();
    let up = UpOptions {
        message: Some("deploy 7".into()),
        target: vec!["urn:a".into()],
        parallel: Some(4),
        ..Default::default()
    };
    h.runner.up(&ws, &s, &up, &ctl, None).await.unwrap();
    // Read in full once the engine exited: the driver removes it then, not with the workspace.
    assert!(
        !ws.event_log_path().exists(),
        "the read event log is removed"
    );
    h.runner
        .refresh(&ws, &s, &RefreshOptions::default(), &ctl, None)
        .await
        .unwrap();
    h.runner.stack_outputs(&ws, &s, &ctl).await.unwrap();
    h.runner.last_update(&ws, &s, &ctl).await.unwrap();
    h.runner
        .destroy(&ws, &s, &DestroyOptions::default(), &ctl, None)
        .await
        .unwrap();
    h.runner.cancel_update(&ws, &s, &ctl).await.unwrap();
    h.runner.remove_stack(&ws, &s, &ctl).await.unwrap();

    let ni = "--non-interactive";
    let expected: Vec<Vec<String>> = vec![
        strs(&[ni, "version"]),
        strs(&[ni, "stack", "select", "--stack", "acme-dev"]),
        strs(&[
            ni,
            "stack",
            "init",
            "acme-dev",
            "--secrets-provider",
            "passphrase",
        ]),
        strs(&[
            ni,
            "config",
            "set",
            "aws:region",
            "--plaintext",
            "--stack",
            "acme-dev",
            "--",
            "eu-west-1",
        ]),
        strs(&[
            ni,
            "config",
            "set",
            "externalId",
            "--secret",
            "--stack",
            "acme-dev",
        ]),
        strs(&[
            ni,
            "config",
            "set-all",
            "--plaintext",
            "aws:region=eu-west-1",
            "--plaintext",
            "tier=a=b",
            "--stack",
            "acme-dev",
        ]),
        strs(&[
            ni,
            "preview",
            "--color=never",
            "--exec-kind=auto.local",
            "--event-log",
            &log,
            "--stack",
            "acme-dev",
        ]),
        strs(&[
            ni,
            "up",
            "--yes",
            "--skip-preview",
            "--message=deploy 7",
            "--target=urn:a",
            "--parallel=4",
            "--color=never",
            "--exec-kind=auto.local",
            "--event-log",
            &log,
            "--stack",
            "acme-dev",
        ]),
        strs(&[
            ni,
            "refresh",
            "--yes",
            "--skip-preview",
            "--color=never",
            "--exec-kind=auto.local",
            "--event-log",
            &log,
            "--stack",
            "acme-dev",
        ]),
        strs(&[ni, "stack", "output", "--json", "--stack", "acme-dev"]),
        strs(&[
            ni,
            "stack",
            "output",
            "--json",
            "--show-secrets",
            "--stack",
            "acme-dev",
        ]),
        strs(&[
            ni,
            "stack",
            "history",
            "--json",
            "--page-size",
            "1",
            "--page",
            "1",
            "--stack",
            "acme-dev",
        ]),
        strs(&[
            ni,
            "destroy",
            "--color=never",
            "--exec-kind=auto.local",
            "--event-log",
            &log,
            "--yes",
            "--skip-preview",
            "--stack",
            "acme-dev",
        ]),
        strs(&[ni, "cancel", "--yes", "--stack", "acme-dev"]),
        strs(&[ni, "stack", "rm", "--yes", "acme-dev"]),
    ];
    assert_eq!(h.argvs(), expected);
    let stdin_used: Vec<bool> = h
        .invocations()
        .iter()
        .map(|i| i["stdin_read"].as_bool().unwrap())
        .collect();
    assert_eq!(stdin_used.iter().filter(|b| **b).count(), 1);
    assert!(stdin_used[4], "the secret config value goes through stdin");
}

#[tokio::test]
async fn child_environment_is_the_allowlist_only() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ws = h.workspace(&program(&[], ""));
    let ctl = RunControl {
        extra_env: vec![(
            "AWS_CONFIG_FILE".into(),
            ws.path().join("aws-config").display().to_string(),
        )],
        ..Default::default()
    };
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    let inv = h.invocations();
    let env: Vec<String> = serde_json::from_value(inv.last().unwrap()["env"].clone()).unwrap();
    for required in [
        "PULUMI_SKIP_UPDATE_CHECK",
        "PULUMI_AUTOMATION_API",
        "PULUMI_HOME",
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE",
        "AWS_CONFIG_FILE",
    ] {
        assert!(
            env.iter().any(|e| e == required),
            "{required} missing from {env:?}"
        );
    }
    for name in &env {
        let ours = name.starts_with("PULUMI_") || name == "AWS_CONFIG_FILE";
        // The interpreter launcher adds some: Python's C-locale coercion sets LC_CTYPE, and a
        // pyenv shim (a bash script) sets PWD/SHLVL/_ and PYENV_*.
        let launcher = matches!(name.as_str(), "LC_CTYPE" | "PWD" | "OLDPWD" | "SHLVL" | "_")
            || name.trim_start_matches('_').starts_with("PYENV");
        assert!(
            ours || byoc::pulumi::env_is_allowed(name) || launcher,
            "{name} leaked into the child's environment"
        );
    }
    assert_eq!(
        inv.last().unwrap()["cwd"].as_str().unwrap(),
        ws.path().to_str().unwrap()
    );
}

#[tokio::test]
async fn secrets_reach_no_argv_output_or_leftover_file() {
    let h = Harness::new().await;
    let s = stack("acme-prod");
    let ws = h.workspace(&program(
        &[("role", "aws:iam:Role", "r1")],
        "  token:\n    fn::secret: plain-token-value\n",
    ));
    let cfg = ws
        .write_private_file(
            "aws-config",
            format!("[profile tenant]\nexternal_id = {EXTERNAL_ID}\n").as_bytes(),
        )
        .unwrap();
    let (tx, mut rx) = mpsc::channel(10_000);
    let ctl = RunControl {
        output: Some(tx),
        extra_env: vec![("AWS_CONFIG_FILE".into(), cfg.display().to_string())],
        ..Default::default()
    };
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    h.runner
        .set_config(
            &ws,
            &s,
            "externalId",
            &ConfigValue::Secret(SecretString::from(EXTERNAL_ID)),
            false,
            &ctl,
        )
        .await
        .unwrap();
    let (events_tx, mut events_rx) = tokio::sync::mpsc::channel(1000);
    let up = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, Some(&events_tx))
        .await
        .unwrap();
    drop(events_tx);
    let mut events = Vec::new();
    while let Some(item) = events_rx.recv().await {
        events.push(item.unwrap());
    }
    assert!(!events.is_empty(), "the event sink saw the engine's events");
    let ws_path = ws.path().to_path_buf();
    drop(ws);
    drop(ctl);
    assert!(!ws_path.exists());

    let secrets = [PASSPHRASE, EXTERNAL_ID];
    let mut lines = Vec::new();
    while let Some(l) = rx.recv().await {
        lines.push(l.line);
    }
    assert!(!lines.is_empty(), "the sink saw the CLI's output");
    for secret in secrets {
        for argv in h.argvs() {
            assert!(
                !argv.iter().any(|a| a.contains(secret)),
                "{secret} in argv {argv:?}"
            );
        }
        assert!(!up.stdout.contains(secret) && !up.stderr.contains(secret));
        assert!(!lines.iter().any(|l| l.contains(secret)));
        for ev in &events {
            assert!(!ev.raw.to_string().contains(secret));
        }
        for f in files_under(h.root.path()) {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
            assert!(!text.contains(secret), "{secret} left in {}", f.display());
        }
    }
}
