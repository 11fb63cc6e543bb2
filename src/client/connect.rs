//! Which server and which token a command uses: `--url`/`BYOC_URL`, `--context`/`BYOC_CONTEXT`,
//! `BYOC_TOKEN` and the contexts of the config file. A stored token is only ever sent to the
//! URL it was stored for.

use secrecy::SecretString;

use super::contexts::ConfigFile;
use super::env::ClientEnv;
use super::error::ClientError;
use crate::cli::ClientArgs;

/// A server and the token to call it with.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, without a trailing slash.
    pub url: String,
    /// Bearer token.
    pub token: SecretString,
}

/// Checks and normalizes a server URL (http or https, no trailing slash).
pub fn normalize_url(raw: &str) -> Result<String, ClientError> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| ClientError::Usage(format!("invalid server URL '{raw}': {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ClientError::Usage(format!(
            "invalid server URL '{raw}': expected http(s)://host[:port]"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Resolves the server and token of a command.
///
/// - URL: `--url`/`BYOC_URL`, else the context's (`--context`/`BYOC_CONTEXT`, else the
///   current one).
/// - Token: `BYOC_TOKEN`, else the token of the context in use — or, when a URL was given,
///   of a context stored for that same URL. Never a token stored for another server.
pub fn resolve(
    args: &ClientArgs,
    env: &ClientEnv,
    file: &ConfigFile,
) -> Result<Target, ClientError> {
    let named = match &args.context {
        Some(name) => Some((
            name.as_str(),
            file.contexts.get(name).ok_or_else(|| {
                ClientError::Usage(format!(
                    "no context named '{name}' (see `byoc contexts list`)"
                ))
            })?,
        )),
        None => file
            .current_context
            .as_deref()
            .and_then(|n| file.contexts.get(n).map(|c| (n, c))),
    };
    let url = match &args.url {
        Some(raw) => normalize_url(raw)?,
        None => match named {
            Some((_, ctx)) => ctx.url.clone(),
            None => {
                return Err(ClientError::NoCredentials(
                    "not logged in: run `byoc login --url URL`, or set BYOC_URL and BYOC_TOKEN"
                        .to_owned(),
                ));
            }
        },
    };
    if let Some(token) = &env.token {
        return Ok(Target {
            url,
            token: token.clone(),
        });
    }
    let stored = named
        .filter(|(_, c)| c.url == url)
        .or_else(|| {
            // A URL without a context: any context logged in to that very server.
            args.context
                .is_none()
                .then(|| file.contexts.iter().find(|(_, c)| c.url == url))
                .flatten()
                .map(|(n, c)| (n.as_str(), c))
        })
        .map(|(_, c)| c.token.clone());
    match stored {
        Some(token) => Ok(Target {
            url,
            token: SecretString::from(token),
        }),
        None => Err(ClientError::NoCredentials(format!(
            "no token for {url}: run `byoc login --url {url}`, or set BYOC_TOKEN"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::client::contexts::Context;

    fn file() -> ConfigFile {
        let mut f = ConfigFile::default();
        for (name, url) in [
            ("prod", "https://prod.example"),
            ("dev", "http://127.0.0.1:8000"),
        ] {
            f.contexts.insert(
                name.into(),
                Context {
                    url: url.into(),
                    token: format!("{name}-token"),
                },
            );
        }
        f.current_context = Some("prod".into());
        f
    }

    fn args(url: Option<&str>, context: Option<&str>) -> ClientArgs {
        ClientArgs {
            url: url.map(Into::into),
            context: context.map(Into::into),
            ..ClientArgs::default()
        }
    }

    fn token(t: &Target) -> &str {
        t.token.expose_secret()
    }

    #[test]
    fn the_current_context_is_the_default() {
        let t = resolve(&args(None, None), &ClientEnv::default(), &file()).unwrap();
        assert_eq!(t.url, "https://prod.example");
        assert_eq!(token(&t), "prod-token");
    }

    #[test]
    fn a_named_context_wins_over_the_current_one() {
        let t = resolve(&args(None, Some("dev")), &ClientEnv::default(), &file()).unwrap();
        assert_eq!(t.url, "http://127.0.0.1:8000");
        assert_eq!(token(&t), "dev-token");
        assert!(resolve(&args(None, Some("nope")), &ClientEnv::default(), &file()).is_err());
    }

    #[test]
    fn a_url_uses_the_token_stored_for_that_url_only() {
        let t = resolve(
            &args(Some("http://127.0.0.1:8000/"), None),
            &ClientEnv::default(),
            &file(),
        )
        .unwrap();
        assert_eq!(token(&t), "dev-token");
        let err = resolve(
            &args(Some("https://evil.example"), None),
            &ClientEnv::default(),
            &file(),
        )
        .unwrap_err();
        assert!(matches!(err, ClientError::NoCredentials(_)), "{err}");
    }

    #[test]
    fn byoc_token_overrides_stored_tokens() {
        let env = ClientEnv {
            token: Some(SecretString::from("env-token")),
            ..ClientEnv::default()
        };
        let t = resolve(&args(Some("https://other.example"), None), &env, &file()).unwrap();
        assert_eq!(token(&t), "env-token");
        assert_eq!(t.url, "https://other.example");
    }

    #[test]
    fn nothing_configured_says_how_to_log_in() {
        let err = resolve(
            &args(None, None),
            &ClientEnv::default(),
            &ConfigFile::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("byoc login"), "{err}");
        assert!(normalize_url("ftp://x").is_err());
        assert!(normalize_url("not a url").is_err());
    }
}
