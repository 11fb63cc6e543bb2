//! Outbound webhooks: event types, URL rules, signing and the delivery task.
//!
//! Deliveries follow Standard Webhooks (<https://www.standardwebhooks.com/>, spec
//! `spec/standard-webhooks.md` in github.com/standard-webhooks/standard-webhooks): headers
//! `webhook-id` (stable across retries: receivers deduplicate on it), `webhook-timestamp`
//! (Unix seconds of the try) and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "<id>.<timestamp>.<body>">`, keyed with the base64-decoded part of a `whsec_<base64>`
//! secret. Events are written to the outbox (`store::webhooks`) with the change they report;
//! this task delivers them at least once, retrying with exponential backoff and jitter until
//! `retry_for` has passed.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore, rngs::OsRng};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use crate::crypto::MasterKey;
use crate::settings::WebhookSettings;
use crate::store::{self, DbPool, webhooks as outbox};

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

/// Why a subscription URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL.
    #[error("is not a URL: {0}")]
    Parse(String),
    /// Neither https nor allowed http.
    #[error("must use https (http only to a host BYOC_WEBHOOK_HTTP_HOSTS names; '{0}' is not one)")]
    Scheme(String),
    /// Credentials in the URL would end up in logs and responses.
    #[error("must not carry a user name or password")]
    Credentials,
    /// Names the control plane's own network.
    #[error(
        "names a loopback, private, link-local or unspecified address ('{0}'); only hosts \
         BYOC_WEBHOOK_HTTP_HOSTS names may be such"
    )]
    InternalHost(String),
}

/// Checks a subscription URL: `https`, or `http` to a host the allowlist names; no
/// credentials; no loopback/private/link-local/unspecified IP literal or `localhost` unless
/// allowlisted. Host names are not resolved here (a public name that resolves to a private
/// address is not caught: DNS can change after this check anyway).
pub fn check_url(raw: &str, allow: &[String]) -> Result<reqwest::Url, UrlError> {
    let url = reqwest::Url::parse(raw).map_err(|e| UrlError::Parse(e.to_string()))?;
    let host = url
        .host_str()
        .ok_or_else(|| UrlError::Parse("no host".into()))?
        .to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let allowed = allow.iter().any(|a| a == &host || a == bare);
    match url.scheme() {
        "https" => {}
        "http" if allowed => {}
        _ => return Err(UrlError::Scheme(host)),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let internal = match bare.parse::<IpAddr>() {
        Ok(ip) => is_internal(ip),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    };
    if internal && !allowed {
        return Err(UrlError::InternalHost(host));
    }
    Ok(url)
}

fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT (often cluster-internal).
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link-local
        }
    }
}

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

/// Delivers due outbox rows until `shutdown`.
pub async fn run(
    pool: DbPool,
    key: MasterKey,
    settings: WebhookSettings,
    shutdown: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        // A redirect could lead past the URL checks: not followed, the 3xx is the answer.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("byoc-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook deliveries cannot start");
            return;
        }
    };
    loop {
        if let Err(e) = deliver_due(&pool, &key, &settings, &client).await {
            tracing::warn!(error = %e, "webhook delivery round failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.poll) => {}
        }
    }
}

/// One round: every due delivery, one at a time. Returns how many were tried.
pub async fn deliver_due(
    pool: &DbPool,
    key: &MasterKey,
    settings: &WebhookSettings,
    client: &reqwest::Client,
) -> anyhow::Result<usize> {
    let mut tried = 0;
    loop {
        let (pool2, hold) = (pool.clone(), settings.timeout * 3);
        // Take one due row: claimed rows are pushed `hold` into the future, so a process
        // that dies mid-try only delays it.
        let claimed = tokio::task::spawn_blocking(move || {
            let mut conn = pool2.get().map_err(store::StoreError::from)?;
            let now = store::now();
            for d in outbox::due(&mut conn, now, 20)? {
                if outbox::claim(&mut conn, &d, outbox::after(now, hold))? {
                    let sub = outbox::find_subscription(&mut conn, &d.subscription_id)?;
                    return Ok::<_, store::StoreError>(Some((d, sub)));
                }
            }
            Ok(None)
        })
        .await??;
        let Some((delivery, sub)) = claimed else {
            return Ok(tried);
        };
        tried += 1;
        let secret = key.open_secret(&sub.secret_sealed, sub.id.as_bytes())?;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(&secret, &delivery.id, timestamp, &delivery.payload);
        let sent = client
            .post(&sub.url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        let (status_code, error) = match sent {
            Ok(resp) => (Some(i32::from(resp.status().as_u16())), None),
            // Without the URL: reqwest's message names it, and the log is read by admins only,
            // but the error text is enough.
            Err(e) => (None, Some(e.without_url().to_string())),
        };
        let ok = status_code.is_some_and(|c| (200..300).contains(&c));
        let now = store::now();
        let attempt = delivery.attempts + 1;
        let next = if ok {
            outbox::Next::Done
        } else {
            let at = outbox::after(now, backoff(settings, attempt));
            if at > outbox::after(delivery.retry_from, settings.retry_for) {
                outbox::Next::GiveUp
            } else {
                outbox::Next::RetryAt(at)
            }
        };
        tracing::info!(
            webhook.delivery = %delivery.id, webhook.event = %delivery.event_type,
            attempt, ?status_code, ?next, "webhook try"
        );
        let log = outbox::Attempt {
            delivery_id: delivery.id,
            attempt,
            at: now,
            status_code,
            error,
        };
        let pool2 = pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool2.get().map_err(store::StoreError::from)?;
            outbox::settle(&mut conn, &log, next)
        })
        .await??;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(hosts: &[&str]) -> Vec<String> {
        hosts.iter().map(|h| (*h).to_owned()).collect()
    }

    #[test]
    fn urls_are_https_or_allowlisted_http_and_never_internal() {
        let none = allow(&[]);
        assert!(check_url("https://hooks.example.com/x", &none).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://localhost/x",
            "https://user:pw@hooks.example.com/x",
            "not a url",
        ] {
            assert!(check_url(bad, &none).is_err(), "{bad}");
        }
        let local = allow(&["127.0.0.1", "receiver.internal"]);
        assert!(check_url("http://127.0.0.1:9000/x", &local).is_ok());
        assert!(check_url("http://receiver.internal/x", &local).is_ok());
        assert!(check_url("http://10.0.0.1/x", &local).is_err());
    }

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
