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
use crate::model::Model;
use crate::pathway::{self, Contact, Referral};
use crate::utilisation::{Admission, EdVisit, Hospital};
use crate::{
    Enrolment, FileSummary, Person, PersonHistory, Simulator, SurveyResponse, SynthError,
    SynthSummary, Totals,
};

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
    contacts: Vec<(String, FileStats)>,
    referrals: (String, FileStats),
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
    let cfg = &sim.model.cfg;
    let lo = chunk * cfg.chunk_size;
    let hi = (lo + cfg.chunk_size).min(cfg.persons);
    let mut rows = ChunkRows::new(&sim.model);
    for index in lo..hi {
        rows.add_person(index, sim.person(index));
    }
    rows.finish(hi.saturating_sub(lo))
}

/// The rows of one chunk as they are encoded, per output file, with their
/// counters.
struct ChunkRows<'a> {
    model: &'a Model,
    registry: (String, FileStats),
    /// One per month of the horizon.
    hospital_a: Vec<(String, FileStats)>,
    /// One per month of the horizon (encoded to Windows-1252 at the end).
    hopital_b: Vec<(String, FileStats)>,
    programme: (String, FileStats),
    surveys: Vec<SurveyRow>,
    /// One per month of the horizon (empty without the pathway).
    contacts: Vec<(String, FileStats)>,
    referrals: (String, FileStats),
    totals: Totals,
}

impl<'a> ChunkRows<'a> {
    fn new(model: &'a Model) -> Self {
        let months = model.horizon.months();
        ChunkRows {
            model,
            registry: (String::new(), FileStats::default()),
            hospital_a: vec![(String::new(), FileStats::default()); months],
            hopital_b: vec![(String::new(), FileStats::default()); months],
            programme: (String::new(), FileStats::default()),
            surveys: Vec::new(),
            contacts: vec![(String::new(), FileStats::default()); months],
            referrals: (String::new(), FileStats::default()),
            totals: Totals::default(),
        }
    }

    /// Whether row (`kind`, person `index`, `ordinal`) is written corrupted.
    fn bad(&self, kind: RowKind, index: u64, ordinal: u64, allowed: &[Corruption]) -> Option<Bad> {
        let cfg = &self.model.cfg;
        decide(cfg.seed, cfg.bad_row_rate, kind, index, ordinal, allowed)
    }

    /// Encodes every row of person `index` and counts them.
    fn add_person(&mut self, index: u64, history: PersonHistory) {
        let PersonHistory {
            person: p,
            ed_visits,
            admissions,
            eligibility,
            enrolment,
            surveys: responses,
            contacts,
            referrals,
        } = history;
        self.totals.persons += 1;
        self.totals.deaths += u64::from(p.death_date.is_some());
        self.totals.eligible += u64::from(eligibility.is_some());

        self.add_registry_row(index, &p);
        self.add_event_rows(index, &p.hcn, &ed_visits, &admissions);
        if let Some(e) = &enrolment {
            self.add_enrolment_row(index, &p, e);
        }
        for r in &responses {
            self.add_survey_row(index, &p, r);
        }
        self.add_pathway_rows(index, &p.hcn, &contacts, &referrals);
    }

    /// The person's contacts, each in the file of its month, and referrals.
    fn add_pathway_rows(
        &mut self,
        index: u64,
        hcn: &str,
        contacts: &[Contact],
        referrals: &[Referral],
    ) {
        let seed = self.model.cfg.seed;
        for (ordinal, c) in contacts.iter().enumerate() {
            let Some(m) = self.model.horizon.month_index(c.date) else {
                continue;
            };
            self.totals.contacts += 1;
            let bad = self.bad(
                RowKind::Contact,
                index,
                ordinal as u64,
                &layouts::CONTACT_BAD,
            );
            let id = c
                .referral
                .and_then(|r| referrals.get(r))
                .map(|r| pathway::referral_id(seed, index, r.ordinal));
            layouts::contact_row(&mut self.contacts[m].0, hcn, c, id.as_deref(), bad);
            self.contacts[m].1.count(bad);
        }
        for r in referrals {
            self.totals.referrals += 1;
            let bad = self.bad(
                RowKind::Referral,
                index,
                u64::from(r.ordinal),
                &layouts::REFERRAL_BAD,
            );
            let id = pathway::referral_id(seed, index, r.ordinal);
            layouts::referral_row(&mut self.referrals.0, &id, hcn, r, bad);
            self.referrals.1.count(bad);
        }
    }

    fn add_registry_row(&mut self, index: u64, p: &Person) {
        let allowed: &[Corruption] = if p.death_date.is_some() {
            &layouts::REGISTRY_BAD_DEAD
        } else {
            &layouts::REGISTRY_BAD
        };
        let bad = self.bad(RowKind::Registry, index, 0, allowed);
        layouts::registry_row(&mut self.registry.0, p, bad);
        self.registry.1.count(bad);
    }

    /// Writes the kept ED visits and admissions merged in date order (ED
    /// first on ties), each into the file of its month.
    fn add_event_rows(
        &mut self,
        index: u64,
        hcn: &str,
        ed_visits: &[EdVisit],
        admissions: &[Admission],
    ) {
        let (mut i, mut j) = (0, 0);
        while i < ed_visits.len() || j < admissions.len() {
            let take_ed = j >= admissions.len()
                || (i < ed_visits.len() && ed_visits[i].arrival <= admissions[j].admit);
            if take_ed {
                self.add_ed_visit_row(index, hcn, &ed_visits[i]);
                i += 1;
            } else {
                self.add_stay_row(index, hcn, &admissions[j]);
                j += 1;
            }
        }
    }

    fn add_ed_visit_row(&mut self, index: u64, hcn: &str, v: &EdVisit) {
        if !v.kept {
            self.totals.averted_ed_visits += 1;
            return;
        }
        self.totals.ed_visits += 1;
        let Some(m) = self.model.horizon.month_index(v.arrival) else {
            return;
        };
        let bad = self.bad(
            RowKind::EdVisit,
            index,
            u64::from(v.ordinal),
            &layouts::ED_BAD,
        );
        match v.hospital {
            Hospital::A => {
                layouts::hospital_a_row(&mut self.hospital_a[m].0, hcn, v, bad);
                self.hospital_a[m].1.count(bad);
            }
            Hospital::B => {
                layouts::hopital_b_urg_row(&mut self.hopital_b[m].0, hcn, v, bad);
                self.hopital_b[m].1.count(bad);
            }
        }
    }

    fn add_stay_row(&mut self, index: u64, hcn: &str, a: &Admission) {
        if !a.kept {
            self.totals.averted_admissions += 1;
            return;
        }
        self.totals.admissions += 1;
        let Some(m) = self.model.horizon.month_index(a.admit) else {
            return;
        };
        let bad = self.bad(
            RowKind::Stay,
            index,
            u64::from(a.ordinal),
            &layouts::STAY_BAD,
        );
        layouts::hopital_b_hosp_row(&mut self.hopital_b[m].0, hcn, a, bad);
        self.hopital_b[m].1.count(bad);
    }

    fn add_enrolment_row(&mut self, index: u64, p: &Person, e: &Enrolment) {
        self.totals.enrolled += 1;
        let bad = self.bad(RowKind::Enrolment, index, 0, &layouts::ENROLMENT_BAD);
        layouts::enrolment_row(&mut self.programme.0, p, e, bad);
        self.programme.1.count(bad);
    }

    /// Encodes a survey row but its response id, given when the chunks are
    /// written in order.
    fn add_survey_row(&mut self, index: u64, p: &Person, r: &SurveyResponse) {
        self.totals.survey_responses += 1;
        let allowed: &[Corruption] = if r.anonymous {
            &layouts::SURVEY_BAD_ANONYMOUS
        } else {
            &layouts::SURVEY_BAD
        };
        let bad = self.bad(RowKind::Survey, index, r.quarter as u64, allowed);
        let mut tail = String::with_capacity(96);
        layouts::survey_row_tail(&mut tail, p, r, bad);
        self.surveys.push(SurveyRow {
            quarter: r.quarter,
            tail,
            bad,
        });
    }

    fn finish(self, persons: u64) -> ChunkOut {
        ChunkOut {
            persons,
            registry: self.registry,
            hospital_a: self.hospital_a,
            hopital_b: self
                .hopital_b
                .into_iter()
                .map(|(s, st)| (layouts::encode_1252(&s), st))
                .collect(),
            programme: self.programme,
            surveys: self.surveys,
            contacts: self.contacts,
            referrals: self.referrals,
            totals: self.totals,
        }
    }
}

/// The area reference extract `reference/area_deprivation.csv`: the deprivation quintile of
/// each of the region's areas (`area,deprivation_quintile`; 1 = most deprived), as a
/// provincial deprivation index is published by dissemination area.
fn write_area_deprivation(out_dir: &Path) -> Result<(), SynthError> {
    let dir = out_dir.join(layouts::AREA_DIR);
    fs::create_dir_all(&dir).map_err(|e| SynthError::io(&dir, e))?;
    let mut text = String::from("area,deprivation_quintile\n");
    for area in 1..=crate::population::AREAS {
        text.push_str(&format!(
            "A{area:02},{}\n",
            crate::population::deprivation_quintile(area)
        ));
    }
    let path = dir.join(layouts::AREA_DEPRIVATION_FILE);
    fs::write(&path, text).map_err(|e| SynthError::io(&path, e))
}

/// Generates the whole region under `out_dir`.
pub(crate) fn run(
    sim: &Simulator,
    out_dir: &Path,
    progress: &dyn Fn(u64),
) -> Result<SynthSummary, SynthError> {
    let model = &sim.model;
    let h = &model.horizon;
    let pathway = model.cfg.pathway;
    for source in Source::ALL
        .into_iter()
        .filter(|s| pathway || !s.is_pathway())
    {
        let dir = out_dir.join(source.dir());
        fs::create_dir_all(&dir).map_err(|e| SynthError::io(&dir, e))?;
    }
    write_area_deprivation(out_dir)?;
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
    let mut contacts = if pathway {
        (0..h.months())
            .map(|m| {
                Sink::create(
                    out_dir,
                    Source::Contacts,
                    &layouts::contacts_file(h.month_start(m)),
                )
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let mut referrals = if pathway {
        Some(Sink::create(
            out_dir,
            Source::Referrals,
            layouts::REFERRALS_FILE,
        )?)
    } else {
        None
    };

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
            for (sink, (text, stats)) in contacts.iter_mut().zip(&out.contacts) {
                sink.write(text.as_bytes())?;
                sink.stats.add(stats);
            }
            if let Some(sink) = referrals.as_mut() {
                sink.write(out.referrals.0.as_bytes())?;
                sink.stats.add(&out.referrals.1);
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
    for sink in sondage.into_iter().chain(contacts).chain(referrals) {
        files.push(sink.finish()?);
    }
    Ok(SynthSummary { files, totals })
}
