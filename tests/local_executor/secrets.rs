//! The exact command lines of an update, the tenant profile handed to the CLI, and no secret
//! (external ID, passphrase) in any argv, captured log line or file left in the data dir.

use byoc::domain::OperationKind;
use byoc::executor::Outcome;

use super::support::{EXTERNAL_ID, PASSPHRASE, World, files_under, logs, run};

#[tokio::test]
async fn an_update_runs_the_contract_command_lines_and_leaks_no_secret() {
    let Some(w) = World::start().await else {
        return;
    };
    let job = w.job(OperationKind::Update);
    let op_prefix: String = job.operation_id.chars().take(8).collect();
    let (outcome, events) = run(&w.exec, job).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");

    let inv = w.invocations();
    let argvs = w.argvs();
    let session = format!("byoc-update-{op_prefix}-acme-dev");
    let ws = w.exec.workspace_dir().display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
    // A first deploy: the probe at startup, then four processes (issue 16): create the stack,
    // set the secret, the update, one outputs read. The session name goes into the stack
    // settings file directly, with no `config set`.
    assert_eq!(argvs.len(), 5, "{argvs:#?}");
    assert_eq!(argvs[0], s(&["--non-interactive", "version"]));
    assert_eq!(
        argvs[1],
        s(&[
            "--non-interactive",
            "stack",
            "init",
            "acme-dev",
            "--secrets-provider",
            "passphrase"
        ])
    );
    assert_eq!(
        argvs[2],
        s(&[
            "--non-interactive",
            "config",
            "set",
            "externalId",
            "--secret",
            "--stack",
            "acme-dev"
        ])
    );
    assert_eq!(inv[2]["stdin_read"], true, "the secret goes through stdin");
    let prelude = events.iter().find(|e| e.kind == "preludeEvent").unwrap();
    assert_eq!(
        prelude.payload["preludeEvent"]["config"]["byoc-platform:sessionName"],
        session.as_str(),
        "the engine reads the session name from the settings file"
    );
    let up = &argvs[3];
    assert_eq!(
        up[..6],
        s(&[
            "--non-interactive",
            "up",
            "--yes",
            "--skip-preview",
            "--color=never",
            "--exec-kind=auto.local"
        ])
    );
    assert_eq!(up[6], "--event-log");
    assert!(
        up[7].starts_with(&ws) && up[7].ends_with("/eventlog.txt"),
        "{up:?}"
    );
    assert_eq!(up[8..], s(&["--stack", "acme-dev"]));
    assert_eq!(
        argvs[4],
        s(&[
            "--non-interactive",
            "stack",
            "output",
            "--json",
            "--show-secrets",
            "--stack",
            "acme-dev"
        ])
    );

    // The CLI gets the workspace's AWS config file, and no profile that would redirect the
    // state backend's credentials.
    for i in &inv[1..] {
        let env: Vec<&str> = i["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(env.contains(&"AWS_CONFIG_FILE"), "{env:?}");
        assert!(env.contains(&"PULUMI_CONFIG_PASSPHRASE"));
        assert!(!env.contains(&"AWS_PROFILE"), "{env:?}");
    }

    // The moto log shows the pre-flight's session and external ID.
    let assumed = w.moto.assumed_roles().await;
    assert!(
        assumed
            .iter()
            .any(|(arn, session, ext)| arn == w.role_arn.as_str()
                && session == "byoc-update-acme-dev"
                && ext == EXTERNAL_ID),
        "{assumed:?}"
    );

    for secret in [EXTERNAL_ID, PASSPHRASE] {
        for a in &argvs {
            assert!(
                !a.iter().any(|x| x.contains(secret)),
                "secret in argv {a:?}"
            );
        }
        for e in &events {
            assert!(
                !e.payload.to_string().contains(secret),
                "secret in event {}",
                e.kind
            );
        }
        for file in files_under(&w.data_dir()) {
            let bytes = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(secret), "secret in {}", file.display());
        }
        assert!(!logs().text().contains(secret), "secret in the logs");
    }
    assert!(
        logs().text().contains("local executor ready"),
        "logs are captured"
    );
    assert_eq!(w.workspace_entries(), 0, "the workspace is removed");
}
