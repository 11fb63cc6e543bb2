//! `byoc config …` and `byoc program` against a real server.

use crate::harness::{Client, Server, assert_fits};

fn write(c: &Client, name: &str, text: &str) -> String {
    let p = c.home.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const BAD_YAML: &str = "\
# prod
vpc_config:
  cidr_block: 10.0.0.0/8
  nat_gateway_strategy: single
eks_config:
  mode: auto
  node_groups:
    - name: general
";

#[test]
fn a_bad_config_file_is_exit_2_naming_each_field_and_its_line() {
    let server = Server::start();
    let c = Client::admin(&server);
    c.ok(&[
        "tenants",
        "create",
        "acme",
        "--name",
        "A",
        "--account",
        "123456789012",
    ]);
    let file = write(&c, "bad.yaml", BAD_YAML);
    let out = c.run(&["config", "set", "acme/prod", "-f", &file]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("bad.yaml:3: /vpc_config/cidr_block: "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("bad.yaml:7: /eks_config/node_groups: "),
        "{}",
        out.stderr
    );

    let json = write(
        &c,
        "bad.json",
        "{\n  \"node_group_config\": {\n    \"desired_size\": \"two\"\n  }\n}\n",
    );
    let out = c.run(&["config", "set", "acme/prod", "-f", &json]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("bad.json:3: /node_group_config/desired_size: "),
        "{}",
        out.stderr
    );

    let typo = write(
        &c,
        "typo.yaml",
        "tags:\n  team: a\nvpc_cidrr: 10.0.0.0/16\n",
    );
    let out = c.run(&["config", "set", "acme/prod", "-f", &typo]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("typo.yaml:3: /vpc_cidrr: "),
        "{}",
        out.stderr
    );

    let broken = write(&c, "broken.yaml", "tags: [\n");
    let out = c.run(&["config", "set", "acme/prod", "-f", &broken]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not valid YAML"), "{}", out.stderr);
    // Nothing was saved by the failures.
    assert_eq!(c.run(&["config", "show", "acme/prod"]).code, 4);
}

#[test]
fn configs_are_saved_shown_listed_compared_and_rendered() {
    let server = Server::start();
    let c = Client::admin(&server);
    c.ok(&[
        "tenants",
        "create",
        "acme",
        "--name",
        "A",
        "--account",
        "123456789012",
    ]);
    let v1 = write(&c, "v1.yaml", "node_group_config:\n  desired_size: 2\n");
    let saved = c.ok(&["config", "set", "acme/prod", "-f", &v1]);
    assert!(saved.contains("version 1"), "{saved}");
    let v2 = write(
        &c,
        "v2.json",
        r#"{"node_group_config": {"desired_size": 2}, "tags": {"team": "platform"}}"#,
    );
    let saved = c
        .run(&["config", "set", "acme/prod", "-f", &v2, "-o", "json"])
        .json();
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["config"]["tags"]["team"], "platform");

    let shown = c
        .run(&[
            "config",
            "show",
            "acme/prod",
            "--version",
            "1",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(shown["version"], 1);
    let table = c.ok(&["config", "show", "acme/prod"]);
    assert!(
        table.contains("Version:") && table.contains("team: platform"),
        "{table}"
    );

    let history = c.ok(&["config", "history", "acme/prod"]);
    assert_fits(&history, 80);
    let rows: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{history}");
    assert!(
        rows[0].starts_with('2') && rows[0].contains("tags.team"),
        "{history}"
    );
    assert!(
        rows[1].starts_with('1') && rows[1].contains("first version"),
        "{history}"
    );
    let json = c
        .run(&["config", "history", "acme/prod", "-o", "json"])
        .json();
    assert_eq!(json.as_array().unwrap().len(), 2);

    let diff = c.ok(&["config", "diff", "acme/prod"]);
    assert!(diff.contains("--- acme/prod version 1"), "{diff}");
    assert!(diff.contains("+  team: platform"), "{diff}");
    let same = c.ok(&["config", "diff", "acme/prod", "--from", "2", "--to", "2"]);
    assert!(same.contains("No differences"), "{same}");
    let both = c
        .run(&["config", "diff", "acme/prod", "--from", "1", "-o", "json"])
        .json();
    assert_eq!(
        (
            both["from"]["version"].as_i64(),
            both["to"]["version"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(
        c.run(&["config", "diff", "acme/prod", "--from", "9"]).code,
        4
    );

    let program = c.ok(&["program", "acme/prod"]);
    assert!(program.contains("resources:"), "{program}");
    let as_json = c
        .run(&["program", "acme/prod", "--version", "1", "-o", "json"])
        .json();
    assert!(
        as_json["resources"]
            .as_object()
            .is_some_and(|r| r.len() > 10)
    );

    c.ok(&["config", "delete", "acme/prod"]);
    assert_eq!(c.run(&["config", "show", "acme/prod"]).code, 4);
}
