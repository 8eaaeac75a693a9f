//! One module per subcommand.

pub mod compute;
pub mod demo;
pub mod export;
pub mod ingest;
pub mod query;
pub mod report;
pub mod serve;
pub mod synth;
pub mod validate;
