//! Stack outputs at rest: plain values as JSON, secret values sealed with the master key
//! (bound to the stack name), so `GET …/outputs` can redact them or, for an admin, reveal them.
//! The worker seals what a run produced; `queue::finish` stores it on the stack.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::stacks::Stack;
use crate::crypto::{CryptoError, MasterKey};
use crate::domain::OutputValue;

/// Serializes outputs for storage, sealing secret values.
pub fn seal(key: &MasterKey, stack: &str, outputs: &BTreeMap<String, OutputValue>) -> String {
    let stored: BTreeMap<&str, Value> = outputs
        .iter()
        .map(|(name, out)| {
            let v = if out.secret {
                let sealed = key.seal(out.value.to_string().as_bytes(), stack.as_bytes());
                json!({"secret": true, "sealed": STANDARD.encode(sealed)})
            } else {
                json!({"secret": false, "value": out.value})
            };
            (name.as_str(), v)
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "{}".to_owned())
}

/// One stored output, as [`seal`] writes it.
#[derive(serde::Deserialize)]
struct Stored<'a> {
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    value: Value,
    #[serde(borrow, default)]
    sealed: Option<std::borrow::Cow<'a, str>>,
}

/// Reads stored outputs; secret values are `null` unless `reveal`.
pub fn open(
    key: &MasterKey,
    stack: &str,
    stored: &str,
    reveal: bool,
) -> Result<BTreeMap<String, OutputValue>, CryptoError> {
    // Parsed straight into what `seal` wrote: no intermediate object per output, and the
    // sealed text borrowed from `stored` rather than copied (GET status opens the outputs
    // on every request, issue 16).
    let map: BTreeMap<String, Stored<'_>> =
        serde_json::from_str(stored).map_err(|_| CryptoError::Decrypt)?;
    let mut out = BTreeMap::new();
    for (name, v) in map {
        let value = if !v.secret {
            v.value
        } else if reveal {
            let sealed = STANDARD
                .decode(v.sealed.as_deref().unwrap_or_default())
                .map_err(|_| CryptoError::Decrypt)?;
            let bytes = key.open(&sealed, stack.as_bytes())?;
            serde_json::from_slice(&bytes).map_err(|_| CryptoError::Decrypt)?
        } else {
            Value::Null
        };
        out.insert(
            name,
            OutputValue {
                value,
                secret: v.secret,
            },
        );
    }
    Ok(out)
}

/// The outputs recorded on `stack` (none yet: empty); secret values `null` unless `reveal`.
pub fn of_stack(
    key: &MasterKey,
    stack: &Stack,
    reveal: bool,
) -> Result<BTreeMap<String, OutputValue>, CryptoError> {
    match &stack.outputs {
        None => Ok(BTreeMap::new()),
        Some(stored) => open(key, &stack.stack_name, stored, reveal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_outputs_are_sealed_and_revealed_only_on_request() {
        let key = MasterKey::decode(&"11".repeat(32)).unwrap();
        let mut outputs = BTreeMap::new();
        outputs.insert(
            "vpcId".into(),
            OutputValue {
                value: json!("vpc-1"),
                secret: false,
            },
        );
        outputs.insert(
            "kubeconfig".into(),
            OutputValue {
                value: json!("super-secret-kubeconfig"),
                secret: true,
            },
        );
        let stored = seal(&key, "acme-prod", &outputs);
        assert!(!stored.contains("super-secret-kubeconfig"));
        let redacted = open(&key, "acme-prod", &stored, false).unwrap();
        assert_eq!(redacted["kubeconfig"].value, Value::Null);
        assert_eq!(redacted["vpcId"].value, json!("vpc-1"));
        let revealed = open(&key, "acme-prod", &stored, true).unwrap();
        assert_eq!(revealed, outputs);
        assert!(open(&key, "other-stack", &stored, true).is_err());
    }
}
