//! Benchmark: the evaluation on a 200 000-person region, timed and printed
//! (`cargo bench -p vigie-evaluation`). The region is drawn with a tiny inline
//! generator rather than `vigie-synth`; the evaluation work is the same. A benchmark,
//! not a test: `cargo test` neither builds nor runs it.

use std::time::Instant;

use chrono::NaiveDate;
use vigie_evaluation::{
    Enrolment, EvaluationConfig, EventSeries, Events, Population, Sex, day_of, evaluate,
    first_eligibility_dates,
};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let n = 200_000u32;
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).ok_or("date")?;
    let end = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")?;
    let (s, e) = (day_of(start), day_of(end));
    let span = f64::from(e - s);
    let mut rng = Lcg(7);
    let t = Instant::now();
    let mut pop = Population::new();
    let (mut ed_p, mut ed_d, mut adm_p, mut adm_d) = (vec![], vec![], vec![], vec![]);
    let teams = ["T01", "T02", "T03", "T04", "T05", "T06"];
    for i in 0..n {
        let sex = if rng.next() < 0.5 { Sex::F } else { Sex::M };
        let team = teams[(rng.next() * 6.0) as usize % 6];
        pop.push(1925 + (rng.next() * 95.0) as i32, sex, Some(team), None);
        // 4 % high users (~6 ED visits / year), the rest ~0.3.
        let rate = if rng.next() < 0.04 { 6.0 } else { 0.3 };
        let k = (rate * 3.0 * (0.5 + rng.next())) as u32;
        for _ in 0..k {
            ed_p.push(i);
            ed_d.push(s + (rng.next() * span) as i32);
            if rng.next() < 0.25 {
                adm_p.push(i);
                adm_d.push(s + (rng.next() * span) as i32);
            }
        }
    }
    let events = Events::new(
        EventSeries::from_columns(n as usize, &ed_p, &ed_d)?,
        EventSeries::from_columns(n as usize, &adm_p, &adm_d)?,
    )?;
    println!(
        "generated {n} persons, {} ED visits, {} admissions in {:?}",
        events.ed.len(),
        events.admissions.len(),
        t.elapsed()
    );
    let mut cfg = EvaluationConfig::new(start, end);
    cfg.bootstrap.replicates = 500;
    let t = Instant::now();
    let elig = first_eligibility_dates(&pop, &events, &cfg)?;
    println!(
        "eligibility: {} eligible in {:?}",
        elig.n_eligible(),
        t.elapsed()
    );
    let enrolments: Vec<Enrolment> = elig
        .eligible()
        .filter(|_| rng.next() < 0.5)
        .filter_map(|(p, d)| {
            Some(Enrolment {
                person: p,
                program: "PSM".into(),
                team: pop.get(p)?.team.and_then(|t| pop.team_name(t))?.to_owned(),
                enrolment_date: vigie_evaluation::date_of(d + 20).ok()?,
            })
        })
        .collect();
    let en = vigie_evaluation::Enrolments::new(&enrolments, pop.len())?;
    let t = Instant::now();
    let naive = vigie_evaluation::naive_before_after(&pop, &events, &en, &cfg)?;
    println!("naive: {} estimates in {:?}", naive.len(), t.elapsed());
    let t = Instant::now();
    let cohort = vigie_evaluation::adjusted_cohort(&pop, &events, &en, &elig, "PSM", &cfg)?;
    println!("adjusted cohort in {:?}", t.elapsed());
    let t = Instant::now();
    let adj = vigie_evaluation::adjusted_estimates(&cohort, &cfg)?;
    println!("adjusted: {} estimates in {:?}", adj.len(), t.elapsed());
    let t = Instant::now();
    let res = evaluate(&pop, &events, &enrolments, &cfg)?;
    println!(
        "evaluate (case finding, naive, adjusted; {} replicates, 7 scopes x 2 outcomes): {:?}; cohort {:?}",
        cfg.bootstrap.replicates,
        t.elapsed(),
        res.adjusted[0].cohort
    );
    Ok(())
}
