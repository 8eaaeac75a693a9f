//! Pseudonymisation of person identifiers with keyed HMAC-SHA256.
//!
//! The raw identifier exists only in memory during ingest; the warehouse stores the
//! lowercase hex HMAC of its normalised form. The key comes from the deployment (an
//! environment variable or a key file); demo mode uses a labelled, public demo key.

use std::fmt;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The public key used by demo pipelines on synthetic data. Never use it on real data.
const DEMO_KEY: &[u8] = b"vigie DEMO key - synthetic data only - never use on real data";

/// Minimum key length in bytes: HMAC-SHA256 keys shorter than the hash add no security.
pub const MIN_KEY_BYTES: usize = 32;

/// Where a pipeline's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The value of an environment variable.
    Env(String),
    /// The contents of a file (trailing newline ignored).
    File(PathBuf),
    /// The public demo key (demo pipelines on synthetic data only).
    Demo,
}

/// Why a key could not be obtained. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is not set.
    #[error(
        "the pseudonymisation key variable {0} is not set: export it (at least {MIN_KEY_BYTES} bytes, e.g. `openssl rand -hex 32`) or set `key: {{ file: ... }}` in the pipeline"
    )]
    MissingEnv(String),
    /// The key file could not be read.
    #[error("cannot read the pseudonymisation key file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key is too short.
    #[error(
        "the pseudonymisation key from {0} is shorter than {MIN_KEY_BYTES} bytes: generate one with `openssl rand -hex 32`"
    )]
    TooShort(String),
}

impl KeyError {
    /// A variable that is not set or a key that is too short is the operator's to fix; a
    /// key file that cannot be read is the environment's (a secret not mounted yet).
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            KeyError::MissingEnv(_) | KeyError::TooShort(_) => crate::ErrorKind::User,
            KeyError::File { .. } => crate::ErrorKind::Environment,
        }
    }
}

/// A loaded HMAC key.
#[derive(Clone)]
pub struct PseudonymKey {
    mac: Hmac<Sha256>,
    demo: bool,
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

impl PseudonymKey {
    /// Loads the key from its source.
    pub fn load(source: &KeySource) -> Result<Self, KeyError> {
        match source {
            KeySource::Demo => Ok(Self::from_bytes(DEMO_KEY, true)),
            KeySource::Env(var) => {
                let value = std::env::var(var).map_err(|_| KeyError::MissingEnv(var.clone()))?;
                Self::checked(value.trim().as_bytes(), &format!("${var}"))
            }
            KeySource::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| KeyError::File {
                    path: path.clone(),
                    source,
                })?;
                let text = String::from_utf8_lossy(&bytes);
                Self::checked(
                    text.trim_end_matches(['\n', '\r']).as_bytes(),
                    &path.display().to_string(),
                )
            }
        }
    }

    fn checked(bytes: &[u8], origin: &str) -> Result<Self, KeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(origin.to_string()));
        }
        Ok(Self::from_bytes(bytes, false))
    }

    fn from_bytes(bytes: &[u8], demo: bool) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        PseudonymKey { mac, demo }
    }

    /// Whether this is the public demo key.
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// The pseudonymous key of a raw identifier: hex HMAC-SHA256 of its normalised form
    /// (spaces and dashes removed, upper case), so `1234-567-890` and `1234567890` agree.
    pub fn pseudonymise(&self, raw: &str) -> String {
        let mut mac = self.mac.clone();
        // Most identifiers are already normal (digits, upper-case letters): hash them as
        // they are, without building a normalised copy.
        if raw
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            mac.update(raw.as_bytes());
        } else {
            let normalised: String = raw
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .flat_map(char::to_uppercase)
                .collect();
            mac.update(normalised.as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        let mut out = [0u8; 64];
        // `from_utf8` checks 64 ASCII digits in a few instructions; the lossy form's
        // chunk-by-chunk scan was 0.8% of a province load's CPU.
        match hex::encode_to_slice(digest, &mut out) {
            Ok(()) => String::from_utf8(out.to_vec()).unwrap_or_else(|_| hex::encode(digest)),
            // 32 bytes always fill 64 digits; the allocating form is the safe fallback.
            Err(_) => hex::encode(digest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2_matches() {
        // RFC 4231 test case 2 uses a short key ("Jefe"); from_bytes skips the length check.
        let key = PseudonymKey::from_bytes(b"Jefe", false);
        let mut mac = key.mac.clone();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn normalisation_and_key_separation() {
        let a = PseudonymKey::from_bytes(&[7u8; 32], false);
        let b = PseudonymKey::from_bytes(&[8u8; 32], false);
        assert_eq!(a.pseudonymise("1234-567 890"), a.pseudonymise("1234567890"));
        assert_ne!(a.pseudonymise("1234567890"), b.pseudonymise("1234567890"));
        assert_eq!(a.pseudonymise("x").len(), 64);
    }

    #[test]
    fn short_or_missing_keys_are_refused() {
        assert!(matches!(
            PseudonymKey::load(&KeySource::Env("VIGIE_TEST_KEY_THAT_IS_NOT_SET".into())),
            Err(KeyError::MissingEnv(_))
        ));
        assert!(matches!(
            PseudonymKey::checked(b"short", "x"),
            Err(KeyError::TooShort(_))
        ));
        assert!(PseudonymKey::load(&KeySource::Demo).is_ok_and(|k| k.is_demo()));
    }
}
