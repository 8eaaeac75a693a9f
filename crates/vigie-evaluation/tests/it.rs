//! Integration tests of the evaluation: one test binary (each extra one relinks), a module
//! per area.

mod common;
mod determinism;
mod fixtures;
mod synthetic;
