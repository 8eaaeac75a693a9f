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
        "the pseudonymisation key variable {} is not set: export it (at least {MIN_KEY_BYTES} bytes, e.g. `openssl rand -hex 32`) or set `key: {{ file: ... }}` in the pipeline / la variable de la clé de pseudonymisation {} n'est pas définie : exportez-la (au moins {MIN_KEY_BYTES} octets, p. ex. `openssl rand -hex 32`) ou indiquez `key: {{ file: ... }}` dans le pipeline",
        shown_variable(.0), shown_variable(.0)
    )]
    MissingEnv(String),
    /// The key file could not be read.
    #[error(
        "cannot read the pseudonymisation key file {}: {source}",
        shown_key_path(path)
    )]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key is too short.
    #[error(
        "the pseudonymisation key from {0} is shorter than {MIN_KEY_BYTES} bytes: generate one with `openssl rand -hex 32` / la clé de pseudonymisation de {0} fait moins de {MIN_KEY_BYTES} octets : générez-en une avec `openssl rand -hex 32`"
    )]
    TooShort(String),
    /// The key repeats too few characters to be a secret (a placeholder, spaces).
    #[error(
        "the pseudonymisation key from {0} has fewer than {MIN_DISTINCT_KEY_BYTES} different characters: it is a placeholder, not a secret; generate one with `openssl rand -hex 32` / la clé de pseudonymisation de {0} a moins de {MIN_DISTINCT_KEY_BYTES} caractères différents : c'est un gabarit, pas un secret ; générez-en une avec `openssl rand -hex 32`"
    )]
    TooWeak(String),
    /// The key file is not text: vigie reads it as text, and a binary key would lose bytes.
    #[error(
        "the pseudonymisation key file {0} is not UTF-8 text: vigie reads a key file as text (its final line break ignored); write one with `openssl rand -hex 32 > FILE` / le fichier de clé de pseudonymisation {0} n'est pas du texte UTF-8 : vigie lit une clé comme du texte (le saut de ligne final ignoré) ; écrivez-en une avec `openssl rand -hex 32 > FICHIER`"
    )]
    NotText(PathBuf),
    /// The key file's text starts or ends with spaces: an environment variable's would be
    /// trimmed, so the same key would give other pseudonyms from a file.
    #[error(
        "the pseudonymisation key in {0} starts or ends with spaces or tabs: remove them (a key given in an environment variable is trimmed, so the same key would give other pseudonyms from this file) / la clé de pseudonymisation de {0} commence ou finit par des espaces ou des tabulations : retirez-les (une clé donnée par variable d'environnement est rognée ; la même clé donnerait d'autres pseudonymes depuis ce fichier)"
    )]
    Padded(PathBuf),
}

/// Different characters a key must hold (a hex key of 64 digits holds about 16).
pub const MIN_DISTINCT_KEY_BYTES: usize = 8;

/// The path of a key file as shown in a message: not a long single word, which is rather the
/// key itself pasted where its file's path belongs.
fn shown_key_path(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    let word = !text.contains(['/', '\\', '.']);
    if word && text.len() >= MIN_KEY_BYTES {
        "(named in `key.file`; not shown: it does not look like a path and may be the key itself / nommé dans `key.file` ; non affiché : ce pourrait être la clé elle-même)".to_string()
    } else {
        text
    }
}

/// The name of a key variable as shown in a message: only a conventional name (capitals,
/// digits, underscores). Anything else may be the key itself, pasted where its variable's
/// name belongs, and is not repeated.
fn shown_variable(name: &str) -> String {
    let conventional = !name.is_empty()
        && name.len() < MIN_KEY_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if conventional {
        name.to_string()
    } else {
        "(named in `key.env`; not shown: it does not look like a variable name and may be the key itself / nommée dans `key.env` ; non affichée : ce n'est pas un nom de variable usuel, ce pourrait être la clé elle-même)".to_string()
    }
}

impl KeyError {
    /// A variable that is not set or a key that is too short is the operator's to fix; a
    /// key file that cannot be read is the environment's (a secret not mounted yet).
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            KeyError::MissingEnv(_)
            | KeyError::TooShort(_)
            | KeyError::TooWeak(_)
            | KeyError::NotText(_)
            | KeyError::Padded(_) => crate::ErrorKind::User,
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
                Self::from_variable(&value, &format!("${}", shown_variable(var)))
            }
            KeySource::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| KeyError::File {
                    path: path.clone(),
                    source,
                })?;
                // Read as text, as always (the pseudonyms of existing warehouses depend on
                // it): bytes that are not UTF-8 were replaced, which made distinct binary
                // keys one, so they are refused.
                let text =
                    std::str::from_utf8(&bytes).map_err(|_| KeyError::NotText(path.clone()))?;
                let key = text.trim_end_matches(['\n', '\r']);
                if key.trim() != key {
                    return Err(KeyError::Padded(path.clone()));
                }
                Self::checked(key.as_bytes(), &path.display().to_string())
            }
        }
    }

    /// The key an environment variable's `value` holds: trimmed.
    fn from_variable(value: &str, origin: &str) -> Result<Self, KeyError> {
        Self::checked(value.trim().as_bytes(), origin)
    }

    fn checked(bytes: &[u8], origin: &str) -> Result<Self, KeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(origin.to_string()));
        }
        let distinct = bytes
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if distinct < MIN_DISTINCT_KEY_BYTES {
            return Err(KeyError::TooWeak(origin.to_string()));
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
        assert!(matches!(
            PseudonymKey::checked(&[b' '; 40], "x"),
            Err(KeyError::TooWeak(_))
        ));
        assert!(matches!(
            PseudonymKey::checked(b"abababababababababababababababababab", "x"),
            Err(KeyError::TooWeak(_))
        ));
    }

    /// A key file is text: binary keys, which the lossy reading once made one key, and
    /// keys with spaces around them (trimmed from a variable) are refused; the final line
    /// break is not part of the key, and the same key gives the same pseudonyms from a
    /// file as from a variable.
    #[test]
    fn key_files_are_text_and_agree_with_variables() {
        let dir = tempfile::tempdir().expect("dir");
        let file = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            KeySource::File(path)
        };
        for (i, byte) in [0x80u8, 0xFF, 0xC3].into_iter().enumerate() {
            assert!(matches!(
                PseudonymKey::load(&file(&format!("bin{i}"), &[byte; 40])),
                Err(KeyError::NotText(_))
            ));
        }
        let hex = "3f9a0c1be27d54a8966e0fd1c2b3a4958677e8f9a0b1c2d3e4f5061728394a5b";
        for padded in [format!(" {hex}\n"), format!("{hex}\t\n"), format!("{hex} ")] {
            assert!(matches!(
                PseudonymKey::load(&file("padded", padded.as_bytes())),
                Err(KeyError::Padded(_))
            ));
        }
        let from_file =
            PseudonymKey::load(&file("key", format!("{hex}\r\n").as_bytes())).expect("a text key");
        let from_env =
            PseudonymKey::from_variable(&format!("  {hex}\n"), "$K").expect("a variable key");
        assert_eq!(
            from_file.pseudonymise("1234567890"),
            from_env.pseudonymise("1234567890")
        );
    }

    /// A key pasted where its variable's name or its file's path belongs is not repeated by
    /// the message.
    #[test]
    fn a_key_pasted_as_a_variable_name_is_not_shown() {
        let secret = "3f9a0c1be27d54a8966e0fd1c2b3a4958677e8f9a0b1c2d3e4f5061728394a5b";
        let message = KeyError::MissingEnv(secret.into()).to_string();
        assert!(!message.contains(secret), "{message}");
        assert!(!message.contains(&secret[..16]), "{message}");
        let Err(e) = PseudonymKey::load(&KeySource::File(secret.into())) else {
            panic!("no such file");
        };
        assert!(!e.to_string().contains(&secret[..16]), "{e}");
        let Err(e) = PseudonymKey::load(&KeySource::File("/etc/vigie/nowhere.key".into())) else {
            panic!("no such file");
        };
        assert!(e.to_string().contains("/etc/vigie/nowhere.key"), "{e}");
        let message = KeyError::MissingEnv("VIGIE_KEY".into()).to_string();
        assert!(message.contains("VIGIE_KEY"), "{message}");
    }
}
