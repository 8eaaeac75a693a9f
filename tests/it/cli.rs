//! The command line as a user meets it: help on every command, validation messages.

use std::process::Command;

use crate::common::repo;

fn vigie(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run vigie")
}

#[test]
fn every_command_has_help() {
    for cmd in [
        vec!["--help"],
        vec!["synth", "--help"],
        vec!["validate", "--help"],
        vec!["ingest", "--help"],
        vec!["run", "--help"],
        vec!["query", "--help"],
        vec!["demo", "--help"],
        vec!["compute", "--help"],
        vec!["maintain", "--help"],
        vec!["serve", "--help"],
        vec!["export", "openmetrics", "--help"],
        vec!["export", "results", "--help"],
        vec!["catalogue", "--help"],
        vec!["report", "feedback", "--help"],
        vec!["report", "accountability", "--help"],
    ] {
        let out = vigie(&cmd);
        assert!(out.status.success(), "{cmd:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{cmd:?}"
        );
    }
}

#[test]
fn validate_accepts_the_shipped_pipelines() {
    for p in [
        "pipelines/demo.yaml",
        "pipelines/region-weekly.example.yaml",
    ] {
        let out = vigie(&["validate", p]);
        assert!(
            out.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn validate_reports_every_problem_with_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let src =
        std::fs::read_to_string(repo().join("pipelines/sources/hospital-a-ed.yaml")).expect("read");
    let broken = src
        .replace("format: \"%Y-%m-%d\"", "format: \"%Y-%m-%Q\"")
        .replace("\"06\": admitted", "\"06\": admis");
    std::fs::write(dir.path().join("a.yaml"), broken).expect("write");
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [a.yaml]\n",
    )
    .expect("write");
    let out = vigie(&["validate", &dir.path().join("p.yaml").display().to_string()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a.yaml:14: fields.arrival.format"), "{err}");
    assert!(err.contains("fields.disposition.map.06"), "{err}");
    assert!(err.contains("admis"), "{err}");
}

#[test]
fn validate_checks_the_catalogue_metadata_and_plans_every_query() {
    let dir = tempfile::tempdir().expect("tmp");
    let queries = copy_queries(dir.path());
    // A query that lost its denominator, and metadata without its English name.
    let sql = std::fs::read_to_string(queries.join("care_plan_within_30d_pct.sql")).expect("read");
    std::fs::write(
        queries.join("care_plan_within_30d_pct.sql"),
        sql.replace("count(*) as denominator", "count(*) as total"),
    )
    .expect("write");
    let meta = std::fs::read_to_string(queries.join("alc_days_pct.yaml")).expect("read");
    std::fs::write(
        queries.join("alc_days_pct.yaml"),
        meta.replace("  en: Alternate level of care (ALC) days\n", ""),
    )
    .expect("write");
    // And the catalogue's own condition groups, one naming an undeclared code system.
    std::fs::create_dir_all(queries.join("reference")).expect("mkdir");
    std::fs::write(
        queries.join("reference/conditions.yaml"),
        "code_systems: { icd10ca: { name: { fr: a, en: a }, source: s } }\n\
         groups:\n  copd: { name: { fr: a, en: a }, code_system: icd9, source: s, codes: [J44] }\n",
    )
    .expect("write");
    let sources = repo().join("pipelines/sources");
    std::fs::write(
        dir.path().join("p.yaml"),
        format!(
            "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [{}]\nindicators: {{ queries: queries }}\n",
            sources.join("hospital-a-ed.yaml").display()
        ),
    )
    .expect("write");
    let out = vigie(&["validate", &dir.path().join("p.yaml").display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "a configuration error");
    let err = String::from_utf8_lossy(&out.stderr);
    // The metadata problem and the other indicators' query problem, in one pass.
    assert!(
        err.contains("alc_days_pct.yaml:2: name: missing field `en`"),
        "{err}"
    );
    assert!(
        err.contains("care_plan_within_30d_pct.sql") && err.contains("no `denominator` column"),
        "{err}"
    );
    assert!(
        err.contains("conditions.yaml") && err.contains("groups.copd.code_system"),
        "{err}"
    );
}

/// A copy of the shipped catalogue in `dir/queries`.
fn copy_queries(dir: &std::path::Path) -> std::path::PathBuf {
    let queries = dir.join("queries");
    std::fs::create_dir(&queries).expect("mkdir");
    for entry in std::fs::read_dir(repo().join("queries"))
        .expect("queries")
        .flatten()
        .filter(|e| e.path().is_file())
    {
        std::fs::copy(entry.path(), queries.join(entry.file_name())).expect("copy");
    }
    queries
}

#[test]
fn validate_reports_schedule_source_and_query_problems_in_one_pass() {
    let dir = tempfile::tempdir().expect("tmp");
    let queries = copy_queries(dir.path());
    let sql = std::fs::read_to_string(queries.join("care_plan_within_30d_pct.sql")).expect("read");
    std::fs::write(
        queries.join("care_plan_within_30d_pct.sql"),
        sql.replace("count(*) as denominator", "count(*) as total"),
    )
    .expect("write");
    let src =
        std::fs::read_to_string(repo().join("pipelines/sources/hospital-a-ed.yaml")).expect("read");
    std::fs::write(
        dir.path().join("a.yaml"),
        src.replace("range: [1, 5]", "range: [5, 1]"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [a.yaml]\nindicators: { queries: queries }\nschedule:\n  cron: \"0 6 * * MONDAY\"\n",
    )
    .expect("write");
    let out = vigie(&["validate", &dir.path().join("p.yaml").display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "a configuration error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("p.yaml:9: schedule.cron: invalid cron expression \"0 6 * * MONDAY\""),
        "{err}"
    );
    assert!(err.contains("a.yaml:16: fields.triage.range"), "{err}");
    assert!(
        err.contains("care_plan_within_30d_pct.sql") && err.contains("no `denominator` column"),
        "{err}"
    );
    assert!(err.contains("3 configuration problem(s)"), "{err}");
}
