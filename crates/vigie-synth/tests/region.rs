//! End-to-end tests of generated regions: determinism, layouts, encodings,
//! row accounting, regression to the mean, the counterfactual property and
//! the eligibility rule.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate};
use tempfile::TempDir;
use vigie_synth::program::{ADMISSION_THRESHOLD, ED_THRESHOLD};
use vigie_synth::{
    Corruption, Simulator, Source, SynthConfig, SynthError, SynthSummary, generate,
    generate_with_progress, hcn_valid,
};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn small(seed: u64, persons: u64) -> SynthConfig {
    SynthConfig {
        seed,
        persons,
        chunk_size: 700,
        ..SynthConfig::default()
    }
}

fn gen_region(
    cfg: &SynthConfig,
) -> Result<(TempDir, SynthSummary), Box<dyn std::error::Error + Send + Sync>> {
    let dir = tempfile::tempdir()?;
    let summary = generate(cfg, dir.path())?;
    Ok((dir, summary))
}

/// All files under `dir`, relative path -> bytes.
fn read_tree(
    dir: &Path,
) -> Result<BTreeMap<String, Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = BTreeMap::new();
    for source in Source::ALL {
        let source_dir = dir.join(source.dir());
        if !source_dir.exists() {
            continue;
        }
        for entry in fs::read_dir(source_dir)? {
            let entry = entry?;
            let rel = format!("{}/{}", source.dir(), entry.file_name().to_string_lossy());
            out.insert(rel, fs::read(entry.path())?);
        }
    }
    Ok(out)
}

/// Decoded text of a file of `source`, BOM removed.
fn decode(source: Source, bytes: &[u8]) -> String {
    match source {
        Source::HopitalB => {
            let (text, had_errors) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            assert!(!had_errors);
            text.into_owned()
        }
        _ => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            String::from_utf8(bytes.to_vec()).expect("UTF-8 file")
        }
    }
}

/// Data records of a file (header checked and excluded); every record must
/// have as many fields as the header.
fn records(source: Source, bytes: &[u8]) -> Vec<Vec<String>> {
    let text = decode(source, bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(source.delimiter())
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header.join(&(source.delimiter() as char).to_string()),
        source.header()
    );
    rdr.records()
        .map(|r| {
            let r = r.expect("well-formed CSV record");
            assert_eq!(r.len(), header.len(), "field count");
            r.iter().map(str::to_owned).collect()
        })
        .collect()
}

fn source_of(rel: &str) -> Source {
    Source::ALL
        .into_iter()
        .find(|s| rel.starts_with(&format!("{}/", s.dir())))
        .expect("known source directory")
}

fn iso(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn fr(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%d/%m/%Y").ok()
}

fn triage_ok(s: &str) -> bool {
    matches!(s, "1" | "2" | "3" | "4" | "5")
}

/// Independent validation of one record: (row is valid, HCN is valid).
fn validate(source: Source, r: &[String]) -> (bool, bool) {
    match source {
        Source::Registry => {
            let hcn = hcn_valid(&r[0]);
            (hcn && (r[7].is_empty() || iso(&r[7]).is_some()), hcn)
        }
        Source::HospitalA => {
            let hcn = hcn_valid(&r[0]);
            (hcn && iso(&r[1]).is_some() && triage_ok(&r[4]), hcn)
        }
        Source::HopitalB => {
            let hcn = hcn_valid(&r[0]);
            let start = fr(&r[2]);
            let ok = match r[1].as_str() {
                "URG" => start.is_some() && triage_ok(&r[6]),
                "HOSP" => match (start, fr(&r[4])) {
                    (Some(s), Some(e)) => e >= s,
                    _ => false,
                },
                other => panic!("unknown TYPE_EPISODE {other}"),
            };
            (hcn && ok, hcn)
        }
        Source::Programme => {
            let hcn = hcn_valid(&r[0]);
            (hcn && iso(&r[5]).is_some(), hcn)
        }
        Source::Sondage => {
            let hcn = r[1].is_empty() || hcn_valid(&r[1]);
            (hcn && fr(&r[3]).is_some(), hcn)
        }
        Source::Contacts => {
            let hcn = hcn_valid(&r[0]);
            (hcn && compact(&r[1]).is_some(), hcn)
        }
        Source::Referrals => {
            let hcn = hcn_valid(&r[1]);
            (hcn && iso(&r[2]).is_some(), hcn)
        }
    }
}

fn compact(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// Events per HCN from the hospital files: (ED arrival dates, admission dates).
fn events(tree: &BTreeMap<String, Vec<u8>>) -> HashMap<String, (Vec<NaiveDate>, Vec<NaiveDate>)> {
    let mut out: HashMap<String, (Vec<NaiveDate>, Vec<NaiveDate>)> = HashMap::new();
    for (rel, bytes) in tree {
        let source = source_of(rel);
        for r in match source {
            Source::HospitalA | Source::HopitalB => records(source, bytes),
            _ => continue,
        } {
            let e = out.entry(r[0].clone()).or_default();
            match (source, r[1].as_str()) {
                (Source::HospitalA, _) => e.0.extend(iso(&r[1])),
                (_, "URG") => e.0.extend(fr(&r[2])),
                _ => e.1.extend(fr(&r[2])),
            }
        }
    }
    for e in out.values_mut() {
        e.0.sort_unstable();
        e.1.sort_unstable();
    }
    out
}

#[test]
fn same_seed_same_bytes_whatever_threads_and_chunks() -> TestResult {
    let cfg = small(11, 3000);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;
    let (a, sa) = one.install(|| gen_region(&cfg))?;
    let (b, sb) = two.install(|| gen_region(&cfg))?;
    let cfg_chunks = SynthConfig {
        chunk_size: 257,
        ..cfg.clone()
    };
    let (c, sc) = two.install(|| gen_region(&cfg_chunks))?;
    assert_eq!(sa, sb);
    assert_eq!(sa, sc);
    let (ta, tb, tc) = (
        read_tree(a.path())?,
        read_tree(b.path())?,
        read_tree(c.path())?,
    );
    assert_eq!(ta.len(), 1 + 36 + 36 + 1 + 12 + 36 + 1);
    assert!(ta == tb, "different thread counts gave different files");
    assert!(ta == tc, "different chunk sizes gave different files");

    let (d, _) = gen_region(&small(12, 3000))?;
    assert!(
        ta != read_tree(d.path())?,
        "a different seed should change the files"
    );
    Ok(())
}

#[test]
fn layouts_encodings_and_row_accounting() -> TestResult {
    // A high corruption rate so every kind occurs.
    let cfg = SynthConfig {
        bad_row_rate: 0.05,
        ..small(5, 2500)
    };
    let (dir, summary) = gen_region(&cfg)?;
    let tree = read_tree(dir.path())?;
    assert_eq!(summary.files.len(), tree.len());
    let mut kinds = BTreeMap::new();
    for f in &summary.files {
        let rel = f.path.to_string_lossy().replace('\\', "/");
        let bytes = tree.get(&rel).ok_or(format!("{rel} missing"))?;
        let source = source_of(&rel);
        assert_eq!(source, f.source);

        // Line endings and BOM.
        let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
        let lf = bytes.iter().filter(|&&b| b == b'\n').count();
        match source {
            Source::HospitalA => {
                assert!(
                    bytes.starts_with(b"\xEF\xBB\xBF\"HCN\",\"ARRIVAL_DATE\""),
                    "{rel}"
                );
                assert_eq!(crlf, lf, "{rel}: every line ends with CRLF");
            }
            Source::Referrals => assert_eq!(crlf, lf, "{rel}: every line ends with CRLF"),
            Source::HopitalB => {
                assert_eq!(crlf, lf, "{rel}: every line ends with CRLF");
                assert!(
                    std::str::from_utf8(bytes).is_err(),
                    "{rel} must not be UTF-8"
                );
                let text = decode(source, bytes);
                assert!(text.starts_with("NO_ASSURANCE_MALADIE;"));
                assert!(text.contains('É') && text.contains("Hôpital B - Site"));
            }
            _ => assert_eq!(crlf, 0, "{rel}: LF line endings"),
        }
        // Rows in the summary = lines in the file minus the header.
        assert_eq!(f.rows + 1, lf as u64, "{rel}");

        // Independent validation finds exactly the deliberately bad rows.
        let recs = records(source, bytes);
        assert_eq!(recs.len() as u64, f.rows, "{rel}");
        let (mut invalid, mut bad_hcn) = (0, 0);
        for r in &recs {
            let (ok, hcn_ok) = validate(source, r);
            invalid += u64::from(!ok);
            bad_hcn += u64::from(!hcn_ok);
        }
        assert_eq!(invalid, f.bad_row_count(), "{rel}: bad rows");
        assert_eq!(
            bad_hcn,
            f.bad_rows
                .get(&Corruption::InvalidHcn)
                .copied()
                .unwrap_or(0),
            "{rel}: only corrupted HCNs fail Luhn"
        );
        for (k, n) in &f.bad_rows {
            *kinds.entry(*k).or_insert(0u64) += n;
        }
    }
    assert_eq!(
        kinds.len(),
        Corruption::ALL.len(),
        "every kind occurs: {kinds:?}"
    );

    // Field contents of the hospital extracts.
    let a = records(Source::HospitalA, &tree["hospital_a/ed_visits_202403.csv"]);
    assert!(!a.is_empty());
    for r in &a {
        assert_eq!(r[2].len(), 4);
        assert!(r[3] == "HA-01" || r[3] == "HA-02");
        assert!(["01", "02", "03", "06", "10"].contains(&r[5].as_str()));
    }
    let raw = decode(Source::HospitalA, &tree["hospital_a/ed_visits_202403.csv"]);
    let first_row = raw.lines().nth(1).ok_or("no data row")?;
    assert!(first_row.starts_with('"') && first_row.split(',').all(|f| f.starts_with('"')));
    let mut b_types = BTreeMap::new();
    for (rel, bytes) in tree.iter().filter(|(k, _)| k.starts_with("hopital_b/")) {
        for r in records(Source::HopitalB, bytes) {
            *b_types.entry(r[1].clone()).or_insert(0) += 1;
            if r[1] == "HOSP" {
                assert!(r[3].is_empty());
                assert!(r[6] == "URGENT" || r[6] == "ÉLECTIF");
                assert!(
                    r[9].chars().all(|c| c.is_ascii_digit() || c == ','),
                    "{rel} {r:?}"
                );
                let nsa: f64 = r[9].replace(',', ".").parse()?;
                if let (Some(s), Some(e)) = (fr(&r[2]), fr(&r[4]))
                    && e >= s
                {
                    assert!(nsa <= (e - s).num_days() as f64);
                    assert!((e - s).num_days() <= 30);
                }
            } else {
                assert_eq!(r[3].len(), 4);
                assert!(r[9].is_empty());
            }
        }
    }
    assert!(b_types["URG"] > 0 && b_types["HOSP"] > 0);
    Ok(())
}

#[test]
fn regression_to_the_mean_without_program() -> TestResult {
    let cfg = SynthConfig {
        program_effect: 0.0,
        bad_row_rate: 0.0,
        ..small(21, 5000)
    };
    let (dir, _) = gen_region(&cfg)?;
    let ev = events(&read_tree(dir.path())?);
    let (mut n, mut y2, mut y3) = (0u64, 0u64, 0u64);
    for (ed, _) in ev.values() {
        let count = |y: i32| ed.iter().filter(|d| d.year() == y).count() as u64;
        if count(2024) >= 5 {
            n += 1;
            y2 += count(2024);
            y3 += count(2025);
        }
    }
    let (m2, m3) = (y2 as f64 / n as f64, y3 as f64 / n as f64);
    println!("{n} persons with >= 5 ED visits in 2024: mean {m2:.2} in 2024, {m3:.2} in 2025");
    assert!(n >= 20, "too few high users ({n})");
    assert!(
        m3 < 0.75 * m2,
        "no regression to the mean: {m2:.2} -> {m3:.2}"
    );
    Ok(())
}

#[test]
fn counterfactual_world_has_same_enrolments_and_more_events() -> TestResult {
    let with = small(33, 3000);
    let without = SynthConfig {
        program_effect: 0.0,
        ..with.clone()
    };
    let (dw, sw) = gen_region(&with)?;
    let (dn, sn) = gen_region(&without)?;
    let (tw, tn) = (read_tree(dw.path())?, read_tree(dn.path())?);
    assert_eq!(tw["registre/population.csv"], tn["registre/population.csv"]);
    assert_eq!(
        tw["programme/enrolments.csv"],
        tn["programme/enrolments.csv"]
    );
    assert!(
        sw.totals.enrolled > 20,
        "too few enrolments: {}",
        sw.totals.enrolled
    );
    assert_eq!(sw.totals.eligible, sn.totals.eligible);
    assert_eq!(
        sn.totals.averted_ed_visits + sn.totals.averted_admissions,
        0
    );
    assert!(sw.totals.averted_ed_visits > 0 && sw.totals.averted_admissions > 0);
    assert_eq!(
        sw.totals.ed_visits + sw.totals.averted_ed_visits,
        sn.totals.ed_visits
    );
    assert_eq!(
        sw.totals.admissions + sw.totals.averted_admissions,
        sn.totals.admissions
    );

    // Every hospital row of the program world is a row of the counterfactual.
    for (rel, bytes) in &tw {
        let source = source_of(rel);
        if !matches!(source, Source::HospitalA | Source::HopitalB) {
            continue;
        }
        let mut pool: HashMap<&[u8], i64> = HashMap::new();
        for line in tn[rel].split(|&b| b == b'\n') {
            *pool.entry(line).or_default() += 1;
        }
        for line in bytes.split(|&b| b == b'\n') {
            let n = pool.entry(line).or_default();
            *n -= 1;
            assert!(*n >= 0, "{rel}: row absent from the counterfactual world");
        }
    }

    // Person level: averted events are exactly those after enrolment whose
    // draw fell above 1 + effect, at about the configured rate.
    let (sim_w, sim_n) = (Simulator::new(&with)?, Simulator::new(&without)?);
    let (mut post, mut post_kept) = (0u64, 0u64);
    for i in 0..with.persons {
        let (hw, hn) = (sim_w.person(i), sim_n.person(i));
        assert_eq!(hw.person, hn.person);
        assert_eq!(hw.enrolment, hn.enrolment);
        assert_eq!(hw.ed_visits.len(), hn.ed_visits.len());
        assert!(hn.ed_visits.iter().all(|v| v.kept) && hn.admissions.iter().all(|a| a.kept));
        if let Some(e) = &hw.enrolment {
            for v in &hw.ed_visits {
                if v.arrival < e.enrolment {
                    assert!(v.kept);
                } else {
                    post += 1;
                    post_kept += u64::from(v.kept);
                }
            }
        } else {
            assert!(hw.ed_visits.iter().all(|v| v.kept));
        }
    }
    let kept_share = post_kept as f64 / post as f64;
    println!("post-enrolment ED visits kept: {post_kept}/{post} = {kept_share:.3}");
    assert!(
        post > 100 && (kept_share - 0.8).abs() < 0.08,
        "{kept_share}"
    );
    Ok(())
}

#[test]
fn enrolments_respect_the_eligibility_rule() -> TestResult {
    let cfg = SynthConfig {
        bad_row_rate: 0.0,
        enrol_probability: 0.8,
        ..small(44, 4000)
    };
    let (dir, summary) = gen_region(&cfg)?;
    let tree = read_tree(dir.path())?;
    let ev = events(&tree);
    let enrolments = records(Source::Programme, &tree["programme/enrolments.csv"]);
    assert_eq!(enrolments.len() as u64, summary.totals.enrolled);
    assert!(enrolments.len() > 30);
    let earliest = cfg.start + chrono::Months::new(12);
    let window = |dates: &[NaiveDate], d: NaiveDate| {
        dates
            .iter()
            .filter(|&&x| x >= d - Duration::days(365) && x < d)
            .count()
    };
    for r in &enrolments {
        let referral = iso(&r[3]).ok_or("referral date")?;
        let first_contact = iso(&r[4]).ok_or("first contact date")?;
        let enrolment = iso(&r[5]).ok_or("enrolment date")?;
        assert!(
            referral < first_contact && first_contact <= enrolment,
            "{r:?}"
        );
        if let Some(cp) = iso(&r[6]) {
            assert!(cp >= enrolment && cp <= enrolment + Duration::days(60));
        }
        if let Some(end) = iso(&r[7]) {
            assert!(end > enrolment);
        }
        // Eligibility was 0-5 days before referral; some day in that range
        // must satisfy the rule on pre-enrolment events from the files.
        let (ed, adm) = ev.get(&r[0]).cloned().unwrap_or_default();
        let ok = (0..=5).map(|k| referral - Duration::days(k)).any(|d| {
            d >= earliest
                && (window(&ed, d) >= ED_THRESHOLD || window(&adm, d) >= ADMISSION_THRESHOLD)
                && enrolment - d <= Duration::days(60)
        });
        assert!(ok, "enrolment without eligibility: {r:?}");
    }

    // Person level: the eligibility day is the first day satisfying the rule.
    let sim = Simulator::new(&cfg)?;
    for i in 0..cfg.persons {
        let h = sim.person(i);
        let ed: Vec<NaiveDate> = h.ed_visits.iter().map(|v| v.arrival).collect();
        let adm: Vec<NaiveDate> = h.admissions.iter().map(|a| a.admit).collect();
        let rule =
            |d: NaiveDate| window(&ed, d) >= ED_THRESHOLD || window(&adm, d) >= ADMISSION_THRESHOLD;
        match h.eligibility {
            Some(e) => {
                assert!(e >= earliest && rule(e));
                assert!(!rule(e - Duration::days(1)) || e == earliest);
            }
            None => assert!(h.enrolment.is_none()),
        }
    }
    Ok(())
}

#[test]
fn survey_volumes_and_program_participants_more_positive() -> TestResult {
    let cfg = SynthConfig::default();
    let (dir, summary) = gen_region(&cfg)?;
    let tree = read_tree(dir.path())?;
    let mut anonymous = 0;
    let mut total = 0;
    let (mut ratings, mut scores): (BTreeMap<String, u32>, BTreeMap<String, u32>) =
        (BTreeMap::new(), BTreeMap::new());
    for (rel, bytes) in tree.iter().filter(|(k, _)| k.starts_with("sondage/")) {
        let mut per_team: BTreeMap<String, u32> = BTreeMap::new();
        for r in records(Source::Sondage, bytes) {
            total += 1;
            anonymous += u32::from(r[1].is_empty());
            assert!(r[0].starts_with('R') && r[0].len() >= 7);
            // response_id,hcn,team,completed,lang,respondent,Q1..Q6 (frequency),
            // Q7 (rating), Q8 (0-10).
            assert_eq!(r.len(), 14, "{r:?}");
            let (who, scale, rating): (&[&str], &[&str], &[&str]) = if r[4] == "fr" {
                (
                    &["patient", "proche aidant", "mandataire", ""],
                    &["Jamais", "Parfois", "Souvent", "Toujours", "S.O.", ""],
                    &["Mauvais", "Passable", "Bon", "Très bon", "Excellent", ""],
                )
            } else {
                (
                    &["patient", "caregiver", "proxy", ""],
                    &["Never", "Sometimes", "Usually", "Always", "N/A", ""],
                    &["Poor", "Fair", "Good", "Very good", "Excellent", ""],
                )
            };
            assert!(who.contains(&r[5].as_str()), "{r:?}");
            assert!(
                r[6..12].iter().all(|a| scale.contains(&a.as_str())),
                "{r:?}"
            );
            assert!(rating.contains(&r[12].as_str()), "{r:?}");
            assert!(
                r[13].is_empty() || r[13].parse::<u8>().is_ok_and(|n| n <= 10),
                "{r:?}"
            );
            *ratings.entry(r[12].clone()).or_default() += 1;
            *scores.entry(r[13].clone()).or_default() += 1;
            *per_team.entry(r[2].clone()).or_default() += 1;
        }
        assert_eq!(per_team.len(), 6, "{rel}: every team answers");
        assert!(per_team.values().all(|&n| n >= 10), "{rel}: {per_team:?}");
    }
    assert_eq!(total as u64, summary.totals.survey_responses);
    let share = f64::from(anonymous) / f64::from(total);
    assert!((0.25..0.35).contains(&share), "anonymous share {share}");
    // Every level of the rating scale, and both ends of the 0-10 scale, are used.
    for level in ["Poor", "Fair", "Good", "Very good", "Excellent"] {
        assert!(
            ratings.get(level).is_some_and(|&n| n > 0),
            "{level}: {ratings:?}"
        );
    }
    for score in ["0", "10"] {
        assert!(
            scores.get(score).is_some_and(|&n| n > 0),
            "{score}: {scores:?}"
        );
    }

    let sim = Simulator::new(&cfg)?;
    let (mut top, mut n) = ([0u32; 2], [0u32; 2]);
    for i in 0..cfg.persons {
        for r in sim.person(i).surveys {
            let g = usize::from(r.enrolled);
            for a in r.answers {
                if let vigie_synth::survey::Answer::Level(l) = a {
                    n[g] += 1;
                    top[g] += u32::from(l == 3);
                }
            }
        }
    }
    let (others, participants) = (
        f64::from(top[0]) / f64::from(n[0]),
        f64::from(top[1]) / f64::from(n[1]),
    );
    println!("'Always' share: participants {participants:.3}, others {others:.3}");
    assert!(participants > others + 0.05);
    Ok(())
}

#[test]
fn registry_distributions_are_plausible() -> TestResult {
    let cfg = small(9, 4000);
    let (dir, _) = gen_region(&cfg)?;
    let tree = read_tree(dir.path())?;
    let recs = records(Source::Registry, &tree["registre/population.csv"]);
    let share = |col: usize, v: &str| {
        recs.iter().filter(|r| r[col] == v).count() as f64 / recs.len() as f64
    };
    assert!((0.30..0.40).contains(&share(3, "fr")));
    assert!((0.55..0.65).contains(&share(3, "en")));
    assert!(share(2, "X") < 0.02);
    let old = recs
        .iter()
        .filter(|r| r[1].parse::<i32>().is_ok_and(|y| 2023 - y >= 65))
        .count() as f64
        / recs.len() as f64;
    assert!((0.13..0.25).contains(&old), "share 65+ {old}");
    let deaths = recs.iter().filter(|r| !r[7].is_empty()).count();
    assert!(deaths > 0 && deaths < recs.len() / 10);
    assert!(
        recs.iter()
            .all(|r| r[5].len() == 3 && r[5].starts_with('A'))
    );
    assert!(
        recs.iter()
            .all(|r| r[6].len() == 3 && r[6].starts_with('T'))
    );
    Ok(())
}

#[test]
fn no_events_after_death() -> TestResult {
    let sim = Simulator::new(&small(3, 4000))?;
    let mut dead = 0;
    for i in 0..4000 {
        let h = sim.person(i);
        if let Some(d) = h.person.death_date {
            dead += 1;
            assert!(h.ed_visits.iter().all(|v| v.arrival <= d && v.exit <= d));
            assert!(
                h.admissions
                    .iter()
                    .all(|a| a.admit <= d && a.discharge <= d)
            );
            if let Some(e) = &h.enrolment {
                assert!(e.enrolment <= d);
            }
            assert!(h.surveys.iter().all(|s| s.completed <= d));
        }
    }
    assert!(dead > 0);
    Ok(())
}

#[test]
fn errors_name_the_path_and_config_is_validated() -> TestResult {
    let dir = tempfile::tempdir()?;
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"x")?;
    match generate(&small(1, 10), &blocker) {
        Err(SynthError::Io { path, .. }) => assert!(path.starts_with(&blocker)),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    let bad = SynthConfig {
        enrol_probability: 1.5,
        ..small(1, 10)
    };
    assert!(matches!(
        generate(&bad, dir.path()),
        Err(SynthError::InvalidConfig(_))
    ));
    Ok(())
}

/// Progress is reported in order, up to every person (the 200k-person timing is the
/// benchmark `cargo bench -p vigie-synth`).
#[test]
fn progress_is_reported_in_order_up_to_every_person() -> TestResult {
    let cfg = small(5, 3_000);
    let dir = tempfile::tempdir()?;
    let seen = std::cell::RefCell::new(Vec::new());
    generate_with_progress(&cfg, dir.path(), &|done| seen.borrow_mut().push(done))?;
    let seen = seen.into_inner();
    assert!(seen.len() > 1, "progress reported per chunk: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen.last().copied(), Some(cfg.persons));
    Ok(())
}

#[test]
fn the_pathway_changes_no_other_file_and_closes_its_loops() -> TestResult {
    let with = SynthConfig {
        bad_row_rate: 0.0,
        ..small(55, 3000)
    };
    let without = SynthConfig {
        pathway: false,
        ..with.clone()
    };
    let (dw, sw) = gen_region(&with)?;
    let (dn, sn) = gen_region(&without)?;
    let (tw, tn) = (read_tree(dw.path())?, read_tree(dn.path())?);
    // Without the pathway: no contact nor referral file, every other file identical.
    assert!(!dn.path().join(Source::Contacts.dir()).exists());
    assert!(!dn.path().join(Source::Referrals.dir()).exists());
    assert_eq!((sn.totals.contacts, sn.totals.referrals), (0, 0));
    for (rel, bytes) in &tn {
        assert!(tw.get(rel) == Some(bytes), "{rel} changed with the pathway");
    }
    assert_eq!(tw.len(), tn.len() + 36 + 1);

    // Referrals: ids unique, steps in order, each appointment is the specialist contact
    // answering it, on the same day, for the same person.
    let register = records(Source::Referrals, &tw["references/referrals.csv"]);
    assert_eq!(register.len() as u64, sw.totals.referrals);
    assert!(register.len() > 100, "{} referrals", register.len());
    let mut by_id: HashMap<String, (String, Option<NaiveDate>)> = HashMap::new();
    let (mut accepted, mut seen, mut returned) = (0, 0, 0);
    for r in &register {
        let dates: Vec<Option<NaiveDate>> = r[6..9].iter().map(|d| iso(d)).collect();
        let sent = iso(&r[2]).ok_or("referral date")?;
        let (acc, appt, rep) = (dates[0], dates[1], dates[2]);
        assert!(acc.is_none_or(|a| a >= sent), "{r:?}");
        assert!(
            appt.is_none() || acc.is_some_and(|a| appt >= Some(a)),
            "{r:?}"
        );
        assert!(
            rep.is_none() || appt.is_some_and(|a| rep >= Some(a)),
            "{r:?}"
        );
        accepted += usize::from(acc.is_some());
        seen += usize::from(appt.is_some());
        returned += usize::from(rep.is_some());
        assert!(r[0].starts_with("RF") && !r[0].bytes().any(|b| b.is_ascii_digit()));
        assert!(
            by_id.insert(r[0].clone(), (r[1].clone(), appt)).is_none(),
            "{}",
            r[0]
        );
    }
    assert!(accepted < register.len() && seen < accepted && returned < seen);

    let (mut contacts, mut answering) = (0u64, 0);
    let mut providers = BTreeMap::new();
    for (rel, bytes) in tw
        .iter()
        .filter(|(k, _)| k.starts_with("soins_communautaires/"))
    {
        for r in records(Source::Contacts, bytes) {
            contacts += 1;
            *providers.entry(r[3].clone()).or_insert(0u64) += 1;
            assert!(["P", "T", "V", "D"].contains(&r[4].as_str()), "{rel} {r:?}");
            assert!(r[2].len() == 5 && &r[2][2..3] == ":", "{rel} {r:?}");
            assert_eq!(
                r[6] == "PSM",
                ["COORD", "TS"].contains(&r[3].as_str()),
                "{r:?}"
            );
            if !r[7].is_empty() {
                answering += 1;
                let (hcn, appt) = &by_id[&r[7]];
                assert_eq!(hcn, &r[0], "the referral's person");
                assert_eq!(*appt, compact(&r[1]), "the appointment day");
                assert_eq!(r[3], "SPEC");
            }
        }
    }
    assert_eq!(contacts, sw.totals.contacts);
    assert_eq!(answering, seen, "one specialist contact per appointment");
    for code in ["MF", "IPS", "SPEC", "SAD", "ORG", "TS", "COORD"] {
        assert!(
            providers.get(code).copied().unwrap_or(0) > 0,
            "{code}: {providers:?}"
        );
    }
    Ok(())
}
