//! The console's session: a stateless cookie sealed with the master key (AES-256-GCM) that
//! names an API token and an expiry, plus the CSRF token of the session. Nothing is stored on
//! the server, so several API replicas sharing the master key share sessions; every request
//! still re-reads the token row (a revoked token ends its sessions at once). The token itself
//! never reaches the browser after sign-in.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time};
use aes_gcm::aead::OsRng;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::crypto::MasterKey;

/// How long a session lasts; it ends earlier when its token is revoked.
pub const TTL: chrono::Duration = chrono::Duration::hours(8);

/// The cookie's name when it is `Secure`: the `__Host-` prefix makes browsers refuse it
/// unless it is `Secure`, host-only and `Path=/`, so no sibling domain can plant one.
pub const SECURE_COOKIE: &str = "__Host-byoc_session";

/// The cookie's name on a loopback address over plain HTTP (browsers refuse `__Host-`
/// there, because it requires `Secure`).
pub const LOOPBACK_COOKIE: &str = "byoc_session";

/// Binds sealed sessions to their purpose: no other ciphertext of the master key (an external
/// ID, an output) opens as a session.
const CONTEXT: &[u8] = b"byoc console session v1";

/// What the cookie carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The API token the session acts as.
    #[serde(rename = "tid")]
    pub token_id: String,
    /// Unix time after which the session is refused.
    #[serde(rename = "exp")]
    pub expires_at: i64,
    /// The session's CSRF token: the page reads it from `GET /console/session` and sends it
    /// in `X-CSRF-Token` with every state-changing request.
    pub csrf: String,
}

/// Why a cookie does not open as a session.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    /// Not sealed by this master key, or not a session.
    #[error("the session cookie is not valid")]
    Invalid,
    /// Past its expiry.
    #[error("the session has expired")]
    Expired,
}

impl Session {
    /// A new session of `token_id`, expiring [`TTL`] after `now`, with a fresh CSRF token.
    pub fn new(token_id: &str, now: DateTime<Utc>) -> Self {
        let mut csrf = [0u8; 32];
        OsRng.fill_bytes(&mut csrf);
        Self {
            token_id: token_id.to_owned(),
            expires_at: (now + TTL).timestamp(),
            csrf: URL_SAFE_NO_PAD.encode(csrf),
        }
    }

    /// The cookie value: the sealed session, URL-safe base64.
    pub fn seal(&self, key: &MasterKey) -> String {
        let json = serde_json::to_vec(self).expect("a session serializes");
        URL_SAFE_NO_PAD.encode(key.seal(&json, CONTEXT))
    }

    /// Opens a cookie value sealed by [`Session::seal`], refusing it after its expiry.
    pub fn open(value: &str, key: &MasterKey, now: DateTime<Utc>) -> Result<Self, SessionError> {
        let sealed = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| SessionError::Invalid)?;
        let json = key
            .open(&sealed, CONTEXT)
            .map_err(|_| SessionError::Invalid)?;
        let session: Self = serde_json::from_slice(&json).map_err(|_| SessionError::Invalid)?;
        if now.timestamp() >= session.expires_at {
            return Err(SessionError::Expired);
        }
        Ok(session)
    }

    /// When the session ends.
    pub fn expires(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires_at, 0).unwrap_or_default()
    }
}

/// The session a request's cookie carries, if any opens.
pub fn from_request(req: &HttpRequest, key: &MasterKey) -> Option<Session> {
    let name = cookie_name(req);
    let cookie = req.cookie(name)?;
    Session::open(cookie.value(), key, Utc::now()).ok()
}

/// The cookie that carries `session`, with the attributes `req` calls for.
pub fn cookie(req: &HttpRequest, value: String, session: &Session) -> Cookie<'static> {
    let max_age = (session.expires_at - Utc::now().timestamp()).max(0);
    base_cookie(req, value)
        .max_age(time::Duration::seconds(max_age))
        .finish()
}

/// A cookie that makes the browser drop the session.
pub fn removal(req: &HttpRequest) -> Cookie<'static> {
    base_cookie(req, String::new())
        .max_age(time::Duration::ZERO)
        .expires(time::OffsetDateTime::UNIX_EPOCH)
        .finish()
}

fn base_cookie(req: &HttpRequest, value: String) -> actix_web::cookie::CookieBuilder<'static> {
    let secure = !is_plain_loopback(req);
    Cookie::build(cookie_name(req), value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
}

/// The cookie name for `req` (see [`SECURE_COOKIE`]).
pub fn cookie_name(req: &HttpRequest) -> &'static str {
    if is_plain_loopback(req) {
        LOOPBACK_COOKIE
    } else {
        SECURE_COOKIE
    }
}

/// Whether the browser reached byoc directly on a loopback address: the server listens on a
/// loopback address, the `Host` names one, and no proxy said it forwarded the request. Only
/// then may the cookie go without `Secure`, for browsers that keep no `Secure` cookie over
/// plain HTTP even on loopback (Chromium and Firefox do keep it on `localhost`).
/// Everything else, a reverse proxy on the same host included, gets a `Secure` cookie:
/// trusting a forwarded header here can only add `Secure`.
pub fn is_plain_loopback(req: &HttpRequest) -> bool {
    let local = req.app_config().local_addr().ip().is_loopback();
    let forwarded = [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
    ]
    .iter()
    .any(|h| req.headers().contains_key(*h));
    local && !forwarded && host_is_loopback(req.connection_info().host())
}

/// `localhost`, `127.0.0.1`, `[::1]`, with or without a port.
fn host_is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::decode(&"42".repeat(32)).unwrap()
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires() {
        let now = Utc::now();
        let session = Session::new("token-1", now);
        let value = session.seal(&key());
        assert_eq!(Session::open(&value, &key(), now), Ok(session.clone()));
        let later = now + TTL;
        assert_eq!(
            Session::open(&value, &key(), later),
            Err(SessionError::Expired)
        );
        assert!(!value.contains("token-1"), "the token id is sealed");
    }

    #[test]
    fn another_key_or_a_changed_byte_does_not_open() {
        let value = Session::new("t", Utc::now()).seal(&key());
        let other = MasterKey::decode(&"43".repeat(32)).unwrap();
        assert_eq!(
            Session::open(&value, &other, Utc::now()),
            Err(SessionError::Invalid)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(
            Session::open(&tampered, &key(), Utc::now()),
            Err(SessionError::Invalid)
        );
    }

    #[test]
    fn other_ciphertexts_of_the_master_key_are_not_sessions() {
        let json = serde_json::to_vec(&Session::new("t", Utc::now())).unwrap();
        let value = URL_SAFE_NO_PAD.encode(key().seal(&json, b"tenant-1"));
        assert_eq!(
            Session::open(&value, &key(), Utc::now()),
            Err(SessionError::Invalid)
        );
    }

    #[test]
    fn loopback_hosts_are_recognised_with_and_without_ports() {
        for host in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "[::1]",
        ] {
            assert!(host_is_loopback(host), "{host}");
        }
        for host in ["byoc.example.com", "10.0.0.1:8000", "localhost.example.com"] {
            assert!(!host_is_loopback(host), "{host}");
        }
    }
}
