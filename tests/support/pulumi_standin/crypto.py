"""Secrets managers: passphrase and a fake cloud KMS (pulumi/pulumi pkg/secrets/passphrase,
pkg/secrets/cloud).

Shapes follow the real ones: a passphrase state is `v1:<base64 salt>:<ciphertext of "pulumi">`
(manager.go NewPassphraseSecretsManager) and a wrong passphrase is detected by decrypting that
verifier; ciphertexts look like `v1:<nonce>:<data>`. The algorithms are NOT the real ones (the
CLI uses AES-256-GCM with PBKDF2-SHA256 at 1,000,000 iterations; Python's stdlib has no AES and
a million iterations per call would slow every test): a SHA-256 keystream with an HMAC tag.

The cloud manager fakes KMS: `encryptedkey` wraps a random data key with a key derived from the
key URL, so only the same `awskms://…` URL can unwrap it. No AWS call is made.
"""

import base64
import hashlib
import hmac
import os

from .errors import DECRYPT_INCORRECT, PASSPHRASE_MISSING, CliError

ITERATIONS = 1000


def _keystream(key, n):
    out, counter = b"", 0
    while len(out) < n:
        out += hashlib.sha256(key + counter.to_bytes(8, "big")).digest()
        counter += 1
    return out[:n]


def seal(key, text):
    nonce = os.urandom(12)
    data = text.encode()
    ct = bytes(a ^ b for a, b in zip(data, _keystream(key + nonce, len(data))))
    tag = hmac.new(key, nonce + ct, "sha256").digest()[:16]
    return "v1:%s:%s" % (base64.b64encode(nonce).decode(), base64.b64encode(ct + tag).decode())


def unseal(key, blob):
    """The plaintext, or None when `key` is not the one that sealed `blob`."""
    try:
        _, nonce, body = blob.split(":")
        nonce, body = base64.b64decode(nonce), base64.b64decode(body)
    except ValueError:
        return None
    ct, tag = body[:-16], body[-16:]
    if not hmac.compare_digest(hmac.new(key, nonce + ct, "sha256").digest()[:16], tag):
        return None
    return bytes(a ^ b for a, b in zip(ct, _keystream(key + nonce, len(ct)))).decode()


def read_passphrase():
    """readPassphrase (manager.go): PULUMI_CONFIG_PASSPHRASE if set (even empty), else the
    trimmed content of PULUMI_CONFIG_PASSPHRASE_FILE, else the non-interactive error."""
    if "PULUMI_CONFIG_PASSPHRASE" in os.environ:
        return os.environ["PULUMI_CONFIG_PASSPHRASE"]
    path = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if path:
        try:
            with open(os.path.abspath(path)) as f:
                return f.read().strip()
        except OSError as e:
            raise CliError("unable to read PULUMI_CONFIG_PASSPHRASE_FILE: %s" % e)
    raise CliError(PASSPHRASE_MISSING)


class IncorrectPassphrase(Exception):
    pass


class Passphrase:
    type = "passphrase"

    def __init__(self, salt_state, key):
        self.salt = salt_state
        self.key = key

    @classmethod
    def new(cls):
        phrase = read_passphrase()
        salt = os.urandom(8)
        key = hashlib.pbkdf2_hmac("sha256", phrase.encode(), salt, ITERATIONS)
        return cls("v1:%s:%s" % (base64.b64encode(salt).decode(), seal(key, "pulumi")), key)

    @classmethod
    def open(cls, salt_state):
        """Raises IncorrectPassphrase when the verifier does not decrypt to "pulumi"."""
        phrase = read_passphrase()
        parts = salt_state.split(":", 2)
        if len(parts) != 3 or parts[0] != "v1":
            raise CliError("malformed state value")
        key = hashlib.pbkdf2_hmac("sha256", phrase.encode(), base64.b64decode(parts[1]), ITERATIONS)
        if unseal(key, parts[2]) != "pulumi":
            raise IncorrectPassphrase()
        return cls(salt_state, key)

    def state(self):
        return {"type": "passphrase", "state": {"salt": self.salt}}

    def encrypt(self, text):
        return seal(self.key, text)

    def decrypt(self, blob):
        out = unseal(self.key, blob)
        if out is None:
            raise CliError(DECRYPT_INCORRECT)
        return out


class Locked:
    """newLockedPasspharseSecretsManager: keeps the state, fails every encrypt/decrypt."""

    type = "passphrase"

    def __init__(self, state):
        self._state = state

    def state(self):
        return self._state

    def encrypt(self, text):
        raise CliError(DECRYPT_INCORRECT.replace("failed to decrypt", "failed to encrypt"))

    def decrypt(self, blob):
        raise CliError(DECRYPT_INCORRECT)


def _kms_key(url):
    return hashlib.sha256(b"standin-kms|" + url.split("?")[0].encode()).digest()


class Cloud:
    type = "cloud"

    def __init__(self, url, encrypted_key):
        self.url = url
        self.encrypted_key = encrypted_key
        dk = unseal(_kms_key(url), base64.b64decode(encrypted_key).decode())
        if dk is None:
            # Approximate: the real error comes from the KMS Decrypt call.
            raise CliError("secrets (code=Unknown): failed to decrypt the data key with %s" % url)
        self.key = base64.b64decode(dk)

    @classmethod
    def new(cls, url):
        dk = base64.b64encode(os.urandom(32)).decode()
        wrapped = base64.b64encode(seal(_kms_key(url), dk).encode()).decode()
        return cls(url, wrapped)

    def state(self):
        return {"type": "cloud", "state": {"url": self.url, "encryptedkey": self.encrypted_key}}

    def encrypt(self, text):
        return seal(self.key, text)

    def decrypt(self, blob):
        out = unseal(self.key, blob)
        if out is None:
            raise CliError("failed to decrypt: the value was not encrypted with %s" % self.url)
        return out


def from_snapshot(secrets_providers):
    """The manager a checkpoint names (stack.DeserializeDeployment). A wrong passphrase gives a
    locked manager, which only fails once something must be decrypted."""
    sp = secrets_providers or {}
    state = sp.get("state") or {}
    if sp.get("type") == "cloud":
        return Cloud(state["url"], state["encryptedkey"])
    if sp.get("type") == "passphrase":
        try:
            return Passphrase.open(state.get("salt", ""))
        except IncorrectPassphrase:
            return Locked(sp)
        except CliError as e:
            # NewPromptingPassphraseSecretsManagerFromState wraps other errors this way.
            raise CliError("constructing secrets manager: %s" % e)
    return None
