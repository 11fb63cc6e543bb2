//! `byoc login`, `byoc logout` and `byoc contexts`: storing, forgetting and choosing the
//! server + token pairs of the config file.

use std::io::Read;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::connect::{Target, normalize_url};
use super::contexts::{ConfigStore, Context};
use super::env::ClientEnv;
use super::error::{ClientError, Exit};
use super::http::Api;
use super::output::Printer;
use super::terminal::{self, Terminal};
use crate::cli::{ContextsAction, LoginArgs, LogoutArgs};

const DEFAULT_CONTEXT: &str = "default";

/// Checks a context name: it is a TOML key and shown in tables, so keep it plain.
fn check_name(name: &str) -> Result<(), ClientError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ClientError::Usage(format!(
            "invalid context name '{name}': use 1–64 letters, digits, '-', '_' or '.'"
        )))
    }
}

/// Reads the token: from stdin when it is not a terminal (a pipe, a file), else from a
/// prompt that does not echo.
fn read_token(term: Terminal) -> Result<SecretString, ClientError> {
    let raw = if term.stdin {
        terminal::read_secret("Token: ")?
    } else {
        let mut buf = String::new();
        std::io::stdin().read_to_string(&mut buf)?;
        buf
    };
    let token = raw.lines().next().unwrap_or_default().trim().to_owned();
    if token.is_empty() {
        return Err(ClientError::Usage(
            "no token given: pipe it on stdin or type it at the prompt".to_owned(),
        ));
    }
    Ok(SecretString::from(token))
}

/// `byoc login`: reads a token, checks it against the server, stores it as a context and
/// makes that context current.
pub async fn login(args: &LoginArgs, env: &ClientEnv, term: Terminal) -> Result<Exit, ClientError> {
    let url = normalize_url(&args.url)?;
    let name = args.context.as_deref().unwrap_or(DEFAULT_CONTEXT);
    check_name(name)?;
    let store = ConfigStore::new(env.config_dir.clone())?;
    let mut file = store.load()?;
    if url.starts_with("http://") && !is_loopback(&url) {
        eprintln!("warning: {url} is plain HTTP: the token crosses the network unencrypted");
    }
    let token = read_token(term)?;
    let api = Api::new(Target {
        url: url.clone(),
        token: token.clone(),
    })?;
    // Any valid token (viewer and up, scoped or not) may ask who it is.
    api.get("/api/v1/whoami").await?;
    file.contexts.insert(
        name.to_owned(),
        Context {
            url: url.clone(),
            token: token.expose_secret().to_owned(),
        },
    );
    file.current_context = Some(name.to_owned());
    store.save(&file)?;
    eprintln!(
        "Logged in to {url}; context '{name}' saved in {} and made current.",
        store.path().display()
    );
    Ok(Exit::Succeeded)
}

fn is_loopback(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|h| {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        })
}

/// `byoc logout`: forgets a context's token (the context goes with it).
pub fn logout(args: &LogoutArgs, env: &ClientEnv) -> Result<Exit, ClientError> {
    let store = ConfigStore::new(env.config_dir.clone())?;
    let mut file = store.load()?;
    let name = args
        .context
        .clone()
        .or_else(|| file.current_context.clone())
        .ok_or_else(|| ClientError::Usage("no current context to log out of".to_owned()))?;
    if file.contexts.remove(&name).is_none() {
        return Err(ClientError::Usage(format!("no context named '{name}'")));
    }
    if file.current_context.as_deref() == Some(name.as_str()) {
        file.current_context = None;
    }
    store.save(&file)?;
    eprintln!("Logged out: context '{name}' removed.");
    Ok(Exit::Succeeded)
}

/// `byoc contexts list|use`.
pub fn contexts(
    action: &ContextsAction,
    env: &ClientEnv,
    term: Terminal,
) -> Result<Exit, ClientError> {
    let store = ConfigStore::new(env.config_dir.clone())?;
    let mut file = store.load()?;
    match action {
        ContextsAction::List { output } => {
            let body = json!({
                "current_context": file.current_context,
                "contexts": file.contexts.iter()
                    .map(|(name, c)| json!({"name": name, "url": c.url}))
                    .collect::<Vec<_>>(),
            });
            let printer = Printer {
                format: *output,
                width: term.width(),
            };
            printer.show(&body, |_| {
                let rows = file
                    .contexts
                    .iter()
                    .map(|(name, c)| {
                        let current = file.current_context.as_deref() == Some(name.as_str());
                        vec![
                            if current { "*" } else { "" }.to_owned(),
                            name.clone(),
                            c.url.clone(),
                        ]
                    })
                    .collect();
                printer.table(&["CURRENT", "NAME", "URL"], rows)
            })?;
        }
        ContextsAction::Use { name } => {
            if !file.contexts.contains_key(name) {
                return Err(ClientError::Usage(format!(
                    "no context named '{name}' (see `byoc contexts list`)"
                )));
            }
            file.current_context = Some(name.clone());
            store.save(&file)?;
            eprintln!("Current context: {name}");
        }
    }
    Ok(Exit::Succeeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_names_are_plain() {
        assert!(check_name("prod-eu.1").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("x\"]").is_err());
    }

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8000"));
        assert!(is_loopback("http://localhost:8000"));
        assert!(is_loopback("http://[::1]:8000"));
        assert!(!is_loopback("http://byoc.example.com"));
    }
}
