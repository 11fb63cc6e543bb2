//! Removing a DIY stack's lock files directly, for the one case the CLI cannot clear them.
//!
//! `pulumi cancel` deletes every lock file of a stack (pulumi/pulumi
//! `pkg/backend/diy/backend.go` CancelCurrentUpdate), but only of a stack that exists: the
//! command first loads it (`pkg/cmd/pulumi/cancel/cancel.go`: `RequireStack(…, LoadOnly)`,
//! "no stack named … found" otherwise). `stack init` takes the lock *before* it writes the
//! stack (`backend.go` CreateStack: `Lock`, then `stackExists`, then `saveStack`, with a
//! deferred `Unlock`), so a CLI killed between those two writes leaves a lock on a stack that
//! does not exist. Nothing in the CLI removes it, and every later `stack init` of that name
//! fails "the stack is currently locked by 1 lock(s)". Only then does byoc delete the lock
//! objects itself: `<backend>/.pulumi/locks/organization/<project>/<stack>/*.json`
//! (`pkg/backend/diy/lock.go` stackLockDir, lockPath), on a `file://` directory or an `s3://`
//! bucket. Other backends are left alone ([`LockClearError::Unsupported`]).
//!
//! The S3 requests are the two gocloud.dev/blob/s3blob issues for List and Delete
//! (ListObjectsV2 pages, DeleteObject), signed with AWS Signature Version 4 by the AWS SDK's
//! own signer (`aws-sigv4`, with the settings S3 needs: payload hash header, path encoded once,
//! no path normalization);
//! the backend URL's `region`, `endpoint`, `s3ForcePathStyle` / `use_path_style`,
//! `disableSSL` / `disable_https` and `profile` are read as the CLI reads them
//! (`backend.go` translateLegacyS3Params). Credentials: the worker's AWS environment, or the
//! default chain (with the URL's profile), as for the CLI.

use std::path::{Path, PathBuf};

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::env::EnvSnapshot;

/// Why a stack's lock files could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum LockClearError {
    /// A backend whose lock files byoc does not reach (Pulumi Cloud has none; `azblob://`,
    /// `gs://` are not implemented).
    #[error("lock files on a {scheme}:// state backend are not removed by byoc")]
    Unsupported {
        /// The URL's scheme.
        scheme: String,
    },
    /// A file of a `file://` backend.
    #[error("removing the lock files in {}: {source}", dir.display())]
    Io {
        /// The stack's lock directory.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// No credentials for the `s3://` backend.
    #[error("AWS credentials for the s3:// state backend: {0}")]
    Credentials(String),
    /// An S3 request failed.
    #[error("S3 {op} {key}: {detail}")]
    S3 {
        /// ListObjectsV2 or DeleteObject.
        op: &'static str,
        /// The key or prefix.
        key: String,
        /// Status and S3's error code, or the transport error.
        detail: String,
    },
}

/// `.pulumi/locks/organization/<project>/<stack>` (lock.go stackLockDir, project-scoped
/// layout).
fn lock_prefix(project: &str, stack: &str) -> String {
    format!(".pulumi/locks/organization/{project}/{stack}")
}

/// The lock directory of a `file://<dir>` backend; `None` for other schemes.
pub fn file_lock_dir(backend_url: &str, project: &str, stack: &str) -> Option<PathBuf> {
    let path = backend_url.strip_prefix("file://")?;
    let path = path.split('?').next().unwrap_or(path);
    Some(PathBuf::from(path).join(lock_prefix(project, stack)))
}

/// Deletes every lock file of `project/stack` on the backend; returns the removed keys (relative
/// to the backend's root). `env` is the environment the CLI gets (the same credentials).
pub async fn remove_stack_locks(
    backend_url: &str,
    env: &EnvSnapshot,
    project: &str,
    stack: &str,
) -> Result<Vec<String>, LockClearError> {
    if let Some(dir) = file_lock_dir(backend_url, project, stack) {
        return remove_files(&dir, &lock_prefix(project, stack));
    }
    let Some(rest) = backend_url.strip_prefix("s3://") else {
        let scheme = backend_url.split("://").next().unwrap_or_default();
        return Err(LockClearError::Unsupported {
            scheme: scheme.to_owned(),
        });
    };
    let target = S3Target::parse(rest, env)?;
    let creds = target.credentials(env).await?;
    let prefix = format!("{}{}/", target.key_prefix, lock_prefix(project, stack));
    let client = reqwest::Client::new();
    let keys = target.list(&client, &creds, &prefix).await?;
    let mut removed = Vec::with_capacity(keys.len());
    for key in keys {
        target.delete(&client, &creds, &key).await?;
        removed.push(key[target.key_prefix.len()..].to_owned());
    }
    Ok(removed)
}

fn remove_files(dir: &Path, prefix: &str) -> Result<Vec<String>, LockClearError> {
    let io = |source| LockClearError::Io {
        dir: dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        if !entry.file_type().map_err(io)?.is_file() {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed.push(format!("{prefix}/{}", entry.file_name().to_string_lossy())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    removed.sort();
    Ok(removed)
}

/// Where an `s3://bucket/prefix?…` backend's objects are.
#[derive(Debug, PartialEq)]
struct S3Target {
    bucket: String,
    /// `prefix/` (or empty): every key starts with it.
    key_prefix: String,
    region: String,
    profile: Option<String>,
    /// `http` or `https`.
    scheme: String,
    /// The Host header: `bucket.endpoint` (virtual-hosted) or the endpoint (path style).
    host: String,
    /// The request path before the key: `/bucket` in path style, else empty.
    base_path: String,
}

impl S3Target {
    fn parse(rest: &str, env: &EnvSnapshot) -> Result<Self, LockClearError> {
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, path) = location.split_once('/').unwrap_or((location, ""));
        // Go's url.ParseQuery, as the CLI reads it: `+` is a space, `%XX` decoded.
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let param = |name: &str| {
            params
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let region = param("region")
            .or_else(|| env.get("AWS_REGION"))
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .unwrap_or("us-east-1")
            .to_owned();
        let insecure =
            param("disableSSL") == Some("true") || param("disable_https") == Some("true");
        let endpoint = param("endpoint")
            .or_else(|| env.get("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env.get("AWS_ENDPOINT_URL"))
            .map(|e| {
                if e.contains("://") {
                    e.to_owned()
                } else {
                    // translateLegacyS3Params: a scheme-less endpoint gets one from disableSSL.
                    format!("{}://{e}", if insecure { "http" } else { "https" })
                }
            })
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let (scheme, authority) = endpoint.split_once("://").unwrap_or(("https", &endpoint));
        let authority = authority.trim_end_matches('/');
        let hostname = authority
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(authority, |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let force_path =
            param("s3ForcePathStyle") == Some("true") || param("use_path_style") == Some("true");
        let path_style = force_path
            || hostname.parse::<std::net::IpAddr>().is_ok()
            || bucket.contains('.')
            || bucket.bytes().any(|b| b.is_ascii_uppercase() || b == b'_');
        let (host, base_path) = if path_style {
            (authority.to_owned(), format!("/{bucket}"))
        } else {
            (format!("{bucket}.{authority}"), String::new())
        };
        let trimmed = path.trim_matches('/');
        Ok(Self {
            bucket: bucket.to_owned(),
            key_prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}/")
            },
            region,
            profile: param("profile").map(str::to_owned),
            scheme: scheme.to_owned(),
            host,
            base_path,
        })
    }

    async fn credentials(&self, env: &EnvSnapshot) -> Result<Credentials, LockClearError> {
        if self.profile.is_none()
            && let (Some(access_key), Some(secret_key)) = (
                env.get("AWS_ACCESS_KEY_ID"),
                env.get("AWS_SECRET_ACCESS_KEY"),
            )
        {
            return Ok(Credentials::new(
                access_key,
                secret_key,
                env.get("AWS_SESSION_TOKEN").map(str::to_owned),
                None,
                "byoc-worker-environment",
            ));
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()));
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        let provider = config
            .credentials_provider()
            .ok_or_else(|| LockClearError::Credentials("no credentials provider".into()))?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| LockClearError::Credentials(e.to_string()))
    }

    /// The request's URL: the path encoded once, the query in SigV4's canonical order.
    fn url(&self, key: Option<&str>, query: &[(&str, &str)]) -> String {
        let path = format!("{}/{}", self.base_path, key.unwrap_or(""));
        let mut url = format!(
            "{}://{}{}",
            self.scheme,
            self.host,
            uri_encode(&path, false)
        );
        if !query.is_empty() {
            url.push('?');
            url.push_str(&canonical_query(query));
        }
        url
    }

    /// One signed request; the body of a 2xx answer.
    async fn send(
        &self,
        client: &reqwest::Client,
        creds: &Credentials,
        method: reqwest::Method,
        key: Option<&str>,
        query: &[(&str, &str)],
    ) -> Result<String, String> {
        let url = self.url(key, query);
        let signed = sign_headers(
            method.as_str(),
            &url,
            &[],
            creds,
            &self.region,
            SystemTime::now(),
        )?;
        let mut req = client
            .request(method, url)
            .timeout(std::time::Duration::from_secs(30));
        for (k, v) in signed {
            req = req.header(k, v);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            let code = xml_values(&body, "Code")
                .into_iter()
                .next()
                .unwrap_or_default();
            Err(format!("{status} {code}"))
        }
    }

    /// Every key under `prefix` (ListObjectsV2, page by page).
    async fn list(
        &self,
        client: &reqwest::Client,
        creds: &Credentials,
        prefix: &str,
    ) -> Result<Vec<String>, LockClearError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(t) = &token {
                query.push(("continuation-token", t.as_str()));
            }
            let body = self
                .send(client, creds, reqwest::Method::GET, None, &query)
                .await
                .map_err(|detail| LockClearError::S3 {
                    op: "ListObjectsV2",
                    key: format!("{}/{prefix}", self.bucket),
                    detail,
                })?;
            out.extend(xml_values(&body, "Key"));
            let truncated =
                xml_values(&body, "IsTruncated").first().map(String::as_str) == Some("true");
            token = xml_values(&body, "NextContinuationToken")
                .into_iter()
                .next();
            if !truncated || token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn delete(
        &self,
        client: &reqwest::Client,
        creds: &Credentials,
        key: &str,
    ) -> Result<(), LockClearError> {
        self.send(client, creds, reqwest::Method::DELETE, Some(key), &[])
            .await
            .map(drop)
            .map_err(|detail| LockClearError::S3 {
                op: "DeleteObject",
                key: format!("{}/{key}", self.bucket),
                detail,
            })
    }
}

/// The headers that sign a body-less S3 request (SigV4 by `aws-sigv4`): `authorization`,
/// `x-amz-date`, `x-amz-content-sha256`, and `x-amz-security-token` with a session token. `url`
/// must already be encoded once: S3 signs the path as sent, neither re-encoded nor normalized
/// (the S3 API reference, "Signature Calculations for the Authorization Header").
fn sign_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    creds: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// SigV4's URI encoding: every byte but the RFC 3986 unreserved characters as `%XX` (upper
/// hex); `/` kept in paths.
const SIGV4_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const SIGV4_PATH: &AsciiSet = &SIGV4_COMPONENT.remove(b'/');

fn uri_encode(s: &str, encode_slash: bool) -> String {
    let set = if encode_slash {
        SIGV4_COMPONENT
    } else {
        SIGV4_PATH
    };
    utf8_percent_encode(s, set).to_string()
}

fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, true), uri_encode(v, true)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The text of every `<tag>…</tag>` element, XML entities decoded (ListObjectsV2 answers are
/// flat enough for this: `Key` appears only in `Contents`).
fn xml_values(body: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(
            after[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&#13;", "\r")
                .replace("&amp;", "&"),
        );
        rest = &after[end + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The S3 API reference's SigV4 examples ("Authenticating Requests: Using the
    /// Authorization Header", Example: GET Object, and Example: GET Bucket (List Objects)):
    /// the signer's settings are the ones S3 checks.
    #[test]
    fn the_signing_reproduces_the_s3_documentation_examples() {
        let creds = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "example",
        );
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_369_353_600);
        let authorization = |url: &str, headers: &[(&str, &str)]| {
            sign_headers("GET", url, headers, &creds, "us-east-1", at)
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == "authorization")
                .unwrap()
                .1
        };
        let target = S3Target {
            bucket: "examplebucket".into(),
            key_prefix: String::new(),
            region: "us-east-1".into(),
            profile: None,
            scheme: "https".into(),
            host: "examplebucket.s3.amazonaws.com".into(),
            base_path: String::new(),
        };
        assert_eq!(
            authorization(
                &target.url(Some("test.txt"), &[]),
                &[("range", "bytes=0-9")]
            ),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(
            authorization(
                &target.url(None, &[("max-keys", "2"), ("prefix", "J")]),
                &[]
            ),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
             Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    #[test]
    fn an_s3_url_is_read_as_the_cli_reads_it() {
        let env = EnvSnapshot::capture([("AWS_REGION".to_owned(), "eu-west-1".to_owned())]);
        let t = S3Target::parse(
            "state/byoc?region=us-east-1&endpoint=http://127.0.0.1:5000&s3ForcePathStyle=true",
            &env,
        )
        .unwrap();
        assert_eq!(t.host, "127.0.0.1:5000");
        assert_eq!(t.base_path, "/state");
        assert_eq!(t.key_prefix, "byoc/");
        assert_eq!(t.region, "us-east-1");
        assert_eq!(t.scheme, "http");
        let t = S3Target::parse("my-bucket", &env).unwrap();
        assert_eq!(t.host, "my-bucket.s3.eu-west-1.amazonaws.com");
        assert_eq!((t.base_path.as_str(), t.key_prefix.as_str()), ("", ""));
        assert_eq!(t.scheme, "https");
        let t = S3Target::parse(
            "b/p/q/?endpoint=minio.local:9000&disableSSL=true&profile=ops",
            &env,
        )
        .unwrap();
        assert_eq!(t.host, "b.minio.local:9000");
        assert_eq!(t.scheme, "http");
        assert_eq!(t.key_prefix, "p/q/");
        assert_eq!(t.profile.as_deref(), Some("ops"));
        // Encoded parameters are decoded as Go's url.ParseQuery does; a stray `%` before a
        // multibyte character is kept, not a panic.
        let t = S3Target::parse(
            "b?endpoint=http%3A%2F%2F127.0.0.1%3A5000&region=eu+west&profile=%aé",
            &env,
        )
        .unwrap();
        assert_eq!(
            (t.host.as_str(), t.scheme.as_str()),
            ("127.0.0.1:5000", "http")
        );
        assert_eq!(t.region, "eu west");
        assert_eq!(t.profile.as_deref(), Some("%aé"));
    }

    #[test]
    fn list_answers_are_read_with_their_entities() {
        let body = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a&amp;b.json</Key>\
                    </Contents><Contents><Key>c.json</Key></Contents>\
                    <NextContinuationToken>t+1=</NextContinuationToken></ListBucketResult>";
        assert_eq!(xml_values(body, "Key"), ["a&b.json", "c.json"]);
        assert_eq!(xml_values(body, "NextContinuationToken"), ["t+1="]);
    }

    #[test]
    fn a_file_backends_lock_files_are_removed_and_a_missing_dir_is_none() {
        let root = tempfile::tempdir().unwrap();
        let url = format!("file://{}?no_tmp_dir=true", root.path().display());
        let dir = file_lock_dir(&url, "p", "s").unwrap();
        assert_eq!(dir, root.path().join(".pulumi/locks/organization/p/s"));
        assert!(file_lock_dir("s3://bucket", "p", "s").is_none());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let env = EnvSnapshot::default();
        assert!(
            rt.block_on(remove_stack_locks(&url, &env, "p", "s"))
                .unwrap()
                .is_empty()
        );
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("u1.json"), "{}").unwrap();
        let removed = rt
            .block_on(remove_stack_locks(&url, &env, "p", "s"))
            .unwrap();
        assert_eq!(removed, [".pulumi/locks/organization/p/s/u1.json"]);
        assert!(std::fs::read_dir(&dir).unwrap().next().is_none());
        assert!(matches!(
            rt.block_on(remove_stack_locks("https://api.pulumi.com", &env, "p", "s")),
            Err(LockClearError::Unsupported { .. })
        ));
    }
}
