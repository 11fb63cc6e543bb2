//! `byoc config …` and `byoc program`: save a config file (validation errors shown with their
//! line in the file), show, list and compare versions, print the rendered program.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use super::Session;
use super::error::{ClientError, Exit};
use super::file_lines::LineIndex;
use super::output::{print_text, text, time, yaml};
use crate::cli::{ConfigAction, OutputFormat, ProgramArgs, StackRef};

/// Runs a config action.
pub async fn run(s: &Session, action: ConfigAction) -> Result<Exit, ClientError> {
    match action {
        ConfigAction::Set { stack, file } => set(s, &stack, &file).await,
        ConfigAction::Show {
            stack,
            version,
            request: true,
        } => {
            let body = version_body(s, &stack, version).await?;
            let request = &body["request"];
            match s.out.format {
                OutputFormat::Json => println!("{}", super::output::json(request)),
                OutputFormat::Table | OutputFormat::Yaml => print_text(&yaml(request)?),
            }
            Ok(Exit::Succeeded)
        }
        ConfigAction::Show { stack, version, .. } => {
            let body = version_body(s, &stack, version).await?;
            s.out.show(&body, |v| {
                format!(
                    "{}\n\n{}",
                    header(s, v),
                    yaml(&v["config"]).unwrap_or_default()
                )
            })?;
            Ok(Exit::Succeeded)
        }
        ConfigAction::History { stack, limit } => history(s, &stack, limit).await,
        ConfigAction::Diff { stack, from, to } => diff(s, &stack, from, to).await,
        ConfigAction::Delete { stack } => {
            s.api
                .delete(&format!("{}/config", stack.api_path()))
                .await?;
            eprintln!("Deleted every config version of {stack}.");
            Ok(Exit::Succeeded)
        }
    }
}

fn header(s: &Session, v: &Value) -> String {
    s.out.pairs(vec![
        (
            "Environment",
            format!("{}/{}", text(v, "tenant_slug"), text(v, "environment")),
        ),
        ("Stack", text(v, "stack_name")),
        ("Version", text(v, "version")),
        ("Saved", time(v, "created_at")),
    ])
}

async fn version_body(
    s: &Session,
    stack: &StackRef,
    version: Option<u32>,
) -> Result<Value, ClientError> {
    let path = match version {
        Some(v) => format!("{}/config?version={v}", stack.api_path()),
        None => format!("{}/config", stack.api_path()),
    };
    s.api.get(&path).await
}

/// Reads a YAML or JSON file (`-` is stdin) into the JSON value the API takes.
fn read_document(file: &Path) -> Result<(String, Value), ClientError> {
    let input = |reason: String| ClientError::Input {
        path: file.to_owned(),
        reason,
    };
    let text = if file == Path::new("-") {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .map_err(|e| input(e.to_string()))?;
        buf
    } else {
        std::fs::read_to_string(file).map_err(|e| input(e.to_string()))?
    };
    let is_json =
        file.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    let value: Value = if is_json {
        serde_json::from_str(&text).map_err(|e| input(format!("not valid JSON: {e}")))?
    } else {
        yaml_serde::from_str(&text).map_err(|e| input(format!("not valid YAML: {e}")))?
    };
    if !value.is_object() {
        return Err(input("the config must be a mapping of settings".to_owned()));
    }
    Ok((text, value))
}

async fn set(s: &Session, stack: &StackRef, file: &Path) -> Result<Exit, ClientError> {
    let (text, body) = read_document(file)?;
    match s
        .api
        .post(&format!("{}/config", stack.api_path()), Some(&body))
        .await
    {
        Ok(saved) => {
            s.out.show(&saved, |v| {
                format!(
                    "Saved {stack} config version {} (stack {}).",
                    super::output::text(v, "version"),
                    super::output::text(v, "stack_name")
                )
            })?;
            Ok(Exit::Succeeded)
        }
        Err(ClientError::Api(p)) if !p.errors.is_empty() && matches!(p.status, 400 | 422) => {
            eprintln!(
                "error: {} is not a valid config ({} invalid field(s)):",
                file.display(),
                p.errors.len()
            );
            let index = LineIndex::build(&text);
            for f in &p.errors {
                eprintln!("{}", located(file, index.as_ref(), &f.field, &f.message));
            }
            Err(ClientError::Reported(p.exit()))
        }
        Err(e) => Err(e),
    }
}

/// `  FILE:LINE: FIELD: MESSAGE` — the line of the field, or of its parent when the field is
/// missing from the file; fields outside the file (e.g. `program:…`) have no line.
fn located(file: &Path, index: Option<&LineIndex>, field: &str, message: &str) -> String {
    let name = file.display();
    let at = field
        .starts_with('/')
        .then(|| index.and_then(|i| i.line_of(field)))
        .flatten();
    match at {
        Some((line, true)) => format!("  {name}:{line}: {field}: {message}"),
        Some((line, false)) => {
            format!("  {name}:{line}: {field} (not in the file, under this line): {message}")
        }
        None => format!("  {field}: {message}"),
    }
}

async fn history(s: &Session, stack: &StackRef, limit: u32) -> Result<Exit, ClientError> {
    let latest = version_body(s, stack, None).await?;
    let newest = latest["version"].as_u64().unwrap_or(1) as u32;
    let oldest = newest.saturating_sub(limit.max(1)).max(1);
    // One more than listed, to say what the oldest listed version changed.
    let wanted: Vec<u32> = (oldest.saturating_sub(1).max(1)..newest).rev().collect();
    let older =
        futures_util::future::try_join_all(wanted.iter().map(|v| version_body(s, stack, Some(*v))))
            .await?;
    let mut all = vec![latest];
    all.extend(older);
    let listed: Vec<Value> = all
        .iter()
        .filter(|v| v["version"].as_u64().is_some_and(|n| n as u32 >= oldest))
        .cloned()
        .collect();
    s.out.show(&Value::Array(listed.clone()), |_| {
        let rows = listed
            .iter()
            .map(|v| {
                let n = v["version"].as_u64().unwrap_or(0);
                let before = all
                    .iter()
                    .find(|b| b["version"].as_u64() == Some(n.wrapping_sub(1)));
                let changed = match before {
                    Some(b) => changed_paths(&b["config"], &v["config"]),
                    None if n == 1 => "first version".to_owned(),
                    None => "-".to_owned(),
                };
                vec![n.to_string(), time(v, "created_at"), changed]
            })
            .collect();
        s.out.table(&["VERSION", "SAVED", "CHANGED"], rows)
    })?;
    Ok(Exit::Succeeded)
}

/// The leaf paths that differ between two configs, as `a.b, c`.
fn changed_paths(before: &Value, after: &Value) -> String {
    let (a, b) = (leaves(before), leaves(after));
    let changed: Vec<&str> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .map(String::as_str)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // `tags` (empty before) and `tags.team` (set now) are one change: keep the deeper path.
    let changed: Vec<&str> = changed
        .iter()
        .filter(|k| {
            !changed
                .iter()
                .any(|o| o.len() > k.len() && o.starts_with(&format!("{k}.")))
        })
        .copied()
        .collect();
    if changed.is_empty() {
        "no change".to_owned()
    } else {
        changed.join(", ")
    }
}

fn leaves(v: &Value) -> BTreeMap<String, Value> {
    fn walk(v: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(v, &p, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(v, "", &mut out);
    out
}

async fn diff(
    s: &Session,
    stack: &StackRef,
    from: Option<u32>,
    to: Option<u32>,
) -> Result<Exit, ClientError> {
    let to_body = version_body(s, stack, to).await?;
    let to_v = to_body["version"].as_u64().unwrap_or(1) as u32;
    let from_v = match from {
        Some(v) => v,
        None if to_v > 1 => to_v - 1,
        None => {
            return Err(ClientError::Usage(format!(
                "{stack} has only version 1: nothing to compare it with"
            )));
        }
    };
    let from_body = version_body(s, stack, Some(from_v)).await?;
    let body = json!({"from": from_body, "to": to_body});
    if s.out.format != OutputFormat::Table {
        s.out.show(&body, |_| String::new())?;
        return Ok(Exit::Succeeded);
    }
    let (a, b) = (yaml(&from_body["config"])?, yaml(&to_body["config"])?);
    if a == b {
        println!("No differences between version {from_v} and version {to_v} of {stack}.");
        return Ok(Exit::Succeeded);
    }
    let diff = similar::TextDiff::from_lines(&a, &b);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{stack} version {from_v}"),
            &format!("{stack} version {to_v}"),
        )
        .to_string();
    let colored: Vec<String> = text
        .lines()
        .map(|l| match l.as_bytes().first() {
            Some(b'+') if !l.starts_with("+++") => console::style(l).green().to_string(),
            Some(b'-') if !l.starts_with("---") => console::style(l).red().to_string(),
            Some(b'@') => console::style(l).cyan().to_string(),
            _ => l.to_owned(),
        })
        .collect();
    print_text(&colored.join("\n"));
    Ok(Exit::Succeeded)
}

/// `byoc program`: the Pulumi YAML as rendered (or as JSON with `-o json`).
pub async fn program(s: &Session, args: &ProgramArgs) -> Result<Exit, ClientError> {
    let path = match args.version {
        Some(v) => format!("{}/program?version={v}", args.stack.api_path()),
        None => format!("{}/program", args.stack.api_path()),
    };
    let text = s.api.get_text(&path).await?;
    match s.out.format {
        OutputFormat::Json => {
            let v: Value = yaml_serde::from_str(&text)
                .map_err(|e| ClientError::Protocol(format!("the program is not YAML: {e}")))?;
            println!("{}", super::output::json(&v));
        }
        OutputFormat::Table | OutputFormat::Yaml => print_text(&text),
    }
    Ok(Exit::Succeeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_located_in_the_file() {
        let idx = LineIndex::build("eks_mode: managed\nvpc_config:\n  cidr_block: x\n").unwrap();
        let f = Path::new("prod.yaml");
        assert_eq!(
            located(f, Some(&idx), "/vpc_config/cidr_block", "bad"),
            "  prod.yaml:3: /vpc_config/cidr_block: bad"
        );
        assert!(located(f, Some(&idx), "/vpc_config/nat", "m").contains("prod.yaml:2:"));
        assert_eq!(located(f, Some(&idx), "program:/x", "m"), "  program:/x: m");
    }

    #[test]
    fn history_names_the_changed_settings() {
        let a = json!({"tags": {"team": "a"}, "eks": {"version": "1.31"}});
        let b = json!({"tags": {"team": "b"}, "eks": {"version": "1.31"}, "new": 1});
        assert_eq!(changed_paths(&a, &b), "new, tags.team");
        let empty = json!({"tags": {}});
        assert_eq!(changed_paths(&empty, &b), "eks.version, new, tags.team");
        assert_eq!(changed_paths(&a, &a), "no change");
    }
}
