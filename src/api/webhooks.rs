//! `/api/v1/webhooks` (admin, unscoped tokens only: a subscription sees every tenant's
//! events): subscribe, list, remove; the delivery log and redelivery. The signing secret is
//! answered once, on creation, and kept sealed.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::JsonBody;
use super::problems::{Forbidden, Invalid, Malformed, NotFound, Unauthorized, UnsupportedMedia};
use super::{Admin, ApiError, ApiResult, AppState, Caller};
use crate::domain::ValidationErrors;
use crate::store::{self, webhooks as outbox};
use crate::webhooks::target::{UrlError, check, resolve};
use crate::webhooks::{EVENT_TYPES, generate_secret};

/// Body of `create_webhook`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST events: `https`, or `http` to a host `BYOC_WEBHOOK_HTTP_HOSTS` names;
    /// never a loopback, private, link-local, unspecified or multicast address, written or
    /// resolved from the host name (checked now and before every try), unless that setting
    /// names the host.
    #[schema(example = "https://hooks.example.com/byoc")]
    pub url: String,
    /// Event types: `operation.finished`, `rollout.halted`, `rollout.finished`,
    /// `approval.required`, `drift.detected`.
    #[schema(schema_with = event_types_schema, example = json!(["operation.finished"]))]
    pub events: Vec<String>,
}

/// `events` as the document declares it: a non-empty array of the known event types.
fn event_types_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(EVENT_TYPES)),
        )
        .min_items(Some(1))
        .description(Some("Event types: one or more of the listed names."))
        .examples([serde_json::json!(["operation.finished"])])
        .build()
}

/// A delivery's `status` as the document declares it.
fn delivery_status_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["pending", "delivered", "failed"]))
        .description(Some(
            "`pending` | `delivered` | `failed` (retries exhausted).",
        ))
        .build()
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Event types.
    pub events: Vec<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Token name that created it.
    pub created_by: Option<String>,
}

impl From<outbox::Subscription> for WebhookView {
    fn from(s: outbox::Subscription) -> Self {
        Self {
            events: s.event_types(),
            id: s.id,
            url: s.url,
            created_at: s.created_at.and_utc(),
            created_by: s.created_by,
        }
    }
}

/// A new subscription, with its signing secret (shown only now).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_<base64>`: the HMAC-SHA256 key of `webhook-signature` (Standard Webhooks).
    pub secret: String,
}

/// `{"items": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub items: Vec<WebhookView>,
}

/// One try of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1, 2, …
    pub attempt: i32,
    /// When.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i32>,
    /// Why there was no answer: a connection error or timeout, or `refused: …` when the URL
    /// or an address its host resolved to is not allowed (nothing was sent).
    pub error: Option<String>,
    /// The process (`serve` or `worker`) that made the try.
    pub sent_by: Option<String>,
}

/// One event for one subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` (the same on every try).
    pub id: String,
    /// Event type.
    pub event_type: String,
    #[schema(schema_with = delivery_status_schema)]
    pub status: String,
    /// The body sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When the event was recorded.
    pub created_at: DateTime<Utc>,
    /// When it is next tried, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Every try, oldest first.
    pub attempts: Vec<AttemptView>,
}

/// `{"items": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first (at most 100).
    pub items: Vec<DeliveryView>,
}

/// `{id}` of a subscription.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// Subscription id
    pub id: String,
}

/// `{id}/deliveries/{delivery}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    /// Subscription id
    pub id: String,
    /// Delivery id (`webhook-id`)
    pub delivery: String,
}

/// Subscriptions see every tenant: a tenant-scoped token may not manage them.
fn unscoped(caller: &Caller) -> Result<(), ApiError> {
    match caller.tenants {
        None => Ok(()),
        Some(_) => Err(ApiError::OutOfScope(
            "webhooks report events of every tenant: a tenant-scoped token cannot manage them"
                .into(),
        )),
    }
}

/// Subscribes a URL to event types; answers the signing secret, once.
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, body = WebhookCreated),
        Malformed, Unauthorized, Forbidden, UnsupportedMedia, Invalid
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    Admin(caller): Admin,
    body: JsonBody,
) -> ApiResult {
    unscoped(&caller)?;
    let req: CreateWebhook = body.parse()?;
    let mut errors = ValidationErrors::new();
    let webhooks = &state.settings.webhooks;
    match check(&req.url, &webhooks.allow_http_hosts) {
        Err(e) => errors.push("url", e.to_string()),
        // A name that does not resolve now is accepted: every try resolves and checks again.
        Ok(target) => {
            if let Err(e @ UrlError::ResolvesInternal { .. }) =
                resolve(&target, webhooks.timeout).await
            {
                errors.push("url", e.to_string());
            }
        }
    }
    if req.events.is_empty() {
        errors.push("events", "name at least one event type");
    }
    for (i, e) in req.events.iter().enumerate() {
        if !EVENT_TYPES.contains(&e.as_str()) {
            errors.push(
                format!("events[{i}]"),
                format!("'{e}' is not one of {}", EVENT_TYPES.join(", ")),
            );
        }
    }
    errors.into_result(())?;
    let mut events = req.events;
    events.sort();
    events.dedup();
    let secret = generate_secret();
    let id = uuid::Uuid::new_v4().to_string();
    let row = outbox::Subscription {
        secret_sealed: state.key.seal_secret(&secret, id.as_bytes()),
        id,
        url: req.url,
        events: serde_json::to_string(&events).map_err(ApiError::internal)?,
        created_at: store::now(),
        created_by: Some(caller.token_name),
    };
    let view = WebhookView::from(row.clone());
    state
        .db(move |conn| outbox::insert_subscription(conn, &row))
        .await?;
    Ok(HttpResponse::Created().json(WebhookCreated {
        webhook: view,
        secret: secret.expose_secret().to_owned(),
    }))
}

/// Lists subscriptions (without secrets).
#[utoipa::path(
    tag = "webhooks",
    responses((status = 200, body = WebhookList), Unauthorized, Forbidden),
    security(("bearer" = []))
)]
#[get("/api/v1/webhooks")]
pub async fn list_webhooks(state: web::Data<AppState>, Admin(caller): Admin) -> ApiResult {
    unscoped(&caller)?;
    let rows = state.db(outbox::subscriptions).await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Removes a subscription, its pending deliveries and its log.
#[utoipa::path(
    tag = "webhooks",
    params(WebhookPath),
    responses((status = 204, description = "Removed"), Unauthorized, Forbidden, NotFound),
    security(("bearer" = []))
)]
#[delete("/api/v1/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    Admin(caller): Admin,
    path: web::Path<WebhookPath>,
) -> ApiResult {
    unscoped(&caller)?;
    let id = path.into_inner().id;
    state
        .db(move |conn| outbox::delete_subscription(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The delivery log: the latest 100 events of a subscription with every try's response code.
#[utoipa::path(
    tag = "webhooks",
    params(WebhookPath),
    responses((status = 200, body = DeliveryList), Unauthorized, Forbidden, NotFound),
    security(("bearer" = []))
)]
#[get("/api/v1/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    Admin(caller): Admin,
    path: web::Path<WebhookPath>,
) -> ApiResult {
    unscoped(&caller)?;
    let id = path.into_inner().id;
    let rows = state
        .db(move |conn| {
            outbox::find_subscription(conn, &id)?;
            outbox::log(conn, &id, 100)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|(d, attempts)| DeliveryView {
            status: match (d.delivered_at, d.gave_up_at) {
                (Some(_), _) => "delivered",
                (None, Some(_)) => "failed",
                (None, None) => "pending",
            }
            .to_owned(),
            payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
            id: d.id,
            event_type: d.event_type,
            created_at: d.created_at.and_utc(),
            next_attempt_at: d.next_attempt_at.map(|t| t.and_utc()),
            attempts: attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    at: a.at.and_utc(),
                    status_code: a.status_code,
                    error: a.error,
                    sent_by: a.sent_by,
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(DeliveryList { items }))
}

/// Sends a delivery again (same `webhook-id`), with a fresh retry window.
#[utoipa::path(
    tag = "webhooks",
    params(DeliveryPath),
    responses((status = 202, description = "Due now"), Unauthorized, Forbidden, NotFound),
    security(("bearer" = []))
)]
#[post("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    Admin(caller): Admin,
    path: web::Path<DeliveryPath>,
) -> ApiResult {
    unscoped(&caller)?;
    let DeliveryPath { id, delivery } = path.into_inner();
    state
        .db(move |conn| outbox::redeliver(conn, &id, &delivery))
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
