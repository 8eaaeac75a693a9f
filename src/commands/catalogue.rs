//! `vigie catalogue`: the indicator catalogue a pipeline computes (the built-in one when no
//! pipeline is given), as JSON or Markdown.

use std::io::Write;
use std::path::PathBuf;

use vigie_indicators::IndicatorDef;
use vigie_model::config::CatalogueSource;

use super::tabular;

/// Arguments of `vigie catalogue`.
#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CatalogueFormat::Markdown)]
    pub format: CatalogueFormat,
    /// The pipeline whose catalogue to print (its `indicators.queries` extends the built-in
    /// one); without it, the built-in catalogue.
    #[arg(long)]
    pub pipeline: Option<PathBuf>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// How the catalogue is printed.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CatalogueFormat {
    /// One JSON object per indicator, in an array.
    Json,
    /// A Markdown table.
    Markdown,
}

/// One indicator as JSON.
fn json(d: &IndicatorDef) -> serde_json::Value {
    let m = &d.meta;
    let bilingual = |b: &vigie_indicators::Bilingual| serde_json::json!({"fr": b.fr, "en": b.en});
    let (unit_fr, unit_en) = m.unit.labels();
    serde_json::json!({
        "id": m.id,
        "name": bilingual(&m.name),
        "description": bilingual(&m.description),
        "numerator": bilingual(&m.numerator),
        "denominator": bilingual(&m.denominator),
        "unit": m.unit.code(),
        "unit_label": {"fr": unit_fr, "en": unit_en},
        "direction": m.direction.code(),
        "period": vigie_indicators::Code::code(m.period),
        "method": m.method.label(),
        "strata": m.strata.iter().map(|s| s.column()).collect::<Vec<_>>(),
        "roles": m.roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "target": m.target.map(|t| t.value),
        "source": d.meta_path.display().to_string(),
    })
}

/// The catalogue as a Markdown table (pipes in text escaped).
fn markdown(catalogue: &[IndicatorDef]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "| id | nom | name | unité / unit | méthode / method | période / period | strates / strata | rôles / roles |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for d in catalogue {
        let m = &d.meta;
        let (unit_fr, unit_en) = m.unit.labels();
        let unit = if unit_fr == unit_en {
            unit_en.to_string()
        } else {
            format!("{unit_fr} / {unit_en}")
        };
        let list = |items: Vec<String>| items.join(", ");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            m.id,
            cell(&m.name.fr),
            cell(&m.name.en),
            cell(&unit),
            m.method.label(),
            vigie_indicators::Code::code(m.period),
            list(m.strata.iter().map(|s| s.column().to_string()).collect()),
            list(m.roles.iter().map(ToString::to_string).collect()),
        ));
    }
    out
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let source = match &args.pipeline {
        Some(p) => vigie_model::config::load_pipeline(p)?.queries_dir(),
        None => CatalogueSource::embedded(),
    };
    let catalogue = vigie_indicators::load_catalogue(&source)?;
    let text = match args.format {
        CatalogueFormat::Json => {
            let list: Vec<serde_json::Value> = catalogue.iter().map(json).collect();
            serde_json::to_string_pretty(&list)? + "\n"
        }
        CatalogueFormat::Markdown => markdown(&catalogue),
    };
    let mut out = tabular::output(args.out.as_deref())?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
