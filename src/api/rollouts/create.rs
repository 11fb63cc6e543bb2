//! `POST /api/v1/rollouts`: picks the targets, applies the change to each one's config (a new
//! config version per target, validated as a config save is: invalid ones are skipped with
//! their field errors), splits the valid targets into waves and stores it all in one
//! transaction. The driver (`worker::rollouts`) starts the deploys.

use std::collections::HashSet;

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{RolloutView, unscoped};
use crate::api::body::JsonBody;
use crate::api::problems::{
    Forbidden, Invalid, Malformed, NotFound, Unauthorized, UnsupportedMedia,
};
use crate::api::program::render_stored;
use crate::api::{ApiError, ApiResult, AppState, Operator};
use crate::domain::config::{self, EnvironmentConfigRequest};
use crate::domain::rollout::{self, RolloutStatus, TargetStatus, WaveSize};
use crate::domain::{AwsRegion, EnvName, FieldError, Selector, Slug, ValidationErrors};
use crate::store::rollouts::{Rollout, Target};
use crate::store::{self, Conn, StoreError};

/// One environment named explicitly.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvRef {
    /// Tenant slug.
    pub tenant: String,
    /// Environment name.
    pub environment: String,
}

/// Which environments the rollout covers: a label selector or a list (exactly one).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutTarget {
    /// Environments whose labels match (`ring=canary,tier!=free`); empty matches every one.
    pub selector: Option<String>,
    /// These environments.
    pub environments: Option<Vec<EnvRef>>,
    /// Only stacks whose last successful deploy ran another byoc release (version or
    /// component pins) than this server's, or that never deployed with a recorded release.
    #[serde(default)]
    pub not_on_current_release: bool,
}

/// What changes on each target.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RolloutChange {
    /// A JSON merge patch (RFC 7396) applied to each target's current config request document
    /// (what `GET …/config` shows as `request`); each result is saved as a new config version.
    #[schema(value_type = Object)]
    Patch(serde_json::Value),
    /// Deploy each target's latest config again (e.g. to pick up a new release's pins).
    Redeploy,
}

/// The canary: a number of targets taken first, or named environments (which must be among
/// the targets).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Canary {
    /// The first this many targets (ordered by tenant slug, then environment).
    Count(u32),
    /// These environments.
    List(Vec<EnvRef>),
}

/// How the rollout proceeds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// Canary wave (wave 0); none by default.
    pub canary: Option<Canary>,
    /// The waves after the canary: a number is that many targets, a percentage (`"50%"`) is
    /// the share of all targets reached so far, canary included. Targets left over form a
    /// last wave. Default: one wave with everything.
    #[serde(default)]
    pub waves: Vec<WaveSize>,
    /// Deploys queued or running at once, at most (default 1).
    pub max_parallel: Option<u32>,
    /// Failed targets that halt the rollout (default 1: the first failure halts it).
    pub failure_budget: Option<u32>,
    /// Seconds to wait after a wave ends before the next one starts (default 0). A target
    /// already updated whose stack sees a failed deploy meanwhile counts as failed.
    pub bake_seconds: Option<u32>,
}

/// Body of `POST /api/v1/rollouts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRollout {
    /// The environments.
    pub target: RolloutTarget,
    /// The change.
    pub change: RolloutChange,
    /// The strategy.
    pub strategy: Strategy,
}

/// Starts a rollout. Answers 201 with every target: skipped ones (invalid patched config, no
/// config) carry their reason and field errors; no config version is written for them.
#[utoipa::path(
    tag = "rollouts",
    request_body = CreateRollout,
    responses(
        (status = 201, body = RolloutView, description = "Created; the driver starts the canary"),
        Malformed, Unauthorized, Forbidden, NotFound, UnsupportedMedia, Invalid
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/rollouts")]
pub async fn create_rollout(
    state: web::Data<AppState>,
    Operator(caller): Operator,
    body: JsonBody,
) -> ApiResult {
    unscoped(&caller)?;
    let req: CreateRollout = body.parse()?;
    let checked = check(&req)?;
    let project = state.settings.pulumi.project.clone();
    let created_by = caller.token_name.clone();
    let id = state
        .db(move |conn| {
            store::transaction(conn, |conn| {
                create(conn, &req, &checked, &project, &created_by)
            })
        })
        .await?;
    let view = state.read(move |conn| RolloutView::load(conn, &id)).await?;
    tracing::info!(rollout.id = %view.id, targets = view.counts.total, "rollout created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/rollouts/{}", view.id)))
        .json(view))
}

/// Largest failure budget or canary count (they are stored as 32-bit integers).
const MAX_COUNT: u32 = 1_000_000;

/// What the request says, parsed.
struct Checked {
    selector: Option<Selector>,
    listed: Option<Vec<(Slug, EnvName)>>,
    canary_list: Vec<String>,
}

fn refs(field: &str, list: &[EnvRef], errors: &mut ValidationErrors) -> Vec<(Slug, EnvName)> {
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        match (Slug::parse(&r.tenant), EnvName::parse(&r.environment)) {
            (Ok(s), Ok(e)) => out.push((s, e)),
            (Err(e), _) => errors.push(format!("{field}/{i}/tenant"), e.to_string()),
            (_, Err(e)) => errors.push(format!("{field}/{i}/environment"), e.to_string()),
        }
    }
    out
}

fn check(req: &CreateRollout) -> Result<Checked, ApiError> {
    let s = &req.strategy;
    let mut errors = match rollout::check_strategy(
        &s.waves,
        s.max_parallel.unwrap_or(1),
        s.bake_seconds.unwrap_or(0),
    ) {
        Ok(()) => ValidationErrors::new(),
        Err(e) => e,
    };
    if s.failure_budget.unwrap_or(1) > MAX_COUNT {
        errors.push("/strategy/failure_budget", format!("at most {MAX_COUNT}"));
    }
    if let Some(Canary::Count(n)) = s.canary
        && n > MAX_COUNT
    {
        errors.push("/strategy/canary", format!("at most {MAX_COUNT}"));
    }
    let t = &req.target;
    let selector = match (&t.selector, &t.environments) {
        (Some(raw), None) => match Selector::parse(raw) {
            Ok(sel) => Some(sel),
            Err(e) => {
                errors.push("/target/selector", e.to_string());
                None
            }
        },
        (None, Some(_)) => None,
        _ => {
            errors.push("/target", "give exactly one of selector and environments");
            None
        }
    };
    let listed = t
        .environments
        .as_ref()
        .map(|l| refs("/target/environments", l, &mut errors));
    let canary_list = match &s.canary {
        Some(Canary::List(l)) => refs("/strategy/canary", l, &mut errors)
            .into_iter()
            .map(|(s, e)| format!("{s}-{e}"))
            .collect(),
        _ => Vec::new(),
    };
    if let RolloutChange::Patch(p) = &req.change
        && !p.is_object()
    {
        errors.push(
            "/change/patch",
            "a merge patch of a config must be an object",
        );
    }
    errors
        .into_result(Checked {
            selector,
            listed,
            canary_list,
        })
        .map_err(Into::into)
}

/// One environment the rollout may cover.
struct Candidate {
    tenant: store::tenants::Tenant,
    environment: String,
    release: Option<String>,
}

fn candidates(conn: &mut Conn, checked: &Checked) -> Result<Vec<Candidate>, ApiError> {
    let mut out = Vec::new();
    if let Some(list) = &checked.listed {
        for (slug, env) in list {
            let tenant = store::tenants::find_by_slug(conn, slug.as_str())?;
            let stack = store::stacks::lookup_for_env(conn, &tenant.id, env.as_str())?;
            out.push(Candidate {
                tenant,
                environment: env.to_string(),
                release: stack.and_then(|s| s.deployed_release),
            });
        }
    } else {
        let selector = checked.selector.as_ref();
        for e in store::environments::list(conn, None)? {
            if selector.is_none_or(|s| s.matches(&e.labels)) {
                let tenant = store::tenants::find(conn, &e.tenant_id)?;
                out.push(Candidate {
                    tenant,
                    environment: e.environment,
                    release: e.stack.and_then(|s| s.deployed_release),
                });
            }
        }
    }
    Ok(out)
}

/// Chooses, orders, patches and stores; returns the new rollout's id.
fn create(
    conn: &mut Conn,
    req: &CreateRollout,
    checked: &Checked,
    project: &str,
    created_by: &str,
) -> Result<String, ApiError> {
    let current = config::release();
    let mut seen = HashSet::new();
    let mut chosen: Vec<Candidate> = candidates(conn, checked)?
        .into_iter()
        .filter(|c| seen.insert((c.tenant.id.clone(), c.environment.clone())))
        .filter(|c| {
            !req.target.not_on_current_release || c.release.as_deref() != Some(current.as_str())
        })
        .collect();
    if chosen.is_empty() {
        return Err(ValidationErrors::single("/target", "matches no environment").into());
    }
    // Canary first: the named ones in their order, else the first N of the usual order.
    let name = |c: &Candidate| format!("{}-{}", c.tenant.slug, c.environment);
    let mut canary = 0;
    for (i, wanted) in checked.canary_list.iter().enumerate() {
        let Some(at) = chosen.iter().position(|c| &name(c) == wanted) else {
            return Err(ValidationErrors::single(
                format!("/strategy/canary/{i}"),
                format!("'{wanted}' is not among the rollout's targets"),
            )
            .into());
        };
        let c = chosen.remove(at);
        chosen.insert(canary, c);
        canary += 1;
    }
    if let Some(Canary::Count(n)) = req.strategy.canary {
        canary = n as usize;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = store::now();
    let mut targets = Vec::with_capacity(chosen.len());
    for (position, c) in chosen.into_iter().enumerate() {
        let stack_name = name(&c);
        let outcome = prepare(conn, &c, &req.change, project, created_by)?;
        let (status, version, error, fields) = match outcome {
            Ok(v) => (TargetStatus::Pending, Some(v), None, None),
            Err((why, fields)) => (TargetStatus::Skipped, None, Some(why), fields),
        };
        targets.push(Target {
            rollout_id: id.clone(),
            position: position as i32,
            wave: -1,
            tenant_id: c.tenant.id,
            tenant_slug: c.tenant.slug,
            environment: c.environment,
            stack_name,
            status,
            config_version: version,
            operation_id: None,
            error,
            field_errors: fields
                .map(|f| serde_json::to_string(&f))
                .transpose()
                .map_err(ApiError::internal)?,
            updated_at: now,
        });
    }
    // Waves split the targets that will run; a skipped canary is no canary.
    let valid: Vec<usize> = (0..targets.len())
        .filter(|&i| targets[i].status == TargetStatus::Pending)
        .collect();
    let valid_canary = valid.iter().filter(|&&i| i < canary).count();
    let waves = rollout::assign_waves(valid.len(), valid_canary, &req.strategy.waves);
    for (&i, &w) in valid.iter().zip(&waves) {
        targets[i].wave = w as i32;
    }
    let s = &req.strategy;
    let row = Rollout {
        id: id.clone(),
        status: RolloutStatus::Running,
        spec: serde_json::to_string(req).map_err(ApiError::internal)?,
        max_parallel: s.max_parallel.unwrap_or(1) as i32,
        failure_budget: s.failure_budget.unwrap_or(1) as i32,
        bake_seconds: s.bake_seconds.unwrap_or(0) as i32,
        wave_count: waves.iter().max().map_or(0, |w| *w as i32 + 1),
        current_wave: 0,
        wave_done_at: None,
        halt_reason: None,
        created_by: Some(created_by.to_owned()),
        created_at: now,
        updated_at: now,
        finished_at: None,
        driver_id: None,
        driver_until: None,
        event_seq: 0,
    };
    store::rollouts::insert(conn, &row, &targets)?;
    Ok(id)
}

type Skip = (String, Option<Vec<FieldError>>);

/// The config version a target deploys: its latest, or for a patch a new version saved now.
/// `Err` when the target is skipped (no config, or the patched one is invalid).
fn prepare(
    conn: &mut Conn,
    c: &Candidate,
    change: &RolloutChange,
    project: &str,
    created_by: &str,
) -> Result<Result<i32, Skip>, ApiError> {
    let Some(latest) = store::configs::lookup(conn, &c.tenant.id, &c.environment, None)? else {
        return Ok(Err(("the environment has no saved config".into(), None)));
    };
    let (slug, env) = match (Slug::parse(&c.tenant.slug), EnvName::parse(&c.environment)) {
        (Ok(s), Ok(e)) => (s, e),
        _ => {
            return Err(ApiError::internal(StoreError::Corrupt(
                c.environment.clone(),
            )));
        }
    };
    let patch = match change {
        RolloutChange::Redeploy => {
            return Ok(
                match render_stored(&c.tenant, &slug, &env, &latest.config, project) {
                    Ok(_) => Ok(latest.version),
                    Err(ApiError::Validation(e)) => {
                        Err(("the config does not render".into(), Some(e.0)))
                    }
                    Err(e) => return Err(e),
                },
            );
        }
        RolloutChange::Patch(p) => p,
    };
    let mut doc = match &latest.request {
        Some(json) => serde_json::from_str(json).map_err(ApiError::internal)?,
        None => {
            let resolved = serde_json::from_str(&latest.config).map_err(ApiError::internal)?;
            serde_json::to_value(EnvironmentConfigRequest::from(&resolved))
                .map_err(ApiError::internal)?
        }
    };
    rollout::merge_patch(&mut doc, patch);
    let region = AwsRegion::parse(&c.tenant.aws_region)
        .map_err(|e| ApiError::internal(StoreError::Corrupt(e.to_string())))?;
    // The same checks as a config save: type errors and semantic ones, all at once.
    let (request, mut errors) = config::parse_request_all(doc);
    let request_json = serde_json::to_string(&request).map_err(ApiError::internal)?;
    let resolved = match config::resolve(request, &region, Utc::now().date_naive()) {
        Ok(r) if errors.is_empty() => r,
        Ok(_) => {
            return Ok(Err((
                "the patched config is invalid".into(),
                Some(errors.0),
            )));
        }
        Err(semantic) => {
            errors.0.extend(semantic.0);
            return Ok(Err((
                "the patched config is invalid".into(),
                Some(errors.0),
            )));
        }
    };
    let json = serde_json::to_string(&resolved).map_err(ApiError::internal)?;
    match render_stored(&c.tenant, &slug, &env, &json, project) {
        Ok(_) => {}
        Err(ApiError::Validation(e)) => {
            return Ok(Err((
                "the patched config does not render".into(),
                Some(e.0),
            )));
        }
        Err(e) => return Err(e),
    }
    let new = store::configs::NewConfig {
        config: &json,
        request: Some(&request_json),
        created_by: Some(created_by),
    };
    Ok(Ok(store::configs::insert_next(
        conn,
        &c.tenant.id,
        &c.environment,
        new,
    )?
    .version))
}
