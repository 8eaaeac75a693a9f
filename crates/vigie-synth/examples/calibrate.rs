//! Prints calibration statistics of the model and generates a region.
//!
//! `cargo run --release -p vigie-synth --example calibrate -- [persons] [out_dir]`

use std::time::Instant;

use chrono::Datelike;
use vigie_synth::{Simulator, SynthConfig, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let persons: u64 = args.next().map_or(Ok(20_000), |s| s.parse())?;
    let out = args.next();
    let cfg = SynthConfig {
        persons,
        ..SynthConfig::default()
    };
    let sim = Simulator::new(&cfg)?;
    let y0 = cfg.start.year();
    let (mut ed, mut adm, mut over5, mut elig, mut enrol) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut sel, mut sel_y2, mut sel_y3) = (0u64, 0u64, 0u64);
    let n = persons.min(200_000);
    for i in 0..n {
        let h = sim.person(i);
        let by_year = |y: i32| h.ed_visits.iter().filter(|v| v.arrival.year() == y).count() as u64;
        ed += h.ed_visits.iter().filter(|v| v.kept).count() as u64;
        adm += h.admissions.iter().filter(|a| a.kept).count() as u64;
        over5 += u64::from(by_year(y0) > 5);
        elig += u64::from(h.eligibility.is_some());
        enrol += u64::from(h.enrolment.is_some());
        if by_year(y0 + 1) >= 5 {
            sel += 1;
            sel_y2 += by_year(y0 + 1);
            sel_y3 += by_year(y0 + 2);
        }
    }
    let years = f64::from(cfg.months) / 12.0;
    println!(
        "ED/person-year {:.3}  adm/person-year {:.3}  >5 ED in year 1: {:.2}%  eligible {:.2}%  enrolled {:.2}%",
        ed as f64 / n as f64 / years,
        adm as f64 / n as f64 / years,
        100.0 * over5 as f64 / n as f64,
        100.0 * elig as f64 / n as f64,
        100.0 * enrol as f64 / n as f64,
    );
    println!(
        "selected (>=5 ED in year 2, candidate events): {sel}; mean year 2 {:.2}, year 3 {:.2}",
        sel_y2 as f64 / sel as f64,
        sel_y3 as f64 / sel as f64
    );
    if let Some(out) = out {
        let t = Instant::now();
        let s = generate(&cfg, std::path::Path::new(&out))?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "generated {persons} persons in {secs:.2}s ({:.0} persons/s)",
            persons as f64 / secs
        );
        println!("{:#?}", s.totals);
        for src in vigie_synth::Source::ALL {
            println!("{:?}: rows {} bad {}", src, s.rows(src), s.bad_rows(src));
        }
    }
    Ok(())
}
