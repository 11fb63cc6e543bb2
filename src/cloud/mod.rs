//! AWS: STS AssumeRole with the tenant's external ID, role verification, and the tenant
//! credential profile written into pulumi workspaces. No HTTP, no database: handlers and the
//! executor call these functions and map [`RoleCheckError`] at their edge.

pub mod check;
pub mod client;
pub mod error;
pub mod external_id;
pub mod onboarding;
pub mod preflight_cache;
pub mod profile;
pub mod session;

pub use check::{RoleCheckReport, RoleTarget, preflight_role, verify_role};
pub use client::{AwsClientOptions, PlatformAws};
pub use error::RoleCheckError;
pub use onboarding::{
    ExternalIdShown, Onboarding, OnboardingSettings, OnboardingTenant, onboarding,
};
pub use preflight_cache::PreflightCache;
pub use profile::{CredentialSource, ProfileError, TenantProfile, render_profile};
pub use session::SessionName;
