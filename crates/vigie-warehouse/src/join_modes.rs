//! Hash joins on one integer key: built once, the other input read where it is.
//!
//! DataFusion joins two large inputs by repartitioning both on the key's hash and building
//! one table per partition ("partitioned"), unless one input is below a size threshold,
//! then built whole and probed by every partition where it stands ("collect left"). Every
//! indicator joining events to the person view is the first case at province scale (15M
//! persons, 17M ED visits): both inputs went through a repartition — every column of every
//! row hashed and copied into per-partition batches, 1.9 GB of person rows for
//! `ed_visits_per_1000` alone — to build tables that, keyed by dense person numbers, are
//! arrays indexed by number (see `session`): as cheap to build once as twice, and as large.
//!
//! This rule, placed right after DataFusion's join selection, builds once the partitioned
//! joins whose key is one integer column, keeping the build input the join selection chose
//! (the smaller in memory, see `join_sizes`); the probe input, often the wide person rows,
//! is no longer copied. Measured at province scale (docs/benchmarks.md): `ed_visits_per_1000`
//! 2.75 -> 2.40 s, `admissions_per_1000` 0.69 -> 0.56 s, `interdisciplinary_contact_90d_pct`
//! 0.19 -> 0.12 s, the readmission self-join unchanged. Letting DataFusion collect every join
//! instead (its size thresholds raised) lost more than it won: it then also swapped inputs,
//! building 15M persons on one thread for 4M probing stays, which doubled the readmission
//! indicator's time. Joins on other keys (strings, several columns) hash as before.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};

/// DataFusion's physical optimizer rules, with this rule right after the join selection it
/// corrects.
pub(crate) fn physical_optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new().rules;
    let after = rules
        .iter()
        .position(|r| r.name() == "join_selection")
        .map_or(0, |at| at + 1);
    rules.insert(after, Arc::new(CollectIntegerKeyJoins));
    rules
}

/// The rule's name, as DataFusion's optimizer lists it.
const NAME: &str = "vigie_collect_integer_key_joins";

/// Builds once the partitioned hash joins on one integer key.
#[derive(Debug, Default)]
pub(crate) struct CollectIntegerKeyJoins;

impl PhysicalOptimizerRule for CollectIntegerKeyJoins {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<HashJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            if !builds_once(join) {
                return Ok(Transformed::no(node));
            }
            let collected = join
                .builder()
                .with_partition_mode(PartitionMode::CollectLeft)
                .build()?;
            Ok(Transformed::yes(
                Arc::new(collected) as Arc<dyn ExecutionPlan>
            ))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        NAME
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether a join chosen partitioned is one to build once instead.
fn builds_once(join: &HashJoinExec) -> bool {
    if *join.partition_mode() != PartitionMode::Partitioned || join.null_aware {
        return false;
    }
    let [(left_key, right_key)] = join.on() else {
        return false;
    };
    let integer = |key: &Arc<dyn datafusion::physical_plan::PhysicalExpr>,
                   input: &Arc<dyn ExecutionPlan>| {
        key.data_type(input.schema().as_ref())
            .is_ok_and(|t| t.is_integer())
    };
    integer(left_key, join.left()) && integer(right_key, join.right())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// A two-partition session whose join selection partitions every join (no size
    /// threshold), with the warehouse's rules or DataFusion's alone; `persons` numbers
    /// 0..1000 with a team each, `events` names numbers 500..2000 (half matching nobody).
    fn session(warehouse_rules: bool) -> SessionContext {
        let mut config = SessionConfig::new().with_target_partitions(2);
        config
            .options_mut()
            .optimizer
            .hash_join_single_partition_threshold = 0;
        config
            .options_mut()
            .optimizer
            .hash_join_single_partition_threshold_rows = 0;
        let rules = if warehouse_rules {
            physical_optimizer_rules()
        } else {
            PhysicalOptimizer::new().rules
        };
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rules(rules)
            .build();
        let ctx = SessionContext::new_with_state(state);
        let table = |numbers: std::ops::Range<i32>, text: &str| {
            let schema = Arc::new(Schema::new(vec![
                Field::new("person_number", DataType::Int32, false),
                Field::new(text, DataType::Utf8, false),
            ]));
            // Two partitions of one batch each.
            let middle = numbers.start + (numbers.end - numbers.start) / 2;
            let batch = |range: std::ops::Range<i32>| {
                let labels: Vec<String> = range.clone().map(|n| format!("t{}", n % 7)).collect();
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Int32Array::from_iter_values(range)) as ArrayRef,
                        Arc::new(StringArray::from(labels)),
                    ],
                )
                .expect("batch")
            };
            let partitions = vec![
                vec![batch(numbers.start..middle)],
                vec![batch(middle..numbers.end)],
            ];
            Arc::new(MemTable::try_new(schema.clone(), partitions).expect("table"))
        };
        ctx.register_table("persons", table(0..1000, "team"))
            .expect("register");
        ctx.register_table("events", table(500..2000, "code"))
            .expect("register");
        ctx
    }

    /// The plan's hash join modes, and the query's one integer result.
    async fn run(ctx: &SessionContext, sql: &str) -> (Vec<String>, i64) {
        let frame = ctx.sql(sql).await.expect("plan");
        let plan = frame
            .clone()
            .create_physical_plan()
            .await
            .expect("physical");
        let text = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        let modes = text
            .lines()
            .filter_map(|l| l.split("HashJoinExec: mode=").nth(1))
            .filter_map(|rest| rest.split(',').next())
            .map(str::to_string)
            .collect();
        let batches = frame.collect().await.expect("run");
        let value = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("a count")
            .value(0);
        (modes, value)
    }

    #[tokio::test]
    async fn integer_key_joins_are_built_once_with_the_same_rows() {
        let inner = "SELECT count(*) FROM events AS e JOIN persons AS p \
                     ON p.person_number = e.person_number";
        // Without the rule, the join is partitioned: the rule has something to change.
        assert_eq!(
            run(&session(false), inner).await,
            (vec!["Partitioned".to_string()], 500)
        );
        let ctx = session(true);
        assert_eq!(
            run(&ctx, inner).await,
            (vec!["CollectLeft".to_string()], 500)
        );
        // Outer joins keep the rows matching nobody, on either side, once.
        let left = "SELECT count(*) FROM persons AS p LEFT JOIN events AS e \
                    ON p.person_number = e.person_number";
        let right = "SELECT count(*) FROM persons AS p RIGHT JOIN events AS e \
                     ON p.person_number = e.person_number";
        let full = "SELECT count(*) FROM persons AS p FULL JOIN events AS e \
                    ON p.person_number = e.person_number";
        let anti = "SELECT count(*) FROM events AS e WHERE NOT EXISTS \
                    (SELECT 1 FROM persons AS p WHERE p.person_number = e.person_number)";
        for (sql, rows) in [(left, 1000), (right, 1500), (full, 2000), (anti, 1000)] {
            let (modes, count) = run(&ctx, sql).await;
            assert_eq!(count, rows, "{sql}");
            assert!(modes.iter().all(|m| m == "CollectLeft"), "{sql}: {modes:?}");
        }
    }

    #[tokio::test]
    async fn joins_on_text_keep_their_partitioned_mode() {
        let sql = "SELECT count(*) FROM events AS e JOIN persons AS p ON p.team = e.code";
        let (modes, count) = run(&session(true), sql).await;
        assert_eq!(modes, vec!["Partitioned".to_string()]);
        // Each of the 7 labels: persons and events holding it, multiplied.
        let per_label = |range: std::ops::Range<i32>, label: i32| {
            range.filter(|n| n % 7 == label).count() as i64
        };
        let expected: i64 = (0..7)
            .map(|l| per_label(0..1000, l) * per_label(500..2000, l))
            .sum();
        assert_eq!(count, expected);
    }
}
