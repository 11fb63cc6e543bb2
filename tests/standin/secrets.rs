//! #12: the stack settings file and the secrets manager: `awskms://` at `stack init`, the
//! passphrase fallback when the file is missing (a fresh workspace), the state-manager fallback
//! knob, and the real passphrase error texts.

use serde_json::Value;

use super::harness::{PASSPHRASE, World};

const KMS: &str = "awskms://alias/byoc-state?region=eu-west-1";
const PROGRAM: &str = "name: proj\nruntime: yaml\nresources:\n  bucket:\n    type: aws:s3:Bucket\n    \
                       properties:\n      value: 1\noutputs:\n  token:\n    fn::secret: t0ken\n";

fn settings(w: &World) -> yaml_serde::Value {
    yaml_serde::from_str(&std::fs::read_to_string(w.ws().join("Pulumi.dev.yaml")).unwrap()).unwrap()
}

fn secrets_provider(w: &World) -> Value {
    w.checkpoint()["checkpoint"]["latest"]["secrets_providers"].clone()
}

fn kms_world() -> World {
    let w = World::new(PROGRAM);
    w.run(&["stack", "init", "dev", "--secrets-provider", KMS])
        .ok();
    w
}

fn token(w: &World) -> String {
    let out = w
        .run(&[
            "stack",
            "output",
            "--json",
            "--show-secrets",
            "--stack",
            "dev",
        ])
        .ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

#[test]
fn stack_init_with_kms_writes_secretsprovider_and_encryptedkey() {
    let w = kms_world();
    let s = settings(&w);
    assert_eq!(s["secretsprovider"].as_str(), Some(KMS));
    assert!(!s["encryptedkey"].as_str().unwrap().is_empty());
    assert!(s.get("encryptionsalt").is_none());
    w.up("up.jsonl", &[]).ok();
    let sp = secrets_provider(&w);
    assert_eq!(sp["type"], "cloud");
    assert_eq!(sp["state"]["url"], KMS);
    assert_eq!(
        sp["state"]["encryptedkey"],
        s["encryptedkey"].as_str().unwrap()
    );
    assert_eq!(token(&w), "t0ken");
}

#[test]
fn a_kms_stack_run_from_a_fresh_workspace_is_silently_reencrypted_with_the_passphrase() {
    let w = kms_world();
    w.up("first.jsonl", &[]).ok();
    std::fs::remove_file(w.ws().join("Pulumi.dev.yaml")).unwrap();

    w.up("second.jsonl", &[]).ok();
    let sp = secrets_provider(&w);
    assert_eq!(sp["type"], "passphrase", "{sp}");
    let salt = sp["state"]["salt"].as_str().unwrap().to_owned();
    assert!(salt.starts_with("v1:"));
    let s = settings(&w);
    assert_eq!(s["encryptionsalt"].as_str(), Some(salt.as_str()));
    assert!(s.get("secretsprovider").is_none());
    assert_eq!(token(&w), "t0ken", "re-encrypted, not lost");
}

#[test]
fn fallback_to_the_state_secrets_manager_keeps_kms() {
    let mut w = kms_world();
    w.up("first.jsonl", &[]).ok();
    let key = settings(&w)["encryptedkey"].as_str().unwrap().to_owned();
    std::fs::remove_file(w.ws().join("Pulumi.dev.yaml")).unwrap();
    w.set("PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER", "true");
    w.up("second.jsonl", &[]).ok();
    assert_eq!(secrets_provider(&w)["type"], "cloud");
    let s = settings(&w);
    assert_eq!(s["secretsprovider"].as_str(), Some(KMS));
    assert_eq!(s["encryptedkey"].as_str(), Some(key.as_str()));
}

#[test]
fn passphrase_errors_are_the_cli_texts() {
    let mut w = World::with_stack(PROGRAM);
    w.up("up.jsonl", &[]).ok();

    // The settings file's salt checks the passphrase first.
    w.set("PULUMI_CONFIG_PASSPHRASE", "not-the-passphrase");
    let out = w.up("wrong.jsonl", &[]);
    assert_ne!(out.code, 0);
    assert_eq!(
        out.stderr,
        "error: getting stack configuration: get stack secrets manager: incorrect passphrase\n"
    );

    // A fresh workspace gets a new salt, then the state's secrets cannot be decrypted.
    std::fs::remove_file(w.ws().join("Pulumi.dev.yaml")).unwrap();
    let out = w.up("fresh.jsonl", &[]);
    assert_ne!(out.code, 0);
    assert_eq!(
        out.stderr,
        "error: failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the \
         correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase\n"
    );
    assert!(w.lock_files().is_empty());

    w.unset("PULUMI_CONFIG_PASSPHRASE");
    let out = w.up("none.jsonl", &[]);
    assert_eq!(
        out.stderr,
        "error: getting stack configuration: get stack secrets manager: passphrase must be set \
         with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables\n"
    );
    let file = w.path("pp.txt");
    std::fs::write(&file, format!("{PASSPHRASE}\n")).unwrap();
    w.set("PULUMI_CONFIG_PASSPHRASE_FILE", file.to_str().unwrap());
    let out = w
        .run(&[
            "stack",
            "output",
            "--json",
            "--show-secrets",
            "--stack",
            "dev",
        ])
        .ok();
    assert!(
        out.stdout.contains("t0ken"),
        "the passphrase file is read and trimmed"
    );
}
