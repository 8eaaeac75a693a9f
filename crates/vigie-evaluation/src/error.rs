//! Error type of the crate.
//!
//! Every public entry point validates its input (configuration, person
//! indices, dates) and returns an [`EvalError`] instead of panicking.

use thiserror::Error;
use vigie_stats::StatsError;

/// Everything that can go wrong in `vigie-evaluation`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EvalError {
    /// The [`crate::EvaluationConfig`] is inconsistent (message says why).
    #[error("invalid evaluation config: {0}")]
    InvalidConfig(String),
    /// A person record's key is not its position in the population.
    #[error("person record at position {position} has key {key}; keys must be dense indices 0..n")]
    KeyNotDense {
        /// Position in the record vector.
        position: usize,
        /// Key found there.
        key: u32,
    },
    /// A person index (event, enrolment) is outside the population.
    #[error("{what} refers to person {person}, but the population has {n_persons} persons")]
    UnknownPerson {
        /// Which input held the reference.
        what: &'static str,
        /// The person index.
        person: u32,
        /// Population size.
        n_persons: usize,
    },
    /// A person record refers to a team id that the population does not define.
    #[error("person {person} refers to team id {team}, but only {n_teams} teams are defined")]
    UnknownTeam {
        /// The person index.
        person: u32,
        /// The team id.
        team: u32,
        /// Number of teams defined.
        n_teams: usize,
    },
    /// Two inputs that must have the same length do not.
    #[error("length mismatch: {left} has {left_len} element(s) but {right} has {right_len}")]
    LengthMismatch {
        /// Name of the first input.
        left: &'static str,
        /// Its length.
        left_len: usize,
        /// Name of the second input.
        right: &'static str,
        /// Its length.
        right_len: usize,
    },
    /// A CSR offset array is malformed (not starting at 0, decreasing, or
    /// not ending at the number of events).
    #[error("malformed event offsets: {0}")]
    BadOffsets(String),
    /// More events than a `u32` offset can address.
    #[error("too many events ({0}); at most u32::MAX are supported")]
    TooManyEvents(usize),
    /// A day number or date arithmetic result is outside the supported range.
    #[error("date out of range: {0}")]
    DateOutOfRange(String),
    /// A program code that no enrolment uses.
    #[error("no enrolment in program {0:?}")]
    UnknownProgram(String),
    /// A statistics routine (bootstrap, interval) failed.
    #[error(transparent)]
    Stats(#[from] StatsError),
}

impl EvalError {
    /// Who must act: the evaluation settings are the user's; dates and sizes the data
    /// bring are the data's; inconsistent inputs are vigie's own (it assembles them).
    pub fn kind(&self) -> vigie_model::ErrorKind {
        use vigie_model::ErrorKind;
        match self {
            EvalError::InvalidConfig(_) | EvalError::UnknownProgram(_) => ErrorKind::User,
            EvalError::DateOutOfRange(_) | EvalError::TooManyEvents(_) | EvalError::Stats(_) => {
                ErrorKind::Data
            }
            EvalError::KeyNotDense { .. }
            | EvalError::UnknownPerson { .. }
            | EvalError::UnknownTeam { .. }
            | EvalError::LengthMismatch { .. }
            | EvalError::BadOffsets(_) => ErrorKind::Bug,
        }
    }
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, EvalError>;
