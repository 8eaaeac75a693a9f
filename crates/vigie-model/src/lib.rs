//! The vocabulary every other vigie crate shares: canonical entities as Arrow schemas,
//! pipeline and partner-source configuration with file/line/key errors, declared identifier
//! formats and the detection of identifiers in text, and the pseudonymisation key.

pub mod config;
pub mod entity;
pub mod error;
pub mod identifier;
pub mod kind;
pub mod locate;
pub mod person_number;
pub mod pseudonym;

pub use entity::{EVENT_MONTH, Entity, FieldDef, FieldType, PROVENANCE_FIELDS, quarantine_schema};
pub use error::{ConfigError, ConfigProblem};
pub use identifier::{IdCheck, IdProblem, IdScheme, IdentifierDetector};
pub use kind::ErrorKind;
pub use person_number::{
    NewNumbers, PERSON_NUMBER, PersonNumberError, PersonNumbers, StoredNumbers,
    person_number_schema, pseudonym_bytes,
};
pub use pseudonym::{KeySource, PseudonymKey};
/// The languages vigie writes for people, defined (and parsed) once in the disclosure crate,
/// which every output depends on.
pub use vigie_disclosure::{Lang, UnknownLang};
