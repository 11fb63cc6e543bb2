//! `GET …/environments/{env}/program`: the Pulumi YAML program a deploy of the saved config
//! would run, rendered and validated against the provider schema.

use actix_web::{HttpResponse, get, web};

use super::configs::ConfigVersionQuery;
use super::problems::{Invalid, NotFound, Unauthorized};
use super::{ApiError, ApiResult, AppState, EnvPath, Viewer};
use crate::domain::config::EnvironmentConfig;
use crate::domain::{EnvName, FieldError, Slug, StackName, ValidationErrors};
use crate::program::{self, ProgramError, RenderError, RenderInput};
use crate::store::{self, StoreError};

/// Renders and validates; validator problems become a 422 listing each one.
pub(crate) fn render_checked(input: &RenderInput<'_>) -> Result<program::Program, ApiError> {
    program::render_checked(input).map_err(|e| match e {
        // Template, YAML and duplicate errors are bugs in byoc's templates, not bad input.
        ProgramError::Render(
            e @ (RenderError::Template { .. }
            | RenderError::Yaml { .. }
            | RenderError::Duplicate { .. }
            | RenderError::UnexpectedSection { .. }),
        ) => ApiError::internal(e),
        ProgramError::Render(other) => ValidationErrors::single("/", other.to_string()).into(),
        ProgramError::Invalid(problems) => ApiError::Validation(ValidationErrors(
            problems
                .0
                .into_iter()
                .map(|p| FieldError::new(format!("program:{}", p.path), p.message))
                .collect(),
        )),
    })
}

/// Renders and validates the program of a stored tenant and config version.
pub(crate) fn render_stored(
    tenant: &store::tenants::Tenant,
    slug: &Slug,
    env: &EnvName,
    config_json: &str,
    project: &str,
) -> Result<program::Program, ApiError> {
    let corrupt = |e: String| ApiError::internal(StoreError::Corrupt(e));
    let config: EnvironmentConfig =
        serde_json::from_str(config_json).map_err(|e| corrupt(e.to_string()))?;
    let ids = tenant.ids().map_err(ApiError::internal)?;
    let stack = StackName::new(slug, env);
    render_checked(&RenderInput {
        stack: &stack,
        slug,
        env,
        account_id: &ids.account,
        region: &ids.region,
        tenant_role_arn: &ids.role_arn,
        project,
        config: &config,
    })
}

/// The program of the latest (or a given) config version, as `application/yaml`.
#[utoipa::path(
    tag = "configs",
    params(EnvPath, ConfigVersionQuery),
    responses(
        (status = 200, body = serde_json::Value, content_type = "application/yaml", description = "The Pulumi YAML program document"),
        Unauthorized, NotFound, Invalid
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/program")]
pub async fn get_environment_program(
    state: web::Data<AppState>,
    _: Viewer,
    path: EnvPath,
    query: crate::api::body::Query<ConfigVersionQuery>,
) -> ApiResult {
    let version = query.version;
    let project = state.settings.pulumi.project.clone();
    let yaml = state
        .db(move |conn| {
            let tenant = path.load_tenant(conn)?;
            let row = store::configs::find(conn, &tenant, path.env.as_str(), version)?;
            let program = render_stored(&tenant, &path.slug, &path.env, &row.config, &project)?;
            Ok::<_, ApiError>(program.yaml().to_owned())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/yaml")
        .body(yaml))
}
