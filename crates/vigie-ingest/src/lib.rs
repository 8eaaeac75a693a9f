//! Turns one partner extract into canonical Arrow batches and quarantine rows.
//!
//! For each file: decode the text (encoding, BOM, dialect), check the header, then map every
//! record through the source spec (renames, formats, code lists, split, unpivot), validate it,
//! pseudonymise its identifiers, and either accept it into the batches of its entity or reject
//! it with file, line, column and reason. Rows accepted + rows rejected = rows read, always.
//! A file that cannot be read as a whole (wrong header, undecodable bytes, truncated record)
//! is rejected whole with the line at fault; so is one that is not CSV text or is hostile
//! (compressed, UTF-16, NUL bytes, a second byte-order mark, an oversized record or header,
//! a quoted line break the source does not allow), detected cheaply in bounded memory
//! (see `hostile`).

mod batch;
mod chunked;
mod compile;
mod convert;
pub mod dedup;
mod error;
mod file;
mod hostile;
pub mod luhn;
pub mod plausible;
mod quarantine;
mod read;
mod reidentify;
pub mod scan;
mod survey;
mod value;

pub use batch::{EntityBatches, EntityData};
pub use chunked::{DEFAULT_PART_BYTES, reads_in_parts};
pub use error::{FileFailure, FileRejection};
pub use file::{FileContext, FileOutcome, ingest_file, ingest_scanned};
pub use quarantine::{QuarantineRow, quarantine_batch};
pub use reidentify::person_identifiers;
pub use value::Value;

#[cfg(test)]
mod chunked_tests;
#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod survey_tests;
