//! Where a webhook may be sent: the URL rules checked at subscription and again before every
//! try, and the resolution of its host to the addresses the try connects to. Nothing here
//! sends anything.
//!
//! A URL must not lead into the control plane's own network (loopback, private, link-local
//! including the cloud metadata address, unspecified, multicast, carrier-grade NAT), unless
//! `BYOC_WEBHOOK_HTTP_HOSTS` names its host. IP literals are checked as written; host names
//! are resolved and every address is checked, at subscription and at each try. The try then
//! connects only to the addresses that were checked (pinned with reqwest's `resolve`), so a
//! DNS answer that changes between the check and the connection (rebinding) cannot redirect it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Why a subscription URL, or one try's target, is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL.
    #[error("is not a URL: {0}")]
    Parse(String),
    /// Neither https nor allowed http.
    #[error("must use https (http only to a host BYOC_WEBHOOK_HTTP_HOSTS names; '{0}' is not one)")]
    Scheme(String),
    /// Credentials in the URL would end up in logs and responses.
    #[error("must not carry a user name or password")]
    Credentials,
    /// Names the control plane's own network.
    #[error(
        "names a loopback, private, link-local, unspecified or multicast address ('{0}'); only \
         hosts BYOC_WEBHOOK_HTTP_HOSTS names may be such"
    )]
    InternalHost(String),
    /// The host name resolves to an address of the control plane's own network.
    #[error(
        "host '{host}' resolves to {addr}, a loopback, private, link-local, unspecified or \
         multicast address; only hosts BYOC_WEBHOOK_HTTP_HOSTS names may be such"
    )]
    ResolvesInternal {
        /// The host name.
        host: String,
        /// The refused address.
        addr: IpAddr,
    },
    /// The host name did not resolve (at a try; at subscription this is not an error).
    #[error("host '{host}' does not resolve: {reason}")]
    Unresolved {
        /// The host name.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
}

/// A URL that passed [`check_url`], and whether its host is allowlisted.
#[derive(Debug, Clone)]
pub struct Target {
    /// The parsed URL.
    pub url: reqwest::Url,
    /// `BYOC_WEBHOOK_HTTP_HOSTS` names the host: any address is allowed.
    pub allowlisted: bool,
}

impl Target {
    /// The host name to resolve: `None` for an IP literal (checked as written).
    pub fn name(&self) -> Option<&str> {
        let host = self.url.host_str()?;
        // The URL parser writes IPv6 literals in brackets and IPv4 ones dotted-decimal.
        let literal = host.starts_with('[') || host.parse::<IpAddr>().is_ok();
        (!literal).then_some(host)
    }
}

/// Checks a subscription URL: `https`, or `http` to a host the allowlist names; no
/// credentials; no internal IP literal or `localhost` unless allowlisted. Host names are
/// resolved separately ([`resolve`]).
pub fn check_url(raw: &str, allow: &[String]) -> Result<reqwest::Url, UrlError> {
    check(raw, allow).map(|t| t.url)
}

/// [`check_url`], keeping whether the host is allowlisted.
pub fn check(raw: &str, allow: &[String]) -> Result<Target, UrlError> {
    let url = reqwest::Url::parse(raw).map_err(|e| UrlError::Parse(e.to_string()))?;
    let host = url
        .host_str()
        .ok_or_else(|| UrlError::Parse("no host".into()))?
        .to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let allowed = allow.iter().any(|a| a == &host || a == bare);
    match url.scheme() {
        "https" => {}
        "http" if allowed => {}
        _ => return Err(UrlError::Scheme(host)),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let name = host.trim_end_matches('.');
    let internal = match bare.parse::<IpAddr>() {
        Ok(ip) => is_internal(ip),
        Err(_) => name == "localhost" || name.ends_with(".localhost"),
    };
    if internal && !allowed {
        return Err(UrlError::InternalHost(host));
    }
    Ok(Target {
        url,
        allowlisted: allowed,
    })
}

/// Resolves `target`'s host name (within `timeout`) and checks every address. `Ok(None)`:
/// nothing to pin (an IP literal, or an allowlisted host, which may resolve anywhere).
/// `Ok(Some(addrs))`: connect only to these.
pub async fn resolve(
    target: &Target,
    timeout: Duration,
) -> Result<Option<(String, Vec<SocketAddr>)>, UrlError> {
    let Some(name) = target.name() else {
        return Ok(None);
    };
    if target.allowlisted {
        return Ok(None);
    }
    let port = target.url.port_or_known_default().unwrap_or(443);
    let unresolved = |reason: String| UrlError::Unresolved {
        host: name.to_owned(),
        reason,
    };
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(timeout, tokio::net::lookup_host((name, port)))
            .await
            .map_err(|_| unresolved(format!("no answer within {timeout:?}")))?
            .map_err(|e| unresolved(e.to_string()))?
            .collect();
    if addrs.is_empty() {
        return Err(unresolved("no address".to_owned()));
    }
    if let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
        return Err(UrlError::ResolvesInternal {
            host: name.to_owned(),
            addr: bad.ip(),
        });
    }
    Ok(Some((name.to_owned(), addrs)))
}

/// Whether `ip` belongs to a network a webhook must not reach without the allowlist.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local() // 169.254/16, with the metadata address 169.254.169.254
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                // 0.0.0.0/8 ("this network"), reaching the local host on some systems.
                || v4.octets()[0] == 0
                // 100.64.0.0/10, carrier-grade NAT (often cluster-internal).
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(hosts: &[&str]) -> Vec<String> {
        hosts.iter().map(|h| (*h).to_owned()).collect()
    }

    #[test]
    fn urls_are_https_or_allowlisted_http_and_never_internal() {
        let none = allow(&[]);
        assert!(check_url("https://hooks.example.com/x", &none).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://127.1/x",
            "https://0x7f000001/x",
            "https://0.0.0.0/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://224.0.0.1/x",
            "https://100.64.0.1/x",
            "https://[::1]/x",
            "https://[::]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[ff02::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://localhost/x",
            "https://localhost./x",
            "https://a.localhost/x",
            "https://user:pw@hooks.example.com/x",
            "not a url",
        ] {
            assert!(check_url(bad, &none).is_err(), "{bad}");
        }
        let local = allow(&["127.0.0.1", "receiver.internal"]);
        assert!(check_url("http://127.0.0.1:9000/x", &local).is_ok());
        assert!(check_url("http://receiver.internal/x", &local).is_ok());
        assert!(check_url("http://10.0.0.1/x", &local).is_err());
    }

    #[actix_web::test]
    async fn names_resolving_inside_are_refused_unless_allowlisted() {
        // The loopback name every resolver knows (RFC 6761); `check` refuses it by name, so
        // the target is built here as if the name had passed.
        let target = |allowlisted| Target {
            url: reqwest::Url::parse("https://localhost:8443/x").unwrap(),
            allowlisted,
        };
        let t = Duration::from_secs(5);
        match resolve(&target(false), t).await {
            Err(UrlError::ResolvesInternal { host, addr }) => {
                assert_eq!(host, "localhost");
                assert!(addr.is_loopback(), "{addr}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(resolve(&target(true), t).await, Ok(None)));
        let literal = check("https://93.184.215.14/x", &[]).unwrap();
        assert!(matches!(resolve(&literal, t).await, Ok(None)));
    }
}
