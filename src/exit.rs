//! Exit codes: what a scheduler (cron, systemd, Airflow) can act on without reading logs.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: every new file loaded (rows may have been quarantined) |
//! | 1 | error: configuration, key, landing zone or warehouse unreachable, or a bug |
//! | 2 | the command line is wrong |
//! | 3 | a file was held by a replacement guard: `vigie held list` |
//! | 4 | a file was rejected whole: the partner must send it again |
//! | 5 | a file was postponed (I/O, disk, a crashed parser): the next run retries it |
//! | 6 | another vigie process is writing the warehouse (after waiting `writer_wait_seconds`) |
//!
//! When several apply, the highest code wins. Whatever the code, an error's kind
//! ([`vigie_model::ErrorKind`]: the user's, the data's, the environment's or a bug) is told to
//! the operator with what to do.

use std::fmt;
use std::process::ExitCode;

use vigie_model::ErrorKind;

/// The exit codes, for `--help`.
pub const HELP: &str = "Exit codes / codes de sortie:
  0  every new file loaded / tout fichier nouveau chargé
  1  error (configuration, key, landing zone, warehouse, bug) / erreur
  2  wrong command line / ligne de commande erronée
  3  a file was held for review: `vigie held list` / fichier retenu pour vérification
  4  a file was rejected whole / fichier rejeté en entier
  5  a file was postponed (I/O, disk, parser crash): retried next run / fichier reporté
  6  another vigie process is writing the warehouse / entrepôt occupé
The highest code that applies wins. / Le code le plus élevé l'emporte.";

/// A run that finished but needs a person's attention.
#[derive(Debug)]
pub struct Attention {
    /// The exit code.
    pub code: u8,
    /// What to tell the operator.
    pub message: String,
}

impl fmt::Display for Attention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Attention {}

/// A file was held for review.
pub const HELD: u8 = 3;
/// A file was rejected whole.
pub const REJECTED: u8 = 4;
/// A file was postponed.
pub const POSTPONED: u8 = 5;
/// The warehouse is busy.
pub const BUSY: u8 = 6;

/// The exit code of an ingest report: 0 when nothing needs attention.
pub fn of_ingest(report: &vigie_pipeline::IngestReport) -> Option<Attention> {
    let held = report.held().count();
    let rejected = report.rejected().count() + report.refused_names.len();
    let postponed = report.postponed.len();
    let code = if postponed > 0 {
        POSTPONED
    } else if rejected > 0 {
        REJECTED
    } else if held > 0 {
        HELD
    } else {
        return None;
    };
    Some(Attention {
        code,
        message: format!(
            "attention: {held} file(s) held for review (`vigie held list`), {rejected} rejected whole, {postponed} postponed to the next run / \
             à vérifier : {held} fichier(s) retenu(s), {rejected} rejeté(s), {postponed} reporté(s)"
        ),
    })
}

/// The kind of a command's error: that of the outermost vigie error in its chain.
pub fn kind_of(error: &anyhow::Error) -> Option<ErrorKind> {
    error.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<vigie_serve::ServeError>() {
            Some(e.kind())
        } else if let Some(e) = cause.downcast_ref::<vigie_pipeline::PipelineError>() {
            Some(e.kind())
        } else if let Some(e) = cause.downcast_ref::<vigie_report::ReportError>() {
            Some(e.kind())
        } else if let Some(e) = cause.downcast_ref::<vigie_indicators::IndicatorError>() {
            Some(e.kind())
        } else if let Some(e) = cause.downcast_ref::<vigie_warehouse::WarehouseError>() {
            Some(e.kind())
        } else if let Some(e) = cause.downcast_ref::<vigie_model::ConfigError>() {
            Some(e.kind())
        } else {
            cause
                .downcast_ref::<vigie_model::pseudonym::KeyError>()
                .map(|e| e.kind())
        }
    })
}

/// The exit code of a command's error.
pub fn of_error(error: &anyhow::Error) -> ExitCode {
    if let Some(a) = error.downcast_ref::<Attention>() {
        return ExitCode::from(a.code);
    }
    for cause in error.chain() {
        if let Some(vigie_pipeline::PipelineError::Warehouse(w)) =
            cause.downcast_ref::<vigie_pipeline::PipelineError>()
            && w.is_busy()
        {
            return ExitCode::from(BUSY);
        }
        if let Some(w) = cause.downcast_ref::<vigie_warehouse::WarehouseError>()
            && w.is_busy()
        {
            return ExitCode::from(BUSY);
        }
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_found_through_context_and_wrappers() {
        let config = vigie_model::ConfigError::Invalid(vec![]);
        let e = anyhow::Error::from(vigie_pipeline::PipelineError::from(config))
            .context("loading the pipeline");
        assert_eq!(kind_of(&e), Some(ErrorKind::User));
        let busy = vigie_warehouse::WarehouseError::Busy {
            location: "w".into(),
            holder: None,
        };
        let e = anyhow::Error::from(vigie_pipeline::PipelineError::from(busy));
        assert_eq!(kind_of(&e), Some(ErrorKind::Environment));
        assert_eq!(of_error(&e), ExitCode::from(BUSY));
        assert_eq!(kind_of(&anyhow::anyhow!("plain")), None);
    }
}
