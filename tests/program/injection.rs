//! User values reach a program as data only (issue 13): a model of how Pulumi YAML reads
//! builtins and interpolations, a property test with arbitrary JSON in every free-form field,
//! and the reported cases.
//!
//! The model follows pulumi-yaml `pkg/pulumiyaml/ast/interpolation.go` (`parseInterpolate`:
//! `$$` is a literal `$`, `${` opens an expression, in keys as in values) and
//! `ast/expr.go` (`tryParseFunction`, `tryParseAssetOrArchive`: `fn::` keys, compared
//! case-insensitively, are builtins). It over-approximates builtins: every `fn::` key counts.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use byoc::domain::config::{EksMode, EnvironmentConfig, IngressController, NatStrategy};
use byoc::program::{RenderError, validate};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::support::{self, Case, Toggles, sample_config};

/// Every expression Pulumi YAML would evaluate in `doc`, with where it is.
fn expressions(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    collect(doc, "", &mut out);
    out
}

fn collect(v: &Value, path: &str, out: &mut BTreeSet<(String, String)>) {
    match v {
        Value::String(s) => interpolations(s, path, out),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, child) in map {
                let here = format!("{path}.{k}");
                if k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("fn::")) {
                    out.insert((here.clone(), format!("builtin {k}")));
                }
                interpolations(k, &format!("{here}#key"), out);
                collect(child, &here, out);
            }
        }
        _ => {}
    }
}

fn interpolations(s: &str, path: &str, out: &mut BTreeSet<(String, String)>) {
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("$$") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("${") {
            let end = r.find('}').unwrap_or(r.len());
            out.insert((path.to_owned(), format!("${{{}}}", &r[..end])));
            rest = &r[(end + 1).min(r.len())..];
        } else {
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
        }
    }
}

/// The data a program value stands for, or `None` if Pulumi YAML would evaluate any of it.
fn decoded(v: &Value) -> Option<Value> {
    Some(match v {
        Value::String(s) => Value::String(unescape(s)?),
        Value::Array(items) => Value::Array(items.iter().map(decoded).collect::<Option<_>>()?),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, child) in map {
                out.insert(unescape(k)?, decoded(child)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn unescape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("$$") {
            out.push('$');
            rest = r;
        } else if rest.starts_with("${") {
            return None;
        } else {
            let mut chars = rest.chars();
            out.extend(chars.next());
            rest = chars.as_str();
        }
    }
    Some(out)
}

/// Free-form values for every field a user fills with text or JSON.
#[derive(Debug, Clone)]
struct UserData {
    json: Value,
    key: String,
    text: String,
}

/// Puts `d` into every free-form field of a managed, everything-on config.
fn with_data(d: &UserData) -> EnvironmentConfig {
    let mut c = sample_config(&Case {
        mode: EksMode::Managed,
        nat: NatStrategy::Single,
        az_count: 3,
        secondary: false,
        components: Toggles::all(IngressController::AwsLoadBalancerController),
    });
    let mut user = Map::new();
    user.insert(d.key.clone(), Value::from(d.text.clone()));
    user.insert("user".into(), d.json.clone());
    let user = Value::Object(user);
    for comp in [
        &mut c.components.karpenter,
        &mut c.components.argocd.component,
        &mut c.components.cert_manager,
        &mut c.components.external_secrets,
        &mut c.components.ingress.component,
    ] {
        comp.values = user.clone();
    }
    let a = &mut c.eks.addons;
    for addon in [
        &mut a.vpc_cni,
        &mut a.coredns,
        &mut a.kube_proxy,
        &mut a.ebs_csi_driver,
        &mut a.pod_identity_agent,
    ] {
        addon.configuration = Some(user.clone());
    }
    let tags = [
        (d.key.clone(), d.text.clone()),
        ("Note".into(), d.text.clone()),
    ];
    c.tags.extend(tags.clone());
    c.vpc.tags.extend(tags.clone());
    c.eks.tags.extend(tags.clone());
    for s in c.vpc.private_subnets.iter_mut() {
        s.tags.extend(tags.clone());
    }
    let ng = &mut c.eks.node_groups[0];
    ng.tags.extend(tags.clone());
    ng.labels.extend(tags.clone());
    let taint = &mut c.eks.node_groups[1].taints[0];
    taint.key = d.key.clone();
    taint.value = d.text.clone();
    c.availability_zones.names[0] = d.text.clone();
    c.eks.access.access_entries[0].principal_arn = d.text.clone();
    c.eks.access.access_entries[1].namespaces = vec![d.text.clone(), d.key.clone()];
    // Non-empty: an empty key ARN or app path means "none" and changes what is rendered.
    c.eks.encryption.kms_key_arn = Some(format!("k{}", d.text));
    let repo = c.components.argocd.repository.as_mut().unwrap();
    repo.url = d.text.clone();
    repo.root_app_path = Some(format!("p{}", d.key));
    repo.target_revision = d.text.clone();
    c
}

fn benign() -> UserData {
    UserData {
        json: json!({"plain": ["data", 1, true, null]}),
        key: "plainKey".into(),
        text: "plain text".into(),
    }
}

/// Text built from the pieces that matter to Pulumi YAML and to YAML itself, plus noise.
fn adversarial_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("$"),
        Just("$$"),
        Just("${"),
        Just("$${"),
        Just("}"),
        Just("externalId"),
        Just("fn::"),
        Just("FN::readFile"),
        Just(":"),
        Just("\""),
        Just("\\"),
        Just("\n"),
        Just("# "),
        Just("&a"),
        Just("*a"),
        Just("!!str"),
        Just("- "),
        Just("'"),
        Just("%"),
        Just("\u{85}"),
        Just("\u{2028}"),
        Just("\u{feff}"),
        Just("\u{7f}"),
        Just("é"),
        Just("yes"),
        Just("null"),
        Just("0x1F"),
        Just("1e3"),
        Just(" "),
    ];
    prop_oneof![
        8 => prop::collection::vec(piece, 0..6).prop_map(|p| p.concat()),
        1 => any::<String>(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => adversarial_text(),
        1 => (prop_oneof![Just("fn::"), Just("FN::"), Just("Fn::"), Just("fN::")], "[a-zA-Z:]{0,10}")
            .prop_map(|(p, rest)| format!("{p}{rest}")),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-4000i32..4000).prop_map(|x| Value::from(f64::from(x) / 8.0)),
        adversarial_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn has_builtin_key(config: &EnvironmentConfig) -> bool {
    let mut exprs = BTreeSet::new();
    collect(&serde_json::to_value(config).unwrap(), "", &mut exprs);
    exprs.iter().any(|(_, e)| e.starts_with("builtin "))
}

fn program_doc(config: &EnvironmentConfig) -> Result<Value, RenderError> {
    let program = support::try_render(config)?;
    let problems = validate(&program);
    assert!(problems.is_empty(), "{problems:#?}");
    Ok(yaml_serde::from_str(program.yaml()).expect("program is YAML"))
}

/// The expressions of the program with benign data: the templates' own.
fn baseline_expressions() -> &'static BTreeSet<(String, String)> {
    static BASELINE: OnceLock<BTreeSet<(String, String)>> = OnceLock::new();
    BASELINE.get_or_init(|| expressions(&program_doc(&with_data(&benign())).unwrap()))
}

fn resource<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["resources"][name]["properties"]
}

/// What a user's data must read back as, wherever it landed.
fn assert_round_trips(doc: &Value, d: &UserData, config: &EnvironmentConfig) {
    let values = decoded(&resource(doc, "certManagerRelease")["values"]).expect("data only");
    assert_eq!(values["user"], d.json);
    if d.key != "user" {
        assert_eq!(values[d.key.as_str()], Value::from(d.text.clone()));
    }
    let tags = decoded(&resource(doc, "nodeGroup0")["tags"]).expect("data only");
    assert_eq!(
        tags,
        serde_json::to_value(&config.eks.node_groups[0].tags).unwrap()
    );
    let conf = decoded(&resource(doc, "addonCoredns")["configurationValues"]).expect("data only");
    let conf: Value = serde_json::from_str(conf.as_str().unwrap()).unwrap();
    assert_eq!(conf["user"], d.json);
    let app = &doc["resources"]["argocdRootApplication"]["properties"]["objs"][0];
    let revision = decoded(&app["spec"]["source"]["targetRevision"]).expect("data only");
    assert_eq!(revision, Value::from(d.text.clone()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_user_data_renders_to_exactly_the_templates_expressions(
        json in arbitrary_json(), key in key(), text in adversarial_text(),
    ) {
        let d = UserData { json, key, text };
        let config = with_data(&d);
        match program_doc(&config) {
            Err(RenderError::BuiltinKey { path }) => {
                prop_assert!(has_builtin_key(&config), "refused without a builtin key: {path}");
            }
            Err(other) => prop_assert!(false, "render failed: {other:?}"),
            Ok(doc) => {
                prop_assert!(!has_builtin_key(&config), "a builtin key was rendered");
                let (ours, theirs) = (expressions(&doc), baseline_expressions());
                let extra: Vec<_> = ours.difference(theirs).collect();
                let missing: Vec<_> = theirs.difference(&ours).collect();
                prop_assert!(
                    extra.is_empty() && missing.is_empty(),
                    "extra: {:?}\nmissing: {:?}", extra, missing
                );
                assert_round_trips(&doc, &d, &config);
            }
        }
    }
}

#[test]
fn a_dollar_dollar_brace_in_user_values_cannot_become_an_interpolation() {
    // Escaping only `${` turned `$${externalId}` into `$$${externalId}`: `$` + `${externalId}`.
    let d = UserData {
        json: json!("$${externalId}"),
        key: "$${externalId}".into(),
        text: "$${externalId}".into(),
    };
    let config = with_data(&d);
    let doc = program_doc(&config).unwrap();
    assert_eq!(&expressions(&doc), baseline_expressions());
    assert_round_trips(&doc, &d, &config);
    assert_eq!(
        resource(&doc, "certManagerRelease")["values"]["user"],
        "$$$${externalId}"
    );
}

#[test]
fn builtin_keys_in_user_values_are_refused_not_rendered() {
    for key in [
        "fn::readFile",
        "FN::READFILE",
        "fn::aws:ssm:getParameter",
        "fn::fileAsset",
    ] {
        let mut config = with_data(&benign());
        config.components.cert_manager.values = json!({"x": {key: "aws-config"}});
        let err = support::try_render(&config).unwrap_err();
        assert!(
            matches!(&err, RenderError::BuiltinKey { path } if path.ends_with(key)),
            "{key}: {err:?}"
        );
        let mut config = with_data(&benign());
        config.eks.node_groups[0].tags = [(key.to_owned(), "aws-config".to_owned())].into();
        assert!(matches!(
            support::try_render(&config),
            Err(RenderError::BuiltinKey { .. })
        ));
    }
}
