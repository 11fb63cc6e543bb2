"""Blob stores behind a DIY backend URL: a directory for `file://`, a bucket for `s3://`.

pulumi/pulumi pkg/backend/diy/backend.go opens both through gocloud.dev/blob; keys are
slash-separated paths relative to the URL's directory (file) or bucket prefix (s3).
"""

import os
import tempfile
import urllib.parse

from .errors import CliError


class FileBucket:
    def __init__(self, root):
        self.root = root

    def _path(self, key):
        return os.path.join(self.root, *key.split("/"))

    def read(self, key):
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def write(self, key, data):
        # fileblob writes a temp file beside the target and renames it (no_tmp_dir=true,
        # pkg/backend/diy/backend.go massageBlobPath), so readers never see half a file.
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def create_exclusive(self, key, data):
        """Writes `key` only if absent (atomically, content included); False when it exists."""
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.remove(tmp)

    def delete(self, key):
        try:
            os.remove(self._path(key))
            return True
        except FileNotFoundError:
            return False

    def list(self, prefix):
        """Every key under `prefix/`, sorted."""
        base = self._path(prefix)
        out = []
        for dirpath, _, files in os.walk(base):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), self.root)
                out.append(rel.replace(os.sep, "/"))
        return sorted(out)


class S3Bucket:
    """An S3 bucket (moto's in tests) through the stand-in's own small S3 client (`s3.py`)."""

    def __init__(self, bucket, prefix, query):
        from .s3 import Client

        self.client = Client(bucket, query)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def _key(self, key):
        return self.prefix + key

    def read(self, key):
        return self.client.get(self._key(key))

    def write(self, key, data):
        self.client.put(self._key(key), data)

    def create_exclusive(self, key, data):
        # Not atomic (read, then put): S3 conditional writes are not relied on here.
        if self.read(key) is not None:
            return False
        self.write(key, data)
        return True

    def delete(self, key):
        # s3blob's Delete: HeadObject (a missing key is an error there), then DeleteObject.
        existed = self.client.head(self._key(key))
        if existed:
            self.client.delete(self._key(key))
        return existed

    def list(self, prefix):
        return sorted(k[len(self.prefix):] for k in self.client.list_keys(self._key(prefix) + "/"))


def normalized_url(url):
    """The URL the DIY backend keeps (and prints in lock errors), per
    pkg/backend/diy/backend.go massageBlobPath / translateLegacyS3Params."""
    parsed = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    if parsed.scheme == "file":
        path = url[len("file://"):].split("?")[0]
        path = os.path.abspath(os.path.expanduser(path))
        if not query.get("no_tmp_dir"):
            query["no_tmp_dir"] = ["true"]
        elif query["no_tmp_dir"] == ["false"]:
            del query["no_tmp_dir"]
        qs = urllib.parse.urlencode(sorted((k, v[-1]) for k, v in query.items()))
        return "file://" + path + ("?" + qs if qs else "")
    changed = False
    if "disableSSL" in query:
        query["disable_https"] = query.pop("disableSSL")
        changed = True
    endpoint = (query.get("endpoint") or [""])[-1]
    if endpoint:
        if "://" not in endpoint:
            scheme = "http" if (query.get("disable_https") or [""])[-1] == "true" else "https"
            query["endpoint"] = [scheme + "://" + endpoint]
            changed = True
        if not query.get("request_checksum_calculation") and not os.environ.get(
                "AWS_REQUEST_CHECKSUM_CALCULATION"):
            query["request_checksum_calculation"] = ["when_required"]
            changed = True
    if not changed:
        return url
    # Go's url.Values.Encode sorts by key.
    qs = urllib.parse.urlencode(sorted((k, v[-1]) for k, v in query.items()))
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path, qs, ""))


def url_with_key(normalized, key):
    """lockURLForError (pkg/backend/diy/lock.go): the key joined onto the URL's path, the
    query kept, credentials masked."""
    parsed = urllib.parse.urlsplit(normalized)
    netloc = parsed.netloc
    if "@" in netloc:
        netloc = "****:****@" + netloc.split("@", 1)[1]
    path = parsed.path.rstrip("/") + "/" + key
    if not path.startswith("/"):
        path = "/" + path
    return urllib.parse.urlunsplit((parsed.scheme, netloc, path, parsed.query, ""))


def open_bucket(url):
    """(bucket, normalized url) for a backend URL."""
    if not url:
        raise CliError("the stand-in needs PULUMI_BACKEND_URL (file:// or s3://)")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        norm = normalized_url(url)
        return FileBucket(urllib.parse.urlsplit(norm).path), norm
    if parsed.scheme == "s3":
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        return S3Bucket(parsed.netloc, parsed.path, query), normalized_url(url)
    raise CliError("the stand-in supports file:// and s3:// backends only (PULUMI_BACKEND_URL=%r)" % url)
