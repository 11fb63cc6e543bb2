//! A small, deterministic YAML emitter for programs. Strings are written plain only when no
//! YAML parser could read them as anything else (no numbers, booleans, nulls, dates, or
//! indicators); everything else is double-quoted JSON, which YAML reads verbatim. Keys
//! come out sorted because `serde_json::Map` is a `BTreeMap` here.

use serde_json::Value;

/// Words YAML 1.1 or 1.2 parsers read as booleans or null.
const RESERVED: &[&str] = &[
    "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
];

/// Serialises a JSON value as block-style YAML.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        out.push_str(&format!("{:indent$}{}:", "", string(key)));
        write_child(out, value, indent);
    }
}

fn write_child(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        out.push_str(&format!("{:indent$}-", ""));
        match item {
            Value::Object(m) if !m.is_empty() => {
                // The first key shares the dash's line; the rest align under it.
                let mut first = true;
                for (key, value) in m {
                    if first {
                        out.push_str(&format!(" {}:", string(key)));
                        first = false;
                    } else {
                        out.push_str(&format!(
                            "{:width$}{}:",
                            "",
                            string(key),
                            width = indent + 2
                        ));
                    }
                    write_child(out, value, indent + 2);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                write_seq(out, a, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => string(s),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    }
}

/// A string, plain when unambiguous, else quoted.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        quoted(s)
    }
}

/// A double-quoted scalar that every YAML parser reads back as exactly `s`: JSON quoting,
/// plus `\u` escapes for what JSON leaves raw but YAML does not (DEL and the C1 controls,
/// which are not printable in YAML; NEL, LS and PS, which YAML 1.1 parsers such as libyaml
/// fold as line breaks; the BOM and the non-characters U+FFFE/U+FFFF).
pub(super) fn quoted(s: &str) -> String {
    let json = Value::String(s.to_owned()).to_string();
    if !json.chars().any(needs_escape) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_' || first == '/' || first == '$')
        && !s.ends_with(':')
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:-${}[]@=+".contains(c))
        && !s.contains("#")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted_and_round_trip() {
        let v = json!({"a": "2012-10-17", "b": "1.33", "c": "yes", "d": "${vpc.id}",
            "e": ["x", {"k": "v", "l": [1, true, null]}], "f": {}, "g": "has space", "h": "fn:"});
        let text = to_yaml(&v);
        assert!(text.contains("a: \"2012-10-17\""), "{text}");
        assert!(text.contains("c: \"yes\""), "{text}");
        let back: Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn characters_yaml_would_fold_or_refuse_are_escaped() {
        let tricky = "a\u{85}b\u{2028}c\u{2029}d\u{feff}e\u{7f}f\u{9f}g\u{fffe}h\ni\"j\\k";
        let v = json!({tricky: [tricky]});
        let text = to_yaml(&v);
        assert!(text.is_ascii(), "{text}");
        let back: Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
