//! Who must act on an error: the one classification every vigie error enum maps onto, so
//! that a user's mistake is never retried as if the network had failed, and a bug is never
//! blamed on the configuration.

use std::fmt;

/// Who must act on an error, and whether trying again can help.
///
/// Each library error enum has a `kind()` method; wrappers (`From` conversions) keep the
/// kind of what they wrap, so a configuration error stays [`ErrorKind::User`] from the
/// loader up to the scheduler and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The user's input is wrong (a pipeline, source or catalogue file, a command-line
    /// value): the message names what to fix; running again unchanged fails again.
    User,
    /// A partner's data cannot be used as sent (the file is rejected or held, the results
    /// cannot be computed from it): the partner or a person looking at the data must act.
    Data,
    /// The environment failed (storage, network, permissions, a full disk, a missing key
    /// variable, another process holding the warehouse): it may pass by itself, so a
    /// scheduler may try again.
    Environment,
    /// A bug in vigie: please report it with the message.
    Bug,
}

impl ErrorKind {
    /// Whether running again unchanged may succeed (only environment failures may pass).
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Environment)
    }

    /// What the operator should do, in French and English.
    pub fn advice(self) -> &'static str {
        match self {
            ErrorKind::User => {
                "fix the configuration or the command line named above / corrigez la configuration ou la ligne de commande indiquée ci-dessus"
            }
            ErrorKind::Data => {
                "the data cannot be used as sent: check the partner's file / les données sont inutilisables telles quelles : vérifiez le fichier du partenaire"
            }
            ErrorKind::Environment => {
                "storage, network, key or lock: check the environment, then run again / stockage, réseau, clé ou verrou : vérifiez l'environnement puis relancez"
            }
            ErrorKind::Bug => {
                "this is a bug in vigie: please report it with the message above / anomalie de vigie : signalez-la avec le message ci-dessus"
            }
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::User => "user",
            ErrorKind::Data => "data",
            ErrorKind::Environment => "environment",
            ErrorKind::Bug => "bug",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_environment_failures_are_transient() {
        assert!(ErrorKind::Environment.is_transient());
        for k in [ErrorKind::User, ErrorKind::Data, ErrorKind::Bug] {
            assert!(!k.is_transient(), "{k}");
        }
    }
}
