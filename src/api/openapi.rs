//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    configs, drift, environments, labels, metrics, onboarding, operations, program, rollouts,
    system, tenants, tokens, webhooks,
};

/// byoc's OpenAPI 3.1 document, served at `/api/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "byoc API", description = "Bring Your Own Cloud control plane"),
    paths(
        system::health,
        system::ready,
        tenants::create_tenant,
        tenants::list_tenants,
        tenants::get_tenant,
        tenants::delete_tenant,
        environments::list_environments,
        labels::set_tenant_labels,
        labels::set_environment_labels,
        labels::get_environment_labels,
        configs::save_config,
        configs::get_config,
        configs::list_config_versions,
        configs::get_config_version,
        configs::delete_config,
        tokens::create_token,
        tokens::list_tokens,
        tokens::revoke_token,
        tokens::whoami,
        operations::deploy_environment,
        operations::preview_environment,
        operations::refresh_environment,
        operations::destroy_environment,
        operations::forget_environment,
        operations::get_environment_status,
        operations::list_environment_operations,
        operations::get_environment_outputs,
        operations::get_operation,
        operations::list_operation_events,
        operations::cancel_operation,
        operations::get_operation_plan,
        operations::approve_operation,
        operations::reject_operation,
        drift::get_environment_drift,
        drift::list_drift,
        webhooks::create_webhook,
        webhooks::list_webhooks,
        webhooks::delete_webhook,
        webhooks::list_deliveries,
        webhooks::redeliver,
        rollouts::create_rollout,
        rollouts::list_rollouts,
        rollouts::get_rollout,
        rollouts::list_rollout_events,
        rollouts::pause_rollout,
        rollouts::resume_rollout,
        rollouts::abort_rollout,
        metrics::get_metrics,
        program::get_environment_program,
        onboarding::get_role_template,
        onboarding::get_tenant_onboarding,
        onboarding::verify_tenant_role,
        onboarding::rotate_external_id,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "system", description = "Probes"),
        (name = "tenants", description = "Tenants (customer AWS accounts)"),
        (name = "configs", description = "Versioned environment configs"),
        (name = "tokens", description = "API tokens (admin only)"),
        (name = "onboarding", description = "Tenant role template, verification, external-ID rotation"),
        (name = "operations", description = "Deploy, preview, refresh, destroy; status, history, events"),
        (name = "drift", description = "Drift reports from scheduled refresh previews"),
        (name = "webhooks", description = "Event subscriptions (admin), delivery log, redelivery"),
        (name = "rollouts", description = "One change across many environments in waves"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
