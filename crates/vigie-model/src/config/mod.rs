//! Pipeline and partner-source configuration: the YAML types, their loading with
//! file/line/key errors, and the semantic checks `vigie validate` runs.

mod load;
mod pattern;
mod pipeline;
mod source;

pub use load::{LoadedPipeline, load_pipeline, load_source};
pub use pattern::{DeclaredPeriod, FilePattern};
pub use pipeline::{
    IndicatorsSpec, KeySpec, OutputsSpec, PipelineSpec, ReportKind, ReportOutputSpec, ScheduleSpec,
};
pub use source::{
    CheckDigit, Columns, CsvDialect, Encoding, FieldSpec, FileFormat, GuardSpec, LoadMode, Output,
    ReplacePeriod, SourceSpec, SplitSpec, UnpivotSpec,
};
