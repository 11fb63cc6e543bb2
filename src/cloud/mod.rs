//! AWS: STS AssumeRole with the tenant's external ID, role verification, and the tenant
//! credential profile written into pulumi workspaces.
