//! Benchmark: generating a 200 000-person region, timed and printed
//! (`cargo bench -p vigie-synth`). A benchmark, not a test: `cargo test` neither builds
//! nor runs it. (That progress is reported in order up to every person is a test, on a
//! small region, in tests/region.rs.)

use std::time::Instant;

use vigie_synth::{Source, SynthConfig, generate};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let cfg = SynthConfig {
        persons: 200_000,
        ..SynthConfig::default()
    };
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let summary = generate(&cfg, dir.path())?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "200k persons in {secs:.2}s ({:.0} persons/s); rows: {:?}",
        cfg.persons as f64 / secs,
        Source::ALL.map(|s| summary.rows(s))
    );
    Ok(())
}
