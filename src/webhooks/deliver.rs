//! The delivery task: every `byoc serve` and `byoc worker` process runs one (unless
//! `BYOC_WEBHOOK_DELIVERY=off`). Each try is leased in the outbox (`store::webhooks::claim_next`),
//! so processes sharing a database never send one delivery at once; the URL is checked again
//! and its host resolved before each try, and the connection goes only to the checked
//! addresses.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::target::{self, UrlError};
use super::{backoff, sign};
use crate::crypto::MasterKey;
use crate::settings::WebhookSettings;
use crate::store::{self, DbPool, webhooks as outbox};

/// Delivers due outbox rows until `shutdown`, as process `by` (recorded with each claim and
/// try: the worker id, or another name unique to the process).
pub async fn run(
    pool: DbPool,
    key: MasterKey,
    settings: WebhookSettings,
    by: String,
    shutdown: CancellationToken,
) {
    let client = match client(&settings, None) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook deliveries cannot start");
            return;
        }
    };
    tracing::info!(webhook.sender = %by, "delivering webhooks");
    loop {
        if let Err(e) = deliver_due(&pool, &key, &settings, &client, &by).await {
            tracing::warn!(error = %e, "webhook delivery round failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.poll) => {}
        }
    }
}

/// An HTTP client for deliveries; with `pin`, it connects to that host only at those
/// addresses.
fn client(
    settings: &WebhookSettings,
    pin: Option<&(String, Vec<std::net::SocketAddr>)>,
) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        // A redirect could lead past the URL checks: not followed, the 3xx is the answer.
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would make its own resolution: never one.
        .no_proxy()
        .user_agent(concat!("byoc-webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some((host, addrs)) = pin {
        builder = builder.resolve_to_addrs(host, addrs);
    }
    builder.build()
}

/// The lease of one try: long enough for the resolution and the request, each bounded by
/// the timeout, plus the database writes around them.
fn lease(settings: &WebhookSettings) -> Duration {
    settings.timeout * 3
}

/// One round: every due delivery, one at a time, as process `by`. Returns how many were
/// tried.
pub async fn deliver_due(
    pool: &DbPool,
    key: &MasterKey,
    settings: &WebhookSettings,
    client: &reqwest::Client,
    by: &str,
) -> anyhow::Result<usize> {
    let mut tried = 0;
    loop {
        let now = store::now();
        let claim = outbox::Claim {
            by: by.to_owned(),
            until: outbox::after(now, lease(settings)),
        };
        let (pool2, claim2) = (pool.clone(), claim.clone());
        let claimed = tokio::task::spawn_blocking(move || {
            let mut conn = pool2.get().map_err(store::StoreError::from)?;
            let Some(d) = outbox::claim_next(&mut conn, now, &claim2)? else {
                return Ok::<_, store::StoreError>(None);
            };
            let sub = outbox::find_subscription(&mut conn, &d.subscription_id)?;
            Ok(Some((d, sub)))
        })
        .await??;
        let Some((delivery, sub)) = claimed else {
            return Ok(tried);
        };
        tried += 1;
        let (status_code, error) = match send(key, settings, client, &delivery, &sub).await {
            Ok(code) => (Some(code), None),
            Err(e) => (None, Some(e)),
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
            delivery_id: delivery.id.clone(),
            attempt,
            at: now,
            status_code,
            error,
            sent_by: Some(by.to_owned()),
        };
        let pool2 = pool.clone();
        let held = tokio::task::spawn_blocking(move || {
            let mut conn = pool2.get().map_err(store::StoreError::from)?;
            outbox::settle(&mut conn, &log, next, &claim)
        })
        .await??;
        if !held {
            // The lease ran out (or a redelivery was asked for) while this try ran: the
            // delivery is another try's now, which logs its own outcome.
            tracing::warn!(webhook.delivery = %delivery.id, "webhook try outlived its lease");
        }
    }
}

/// One try: the URL checked again (the allowlist may have changed), its host resolved and
/// checked, the signed request sent to the checked addresses only. The receiver's status
/// code, or why there is none (for the delivery log).
async fn send(
    key: &MasterKey,
    settings: &WebhookSettings,
    shared: &reqwest::Client,
    delivery: &outbox::Delivery,
    sub: &outbox::Subscription,
) -> Result<i32, String> {
    let refused = |e: UrlError| format!("refused: the URL {e}");
    let target = target::check(&sub.url, &settings.allow_http_hosts).map_err(refused)?;
    let pinned = target::resolve(&target, settings.timeout)
        .await
        .map_err(|e| match e {
            UrlError::Unresolved { .. } => e.to_string(),
            other => refused(other),
        })?;
    let own;
    let client = match &pinned {
        None => shared,
        Some(pin) => {
            own = client(settings, Some(pin)).map_err(|e| e.to_string())?;
            &own
        }
    };
    let secret = key
        .open_secret(&sub.secret_sealed, sub.id.as_bytes())
        .map_err(|e| format!("cannot open the signing secret: {e}"))?;
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(&secret, &delivery.id, timestamp, &delivery.payload);
    client
        .post(target.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await
        .map(|resp| i32::from(resp.status().as_u16()))
        // Without the URL: the log is read by admins only, but the error text is enough.
        .map_err(|e| error_chain(&e.without_url()))
}

/// An error with its causes, `a: b: c` (reqwest's own message alone is "error sending
/// request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[actix_web::test]
    async fn a_pinned_client_connects_to_the_checked_address_not_to_what_dns_says_now() {
        // A name that cannot resolve here (`.invalid`, RFC 6761), pinned to a local listener:
        // the request reaches the listener, so the connection used the pin and no lookup.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap();
            conn.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let settings = WebhookSettings {
            allow_http_hosts: vec![],
            deliver: true,
            poll: Duration::from_secs(1),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(1),
            retry_for: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        };
        let pin = ("hooks.byoc.invalid".to_owned(), vec![addr]);
        let client = client(&settings, Some(&pin)).unwrap();
        let url = format!("http://hooks.byoc.invalid:{}/x", addr.port());
        let resp = client.post(url).body("{}").send().await.unwrap();
        assert_eq!(resp.status(), 204);
        let request = server.join().unwrap();
        assert!(request.contains("host: hooks.byoc.invalid"), "{request}");
    }
}
