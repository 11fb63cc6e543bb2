//! The HTTP API (actix-web): one module per resource, auth, problem+json errors, OpenAPI.
