//! `POST /api/v1/tenants`: register a tenant and hand out its external ID, once.

use actix_web::{HttpResponse, post, web};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::TenantView;
use crate::api::body::JsonBody;
use crate::api::problems::{
    Conflict, Forbidden, Invalid, Malformed, StorageFull, Unauthorized, UnsupportedMedia,
};
use crate::api::{ApiError, ApiResult, AppState, Operator};
use crate::crypto::generate_external_id;
use crate::domain::{AwsAccountId, AwsRegion, RoleArn, RoleName, Slug, ValidationErrors};
use crate::store::{self, StoreError};

/// Request body of `create_tenant`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Display name (1–100 characters; no control, bidirectional-override or invisible
    /// characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF]*[^\s\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF][^\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF]*$",
        example = "Acme Corp"
    )]
    pub name: String,
    /// Unique slug: 3–50 lowercase letters, digits and inner hyphens.
    #[schema(pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$", example = "acme")]
    pub slug: String,
    /// The tenant's 12-digit AWS account id.
    #[schema(pattern = r"^[0-9]{12}$", example = "123456789012")]
    pub aws_account_id: String,
    /// Region to deploy to (default `us-east-1`).
    #[serde(default)]
    #[schema(schema_with = aws_region_schema, example = "eu-west-1")]
    pub aws_region: Option<String>,
    /// Name of the IAM role the tenant creates (default `BYOCPlatformRole`).
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9+=,.@_-]{1,64}$", example = "BYOCPlatformRole")]
    pub role_name: Option<String>,
}

/// `aws_region` in the document: one of the regions byoc knows, or null (the default).
fn aws_region_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let names = AwsRegion::all().map(serde_json::Value::from);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some("Region to deploy to (default `us-east-1`)."))
        .enum_values(Some(names.chain([serde_json::Value::Null])))
        .build()
}

/// A validated `CreateTenant`.
#[derive(Debug)]
pub struct NewTenantRequest {
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: Slug,
    /// Account.
    pub account: AwsAccountId,
    /// Region.
    pub region: AwsRegion,
    /// Role name.
    pub role_name: RoleName,
}

impl TryFrom<CreateTenant> for NewTenantRequest {
    type Error = ValidationErrors;

    fn try_from(body: CreateTenant) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let name = errors
            .check("/name", crate::domain::names::display_name(&body.name))
            .unwrap_or_default();
        let slug = errors.check("/slug", Slug::parse(&body.slug));
        let account = errors.check("/aws_account_id", AwsAccountId::parse(&body.aws_account_id));
        let region = match body.aws_region.as_deref() {
            None => Some(AwsRegion::default()),
            Some(r) => errors.check("/aws_region", AwsRegion::parse(r)),
        };
        let role_name = match body.role_name.as_deref() {
            None => Some(RoleName::default()),
            Some(r) => errors.check("/role_name", RoleName::parse(r)),
        };
        match (slug, account, region, role_name) {
            (Some(slug), Some(account), Some(region), Some(role_name)) if errors.is_empty() => {
                Ok(Self {
                    name,
                    slug,
                    account,
                    region,
                    role_name,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Answer of `create_tenant`: the only response that ever carries the external ID.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantCreated {
    /// The tenant.
    pub tenant: TenantView,
    /// The external ID the tenant's role must require. Shown only here: store it now.
    pub external_id: String,
    /// What the tenant must create: role ARN, template, parameters (with the external ID),
    /// console quick-create link and CLI command.
    pub onboarding: crate::cloud::Onboarding,
    /// Reminder that the external ID is not shown again.
    pub message: &'static str,
}

/// Registers a tenant, generating its external ID.
#[utoipa::path(
    tag = "tenants",
    request_body = CreateTenant,
    responses(
        (status = 201, body = TenantCreated),
        Malformed, Unauthorized, Forbidden, Conflict, UnsupportedMedia, Invalid, StorageFull
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tenants")]
#[tracing::instrument(skip_all, fields(tenant.slug))]
pub async fn create_tenant(
    state: web::Data<AppState>,
    Operator(caller): Operator,
    body: JsonBody,
) -> ApiResult {
    let body: CreateTenant = body.parse()?;
    let new = NewTenantRequest::try_from(body)?;
    // Checked before the insert, so a scoped token cannot probe other slugs with 409s.
    if !caller.sees(new.slug.as_str()) {
        return Err(ApiError::OutOfScope(format!(
            "this token is limited to the tenants {}; it cannot register '{}'",
            caller.tenants.unwrap_or_default().join(", "),
            new.slug
        )));
    }
    tracing::Span::current().record("tenant.slug", new.slug.as_str());
    let external_id = generate_external_id();
    let id = uuid::Uuid::new_v4().to_string();
    // Bound to the tenant id: a ciphertext copied onto another tenant row will not decrypt.
    let sealed = state.key.seal_secret(&external_id, id.as_bytes());
    let role_arn = RoleArn::new(&new.account, &new.region, &new.role_name);
    let slug = new.slug.clone();
    let tenant = state
        .db(move |conn| {
            let now = store::now();
            store::tenants::insert(
                conn,
                &store::tenants::NewTenant {
                    id: &id,
                    slug: new.slug.as_str(),
                    name: &new.name,
                    aws_account_id: new.account.as_str(),
                    aws_region: new.region.as_str(),
                    role_name: new.role_name.as_str(),
                    role_arn: role_arn.as_str(),
                    external_id_sealed: &sealed,
                    created_at: now,
                    updated_at: now,
                },
            )
            .map_err(|e| match e {
                StoreError::Conflict => ApiError::Conflict {
                    slug: "tenant-exists",
                    detail: format!("a tenant with slug '{slug}' already exists"),
                },
                other => other.into(),
            })
        })
        .await?;
    tracing::info!("tenant registered");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/tenants/{}", tenant.slug)))
        .json(TenantCreated {
            onboarding: crate::api::onboarding::onboarding_for(
                &state,
                &tenant,
                Some(&external_id),
            )?,
            tenant: tenant.into(),
            external_id: external_id.expose_secret().to_owned(),
            message: "Save the external_id now: it is not shown again.",
        }))
}
