//! Secrets at rest and random credentials: the master key (AES-256-GCM), external IDs and
//! API tokens (stored only as SHA-256 hashes).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Why the master key could not be loaded, or a ciphertext could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// `BYOC_MASTER_KEY` or the key file is not 32 bytes of base64 or hex.
    #[error("the master key must be 32 bytes, base64 or hex encoded ({0})")]
    BadKey(&'static str),
    /// The key file could not be read or created.
    #[error("cannot read or create the master key file {path}")]
    KeyFile {
        /// The key file.
        path: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The ciphertext was not produced by this key for this record.
    #[error("a stored secret cannot be decrypted with the configured master key")]
    Decrypt,
}

/// The key that encrypts secrets at rest. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct MasterKey(Key<Aes256Gcm>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

const KEY_FILE: &str = "master.key";
const NONCE_LEN: usize = 12;

impl MasterKey {
    /// Uses `configured` (from `BYOC_MASTER_KEY`) when given; otherwise reads
    /// `<data_dir>/master.key`, generating it once with mode 0600 when absent.
    pub fn load_or_create(
        data_dir: &Path,
        configured: Option<&SecretString>,
    ) -> Result<Self, CryptoError> {
        if let Some(k) = configured {
            return Self::decode(k.expose_secret());
        }
        let path = data_dir.join(KEY_FILE);
        let io_err = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::decode(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                OsRng.fill_bytes(&mut bytes);
                // create_new: two processes starting at once must not overwrite each other's key.
                let created = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path);
                match created {
                    Ok(mut f) => {
                        // Both fsyncs are kept (issue 16 counted every fsync of a first start):
                        // every secret sealed from now on is lost with this key, so its bytes
                        // and its name in the directory are on disk before it is used. On ext4
                        // the second costs next to nothing (the first committed the journal
                        // transaction that holds the new name); elsewhere it is what makes the
                        // name durable.
                        f.write_all(STANDARD.encode(bytes).as_bytes())
                            .and_then(|_| f.sync_all())
                            .and_then(|_| std::fs::File::open(data_dir)?.sync_all())
                            .map_err(io_err)?;
                        Ok(Self(*Key::<Aes256Gcm>::from_slice(&bytes)))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(data_dir, None)
                    }
                    Err(e) => Err(io_err(e)),
                }
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// Decodes a 32-byte key given as base64 (standard or URL-safe) or 64 hex digits.
    pub fn decode(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| CryptoError::BadKey("invalid hex"))?
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| CryptoError::BadKey("invalid base64"))?
        };
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey("wrong length"));
        }
        Ok(Self(*Key::<Aes256Gcm>::from_slice(&bytes)))
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the tenant id) so a ciphertext copied
    /// onto another record does not decrypt. Output: nonce ‖ ciphertext+tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new(&self.0);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`MasterKey::seal`] produced for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        Aes256Gcm::new(&self.0)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Encrypts a secret string.
    pub fn seal_secret(&self, secret: &SecretString, context: &[u8]) -> Vec<u8> {
        self.seal(secret.expose_secret().as_bytes(), context)
    }

    /// Decrypts a secret string.
    pub fn open_secret(&self, sealed: &[u8], context: &[u8]) -> Result<SecretString, CryptoError> {
        let bytes = self.open(sealed, context)?;
        String::from_utf8(bytes)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// 32 random bytes, URL-safe base64 without padding: 43 characters of `[A-Za-z0-9_-]`,
/// which fits the CloudFormation `ExternalId` parameter pattern.
pub fn generate_external_id() -> SecretString {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// Prefix of every API token, so leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "byoc_";

/// A new API token: the prefix plus 32 random bytes (256 bits), URL-safe base64.
pub fn generate_token() -> SecretString {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The SHA-256 of a token, hex encoded: the only form in which tokens are stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = MasterKey::load_or_create(dir.path(), None).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let k2 = MasterKey::load_or_create(dir.path(), None).unwrap();
        let sealed = k1.seal(b"secret", b"ctx");
        assert_eq!(k2.open(&sealed, b"ctx").unwrap(), b"secret");
    }

    #[test]
    fn sealed_secrets_are_bound_to_their_context() {
        let k = MasterKey::decode(&"ab".repeat(32)).unwrap();
        let sealed = k.seal(b"external-id", b"tenant-1");
        assert!(k.open(&sealed, b"tenant-2").is_err());
        assert!(!sealed.windows(11).any(|w| w == b"external-id"));
    }

    #[test]
    fn configured_key_must_be_32_bytes() {
        assert!(MasterKey::decode(&STANDARD.encode([1u8; 32])).is_ok());
        assert!(MasterKey::decode(&STANDARD.encode([1u8; 16])).is_err());
        assert!(MasterKey::decode("not a key").is_err());
    }

    #[test]
    fn external_ids_fit_the_cloudformation_pattern() {
        let id = generate_external_id();
        let s = id.expose_secret();
        assert_eq!(s.len(), 43);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_ne!(s, generate_external_id().expose_secret());
    }

    #[test]
    fn tokens_carry_256_bits_and_hash_deterministically() {
        let t = generate_token();
        assert!(t.expose_secret().starts_with(TOKEN_PREFIX));
        assert_eq!(t.expose_secret().len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(hash_token("x"), hash_token("x"));
        assert_ne!(hash_token("x"), hash_token("y"));
    }
}
