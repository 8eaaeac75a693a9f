//! Writes a region: persons are simulated in chunks in parallel (rayon), and
//! the chunks' encoded rows are appended to the open partner files in chunk
//! order, so memory stays bounded and output does not depend on the number of
//! threads.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::corrupt::{Bad, Corruption, RowKind, decide};
use crate::layouts::{self, Source};
use crate::utilisation::Hospital;
use crate::{FileSummary, PersonHistory, Simulator, SynthError, SynthSummary, Totals};

/// Row counters of one file.
#[derive(Debug, Clone, Copy, Default)]
struct FileStats {
    rows: u64,
    bad: [u64; 5],
}

impl FileStats {
    fn count(&mut self, bad: Option<Bad>) {
        self.rows += 1;
        if let Some(b) = bad {
            self.bad[b.kind.index()] += 1;
        }
    }

    fn add(&mut self, other: &FileStats) {
        self.rows += other.rows;
        for (a, b) in self.bad.iter_mut().zip(other.bad) {
            *a += b;
        }
    }
}

/// A survey row waiting for its global response id.
struct SurveyRow {
    quarter: usize,
    tail: String,
    bad: Option<Bad>,
}

/// Encoded output of one chunk of persons.
struct ChunkOut {
    persons: u64,
    registry: (String, FileStats),
    hospital_a: Vec<(String, FileStats)>,
    hopital_b: Vec<(Vec<u8>, FileStats)>,
    programme: (String, FileStats),
    surveys: Vec<SurveyRow>,
    totals: Totals,
}

/// One open output file.
struct Sink {
    source: Source,
    rel: PathBuf,
    path: PathBuf,
    out: BufWriter<File>,
    stats: FileStats,
}

impl Sink {
    fn create(out_dir: &Path, source: Source, name: &str) -> Result<Sink, SynthError> {
        let rel = Path::new(source.dir()).join(name);
        let path = out_dir.join(&rel);
        let file = File::create(&path).map_err(|e| SynthError::io(&path, e))?;
        let mut sink = Sink {
            source,
            rel,
            path,
            out: BufWriter::with_capacity(1 << 16, file),
            stats: FileStats::default(),
        };
        sink.write(&source.header_bytes())?;
        Ok(sink)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SynthError> {
        self.out
            .write_all(bytes)
            .map_err(|e| SynthError::io(&self.path, e))
    }

    fn finish(mut self) -> Result<FileSummary, SynthError> {
        self.out
            .flush()
            .map_err(|e| SynthError::io(&self.path, e))?;
        let bad_rows: BTreeMap<Corruption, u64> = Corruption::ALL
            .iter()
            .zip(self.stats.bad)
            .filter(|(_, n)| *n > 0)
            .map(|(&k, n)| (k, n))
            .collect();
        Ok(FileSummary {
            source: self.source,
            path: self.rel,
            rows: self.stats.rows,
            bad_rows,
        })
    }
}

/// Simulates and encodes persons `[chunk * chunk_size, ...)`.
fn simulate_chunk(sim: &Simulator, chunk: u64) -> ChunkOut {
    let model = &sim.model;
    let cfg = &model.cfg;
    let (seed, rate) = (cfg.seed, cfg.bad_row_rate);
    let lo = chunk * cfg.chunk_size;
    let hi = (lo + cfg.chunk_size).min(cfg.persons);
    let months = model.horizon.months();
    let mut registry = (String::new(), FileStats::default());
    let mut hospital_a = vec![(String::new(), FileStats::default()); months];
    let mut hopital_b = vec![(String::new(), FileStats::default()); months];
    let mut programme = (String::new(), FileStats::default());
    let mut surveys = Vec::new();
    let mut totals = Totals::default();

    for index in lo..hi {
        let PersonHistory {
            person: p,
            ed_visits,
            admissions,
            eligibility,
            enrolment,
            surveys: responses,
        } = sim.person(index);
        totals.persons += 1;
        totals.deaths += u64::from(p.death_date.is_some());
        totals.eligible += u64::from(eligibility.is_some());

        let allowed: &[Corruption] = if p.death_date.is_some() {
            &layouts::REGISTRY_BAD_DEAD
        } else {
            &layouts::REGISTRY_BAD
        };
        let bad = decide(seed, rate, RowKind::Registry, index, 0, allowed);
        layouts::registry_row(&mut registry.0, &p, bad);
        registry.1.count(bad);

        // Merge ED visits and admissions in date order (ED first on ties).
        let (mut i, mut j) = (0, 0);
        while i < ed_visits.len() || j < admissions.len() {
            let take_ed = j >= admissions.len()
                || (i < ed_visits.len() && ed_visits[i].arrival <= admissions[j].admit);
            if take_ed {
                let v = &ed_visits[i];
                i += 1;
                if !v.kept {
                    totals.averted_ed_visits += 1;
                    continue;
                }
                totals.ed_visits += 1;
                let Some(m) = model.horizon.month_index(v.arrival) else {
                    continue;
                };
                let bad = decide(
                    seed,
                    rate,
                    RowKind::EdVisit,
                    index,
                    u64::from(v.ordinal),
                    &layouts::ED_BAD,
                );
                match v.hospital {
                    Hospital::A => {
                        layouts::hospital_a_row(&mut hospital_a[m].0, &p.hcn, v, bad);
                        hospital_a[m].1.count(bad);
                    }
                    Hospital::B => {
                        layouts::hopital_b_urg_row(&mut hopital_b[m].0, &p.hcn, v, bad);
                        hopital_b[m].1.count(bad);
                    }
                }
            } else {
                let a = &admissions[j];
                j += 1;
                if !a.kept {
                    totals.averted_admissions += 1;
                    continue;
                }
                totals.admissions += 1;
                let Some(m) = model.horizon.month_index(a.admit) else {
                    continue;
                };
                let bad = decide(
                    seed,
                    rate,
                    RowKind::Stay,
                    index,
                    u64::from(a.ordinal),
                    &layouts::STAY_BAD,
                );
                layouts::hopital_b_hosp_row(&mut hopital_b[m].0, &p.hcn, a, bad);
                hopital_b[m].1.count(bad);
            }
        }

        if let Some(e) = &enrolment {
            totals.enrolled += 1;
            let bad = decide(
                seed,
                rate,
                RowKind::Enrolment,
                index,
                0,
                &layouts::ENROLMENT_BAD,
            );
            layouts::enrolment_row(&mut programme.0, &p, e, bad);
            programme.1.count(bad);
        }

        for r in &responses {
            totals.survey_responses += 1;
            let allowed: &[Corruption] = if r.anonymous {
                &layouts::SURVEY_BAD_ANONYMOUS
            } else {
                &layouts::SURVEY_BAD
            };
            let bad = decide(
                seed,
                rate,
                RowKind::Survey,
                index,
                r.quarter as u64,
                allowed,
            );
            let mut tail = String::with_capacity(96);
            layouts::survey_row_tail(&mut tail, &p, r, bad);
            surveys.push(SurveyRow {
                quarter: r.quarter,
                tail,
                bad,
            });
        }
    }

    ChunkOut {
        persons: hi.saturating_sub(lo),
        registry,
        hospital_a,
        hopital_b: hopital_b
            .into_iter()
            .map(|(s, st)| (layouts::encode_1252(&s), st))
            .collect(),
        programme,
        surveys,
        totals,
    }
}

/// Generates the whole region under `out_dir`.
pub(crate) fn run(
    sim: &Simulator,
    out_dir: &Path,
    progress: &dyn Fn(u64),
) -> Result<SynthSummary, SynthError> {
    let model = &sim.model;
    let h = &model.horizon;
    for source in Source::ALL {
        let dir = out_dir.join(source.dir());
        fs::create_dir_all(&dir).map_err(|e| SynthError::io(&dir, e))?;
    }
    let mut registry = Sink::create(out_dir, Source::Registry, layouts::REGISTRY_FILE)?;
    let mut hospital_a = (0..h.months())
        .map(|m| {
            Sink::create(
                out_dir,
                Source::HospitalA,
                &layouts::hospital_a_file(h.month_start(m)),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut hopital_b = (0..h.months())
        .map(|m| {
            Sink::create(
                out_dir,
                Source::HopitalB,
                &layouts::hopital_b_file(h.month_start(m)),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut programme = Sink::create(out_dir, Source::Programme, layouts::PROGRAMME_FILE)?;
    let mut sondage = h
        .quarters()
        .into_iter()
        .map(|(y, q)| Sink::create(out_dir, Source::Sondage, &layouts::survey_file(y, q)))
        .collect::<Result<Vec<_>, _>>()?;

    let cfg = &model.cfg;
    let chunks = cfg.persons.div_ceil(cfg.chunk_size);
    let batch = (rayon::current_num_threads().max(1) * 2) as u64;
    let mut totals = Totals::default();
    let mut next_response: u64 = 1;
    let mut done: u64 = 0;
    let mut first = 0;
    while first < chunks {
        let last = (first + batch).min(chunks);
        let outs: Vec<ChunkOut> = (first..last)
            .into_par_iter()
            .map(|c| simulate_chunk(sim, c))
            .collect();
        for out in outs {
            registry.write(out.registry.0.as_bytes())?;
            registry.stats.add(&out.registry.1);
            for (sink, (text, stats)) in hospital_a.iter_mut().zip(&out.hospital_a) {
                sink.write(text.as_bytes())?;
                sink.stats.add(stats);
            }
            for (sink, (bytes, stats)) in hopital_b.iter_mut().zip(&out.hopital_b) {
                sink.write(bytes)?;
                sink.stats.add(stats);
            }
            programme.write(out.programme.0.as_bytes())?;
            programme.stats.add(&out.programme.1);
            for row in &out.surveys {
                let sink = &mut sondage[row.quarter];
                let id = format!("R{next_response:06},");
                next_response += 1;
                sink.write(id.as_bytes())?;
                sink.write(row.tail.as_bytes())?;
                sink.stats.count(row.bad);
            }
            totals.add(&out.totals);
            done += out.persons;
        }
        progress(done);
        first = last;
    }

    let mut files = vec![registry.finish()?];
    for sink in hospital_a.into_iter().chain(hopital_b) {
        files.push(sink.finish()?);
    }
    files.push(programme.finish()?);
    for sink in sondage {
        files.push(sink.finish()?);
    }
    Ok(SynthSummary { files, totals })
}
