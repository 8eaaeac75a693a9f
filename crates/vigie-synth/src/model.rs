//! The validated, precomputed model shared by all workers.

use rand_distr::Gamma;

use crate::SynthError;
use crate::config::{Horizon, SynthConfig};
use crate::population::{age_norms, frailty};

/// Share of admissions that are urgent, i.e. come through an ED visit.
pub(crate) const URGENT_SHARE: f64 = 0.7;

/// Immutable model derived from a [`SynthConfig`].
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub cfg: SynthConfig,
    pub horizon: Horizon,
    pub frailty: Gamma<f64>,
    /// Population mean of the ED age factor.
    pub ed_norm: f64,
    /// Population mean of the admission age factor.
    pub adm_norm: f64,
    /// Mean rate of ED visits not caused by an urgent admission.
    pub ed_indep_mean: f64,
    /// Day offset from which eligibility can start (12 months after the
    /// horizon start), if the horizon is longer than 12 months.
    pub eligibility_earliest: Option<i32>,
    /// Day spans `[from, to)` of the 3-month blocks over which the
    /// utilisation level is redrawn.
    pub blocks: Vec<(i32, i32)>,
    /// Day spans of the calendar quarters (survey files).
    pub quarters: Vec<(i32, i32)>,
}

impl Model {
    pub(crate) fn new(cfg: &SynthConfig) -> Result<Self, SynthError> {
        let horizon = cfg.horizon()?;
        let frailty = frailty()
            .map_err(|e| SynthError::InvalidConfig(format!("frailty distribution: {e}")))?;
        let (ed_norm, adm_norm) = age_norms();
        let months = horizon.months();
        let eligibility_earliest = (months > 12).then(|| horizon.offset(horizon.month_start(12)));
        let blocks = (0..months)
            .step_by(3)
            .map(|m| {
                (
                    horizon.offset(horizon.month_start(m)),
                    horizon.offset(horizon.month_start((m + 3).min(months))),
                )
            })
            .collect();
        let quarters = (0..horizon.quarters().len())
            .map(|q| horizon.quarter_span(q))
            .collect();
        Ok(Model {
            cfg: cfg.clone(),
            frailty,
            ed_norm,
            adm_norm,
            ed_indep_mean: (cfg.ed_rate_mean - URGENT_SHARE * cfg.admission_rate_mean).max(0.0),
            eligibility_earliest,
            blocks,
            quarters,
            horizon,
        })
    }
}
