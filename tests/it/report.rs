//! Reports: (a) disclosure — no publishable-looking small count and no value of a suppressed
//! cell anywhere in the HTML (text, SVG, titles, tooltips), checked against the unsuppressed
//! `indicator_results` table; (b) real rendering in headless Chromium — PDF and PNG, not
//! blank, no console errors.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Float64Type};
use chrono::{Datelike, NaiveDate};
use tokio::sync::OnceCell;
use vigie_disclosure::{DisclosureConfig, Lang};
use vigie_indicators::{IndicatorDef, Method, Unit, load_catalogue};
use vigie_pipeline::ComputeOverrides;
use vigie_report::format;
use vigie_warehouse::Warehouse;

use crate::common::*;

/// One row of the raw (unsuppressed) results table.
#[derive(Debug, Clone)]
struct Raw {
    indicator: String,
    period_type: String,
    period_start: NaiveDate,
    org_level: String,
    org_unit: String,
    numbers: [Option<f64>; 5],
    suppressed: bool,
}

/// A small region's rendered reports and its raw results.
struct Rendered {
    /// (name, language, html).
    reports: Vec<(String, Lang, String)>,
    raw: Vec<Raw>,
    catalogue: Vec<IndicatorDef>,
}

static REGION: OnceCell<Rendered> = OnceCell::const_new();

async fn raw_results(wh: &Path) -> Vec<Raw> {
    let batches = query(
        wh,
        "SELECT indicator, period_type, period_start, org_level, org_unit, numerator, denominator, value, ci_low, ci_high, suppressed FROM indicator_results",
    )
    .await;
    let mut out = Vec::new();
    for b in &batches {
        let s = |i: usize| cast(b.column(i), &DataType::Utf8).expect("text");
        let f = |i: usize| cast(b.column(i), &DataType::Float64).expect("number");
        let (ind, pt, ol, ou) = (s(0), s(1), s(3), s(4));
        let start = cast(b.column(2), &DataType::Date32).expect("date");
        let start = start.as_primitive::<Date32Type>();
        let nums: Vec<_> = (5..10).map(f).collect();
        let supp = b.column(10).as_boolean();
        for i in 0..b.num_rows() {
            let num = |k: usize| {
                let a = nums[k].as_primitive::<Float64Type>();
                (!a.is_null(i)).then(|| a.value(i))
            };
            out.push(Raw {
                indicator: ind.as_string::<i32>().value(i).to_string(),
                period_type: pt.as_string::<i32>().value(i).to_string(),
                period_start: NaiveDate::default()
                    + chrono::Duration::days(i64::from(start.value(i))),
                org_level: ol.as_string::<i32>().value(i).to_string(),
                org_unit: ou.as_string::<i32>().value(i).to_string(),
                numbers: [num(0), num(1), num(2), num(3), num(4)],
                suppressed: supp.value(i),
            });
        }
    }
    out
}

/// A region of 400 persons (small teams, many small cells), computed, and every report of its
/// last complete quarter rendered in both languages.
async fn region() -> &'static Rendered {
    REGION
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("tmp");
            let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
            synth(&landing, 400, 23);
            ingest_into(&landing, &wh).await.expect("ingest");
            vigie_pipeline::compute(
                &demo_pipeline(),
                &ComputeOverrides {
                    warehouse: Some(wh.display().to_string()),
                    ..ComputeOverrides::default()
                },
            )
            .await
            .expect("compute");
            let raw = raw_results(&wh).await;
            assert!(
                raw.iter().any(|r| r.suppressed),
                "the small region has suppressed cells"
            );
            let catalogue = load_catalogue(&repo().join("queries")).expect("catalogue");
            let cfg = DisclosureConfig::default();
            let warehouse = Warehouse::open(&wh.display().to_string()).expect("warehouse");
            let last_quarter = raw
                .iter()
                .filter(|r| r.period_type == "quarter")
                .map(|r| r.period_start)
                .max()
                .expect("quarterly results");
            let period = vigie_report::parse_period(&format!(
                "{}Q{}",
                last_quarter.year(),
                format::quarter_of(last_quarter)
            ))
            .expect("period");
            let teams: BTreeSet<String> = raw
                .iter()
                .filter(|r| r.org_level == "team")
                .map(|r| r.org_unit.clone())
                .collect();
            let mut reports = Vec::new();
            for lang in [Lang::Fr, Lang::En] {
                for team in &teams {
                    let html = vigie_report::feedback_report(
                        &warehouse, &catalogue, &cfg, team, &period, lang,
                    )
                    .await
                    .unwrap_or_else(|e| panic!("feedback {team} {period}: {e}"));
                    reports.push((format!("feedback-{team}"), lang, html));
                }
                let html = vigie_report::accountability_report(
                    &warehouse, &catalogue, &cfg, &period, lang,
                )
                .await
                .unwrap_or_else(|e| panic!("accountability {period}: {e}"));
                reports.push(("accountability".to_string(), lang, html));
            }
            Rendered {
                reports,
                raw,
                catalogue,
            }
        })
        .await
}

/// The HTML without the axis tick labels of charts (round numbers chosen from the published
/// range, never a cell's value), so that a scan for cell values cannot match them.
fn without_ticks(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("<text ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find("</text>")
            .map_or(tail.len(), |e| e + "</text>".len());
        let element = &tail[..end];
        let open = &element[..element.find('>').unwrap_or(element.len())];
        let is_tick = open.contains("text-anchor=\"middle\"")
            || (open.contains("text-anchor=\"end\"") && !open.contains("rowlabel"));
        if !is_tick {
            out.push_str(element);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The HTML without attribute values made only of coordinates (`x="250.0"`,
/// `points="1,2 3,4"`): chart geometry, where English decimals would look like values.
fn without_geometry(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("=\"") {
        out.push_str(&rest[..at + 2]);
        let tail = &rest[at + 2..];
        let end = tail.find('"').unwrap_or(tail.len());
        let value = &tail[..end];
        if !value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | ' '))
        {
            out.push_str(value);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Whether `hay` holds the number `needle` as a whole (not inside a longer number).
fn contains_number(hay: &str, needle: &str) -> bool {
    let part =
        |c: char| c.is_ascii_digit() || matches!(c, ',' | '.' | '\u{202F}' | '\u{2212}' | '+');
    hay.match_indices(needle).any(|(at, _)| {
        let before = hay[..at].chars().next_back();
        let after = hay[at + needle.len()..].chars().next();
        !before.is_some_and(part)
            && !after.is_some_and(|c| {
                c.is_ascii_digit()
                    || ((c == ',' || c == '.')
                        && hay[at + needle.len() + 1..].starts_with(|d: char| d.is_ascii_digit()))
            })
    })
}

/// The ways a report may print a number of this indicator.
fn renderings(v: f64, unit: Unit, method: Method, lang: Lang) -> Vec<String> {
    let mut out = vec![format::value(v, unit, lang)];
    if method == Method::ProgramEvaluation {
        out.push(format::percent_change(v, lang));
    }
    out
}

/// The ways the equity sections may print a disparity measure of an indicator in `unit`: a
/// ratio with two decimals, a difference signed in the unit's precision.
fn derived_renderings(v: f64, unit: Unit, lang: Lang) -> Vec<String> {
    let d = format::number(v, format::decimals(unit), lang);
    vec![format::number(v, 2, lang), format!("+{d}"), d]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_publish_no_small_count_and_no_suppressed_value() {
    let region = region().await;
    let meta: HashMap<&str, (Unit, Method)> = region
        .catalogue
        .iter()
        .map(|d| (d.meta.id.as_str(), (d.meta.unit, d.meta.method)))
        .collect();
    // A disparity row (`<indicator>__<measure>`) is printed in its indicator's unit (a ratio
    // with two decimals, a difference signed).
    let meta_of = |id: &str| -> Option<(Unit, Method, bool)> {
        match meta.get(id) {
            Some(&(unit, method)) => Some((unit, method, false)),
            None => vigie_indicators::disparity::split_derived(id)
                .and_then(|(base, m)| meta.get(base).map(|&(unit, _)| (unit, m.method(), true))),
        }
    };
    // The equity sections are exercised: the small region has results by deprivation
    // quintile, and disparities suppressed because a cell they come from is.
    assert!(
        region
            .reports
            .iter()
            .any(|(name, _, html)| name.starts_with("feedback")
                && html.contains("<table class=\"equity\"")),
        "a feedback report shows an equity table"
    );
    assert!(
        region
            .reports
            .iter()
            .any(|(name, _, html)| name == "accountability"
                && html.contains("<table class=\"equity-region\"")),
        "the accountability report shows the region's equity table"
    );
    assert!(
        region
            .raw
            .iter()
            .any(|r| r.suppressed && r.indicator.contains("__rate_")),
        "some disparity rows are suppressed"
    );
    let cfg = DisclosureConfig::default();
    let mut counts_seen = 0;
    for (name, lang, html) in &region.reports {
        // (1) Every count printed is publishable: zero or at least the threshold.
        for part in html.split("<data class=\"count\" value=\"").skip(1) {
            let n: u64 = part[..part.find('"').expect("value")]
                .parse()
                .expect("count");
            assert!(
                vigie_disclosure::publishable_count(n, &cfg).is_some(),
                "{name} ({lang:?}) prints the count {n}"
            );
            counts_seen += 1;
        }
        // (2) No value or interval of a suppressed cell appears anywhere — text, SVG, titles —
        // unless a published cell happens to have the same printed value.
        // The style sheet (constants) is not data.
        let body = html
            .split("</style>")
            .nth(1)
            .expect("a style sheet, then the body");
        let scanned = without_geometry(&without_ticks(body));
        // Targets and corridors are catalogue metadata, printed as they are.
        let mut published: BTreeSet<String> = region
            .catalogue
            .iter()
            .filter_map(|d| d.meta.target.map(|t| (d.meta.unit, t)))
            .flat_map(|(unit, t)| {
                [Some(t.value), t.corridor_low, t.corridor_high]
                    .into_iter()
                    .flatten()
                    .flat_map(move |v| [format::value(v, unit, *lang), format::number(v, 1, *lang)])
            })
            .collect();
        for r in region.raw.iter().filter(|r| !r.suppressed) {
            let Some((unit, method, _)) = meta_of(&r.indicator) else {
                continue;
            };
            for v in r.numbers[2..].iter().flatten() {
                published.extend(renderings(*v, unit, method, *lang));
                // A published number may be printed bare too (e.g. a program effect of
                // "+51,1 %" holds "+51,1"): a suppressed disparity printing the same digits
                // is not told apart by the text, so the coincidence is not a leak.
                published.extend(derived_renderings(*v, unit, *lang));
                if method == Method::ProgramEvaluation {
                    published.extend(derived_renderings(*v, Unit::Percent, *lang));
                }
            }
            if let (Some(lo), Some(hi)) = (r.numbers[3], r.numbers[4]) {
                published.insert(format::interval(lo, hi, unit, *lang));
                published.insert(format::bare(lo, unit, *lang));
                published.insert(format::bare(hi, unit, *lang));
            }
        }
        let mut checked = 0;
        for r in region.raw.iter().filter(|r| r.suppressed) {
            let Some((unit, method, derived)) = meta_of(&r.indicator) else {
                continue;
            };
            let mut leaks: Vec<String> = Vec::new();
            if let Some(v) = r.numbers[2] {
                leaks.extend(renderings(v, unit, method, *lang));
                if derived {
                    leaks.extend(derived_renderings(v, unit, *lang));
                }
            }
            if let (Some(lo), Some(hi)) = (r.numbers[3], r.numbers[4]) {
                leaks.push(format::interval(lo, hi, unit, *lang));
            }
            for s in leaks {
                checked += 1;
                if published.contains(&s) {
                    continue;
                }
                assert!(
                    !contains_number(&scanned, &s),
                    "{name} ({lang:?}) shows {s:?}, the value of the suppressed cell {} {} {} {}: ...{}...",
                    r.indicator,
                    r.period_type,
                    r.period_start,
                    r.org_unit,
                    scanned
                        .find(&s)
                        .map(
                            |at| &scanned[scanned.floor_char_boundary(at.saturating_sub(300))
                                ..scanned.floor_char_boundary(at + 80)]
                        )
                        .unwrap_or("")
                );
            }
        }
        assert!(checked > 0, "suppressed cells were checked");
        // (3) Suppressed cells are shown as the dash with a footnote.
        assert!(
            html.contains("—<sup class=\"fn\">"),
            "{name}: a marked dash"
        );
        let footnote = match lang {
            Lang::Fr => "Cellule supprimée : effectif de 1 à 5",
            Lang::En => "Suppressed: count from 1 to 5",
        };
        assert!(
            html.contains(footnote),
            "{name} ({lang:?}) explains the suppression"
        );
    }
    assert!(
        counts_seen > 0,
        "the reports print counts, and each was checked"
    );
}

/// The browser on PATH (Debian's `chromium`). The test using it is `#[ignore]`d, so it
/// runs only when asked for: a missing browser then fails it, it never passes silently.
fn chromium() -> PathBuf {
    let found = ["chromium", "chromium-browser"].iter().find_map(|bin| {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(bin))
                .find(|p| p.is_file())
        })
    });
    match found {
        Some(path) => path,
        None => panic!(
            "`chromium` is not installed (apt-get install chromium fonts-liberation; .ci/run does)"
        ),
    }
}

/// Runs headless Chromium on `page` with `extra` flags; returns its stderr.
fn run_chromium(bin: &Path, page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().expect("start chromium");
    let id = child.id();
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = loop {
        if let Ok(out) = rx.recv_timeout(Duration::from_secs(1)) {
            break out.expect("chromium output");
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = Command::new("kill").arg(id.to_string()).status();
            panic!("chromium did not finish within 180 s on {}", page.display());
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "chromium failed on {}: {stderr}",
        page.display()
    );
    stderr
}

/// Width and height of a PNG, from its header.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && &bytes[..8] == b"\x89PNG\r\n\x1a\n",
        "a PNG"
    );
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (be(16), be(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium (apt-get install chromium fonts-liberation): cargo test --workspace -- --ignored (.ci/run does)"]
async fn reports_render_in_headless_chromium() {
    let bin = chromium();
    let region = region().await;
    let dir = tempfile::tempdir().expect("tmp");
    let window = "--window-size=1200,1800".to_string();
    // A blank page of the same size: what an empty render compresses to.
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").expect("write");
    let blank_png = dir.path().join("blank.png");
    run_chromium(
        &bin,
        &blank,
        &[
            window.clone(),
            format!("--screenshot={}", blank_png.display()),
        ],
    );
    let blank_size = std::fs::metadata(&blank_png).expect("blank png").len();
    let picks = [("feedback-T01", Lang::Fr), ("accountability", Lang::En)];
    for (name, lang) in picks {
        let (_, _, html) = region
            .reports
            .iter()
            .find(|(n, l, _)| n == name && *l == lang)
            .or_else(|| {
                region.reports.iter().find(|(n, l, _)| {
                    n.starts_with(name.split('-').next().unwrap_or(name)) && *l == lang
                })
            })
            .expect("rendered report");
        let page = dir.path().join(format!("{name}-{lang:?}.html"));
        std::fs::write(&page, html).expect("write report");
        let pdf = dir.path().join(format!("{name}.pdf"));
        let png = dir.path().join(format!("{name}.png"));
        let mut logs = run_chromium(
            &bin,
            &page,
            &[
                format!("--print-to-pdf={}", pdf.display()),
                "--no-pdf-header-footer".into(),
            ],
        );
        logs.push_str(&run_chromium(
            &bin,
            &page,
            &[window.clone(), format!("--screenshot={}", png.display())],
        ));
        for bad in ["Uncaught", "ERROR:CONSOLE"] {
            assert!(
                !logs.contains(bad),
                "{name}: console error in chromium: {logs}"
            );
        }
        let pdf_bytes = std::fs::read(&pdf).expect("pdf written");
        assert!(pdf_bytes.starts_with(b"%PDF"), "{name}: a PDF");
        assert!(
            pdf_bytes.len() > 20_000,
            "{name}: the PDF has content ({} bytes)",
            pdf_bytes.len()
        );
        let png_bytes = std::fs::read(&png).expect("png written");
        assert_eq!(
            png_size(&png_bytes),
            (1200, 1800),
            "{name}: screenshot size"
        );
        // A white page compresses to almost nothing; a rendered report (text, tables, charts)
        // to many times more.
        assert!(
            png_bytes.len() as u64 > 8 * blank_size.max(1) && png_bytes.len() > 40_000,
            "{name}: the screenshot looks blank ({} bytes, blank page {blank_size} bytes)",
            png_bytes.len()
        );
    }
}

/// The indicators renamed by the test below: the peer-comparison headline, the experience
/// items and two data-quality indicators (whose old ids shared the `dq_` prefix).
const RENAMED: [(&str, &str); 4] = [
    ("ed_visits_per_1000", "emergency_visits_rate"),
    ("experience_top_box_pct", "patient_experience_items_pct"),
    ("dq_rows_rejected_pct", "rejected_rows_share_pct"),
    ("dq_completeness_pct", "mandatory_fields_complete_pct"),
];

/// The repository's catalogue copied to `to`, with the indicators of [`RENAMED`] renamed
/// (file names and `id:`).
fn renamed_catalogue(to: &Path) {
    std::fs::create_dir_all(to).expect("queries dir");
    for entry in std::fs::read_dir(repo().join("queries")).expect("queries") {
        let path = entry.expect("entry").path();
        if !path.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
        let mut text = std::fs::read_to_string(&path).expect("read");
        let stem = match RENAMED.iter().find(|(old, _)| *old == stem) {
            Some((old, new)) => {
                if ext == "yaml" {
                    let id = format!("id: {old}\n");
                    assert!(text.starts_with(&id), "{name} starts with its id");
                    text = text.replacen(&id, &format!("id: {new}\n"), 1);
                }
                new
            }
            None => stem,
        };
        let out = if ext.is_empty() {
            stem.to_string()
        } else {
            format!("{stem}.{ext}")
        };
        std::fs::write(to.join(out), text).expect("write");
    }
}

/// Every report of the latest quarter, both languages: (name, language, html).
async fn every_report(wh: &Path, catalogue: &[IndicatorDef]) -> Vec<(String, Lang, String)> {
    let cfg = DisclosureConfig::default();
    let warehouse = Warehouse::open(&wh.display().to_string()).expect("warehouse");
    let data = vigie_report::ReportData::load(&warehouse, catalogue, &cfg)
        .await
        .expect("results");
    let period = data
        .latest_period(vigie_report::PeriodKind::Quarter)
        .expect("quarterly results");
    let mut out = Vec::new();
    for lang in [Lang::Fr, Lang::En] {
        for team in data.teams() {
            let html = vigie_report::render_feedback(&data, catalogue, &cfg, team, &period, lang)
                .unwrap_or_else(|e| panic!("feedback {team}: {e}"));
            out.push((format!("feedback-{team}"), lang, html));
        }
        let html = vigie_report::render_accountability(&data, catalogue, &cfg, &period, lang)
            .expect("accountability");
        out.push(("accountability".to_string(), lang, html));
    }
    out
}

/// The lines of a document, sorted: the same multiset of lines means the same sections,
/// rows, figures and charts, whatever their order (the methods appendix follows the
/// catalogue's file order, which a rename changes).
fn sorted_lines(html: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = html.lines().collect();
    lines.sort_unstable();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_an_indicator_changes_nothing_in_the_reports_but_its_name() {
    let dir = tempfile::tempdir().expect("tmp");
    let landing = dir.path().join("landing");
    synth(&landing, 400, 23);
    let ingested = dir.path().join("ingested");
    ingest_into(&landing, &ingested).await.expect("ingest");
    let queries = dir.path().join("renamed-queries");
    renamed_catalogue(&queries);
    // The same ingested warehouse, computed once with each catalogue.
    let mut rendered = Vec::new();
    for (label, queries) in [("original", repo().join("queries")), ("renamed", queries)] {
        let wh = dir.path().join(label);
        for file in walk(&ingested) {
            let to = wh.join(file.strip_prefix(&ingested).expect("inside"));
            std::fs::create_dir_all(to.parent().expect("parent")).expect("dir");
            std::fs::copy(&file, &to).expect("copy");
        }
        let mut pipeline = demo_pipeline();
        // The directory alone: its renamed indicators replace the built-in catalogue.
        pipeline.spec.indicators.queries = Some(queries.clone());
        pipeline.spec.indicators.embedded = false;
        vigie_pipeline::compute(
            &pipeline,
            &ComputeOverrides {
                warehouse: Some(wh.display().to_string()),
                ..ComputeOverrides::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("compute with the {label} catalogue: {e}"));
        let catalogue = load_catalogue(&queries).expect("catalogue");
        rendered.push(every_report(&wh, &catalogue).await);
    }
    let (original, renamed) = (&rendered[0], &rendered[1]);
    assert_eq!(original.len(), renamed.len());
    for ((name, lang, before), (name_after, lang_after, after)) in original.iter().zip(renamed) {
        assert_eq!((name, lang), (name_after, lang_after));
        // The new names are in the report (ids appear in the methods appendix, the table rows
        // and the chart ids) ...
        let mut back = after.clone();
        for (old, new) in RENAMED {
            // (`ed_visits_per_1000_asr` keeps its name.)
            let others = after.replace(&format!("{old}_"), "");
            assert!(!others.contains(old), "{name}: {old} is gone");
            back = back.replace(new, old);
        }
        if name == "accountability" {
            assert!(
                after.contains("m-emergency_visits_rate"),
                "{name}: the new id"
            );
        } else {
            assert!(
                after.contains("data-indicator=\"emergency_visits_rate\""),
                "{name}: the new id"
            );
        }
        // ... and, named back, the same sections in the same order with the same lines.
        assert_eq!(
            headings(before),
            headings(&back),
            "{name} ({lang:?}): sections"
        );
        assert_eq!(
            sorted_lines(before),
            sorted_lines(&back),
            "{name} ({lang:?}): the same figures"
        );
    }
}

/// The text of every `<h2>`, in order.
fn headings(html: &str) -> Vec<&str> {
    html.split("<h2>")
        .skip(1)
        .filter_map(|s| s.split("</h2>").next())
        .collect()
}
