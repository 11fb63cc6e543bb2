"""A minimal S3 client on the standard library (http.client + SigV4), for `s3://` backends.

The real CLI reaches the bucket through gocloud.dev/blob/s3blob on the AWS SDK for Go; the
stand-in used boto3 until importing it (~0.35 CPU-s) dominated every run. This client issues
the requests s3blob does for the blob operations the DIY backend uses (google/go-cloud
blob/s3blob/s3blob.go): ReadAll -> GetObject, WriteAll -> PutObject (a single request for a
small body), Delete -> HeadObject then DeleteObject (S3 does not report a missing key on
delete, so s3blob checks first), List -> ListObjectsV2 page by page with continuation tokens.

Signing: AWS Signature Version 4 in the Authorization header, S3 flavour (the payload's
SHA-256 in `x-amz-content-sha256`, the path's segments URI-encoded once, not twice), as
documented in "Authenticating Requests: Using the Authorization Header (AWS Signature Version
4)" (Amazon S3 API reference, sigv4-auth-using-authorization-header); `test_vector()` checks
it against that page's GET Object example.

Configuration, as the AWS SDK for Go v2 resolves it (aws-sdk-go-v2 config/resolve_credentials.go
resolveCredentialChain; config/env_config.go):
- credentials: a profile named in the URL (`profile=`, set programmatically, so it beats keys
  in the environment) from the shared credentials / config files; else AWS_ACCESS_KEY_ID /
  AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); else AWS_PROFILE (or `default`) from the files.
  SIMPLIFIED: only static keys in a profile; role_arn / sso / credential_process profiles and
  the container / EC2 metadata providers are not modelled (an error says so).
- region: `region=` in the URL, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`;
  SIMPLIFIED: us-east-1 when none is set (the SDK for Go fails without a region).
- endpoint: `endpoint=` in the URL, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else
  https://s3.<region>.amazonaws.com.
- addressing: path style when `s3ForcePathStyle=true` / `use_path_style=true`, when the
  endpoint's host is an IP address, or when the bucket is not a valid host label (the S3
  endpoint rules: aws.isVirtualHostableS3Bucket, url.isIp); else virtual-hosted.
- retries: the SDK's standard retryer, 3 attempts on connection errors, 5xx and throttling,
  with jittered exponential backoff (aws-sdk-go-v2 aws/retry/standard.go, jitter_backoff.go).
  SIMPLIFIED: no request checksums beyond the payload hash (moto and S3 accept that).
"""

import configparser
import datetime
import hashlib
import hmac
import http.client
import ipaddress
import os
import random
import re
import time
import urllib.parse

from .errors import CliError

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_HOST_LABEL = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RETRYABLE_CODES = {"Throttling", "ThrottlingException", "SlowDown", "RequestTimeout",
                    "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable"}


class S3Error(Exception):
    def __init__(self, status, code, message):
        super().__init__("%s %s: %s" % (status, code, message))
        self.status = status
        self.code = code


def _quote(s, safe="-_.~"):
    # SigV4: every byte except the RFC 3986 unreserved characters percent-encoded, upper hex.
    return urllib.parse.quote(s, safe=safe)


def _sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signature_v4(method, host, path, query, headers, payload_hash, amz_date, region,
                 access_key, secret_key, service="s3"):
    """The Authorization header for a request. `path` is the raw (unencoded) path; `query`
    a list of (name, value); `headers` the headers to sign besides host (lower-case names)."""
    canonical_uri = _quote(path, safe="/-_.~")
    canonical_query = "&".join("%s=%s" % (_quote(k), _quote(v)) for k, v in sorted(query))
    signed = dict((k.lower(), " ".join(str(v).strip().split())) for k, v in headers.items())
    signed["host"] = host
    names = sorted(signed)
    canonical_headers = "".join("%s:%s\n" % (n, signed[n]) for n in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join([method, canonical_uri, canonical_query, canonical_headers,
                                   signed_headers, payload_hash])
    date = amz_date[:8]
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical_request.encode()).hexdigest()])
    k = _sign(("AWS4" + secret_key).encode(), date)
    k = _sign(k, region)
    k = _sign(k, service)
    k = _sign(k, "aws4_request")
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s" % (
        access_key, scope, signed_headers, signature)


def test_vector():
    """The GET Object example of the SigV4 Authorization-header page (Amazon S3 API
    reference): True when this signer reproduces its published signature."""
    auth = signature_v4(
        "GET", "examplebucket.s3.amazonaws.com", "/test.txt", [],
        {"range": "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256,
         "x-amz-date": "20130524T000000Z"},
        EMPTY_SHA256, "20130524T000000Z", "us-east-1",
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    return auth.endswith(
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def _files(environ):
    home = os.path.expanduser("~")
    creds = environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(home, ".aws", "credentials")
    config = environ.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config")
    return creds, config


def _profile(name, environ):
    """The merged settings of a profile (credentials file beats config file), or None."""
    creds_path, config_path = _files(environ)
    out, found = {}, False
    config = configparser.RawConfigParser()
    config.read(config_path)
    section = "default" if name == "default" else "profile " + name
    if config.has_section(section):
        out.update(config.items(section))
        found = True
    creds = configparser.RawConfigParser()
    creds.read(creds_path)
    if creds.has_section(name):
        out.update(creds.items(name))
        found = True
    return out if found else None


def _profile_keys(name, environ, explicit):
    section = _profile(name, environ)
    if section is None:
        if explicit:
            raise CliError("failed to get shared config profile, %s" % name)
        return None, {}
    if section.get("aws_access_key_id") and section.get("aws_secret_access_key"):
        return (section["aws_access_key_id"], section["aws_secret_access_key"],
                section.get("aws_session_token")), section
    if explicit:
        raise CliError("the stand-in's S3 client reads static keys only; profile %r has none "
                       "(role_arn, sso and credential_process profiles are not modelled)" % name)
    return None, section


def resolve(bucket, query, environ):
    """(credentials, region, scheme, host, path prefix) for a bucket and the URL's query."""
    profile = query.get("profile") or None
    section = {}
    if profile:
        creds, section = _profile_keys(profile, environ, explicit=True)
    elif environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        creds = (environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"],
                 environ.get("AWS_SESSION_TOKEN") or None)
    else:
        creds, section = _profile_keys(environ.get("AWS_PROFILE") or "default", environ,
                                       explicit=bool(environ.get("AWS_PROFILE")))
    if creds is None:
        raise CliError("failed to refresh cached credentials, no EC2 IMDS role found "
                       "(the stand-in's S3 client reads keys from the environment or a profile only)")
    region = (query.get("region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
              or section.get("region") or "us-east-1")
    endpoint = query.get("endpoint") or environ.get("AWS_ENDPOINT_URL_S3") or environ.get(
        "AWS_ENDPOINT_URL") or ""
    if endpoint and "://" not in endpoint:
        # translateLegacyS3Params: a scheme-less endpoint gets http(s):// from disableSSL.
        insecure = query.get("disableSSL") == "true" or query.get("disable_https") == "true"
        endpoint = ("http://" if insecure else "https://") + endpoint
    if not endpoint:
        endpoint = "https://s3.%s.amazonaws.com" % region
    parsed = urllib.parse.urlsplit(endpoint)
    force_path = (query.get("s3ForcePathStyle") == "true" or query.get("use_path_style") == "true")
    try:
        ipaddress.ip_address(parsed.hostname or "")
        is_ip = True
    except ValueError:
        is_ip = False
    hostable = bool(_HOST_LABEL.match(bucket)) and ".." not in bucket and not (
        "." in bucket and parsed.scheme == "https")
    base = parsed.path.rstrip("/")
    if force_path or is_ip or not hostable:
        host, prefix = parsed.netloc, base + "/" + bucket
    else:
        host, prefix = bucket + "." + parsed.netloc, base
    return creds, region, parsed.scheme, host, prefix


class Client:
    """Object operations on one bucket over one kept-alive connection."""

    def __init__(self, bucket, query, environ=None):
        environ = os.environ if environ is None else environ
        self.bucket = bucket
        (self.creds, self.region, self.scheme, self.host, self.base) = resolve(bucket, query, environ)
        self.conn = None

    def _connection(self):
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self.conn = cls(self.host, timeout=60)
        return self.conn

    def request(self, method, key=None, query=(), body=b""):
        """(status, headers, body) of a 2xx answer; S3Error otherwise (after retries)."""
        path = self.base + ("/" + key if key is not None else "/")
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        attempt = 0
        while True:
            attempt += 1
            amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            headers = {"x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
            if self.creds[2]:
                headers["x-amz-security-token"] = self.creds[2]
            auth = signature_v4(method, self.host, path, list(query), headers, payload_hash,
                                amz_date, self.region, self.creds[0], self.creds[1])
            url = _quote(path, safe="/-_.~")
            if query:
                url += "?" + "&".join("%s=%s" % (_quote(k), _quote(v)) for k, v in query)
            send = dict(headers, Authorization=auth, Host=self.host)
            if method in ("PUT", "POST"):
                send["Content-Length"] = str(len(body))
            try:
                conn = self._connection()
                conn.request(method, url, body=body or None, headers=send)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.conn = None
                if attempt < 3:
                    _backoff(attempt)
                    continue
                raise CliError("S3 %s %s: %s" % (method, path, e))
            if 200 <= resp.status < 300:
                return resp.status, resp, data
            code, message = _error_of(resp.status, data)
            if attempt < 3 and (resp.status >= 500 or code in _RETRYABLE_CODES):
                _backoff(attempt)
                continue
            raise S3Error(resp.status, code, message)

    def get(self, key):
        try:
            return self.request("GET", key)[2]
        except S3Error as e:
            if e.status == 404 and e.code in ("NoSuchKey", "NotFound"):
                return None
            raise CliError("S3 GetObject %s: %s" % (key, e))

    def head(self, key):
        try:
            self.request("HEAD", key)
            return True
        except S3Error as e:
            if e.status == 404:
                return False
            raise CliError("S3 HeadObject %s: %s" % (key, e))

    def put(self, key, data):
        try:
            self.request("PUT", key, body=data)
        except S3Error as e:
            raise CliError("S3 PutObject %s: %s" % (key, e))

    def delete(self, key):
        try:
            self.request("DELETE", key)
        except S3Error as e:
            raise CliError("S3 DeleteObject %s: %s" % (key, e))

    def list_keys(self, prefix):
        """Every key under `prefix` (ListObjectsV2, all pages)."""
        from xml.etree import ElementTree

        out, token = [], None
        while True:
            query = [("list-type", "2"), ("prefix", prefix)]
            if token:
                query.append(("continuation-token", token))
            try:
                body = self.request("GET", None, query=query)[2]
            except S3Error as e:
                raise CliError("S3 ListObjectsV2 %s: %s" % (prefix, e))
            root = ElementTree.fromstring(body)
            ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            for contents in root.iter(ns + "Contents"):
                out.append(contents.findtext(ns + "Key"))
            token = root.findtext(ns + "NextContinuationToken")
            if root.findtext(ns + "IsTruncated") != "true" or not token:
                return out


def _error_of(status, data):
    code = re.search(rb"<Code>([^<]*)</Code>", data or b"")
    message = re.search(rb"<Message>([^<]*)</Message>", data or b"")
    if code:
        return code.group(1).decode(errors="replace"), (
            message.group(1).decode(errors="replace") if message else "")
    return {404: "NotFound", 403: "Forbidden"}.get(status, "HTTP%d" % status), ""


def _backoff(attempt):
    # aws-sdk-go-v2 aws/retry/jitter_backoff.go: rand[0,1) * 2^attempt seconds, at most 20 s.
    time.sleep(min(20.0, random.random() * 2 ** attempt))
