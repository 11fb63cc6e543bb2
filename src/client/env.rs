//! The few environment variables a client command reads, captured once by `main`. Server
//! settings (`BYOC_BIND`, `BYOC_DATA_DIR`, `.env`, …) are never read here.

use std::ffi::OsString;
use std::path::PathBuf;

use secrecy::SecretString;

/// What the client takes from its environment.
#[derive(Debug, Clone, Default)]
pub struct ClientEnv {
    /// `BYOC_TOKEN`: a token that overrides the context's (for CI, where nothing is stored).
    pub token: Option<SecretString>,
    /// Directory of `config.toml`: `$XDG_CONFIG_HOME/byoc`, else `$HOME/.config/byoc`.
    pub config_dir: Option<PathBuf>,
    /// `NO_COLOR` is set (<https://no-color.org>).
    pub no_color: bool,
}

impl ClientEnv {
    /// Reads the client's variables through `var` (`std::env::var_os` in `main`).
    pub fn capture(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let nonempty = |k: &str| var(k).filter(|v| !v.is_empty());
        // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
        let xdg = nonempty("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute());
        let config_dir = xdg
            .or_else(|| nonempty("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|base| base.join("byoc"));
        Self {
            token: nonempty("BYOC_TOKEN")
                .and_then(|t| t.into_string().ok())
                .map(|t| SecretString::from(t.trim().to_owned())),
            config_dir,
            no_color: var("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> ClientEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ClientEnv::capture(|k| {
            pairs
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.into())
        })
    }

    #[test]
    fn config_dir_follows_xdg_then_home() {
        let e = env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(e.config_dir, Some(PathBuf::from("/x/byoc")));
        let e = env(&[("HOME", "/h")]);
        assert_eq!(e.config_dir, Some(PathBuf::from("/h/.config/byoc")));
        let e = env(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")]);
        assert_eq!(e.config_dir, Some(PathBuf::from("/h/.config/byoc")));
        assert_eq!(env(&[]).config_dir, None);
    }

    #[test]
    fn an_empty_token_is_no_token() {
        assert!(env(&[("BYOC_TOKEN", "")]).token.is_none());
        assert!(env(&[("BYOC_TOKEN", "t")]).token.is_some());
    }
}
