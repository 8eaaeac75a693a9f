//! Pipeline and partner-source configuration: the YAML types, their loading with
//! file/line/key errors, and the semantic checks `vigie validate` runs.

mod catalogue_source;
mod evaluation;
mod instrument;
mod load;
mod month;
mod parse;
mod pattern;
mod pipeline;
mod report_period;
mod schedule;
mod source;
mod survey;

pub use catalogue_source::CatalogueSource;
pub use evaluation::{EligibilitySpec, EvaluationSpec};
pub use instrument::{
    Answer, AnswerStatus, Instrument, Item, Scale, ScaleValue, Text, load_instrument,
    parse_instrument,
};
pub use load::{LoadedPipeline, load_pipeline, load_source, queries_dir_of};
pub use month::{Month, MonthError};
pub use parse::duplicate_key;
pub use pattern::{DeclaredPeriod, FilePattern};
pub use pipeline::{
    EquitySpec, GovernanceNote, IndicatorsSpec, KeySpec, MaintenanceSpec, OutputsSpec,
    PipelineSpec, ReportKind, ReportOutputSpec,
};
pub use report_period::{CalendarPeriod, PeriodError, PeriodKind, ReportPeriod};
pub use schedule::{ScheduleSpec, parse_cron, parse_timezone};
pub use source::{
    CheckDigit, Columns, CsvDialect, Encoding, FieldSpec, FileFormat, GuardSpec, LoadMode, Output,
    ReplacePeriod, Scalar, SourceSpec, SplitSpec, SurveySpec, UnpivotSpec,
};
pub use survey::{MISSING, NOT_APPLICABLE, SurveyBinding};
