//! The Automation-API driver around the `pulumi` CLI: workspace, runner, event stream,
//! errors. Knows nothing of tenants or the database.
