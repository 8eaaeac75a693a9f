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
    assert!(err.contains("a.yaml:12: fields.arrival.format"), "{err}");
    assert!(err.contains("fields.disposition.map.06"), "{err}");
    assert!(err.contains("admis"), "{err}");
}
