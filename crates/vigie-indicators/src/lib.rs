//! The indicator catalogue and the engine that runs it.
//!
//! An indicator is data: `queries/<id>.sql` (DataFusion SQL over the warehouse, returning the
//! finest cells) beside `queries/<id>.yaml` (its metadata). The engine runs each query over a
//! consistent warehouse snapshot, aggregates the cells up the org hierarchy (region > team)
//! and over each stratum dimension, computes values and confidence intervals with
//! `vigie-stats`, SPC signals over each series, marks what the disclosure gate suppresses,
//! and writes `indicator_results`. Program evaluation and case finding are built in
//! (person-level, through `vigie-evaluation`); their care-coordinator worklist is written to
//! the restricted `worklist` table only.

mod aggregate;
mod builtin;
mod catalogue;
mod codes;
pub mod conditions;
pub mod disparity;
mod engine;
mod error;
mod functions;
mod peer;
mod persons;
mod results;
mod roles;
pub mod sql_guard;
pub mod strata;
mod survey;

pub use catalogue::{
    Bilingual, CatalogueOrigin, Direction, Estimand, EvaluationOutcome, EvaluationSpec,
    IndicatorDef, IndicatorMeta, Method, PathwayStep, PeriodType, StratumDim, Target, Unit,
    load_catalogue, read_catalogue,
};
pub use codes::{Code, SpcSignal, TargetStatus};
pub use engine::{ComputeOptions, ComputeReport, StrataRun, compute, validate_catalogue};
pub use error::IndicatorError;
pub use peer::{FunnelKind, PeerBand, PeerFunnel, PeerTone, peer_band};
pub use results::{
    IndicatorResult, RESULTS_TABLE, WORKLIST_TABLE, published_results, results_schema, to_batch,
};
pub use roles::{Role, all_with_role, evaluation_indicator, with_role};
pub use survey::{SURVEY_ITEM_ANSWER_TABLE, SURVEY_ITEM_TABLE, register_instruments};
