//! The minijinja environment: the templates under `templates/`, compiled in, auto-escaped.

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use crate::ReportError;

/// A section's template fragment, by its path under `templates/`.
macro_rules! fragment {
    ($name:literal) => {
        ($name, include_str!(concat!("../templates/", $name)))
    };
}

/// Every template: the page, the shared macros, each report and one fragment per section.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "style.css.html",
        include_str!("../templates/style.css.html"),
    ),
    ("charts.html", include_str!("../templates/charts.html")),
    ("common.html", include_str!("../templates/common.html")),
    ("feedback.html", include_str!("../templates/feedback.html")),
    fragment!("feedback/glance.html"),
    fragment!("feedback/ed_peers.html"),
    fragment!("feedback/indicators.html"),
    fragment!("feedback/history.html"),
    fragment!("feedback/peers.html"),
    fragment!("feedback/program.html"),
    fragment!("feedback/experience.html"),
    fragment!("feedback/pathway.html"),
    fragment!("feedback/equity.html"),
    fragment!("feedback/data_notes.html"),
    (
        "accountability.html",
        include_str!("../templates/accountability.html"),
    ),
    fragment!("accountability/scorecard.html"),
    fragment!("accountability/evaluation.html"),
    fragment!("accountability/pathway.html"),
    fragment!("accountability/equity.html"),
    fragment!("accountability/data_quality.html"),
    fragment!("accountability/methods.html"),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Every template is HTML (with inline SVG): escape everything interpolated.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                // A broken template is a bug caught by the unit tests; keep the error visible.
                tracing_free_panic(name, &e);
            }
        }
        env
    })
}

#[allow(clippy::panic)]
fn tracing_free_panic(name: &str, e: &minijinja::Error) -> ! {
    panic!("template {name} does not compile: {e:#}")
}

/// Renders template `name` with `ctx`.
pub fn render<S: Serialize>(name: &str, ctx: &S) -> Result<String, ReportError> {
    let tmpl = env().get_template(name)?;
    Ok(tmpl.render(ctx)?)
}
