//! Survey instruments end to end: the demo pipeline's reports name each item by its wording
//! in the reader's language, with its top box; `vigie validate` reports a bad instrument with
//! its file, line and key.

use std::process::Command;

use crate::common::*;

/// The experience section of a report.
fn experience(html: &str) -> &str {
    let start = html
        .find("<section id=\"experience\">")
        .expect("an experience section");
    let end = html[start..].find("</section>").expect("its end") + start;
    &html[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_reports_show_each_item_by_its_wording_and_top_box() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh, out) = (
        dir.path().join("landing"),
        dir.path().join("warehouse"),
        dir.path().join("reports"),
    );
    synth(&landing, 600, 7);
    ingest_into(&landing, &wh).await.expect("ingest");
    let mut pipeline = demo_pipeline();
    let warehouse = wh.display().to_string();
    vigie_pipeline::compute(
        &pipeline,
        &vigie_pipeline::ComputeOverrides {
            warehouse: Some(warehouse.clone()),
            ..Default::default()
        },
    )
    .await
    .expect("compute");
    // The demo pipeline's own reports (T01's feedback report in French and English), as
    // `vigie demo` writes them.
    for report in &mut pipeline.spec.outputs.reports {
        report.to = out.display().to_string();
    }
    let written = vigie_pipeline::write_reports(&pipeline, Some(&warehouse))
        .await
        .expect("reports");
    let read = |lang: &str| {
        let name = written
            .iter()
            .find(|w| w.contains("feedback-T01-") && w.ends_with(&format!("-{lang}.html")))
            .unwrap_or_else(|| panic!("no {lang} feedback report in {written:?}"));
        std::fs::read_to_string(name).expect("report")
    };
    let (fr, en) = (read("fr"), read("en"));
    let (fr, en) = (experience(&fr), experience(&en));
    // The wording of pipelines/instruments/experience.yaml, HTML-escaped, in the reader's
    // language only; the item's code stays beside it.
    for (section, wording, other) in [
        (
            en,
            "Overall, how would you rate the care you received from the team?",
            "Dans l&#x27;ensemble, comment évaluez-vous les soins reçus",
        ),
        (
            fr,
            "Dans l&#x27;ensemble, comment évaluez-vous les soins reçus de l&#x27;équipe ?",
            "Overall, how would you rate the care",
        ),
    ] {
        assert!(section.contains(wording), "{section}");
        assert!(!section.contains(other), "{section}");
        assert!(section.contains("<strong>Q7</strong>"), "{section}");
        // No item is shown by its bare code.
        assert!(
            !section.contains("Item Q") && !section.contains("Question Q"),
            "{section}"
        );
    }
    assert!(en.contains("How likely are you to recommend this team to family or friends?"));
    assert!(fr.contains("Saviez-vous qui appeler en dehors des heures d&#x27;ouverture ?"));
    // Each item's top box: "Always" / « Toujours » for the frequency items, "Excellent" for
    // the rating, 9–10 for the recommendation.
    assert!(
        en.contains("<td>Always</td>") && fr.contains("<td>Toujours</td>"),
        "{en}"
    );
    assert!(
        en.contains("<td>Excellent</td>") && fr.contains("<td>Excellent</td>"),
        "{fr}"
    );
    assert!(
        en.contains("<td>9–10</td>") && fr.contains("<td>9–10</td>"),
        "{en}"
    );
    // The forest plot's labels start with the code and the wording.
    assert!(en.contains("Q7 · Overall, how would you rate the…"), "{en}");
}

#[test]
fn validate_names_the_instrument_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let instrument = std::fs::read_to_string(repo().join("pipelines/instruments/experience.yaml"))
        .expect("instrument");
    // Q7 on a scale the file does not have, Q8's top box outside its scale.
    let bad = instrument
        .replace("scale: rating_5", "scale: rating_7")
        .replace("top_box: [9, 10]", "top_box: [9, 11]");
    std::fs::create_dir_all(dir.path().join("instruments")).expect("mkdir");
    std::fs::write(dir.path().join("instruments/experience.yaml"), &bad).expect("write");
    std::fs::create_dir_all(dir.path().join("sources")).expect("mkdir");
    std::fs::copy(
        repo().join("pipelines/sources/sondage-experience.yaml"),
        dir.path().join("sources/s.yaml"),
    )
    .expect("copy");
    let pipe = dir.path().join("p.yaml");
    std::fs::write(
        &pipe,
        "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [sources/s.yaml]\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["validate", &pipe.display().to_string()])
        .output()
        .expect("run vigie");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = |needle: &str| bad.lines().position(|l| l.contains(needle)).map(|i| i + 1);
    let q7_scale = line("scale: rating_7").expect("line");
    let q8_top = line("top_box: [9, 11]").expect("line");
    assert!(
        err.contains(&format!(
            "instruments/experience.yaml:{q7_scale}: items[6].scale: item Q7: unknown scale \"rating_7\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "instruments/experience.yaml:{q8_top}: scales.likelihood_0_10.top_box: 11 is not a value of scale likelihood_0_10"
        )),
        "{err}"
    );
}
