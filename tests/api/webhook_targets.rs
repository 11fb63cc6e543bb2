//! Webhook URLs against the control plane's own network (issue 19): a host name is resolved
//! at subscription and before every try, and an address that is loopback, private,
//! link-local, unspecified or multicast is refused unless `BYOC_WEBHOOK_HTTP_HOSTS` names the
//! host. The name used is this machine's host name, which resolves to one of its own
//! addresses (`/etc/hosts`); the receiver listens on every address of the machine.

use std::net::IpAddr;

use byoc::store::scratch::ScratchDatabase;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::routes::{Action, PROD, Problem};
use crate::webhooks::{Receiver, all_delivered, log, subscribe_to, webhook_settings};

/// This machine's host name, checked to resolve to an internal address of its own.
async fn own_host_name() -> (String, IpAddr) {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("the host name")
        .trim()
        .to_ascii_lowercase();
    let addr = tokio::net::lookup_host((name.as_str(), 80))
        .await
        .unwrap_or_else(|e| panic!("this test needs the host name '{name}' to resolve: {e}"))
        .next()
        .expect("an address")
        .ip();
    assert!(
        byoc::webhooks::target::is_internal(addr),
        "'{name}' resolves to {addr}, which is not one of the machine's internal addresses"
    );
    (name, addr)
}

#[actix_web::test]
async fn a_name_resolving_inside_is_refused_at_subscription_and_delivery_unless_allowlisted() {
    let (host, addr) = own_host_name().await;
    let receiver = Receiver::start_at("0.0.0.0", &[]);
    let port = receiver
        .url
        .rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap();
    let port: u16 = port.parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http_url = format!("http://{host}:{port}/allowed");
    let https_url = format!("https://{host}:{port}/refused");

    // With the host allowlisted, its name may resolve to the machine itself: subscribed and
    // delivered (plain http, to the address the name resolves to).
    let allowing = host.clone();
    let app = TestApp::builder()
        .database(ScratchDatabase::sqlite(dir.path()))
        .settings(move |s| {
            webhook_settings(s);
            s.webhooks.allow_http_hosts.push(allowing.clone());
        })
        .spawn()
        .await;
    let (allowed, _) = subscribe_to(&app, &http_url, &["operation.finished"]).await;
    // Subscribed while the host was allowlisted; it is not any more below.
    let (later, _) = subscribe_to(&app, &https_url, &["approval.required"]).await;
    app.with_config(PROD).await;
    app.run(PROD, Action::Deploy).await;
    let items = all_delivered(&app, &allowed, 1).await;
    assert_eq!(items[0]["attempts"][0]["status_code"], 200);
    assert_eq!(receiver.got().len(), 1);
    app.stop().await;

    // The same database, the host no longer allowlisted.
    let app = TestApp::builder()
        .database(ScratchDatabase::sqlite(dir.path()))
        .settings(webhook_settings)
        .spawn()
        .await;
    let resp = app
        .post(
            "/api/v1/webhooks",
            json!({"url": https_url, "events": ["operation.finished"]}),
        )
        .await;
    let problem = Problem::of(resp, 422).await;
    assert_eq!(problem.errors[0].field, "url");
    let message = &problem.errors[0].message;
    assert!(
        message.contains(&format!("'{host}' resolves to {addr}")),
        "{message}"
    );

    // A delivery to the subscription made earlier is refused before anything is sent, and
    // the log says why.
    let config = json!({"approval": {"policy": "always"}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, config).await.status(),
        201
    );
    app.start(PROD, Action::Deploy).await;
    app.run_pending_operations().await;
    let tried: Value = crate::poll::eventually(
        "a refused try",
        std::time::Duration::from_secs(20),
        async || {
            let items = log(&app, &later).await;
            let first = items.first()?["attempts"].get(0)?.clone();
            Some(first)
        },
    )
    .await;
    assert_eq!(tried["status_code"], Value::Null);
    let error = tried["error"].as_str().unwrap();
    assert!(
        error.starts_with("refused: ") && error.contains(&format!("'{host}' resolves to {addr}")),
        "{error}"
    );
    assert_eq!(receiver.got().len(), 1, "nothing more was sent");
    assert_eq!(
        log(&app, &later).await[0]["status"],
        "pending",
        "retried later"
    );
    app.stop().await;
    receiver.stop().await;
}
