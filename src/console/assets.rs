//! The console's files, embedded in the binary (no CDN, no build step): one HTML shell served
//! for every page path, ES modules and a stylesheet under `/console/assets/`. Every answer
//! carries a Content-Security-Policy that allows only these scripts and styles, so an
//! injected `<script>` or inline handler cannot run.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use sha2::{Digest, Sha256};

use std::borrow::Cow;

use crate::api::{ApiError, ApiResult, AppState};

/// One embedded file.
struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($name:literal => $mime:expr),+ $(,)?) => {
        const ASSETS: &[Asset] = &[$(Asset {
            name: $name,
            mime: $mime,
            body: include_bytes!(concat!("assets/", $name)),
        }),+];
    };
}

const JS: &str = "text/javascript; charset=utf-8";

assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "app.js" => JS,
    "api.js" => JS,
    "dom.js" => JS,
    "features.js" => JS,
    "live.js" => JS,
    "sse.js" => JS,
    "diff.js" => JS,
    "configform.js" => JS,
    "program.js" => JS,
    "page-signin.js" => JS,
    "page-fleet.js" => JS,
    "page-tenant.js" => JS,
    "page-new-tenant.js" => JS,
    "page-environment.js" => JS,
    "page-config.js" => JS,
    "page-operation.js" => JS,
    "page-approvals.js" => JS,
    "page-drift.js" => JS,
    "approval.js" => JS,
    "labels.js" => JS,
    "labelsblock.js" => JS,
}

/// Only our own files: no inline script or style, no other origin, no framing, no plugins;
/// Trusted Types forbid string-to-HTML sinks in browsers that enforce them (the scripts build
/// every element with DOM calls).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'; \
     trusted-types 'none'";

/// The headers of every console file.
fn secured(mut resp: HttpResponse) -> HttpResponse {
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// Answers an embedded file; revalidated on each use (`no-cache` with an ETag), so a new
/// binary's files are picked up at once.
fn serve(req: &HttpRequest, name: &str) -> ApiResult {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::not_found("console file", name))?;
    Ok(answer(req, asset.mime, Cow::Borrowed(asset.body)))
}

/// `body` with an ETag of its own, `304` when the browser has it already.
fn answer(req: &HttpRequest, mime: &'static str, body: Cow<'static, [u8]>) -> HttpResponse {
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut builder = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    builder
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    let resp = if fresh {
        builder.finish()
    } else {
        builder.content_type(mime).body(body.into_owned())
    };
    secured(resp)
}

/// The banner every console page shows on a server whose engine is simulated: part of the
/// page itself, so it is there before any script runs, on the sign-in page too.
const SIMULATED_BANNER: &str = "<p class=\"simulated-banner\" role=\"note\">";

/// The shell, with the simulated-engine banner at the top of the body when `simulated`.
fn index(req: &HttpRequest, simulated: bool) -> ApiResult {
    if !simulated {
        return serve(req, "index.html");
    }
    let shell = std::str::from_utf8(ASSETS[0].body).unwrap_or_default();
    let banner = format!(
        "<body>\n{SIMULATED_BANNER}{}</p>",
        crate::executor::SIMULATED_NOTICE
    );
    let page = shell.replacen("<body>", &banner, 1);
    Ok(answer(req, ASSETS[0].mime, Cow::Owned(page.into_bytes())))
}

/// The console's shell at `/`: the page itself decides what to show from its path.
#[get("/")]
pub async fn console_index(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    index(&req, state.settings.is_simulated())
}

/// Every console page path (`/ui/…`) serves the same shell.
#[get("/ui{tail:(/.*)?}")]
pub async fn console_page(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    index(&req, state.settings.is_simulated())
}

/// `/console/assets/{name}`: the scripts, the stylesheet and the icon.
#[get("/console/assets/{name}")]
pub async fn console_asset(req: HttpRequest, name: web::Path<String>) -> ApiResult {
    serve(&req, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_an_embedded_script_imports_is_embedded() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let spec = line.rsplit(['"', '\'']).nth(1).unwrap_or_default();
                let target = spec.trim_start_matches("./");
                assert!(
                    ASSETS.iter().any(|a| a.name == target),
                    "{} imports {spec}, which is not embedded",
                    asset.name
                );
            }
        }
    }

    #[actix_web::test]
    async fn the_simulated_banner_is_static_markup_in_the_shell() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        async fn body(resp: HttpResponse) -> String {
            let bytes = actix_web::body::to_bytes(resp.into_body()).await.unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
        let plain = body(index(&req, false).unwrap()).await;
        assert!(!plain.contains(SIMULATED_BANNER));
        let page = body(index(&req, true).unwrap()).await;
        let banner = page.find(SIMULATED_BANNER).expect("banner");
        assert!(
            banner < page.find("<main").unwrap(),
            "above the page content"
        );
        assert!(page.contains("nothing is deployed"));
        assert!(!page.contains("<script>") && !page.contains("style=\""));
    }

    #[test]
    fn no_embedded_file_uses_inline_script_style_or_html_sinks() {
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).unwrap();
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "eval(",
                "style=\"",
            ] {
                assert!(!text.contains(banned), "{} uses {banned}", asset.name);
            }
        }
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        assert!(
            !html.contains("<script>"),
            "index.html has an inline script"
        );
        assert!(!html.contains("<style"), "index.html has an inline style");
    }
}
