//! Integration tests: one binary, one module per area (see DESIGN.md "Testing").

mod cli;
mod common;
mod export;
mod faults;
mod indicators;
mod ingest_guarantees;
mod interop;
mod maintain;
mod pathway;
mod person_numbers;
mod report;
mod serve;
mod survey;
mod worklist;
