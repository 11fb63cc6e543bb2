//! Outbound webhooks: event types, URL rules, signing and the delivery task.
//!
//! Deliveries follow Standard Webhooks (<https://www.standardwebhooks.com/>, spec
//! `spec/standard-webhooks.md` in github.com/standard-webhooks/standard-webhooks): headers
//! `webhook-id` (stable across retries: receivers deduplicate on it), `webhook-timestamp`
//! (Unix seconds of the try) and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "<id>.<timestamp>.<body>">`, keyed with the base64-decoded part of a `whsec_<base64>`
//! secret. Events are written to the outbox (`store::webhooks`) with the change they report;
//! the delivery task ([`run`], in every `serve` and `worker` process) delivers them at least
//! once, retrying with exponential backoff and jitter until `retry_for` has passed. URL rules
//! and address checks are in [`target`].

mod deliver;
pub mod target;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore, rngs::OsRng};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub use deliver::{deliver_due, run};
pub use target::{UrlError, check_url};

use crate::settings::WebhookSettings;

/// Event types a subscription may ask for.
pub const EVENT_TYPES: [&str; 5] = [
    OPERATION_FINISHED,
    ROLLOUT_HALTED,
    ROLLOUT_FINISHED,
    APPROVAL_REQUIRED,
    DRIFT_DETECTED,
];

/// An operation ended (succeeded, failed or cancelled).
pub const OPERATION_FINISHED: &str = "operation.finished";

/// A rollout spent its failure budget and stopped.
pub const ROLLOUT_HALTED: &str = "rollout.halted";

/// A rollout ended: every wave done (`status` finished) or aborted by a user.
pub const ROLLOUT_FINISHED: &str = "rollout.finished";

/// A deploy's preview saved a plan and the approval policy holds it for a reviewer.
pub const APPROVAL_REQUIRED: &str = "approval.required";

/// A drift check found drifted resources not seen (or seen differently) by the last check.
pub const DRIFT_DETECTED: &str = "drift.detected";

/// A new signing secret: `whsec_` and 32 random bytes in standard base64.
pub fn generate_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("whsec_{}", STANDARD.encode(bytes)))
}

/// The `webhook-signature` value of a message: `v1,<base64 HMAC-SHA256>`.
pub fn sign(secret: &SecretString, id: &str, timestamp: i64, body: &str) -> String {
    let encoded = secret.expose_secret();
    let key = STANDARD
        .decode(encoded.strip_prefix("whsec_").unwrap_or(encoded))
        .unwrap_or_else(|_| encoded.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The body of an event: `{"type", "timestamp", "data"}` (the Standard Webhooks payload
/// shape).
pub fn envelope(event_type: &str, data: serde_json::Value) -> String {
    serde_json::json!({
        "type": event_type,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// The delay before try `attempt + 1` after `attempt` failed tries: `backoff · 2^(attempt-1)`
/// capped at `max_backoff`, then a random half of it taken off (jitter spreads the retries of
/// many deliveries that failed together).
pub fn backoff(settings: &WebhookSettings, attempt: i32) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = settings
        .backoff
        .saturating_mul(1u32 << exp)
        .min(settings.max_backoff);
    let jitter = rand::thread_rng().gen_range(0.0..0.5);
    full.mul_f64(1.0 - jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The Standard Webhooks specification's published test vector, which its reference
        // libraries check (github.com/standard-webhooks/standard-webhooks, libraries/*).
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let sig = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let s = WebhookSettings {
            allow_http_hosts: vec![],
            deliver: true,
            poll: Duration::from_secs(1),
            backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
            retry_for: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
        };
        for (attempt, full) in [(1, 10), (2, 20), (3, 40), (4, 60), (40, 60)] {
            let d = backoff(&s, attempt);
            let full = Duration::from_secs(full);
            assert!(d <= full && d >= full / 2, "{attempt}: {d:?}");
        }
    }
}
