//! The coordinators' worklist delivered (issue 13): re-identified with the key holder's
//! key, to a local file its owner alone can read, every export audited; refused without
//! the key or towards a URL.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use vigie_model::{KeySource, PseudonymKey};
use vigie_pipeline::ComputeOverrides;

use crate::common::*;

fn vigie(args: &[&str], extra: &[&Path]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .args(extra)
        .current_dir(repo())
        .output()
        .expect("run vigie")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worklist_is_exported_reidentified_for_its_owner_only_and_audited() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 1_500, 7);
    ingest_into(&landing, &wh).await.expect("load");
    vigie_pipeline::compute(
        &demo_pipeline(),
        &ComputeOverrides {
            warehouse: Some(wh.display().to_string()),
            only: vec!["high_users_enrolled_pct".into()],
            from: None,
            to: None,
        },
    )
    .await
    .expect("compute");
    // The worklist as stored: pseudonym -> team.
    let stored: BTreeMap<String, String> = {
        let keys =
            all_text(&query(&wh, "SELECT person_key FROM worklist ORDER BY person_key").await);
        let teams = all_text(
            &query(
                &wh,
                "SELECT coalesce(team, '') FROM worklist ORDER BY person_key",
            )
            .await,
        );
        keys.into_iter().zip(teams).collect()
    };
    assert!(
        stored.len() >= 10,
        "{} persons on the worklist",
        stored.len()
    );

    let out = dir.path().join("coordinators/psm.csv");
    std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
    let run = vigie(
        &[
            "worklist",
            "export",
            "pipelines/demo.yaml",
            "--program",
            "PSM",
            "--lang",
            "en",
            "--warehouse",
        ],
        &[
            &wh,
            Path::new("--landing"),
            &landing,
            Path::new("--out"),
            &out,
        ],
    );
    assert!(run.status.success(), "{}", text(&run));

    // Every person of the worklist, with the card number whose pseudonym is the stored key.
    let key = PseudonymKey::load(&KeySource::Demo).expect("demo key");
    let mut reader = csv::Reader::from_path(&out).expect("csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header,
        [
            "health_card_number",
            "team",
            "eligibility_reason",
            "eligibility_date",
            "ed_visits_12_months",
            "admissions_12_months",
            "already_enrolled"
        ]
    );
    let mut exported = BTreeMap::new();
    for record in reader.records() {
        let r = record.expect("record");
        let card = r.get(0).expect("card").to_string();
        assert!(
            card.len() == 10 && vigie_ingest::luhn::luhn_valid(&card),
            "{card}"
        );
        let ed: u32 = r.get(4).expect("ed").parse().expect("count");
        let adm: u32 = r.get(5).expect("adm").parse().expect("count");
        assert!(
            ed >= 5 || adm >= 3,
            "eligible by the rule: {ed} visits, {adm} admissions"
        );
        let reason = r.get(2).expect("reason");
        assert_eq!(reason.contains("≥ 5 ED visits"), ed >= 5, "{reason}");
        exported.insert(key.pseudonymise(&card), r.get(1).expect("team").to_string());
    }
    assert_eq!(
        exported, stored,
        "the same persons and teams as the stored worklist"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "readable by its owner only");
    }
    // The export is recorded, and no card number reaches the warehouse.
    assert_eq!(
        count(
            &wh,
            "SELECT count(*) FROM worklist_export_audit WHERE program = 'PSM'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&wh, "SELECT max(persons) FROM worklist_export_audit").await,
        stored.len() as i64
    );
    let first_card = {
        let mut r = csv::Reader::from_path(&out).expect("csv");
        r.records()
            .next()
            .expect("a row")
            .expect("record")
            .get(0)
            .expect("card")
            .to_string()
    };
    for file in walk(&wh) {
        let bytes = std::fs::read(&file).expect("read");
        assert!(
            !bytes
                .windows(first_card.len())
                .any(|w| w == first_card.as_bytes()),
            "{} holds a card number",
            file.display()
        );
    }

    // From a roster the program keeps instead of the registry: a hand-written CSV with the
    // numbers in another column, spaced and dashed, one line twice, an empty cell and a
    // stranger; the same persons come out.
    let cards: Vec<String> = {
        let mut r = csv::Reader::from_path(&out).expect("csv");
        r.records()
            .map(|x| x.expect("record").get(0).expect("card").to_string())
            .collect()
    };
    let roster = dir.path().join("roster.csv");
    let mut lines = String::from("nom,NAM\n");
    for (i, card) in cards.iter().enumerate() {
        let spaced = format!("{}-{} {}", &card[..4], &card[4..7], &card[7..]);
        lines.push_str(&format!("personne {i},{spaced}\n"));
    }
    lines.push_str(&format!(
        "doublon,{}\nvide,\ninconnu,1111111116\n",
        cards[0]
    ));
    std::fs::write(&roster, lines).expect("roster");
    let from_roster = dir.path().join("from-roster.csv");
    let run = vigie(
        &[
            "worklist",
            "export",
            "pipelines/demo.yaml",
            "--program",
            "PSM",
            "--roster-column",
            "NAM",
            "--warehouse",
        ],
        &[
            &wh,
            Path::new("--landing"),
            &landing,
            Path::new("--roster"),
            &roster,
            Path::new("--out"),
            &from_roster,
        ],
    );
    assert!(run.status.success(), "{}", text(&run));
    let mut again = BTreeMap::new();
    for record in csv::Reader::from_path(&from_roster).expect("csv").records() {
        let r = record.expect("record");
        again.insert(
            key.pseudonymise(r.get(0).expect("card")),
            r.get(1).expect("team").to_string(),
        );
    }
    assert_eq!(again, stored, "the roster re-identifies the same persons");
    let wrong_column = vigie(
        &[
            "worklist",
            "export",
            "pipelines/demo.yaml",
            "--program",
            "PSM",
            "--roster-column",
            "HCN",
            "--warehouse",
        ],
        &[
            &wh,
            Path::new("--landing"),
            &landing,
            Path::new("--roster"),
            &roster,
            Path::new("--out"),
            &dir.path().join("y.csv"),
        ],
    );
    assert!(!wrong_column.status.success());
    assert!(
        text(&wrong_column).contains("no column `HCN`"),
        "{}",
        text(&wrong_column)
    );
    assert_eq!(
        count(&wh, "SELECT count(*) FROM worklist_export_audit").await,
        2,
        "the roster export is recorded, the refused one is not"
    );

    // Refused: an unknown program, a URL, and a pipeline whose key is not available.
    let bad = vigie(
        &[
            "worklist",
            "export",
            "pipelines/demo.yaml",
            "--program",
            "PMS",
            "--warehouse",
        ],
        &[
            &wh,
            Path::new("--landing"),
            &landing,
            Path::new("--out"),
            &dir.path().join("x.csv"),
        ],
    );
    assert!(!bad.status.success());
    assert!(text(&bad).contains("known: PSM"), "{}", text(&bad));
    let url = vigie(
        &[
            "worklist",
            "export",
            "pipelines/demo.yaml",
            "--program",
            "PSM",
            "--out",
            "s3://bucket/list.csv",
            "--warehouse",
        ],
        &[&wh, Path::new("--landing"), &landing],
    );
    assert!(!url.status.success());
    assert!(text(&url).contains("local file only"), "{}", text(&url));
    let keyless = dir.path().join("keyless.yaml");
    let demo = std::fs::read_to_string(repo().join("pipelines/demo.yaml")).expect("demo");
    let sources = repo().join("pipelines/sources");
    std::fs::write(
        &keyless,
        demo.replace("key: demo", "key: { env: VIGIE_TEST_KEY_NOT_SET }")
            .replace("  - sources/", &format!("  - {}/", sources.display())),
    )
    .expect("write");
    let no_key_out = dir.path().join("nokey.csv");
    let nokey = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["worklist", "export"])
        .arg(&keyless)
        .args(["--program", "PSM", "--warehouse"])
        .arg(&wh)
        .arg("--landing")
        .arg(&landing)
        .arg("--out")
        .arg(&no_key_out)
        .env_remove("VIGIE_TEST_KEY_NOT_SET")
        .output()
        .expect("run vigie");
    assert!(!nokey.status.success());
    assert!(
        text(&nokey).contains("VIGIE_TEST_KEY_NOT_SET"),
        "{}",
        text(&nokey)
    );
    assert!(!no_key_out.exists(), "nothing written without the key");
    assert_eq!(
        count(&wh, "SELECT count(*) FROM worklist_export_audit").await,
        2,
        "refused exports are not recorded as exports"
    );
}
