//! Stack outputs from `GET …/outputs`: plain values as they are, secrets (Pulumi's secret
//! signature objects, encrypted by the stack's secrets provider) flagged and redacted, since
//! byoc cannot and should not decrypt them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::shapes::StackOutputs;
use crate::executor::OutputValue;

/// The key marking a secret value in Pulumi state.
pub const SECRET_SIG: &str = "4dabf18193072939515e22adb298388d";

/// Outputs for the operation: a value holding a secret anywhere is redacted to `null`.
pub fn from_response(response: StackOutputs) -> BTreeMap<String, OutputValue> {
    response
        .outputs
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| {
            let out = if holds_secret(&value) {
                OutputValue {
                    value: Value::Null,
                    secret: true,
                }
            } else {
                OutputValue {
                    value,
                    secret: false,
                }
            };
            (name, out)
        })
        .collect()
}

fn holds_secret(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key(SECRET_SIG) || map.values().any(holds_secret),
        Value::Array(items) => items.iter().any(holds_secret),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_outputs_are_flagged_and_redacted() {
        let response: StackOutputs = serde_json::from_value(json!({
            "outputs": {
                "vpcId": "vpc-1",
                "kubeconfig": { SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "abc" },
                "nested": [{ "x": { SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "d" } }]
            }
        }))
        .unwrap();
        let out = from_response(response);
        assert_eq!(
            out["vpcId"],
            OutputValue {
                value: json!("vpc-1"),
                secret: false
            }
        );
        assert_eq!(
            out["kubeconfig"],
            OutputValue {
                value: Value::Null,
                secret: true
            }
        );
        assert!(out["nested"].secret);
    }
}
