//! One module per subcommand.

pub mod compute;
pub mod demo;
pub mod ingest;
pub mod query;
pub mod synth;
pub mod validate;
