//! Renders a report from a warehouse without the CLI:
//! `cargo run --example render -- <warehouse> <queries dir> feedback|accountability <period> <fr|en> <out> [team]`.

use std::path::Path;

use vigie_disclosure::DisclosureConfig;
use vigie_warehouse::Warehouse;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 7 {
        return Err("usage: render <warehouse> <queries> feedback|accountability <period> <lang> <out> [team]".into());
    }
    let wh = Warehouse::open(&a[1])?;
    let catalogue = vigie_indicators::load_catalogue(Path::new(&a[2]))?;
    let cfg = DisclosureConfig::default();
    let lang = vigie_report::parse_lang(&a[5])?;
    let html = if a[3] == "feedback" {
        let team = a.get(7).map(String::as_str).unwrap_or("T01");
        vigie_report::feedback_report(&wh, &catalogue, &cfg, team, &a[4], lang).await?
    } else {
        vigie_report::accountability_report(&wh, &catalogue, &cfg, &a[4], lang).await?
    };
    std::fs::write(&a[6], html)?;
    Ok(())
}
