//! The problem+json responses routes document, each once: a route lists the ones it can
//! answer, e.g. `responses((status = 200, body = TenantView), Unauthorized, NotFound)`.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// One problem response with `status`.
fn problem(status: u16) -> BTreeMap<String, RefOr<Response>> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let response = ResponseBuilder::new()
        .description("")
        .content("application/problem+json", content)
        .build();
    BTreeMap::from([(status.to_string(), RefOr::T(response))])
}

macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident => $status:literal),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problem($status)
            }
        }
    )+};
}

problem_responses! {
    /// 400: the body is not parseable.
    Malformed => 400,
    /// 401: no valid bearer token.
    Unauthorized => 401,
    /// 403: the token's role may not do this.
    Forbidden => 403,
    /// 404: what the path names does not exist.
    NotFound => 404,
    /// 409: the request conflicts with the current state.
    Conflict => 409,
    /// 415: a body that is not sent as `application/json`.
    UnsupportedMedia => 415,
    /// 422: the body or a parameter is invalid.
    Invalid => 422,
    /// 507: the database's storage is full; nothing can be saved until space is freed.
    StorageFull => 507,
    /// 503: the database is unavailable.
    Unavailable => 503,
}
