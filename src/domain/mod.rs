//! Pure domain types and rules: validated names, tenants, environment configs, operations.
//! Nothing here performs I/O; everything past the API edge works with these types.

pub mod approval;
pub mod aws;
pub mod config;
pub mod drift;
pub mod labels;
pub mod names;
pub mod objects_only;
pub mod operation;
pub mod role;
pub mod rollout;
pub mod stored;
pub mod validation;

pub use aws::{AwsAccountId, AwsRegion, RoleArn, RoleName};
pub use labels::{Labels, Selector, SelectorError};
pub use names::{EnvName, Slug, StackName};
pub use operation::{OperationKind, OperationStatus, OutputValue, StackStatus};
pub use role::Role;
pub use stored::UnknownName;
pub use validation::{FieldError, ValidationErrors};
