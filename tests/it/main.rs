//! Integration tests: one binary, one module per area (see DESIGN.md "Testing").

mod cli;
mod common;
mod export;
mod faults;
mod indicators;
mod ingest_guarantees;
mod report;
mod serve;
