//! The web console: pages served by byoc itself at `/` that use the same JSON API (and SSE)
//! from the browser, so every role check and every validation is the API's own. Signing in
//! exchanges an API token for a sealed session cookie (`session`); requests carrying it are
//! checked against forgery (`guard`) by the API's `Caller` extractor. The pages, scripts
//! and styles are embedded in the binary (`assets`); `BYOC_CONSOLE=off` serves none of it.
//! This module owns no API resource: it must not grow handlers the API should have (the
//! two reads in `readmodel` are waiting for their API counterparts).

mod assets;
pub mod guard;
mod readmodel;
mod routes;
pub mod session;

use actix_web::web;

pub use assets::CSP;
pub use guard::CSRF_HEADER;

/// Registers the console's routes when `enabled` (`BYOC_CONSOLE`); the API's `AppState`
/// must be registered on the same app.
pub fn configure(enabled: bool) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        if !enabled {
            return;
        }
        cfg.service(routes::create_session)
            .service(routes::get_session)
            .service(routes::delete_session)
            .service(readmodel::list_environments)
            .service(readmodel::get_config_request)
            .service(assets::console_index)
            .service(assets::console_page)
            .service(assets::console_asset);
    }
}
