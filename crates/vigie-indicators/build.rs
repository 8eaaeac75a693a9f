//! Embeds the repository's indicator catalogue (`queries/*.yaml` and their `*.sql`) in the
//! library (with the strata declarations `queries/strata.yaml`), so that an installed binary computes it without the repository beside it.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let queries = manifest.join("../../queries");
    println!("cargo:rerun-if-changed={}", queries.display());
    let mut metas: Vec<PathBuf> = std::fs::read_dir(&queries)
        .expect("the catalogue directory queries/ beside the workspace")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        // The strata declarations are not an indicator: embedded on their own below.
        .filter(|p| p.file_name().is_none_or(|n| n != "strata.yaml"))
        .collect();
    metas.sort();
    let mut code = String::from(
        "/// The built-in catalogue: (file stem, metadata, SQL if any).\n\
         pub(crate) static EMBEDDED: &[(&str, &str, Option<&str>)] = &[\n",
    );
    for meta in metas {
        let stem = meta
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("catalogue file names are UTF-8");
        let sql = meta.with_extension("sql");
        let sql = if sql.exists() {
            format!("Some(include_str!({:?}))", sql.display().to_string())
        } else {
            "None".to_string()
        };
        writeln!(
            code,
            "    ({stem:?}, include_str!({:?}), {sql}),",
            meta.display().to_string()
        )
        .expect("writing to a string");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("embedded_catalogue.rs"), code).expect("write the embedded list");
    std::fs::copy(queries.join("strata.yaml"), out.join("strata.yaml"))
        .expect("the strata declarations queries/strata.yaml");
}
