//! The credentials Hookline makes for others to hold — API keys (`hk_`), session tokens (`hst_`)
//! and client secrets (`hcs_`) — and the one way each is stored: a SHA-256 hash. Each is 256
//! random bits, which makes a slow password hash unnecessary and lets a lookup be a plain index
//! read. Signing secrets are not among them: they are keys the receiver needs in full, sealed
//! rather than hashed (`repo::signing_secrets`).

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A fresh random credential: `prefix` and 32 random bytes (256 bits), base64url.
pub fn generate(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What is stored of a credential, and what a presented one is looked up by.
pub fn hash(credential: &str) -> Vec<u8> {
    Sha256::digest(credential.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_prefixed_random_and_hash_stably() {
        let a = generate("hk_");
        let b = generate("hk_");
        assert!(a.starts_with("hk_") && a.len() == 3 + 43, "{a}");
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
    }
}
