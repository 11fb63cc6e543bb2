//! Cross-site request forgery defence for requests authenticated by the console's cookie:
//! a state-changing request must come from a page of this origin (`Sec-Fetch-Site`, else
//! `Origin`) and carry the session's CSRF token in `X-CSRF-Token`. `SameSite=Strict` already
//! keeps the cookie off cross-site requests; these checks also stop a sibling subdomain
//! (same site, other origin) and any browser that ignores `SameSite`. Bearer-token requests
//! need none of this: a browser never attaches a bearer token by itself.

use actix_web::HttpRequest;
use actix_web::http::Method;
use sha2::{Digest, Sha256};

use super::session::{self, Session};
use crate::crypto::MasterKey;

/// The header the console's scripts send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why a cookie-authenticated request was refused as cross-site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    /// The request did not come from a page of this origin.
    #[error(
        "the request did not come from a page of this origin (Sec-Fetch-Site / Origin); \
         cross-site requests with the console's session are refused"
    )]
    Origin,
    /// The CSRF token is missing or does not belong to the session.
    #[error("the X-CSRF-Token header is missing or does not match the console session")]
    Token,
}

/// The session of a request authenticated by the console's cookie, checked against
/// forgery: `Ok(None)` without a valid session (the caller is then unauthenticated),
/// `Err` when a state-changing request fails the origin or CSRF check.
pub fn checked_session(req: &HttpRequest, key: &MasterKey) -> Result<Option<Session>, CrossSite> {
    let Some(session) = session::from_request(req, key) else {
        return Ok(None);
    };
    if is_safe(req.method()) {
        return Ok(Some(session));
    }
    same_origin(req)?;
    let sent = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !equal(sent, &session.csrf) {
        return Err(CrossSite::Token);
    }
    Ok(Some(session))
}

/// GET, HEAD and OPTIONS change nothing; every other method is state-changing.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `Ok` when the browser says the request comes from this origin. `Sec-Fetch-Site` is set by
/// the browser and cannot be forged by a page; when a browser does not send it, `Origin`
/// must name this host. A request with neither is refused.
pub fn same_origin(req: &HttpRequest) -> Result<(), CrossSite> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return if site == "same-origin" {
            Ok(())
        } else {
            Err(CrossSite::Origin)
        };
    }
    let origin = header("origin").ok_or(CrossSite::Origin)?;
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or(CrossSite::Origin)?;
    if host.eq_ignore_ascii_case(req.connection_info().host()) {
        Ok(())
    } else {
        Err(CrossSite::Origin)
    }
}

/// Compares two tokens without leaking where they differ (hashes of equal length).
fn equal(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
        && !b.is_empty()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn sec_fetch_site_decides_when_present() {
        let same = TestRequest::post()
            .insert_header(("sec-fetch-site", "same-origin"))
            .insert_header(("origin", "https://evil.example"))
            .to_http_request();
        assert_eq!(same_origin(&same), Ok(()));
        for site in ["same-site", "cross-site", "none"] {
            let req = TestRequest::post()
                .insert_header(("sec-fetch-site", site))
                .to_http_request();
            assert_eq!(same_origin(&req), Err(CrossSite::Origin), "{site}");
        }
    }

    #[test]
    fn without_sec_fetch_site_the_origin_must_name_this_host() {
        let ok = TestRequest::post()
            .insert_header(("host", "byoc.example.com"))
            .insert_header(("origin", "https://byoc.example.com"))
            .to_http_request();
        assert_eq!(same_origin(&ok), Ok(()));
        for origin in [
            "https://evil.example",
            "null",
            "https://byoc.example.com.evil",
        ] {
            let req = TestRequest::post()
                .insert_header(("host", "byoc.example.com"))
                .insert_header(("origin", origin))
                .to_http_request();
            assert_eq!(same_origin(&req), Err(CrossSite::Origin), "{origin}");
        }
        let neither = TestRequest::post().to_http_request();
        assert_eq!(same_origin(&neither), Err(CrossSite::Origin));
    }

    #[test]
    fn tokens_compare_equal_only_when_identical_and_set() {
        assert!(equal("abc", "abc"));
        assert!(!equal("abd", "abc"));
        assert!(!equal("", ""));
    }
}
