//! The child's environment: an allowlist applied to a snapshot of the parent's variables, taken
//! once at startup by the caller, so nothing here reads `std::env`.

/// Exact names passed through from the parent when present.
const PASSTHROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    // The state backend (s3://) resolves credentials through the default AWS chain.
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_CA_BUNDLE",
    // Set by the production image and Kubernetes manifests (docker/): the CLI must never
    // download a plugin at run time there, only use the baked, checksum-verified ones.
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
    // Deliberately absent: AWS_PROFILE / AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE. The
    // workspace supplies its own config file; an inherited profile would point the tenant's
    // provider at the worker's account. (An s3:// backend URL can name a profile itself.)
];

/// Name prefixes passed through (container / instance credential endpoints, endpoint overrides).
const PASSTHROUGH_PREFIXES: &[&str] = &["AWS_CONTAINER_", "AWS_EC2_METADATA_", "AWS_ENDPOINT_URL"];

/// The allowlisted part of the parent environment, captured once.
#[derive(Clone, Default)]
pub struct EnvSnapshot {
    vars: Vec<(String, String)>,
}

impl std::fmt::Debug for EnvSnapshot {
    /// Names only: the values include AWS credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.vars.iter().map(|(k, _)| k))
            .finish()
    }
}

impl EnvSnapshot {
    /// Keeps only the allowlisted variables of `vars` (e.g. `std::env::vars()` in `main`).
    pub fn capture(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = vars.into_iter().filter(|(k, _)| is_allowed(k)).collect();
        Self { vars }
    }

    /// The kept variables.
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// The value of `name`, if kept.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a parent variable may reach the child.
pub fn is_allowed(name: &str) -> bool {
    PASSTHROUGH.contains(&name) || PASSTHROUGH_PREFIXES.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowlisted_variables_are_captured() {
        let snap = EnvSnapshot::capture(
            [
                ("PATH", "/bin"),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://x"),
                ("BYOC_MASTER_KEY", "k"),
                ("PULUMI_ACCESS_TOKEN", "t"),
                ("AWS_PROFILE", "worker"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let names: Vec<_> = snap.vars().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["PATH", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]);
        assert!(!format!("{snap:?}").contains("http://x"));
    }
}
