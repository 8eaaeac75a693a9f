//! Hash joins built on the input that is smaller in memory.
//!
//! DataFusion builds a hash join's table from the input its join selection estimates
//! smaller, comparing `total_byte_size`. A Delta scan reports the size of its whole data
//! files — every column, compressed — and DataFusion keeps that figure through a projection
//! with any string column. At province scale the person view (15M rows, 658 MB on disk,
//! mostly the 64-character keys no indicator reads) therefore looked smaller than the 18M
//! ED visits (783 MB on disk) whose two integer columns the join reads, so the join built
//! the person side: about 3 GB, which DataFusion cannot spill and the default pool refuses.
//!
//! This statistics provider, used by the join selection only, estimates every operator's
//! output as its row count times the width its columns take in Arrow memory. Row counts
//! stay DataFusion's own (exact from the Delta log, estimated through filters and joins).

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema};
use datafusion::common::Result;
use datafusion::common::stats::Precision;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::operator_statistics::{
    DefaultStatisticsProvider, ExtendedStatistics, StatisticsProvider, StatisticsRegistry,
    StatisticsResult,
};

/// Bytes assumed for the values of a variable-width column (the codes, names and dates
/// kept as text in the warehouse are mostly shorter), besides its offsets or views.
const VARIABLE_PAYLOAD: usize = 16;

/// The registry the warehouse's sessions give the join selection.
pub(crate) fn registry() -> StatisticsRegistry {
    StatisticsRegistry::with_providers(vec![Arc::new(InMemorySize)])
}

/// Sizes an operator's output by its rows and its schema's in-memory width.
#[derive(Debug, Default)]
pub(crate) struct InMemorySize;

impl StatisticsProvider for InMemorySize {
    fn compute_statistics(
        &self,
        plan: &dyn ExecutionPlan,
        child_stats: &[ExtendedStatistics],
    ) -> Result<StatisticsResult> {
        let StatisticsResult::Computed(computed) =
            DefaultStatisticsProvider.compute_statistics(plan, child_stats)?
        else {
            return Ok(StatisticsResult::Delegate);
        };
        let mut stats = computed.base().clone();
        let width = row_width(plan.schema().as_ref());
        stats.total_byte_size = match stats.num_rows {
            Precision::Exact(rows) | Precision::Inexact(rows) => {
                Precision::Inexact(rows.saturating_mul(width))
            }
            Precision::Absent => Precision::Absent,
        };
        Ok(StatisticsResult::Computed(ExtendedStatistics::new(stats)))
    }
}

/// Bytes one row of `schema` takes in Arrow memory (estimated for variable widths).
pub(crate) fn row_width(schema: &Schema) -> usize {
    schema.fields().iter().map(|f| width(f.data_type())).sum()
}

fn width(data_type: &DataType) -> usize {
    match data_type {
        DataType::Null => 0,
        // A bit per value and a validity bit, rounded up.
        DataType::Boolean => 1,
        DataType::Utf8 | DataType::Binary => 4 + VARIABLE_PAYLOAD,
        DataType::LargeUtf8 | DataType::LargeBinary => 8 + VARIABLE_PAYLOAD,
        DataType::Utf8View | DataType::BinaryView => 16 + VARIABLE_PAYLOAD,
        DataType::Dictionary(key, _) => width(key),
        DataType::List(item) | DataType::ListView(item) => 4 + width(item.data_type()),
        DataType::LargeList(item) | DataType::LargeListView(item) => 8 + width(item.data_type()),
        DataType::FixedSizeList(item, n) => {
            width(item.data_type()).saturating_mul(usize::try_from(*n).unwrap_or(0))
        }
        DataType::Struct(fields) => fields.iter().map(|f| width(f.data_type())).sum(),
        DataType::Map(entries, _) => 4 + width(entries.data_type()),
        other => other.primitive_width().unwrap_or(VARIABLE_PAYLOAD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, TimeUnit};

    #[test]
    fn widths_follow_arrow_memory() {
        let events = Schema::new(vec![
            Field::new("person_number", DataType::Int64, false),
            Field::new(
                "arrival",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                true,
            ),
        ]);
        assert_eq!(row_width(&events), 16);
        let persons = Schema::new(vec![
            Field::new("person_number", DataType::Int64, false),
            Field::new("sex", DataType::Utf8View, true),
            Field::new("team", DataType::Utf8, true),
            Field::new("birth_year", DataType::Int32, true),
            Field::new("indigenous_identity", DataType::Null, true),
            Field::new("enrolled", DataType::Boolean, true),
            Field::new(
                "area",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
        ]);
        assert_eq!(row_width(&persons), 8 + 32 + 20 + 4 + 1 + 4);
    }
}
