//! The secret box: AES-256-GCM for header values and signing secrets at rest.
//!
//! A sealed value reads `v1.<key id>.<base64(nonce ‖ ciphertext)>`: the key id lets old keys keep
//! opening what they sealed while `hookline secrets rotate` re-seals everything under the current
//! one. The associated data binds a ciphertext to its place (organization and header name), so a
//! value copied into another organization's row does not open.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use sha2::{Digest, Sha256};

pub const KEY_BYTES: usize = 32;

/// An encryption key written as text: base64 of exactly [`KEY_BYTES`] bytes (surrounding
/// whitespace, such as a file's last newline, ignored).
pub fn key_from_base64(text: &str) -> Option<[u8; KEY_BYTES]> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; KEY_BYTES]>::try_from(bytes).ok())
}
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
const VERSION: &str = "v1";

/// A secret in memory. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: String) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(\"••••\")")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value was made with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the sealed value does not open with its key (tampered, or moved from another place)")]
    Forged,
}

#[derive(Clone)]
struct SealingKey {
    id: String,
    cipher: Aes256Gcm,
}

impl SealingKey {
    fn new(bytes: [u8; KEY_BYTES]) -> Self {
        let digest = Sha256::digest(bytes);
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            id,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
        }
    }
}

/// Seals with the current key; opens with the current key or any old one.
#[derive(Clone)]
pub struct SecretBox {
    current: SealingKey,
    old: Vec<SealingKey>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("current_key_id", &self.current.id)
            .finish_non_exhaustive()
    }
}

impl SecretBox {
    pub fn new(current: [u8; KEY_BYTES], old: Vec<[u8; KEY_BYTES]>) -> Self {
        Self {
            current: SealingKey::new(current),
            old: old.into_iter().map(SealingKey::new).collect(),
        }
    }

    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    pub fn seal(&self, plaintext: &str, associated: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: associated.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        format!(
            "{VERSION}.{}.{}",
            self.current.id,
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(blob)
        )
    }

    pub fn open(&self, sealed: &str, associated: &str) -> Result<SecretString, SecretError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretError::Malformed);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.old)
            .find(|k| k.id == key_id)
            .ok_or_else(|| SecretError::UnknownKey(key_id.to_owned()))?;
        let blob = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| SecretError::Malformed)?;
        if blob.len() < NONCE_BYTES + TAG_BYTES {
            return Err(SecretError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_BYTES);
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Forged)?;
        String::from_utf8(plain)
            .map(SecretString)
            .map_err(|_| SecretError::Malformed)
    }

    /// True when `sealed` was made with another key than the current one.
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed.split('.').nth(1) != Some(self.current.id.as_str())
    }

    /// Opens with whatever key made it and seals again under the current key.
    pub fn reseal(&self, sealed: &str, associated: &str) -> Result<String, SecretError> {
        let plain = self.open(sealed, associated)?;
        Ok(self.seal(plain.expose(), associated))
    }
}

/// The associated data of a tool header value.
pub fn header_context(org_id: uuid::Uuid, header: &str) -> String {
    format!("org:{org_id}:header:{}", header.to_ascii_lowercase())
}

/// The associated data of a session variable's value (`personaConfig.variables`, or one a
/// tool's `response.assign` stored).
pub fn variable_context(org_id: uuid::Uuid, name: &str) -> String {
    format!("org:{org_id}:variable:{name}")
}

/// The associated data of a signing secret.
pub fn signing_secret_context(org_id: uuid::Uuid) -> String {
    format!("org:{org_id}:signing-secret")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let b = SecretBox::new([1; 32], vec![]);
        let sealed = b.seal("Bearer sk_live_abc123", "org:a:header:authorization");
        assert!(!sealed.contains("sk_live"));
        assert_eq!(
            b.open(&sealed, "org:a:header:authorization")
                .unwrap()
                .expose(),
            "Bearer sk_live_abc123"
        );
        // Each seal uses a fresh nonce.
        assert_ne!(
            sealed,
            b.seal("Bearer sk_live_abc123", "org:a:header:authorization")
        );
    }

    #[test]
    fn refuses_moved_tampered_and_short_values() {
        let b = SecretBox::new([1; 32], vec![]);
        let sealed = b.seal("v", "org:a:header:x");
        assert_eq!(b.open(&sealed, "org:b:header:x"), Err(SecretError::Forged));
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(b.open(&tampered, "org:a:header:x").is_err());
        let key_id = b.current_key_id().to_owned();
        assert_eq!(
            b.open(&format!("v1.{key_id}.AAAA"), "x"),
            Err(SecretError::Malformed)
        );
        assert_eq!(b.open("garbage", "x"), Err(SecretError::Malformed));
        assert!(matches!(
            b.open("v1.deadbeef.AAAA", "x"),
            Err(SecretError::UnknownKey(_))
        ));
    }

    #[test]
    fn old_keys_open_and_rotation_reseals() {
        let old = SecretBox::new([1; 32], vec![]);
        let sealed = old.seal("v", "ad");
        let new = SecretBox::new([2; 32], vec![[1; 32]]);
        assert!(new.is_stale(&sealed));
        let resealed = new.reseal(&sealed, "ad").unwrap();
        assert!(!new.is_stale(&resealed));
        let only_new = SecretBox::new([2; 32], vec![]);
        assert_eq!(only_new.open(&resealed, "ad").unwrap().expose(), "v");
        assert!(only_new.open(&sealed, "ad").is_err());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = SecretString::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
