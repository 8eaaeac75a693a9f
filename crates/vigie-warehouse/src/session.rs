//! A DataFusion session over a consistent snapshot of the warehouse, within a memory pool.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use vigie_model::Entity;

use crate::Warehouse;
use crate::error::WarehouseError;
use crate::manifest::{MANIFEST_TABLE, QUARANTINE_TABLE};
use crate::table::open_at;

/// Tables computed from the loaded data (indicator results, the restricted worklist, run
/// history), read at their latest version rather than through the load manifest.
pub const DERIVED_TABLES: [&str; 3] = ["indicator_results", "worklist", "run_history"];

/// The table versions a consistent reader uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The manifest version the snapshot was taken from (None: nothing loaded yet).
    pub manifest_version: Option<u64>,
    /// Table -> version.
    pub tables: BTreeMap<String, u64>,
}

/// The least share of its key range a hash join's build side must fill for DataFusion to
/// index it by key (an array of 4-byte row numbers over the range, no hashing) instead of a
/// hash table. Person numbers are dense, so a join on them always qualifies by range; what
/// DataFusion's default (0.15) refused were build sides naming fewer persons, such as the
/// 4.3M stays of a province's readmission self-join split over two partitions (0.14 of
/// 15M numbers each): the self-join's CPU time halved, `alc_days_pct` and
/// `admissions_per_1000_asr` took a fifth less (docs/benchmarks.md). At 0.05 each
/// partition's array costs less than 84 bytes per build row of the partition (4 per number
/// of the range, 4 per row), whatever the number of partitions: about twice a hash table's
/// share. Sparser build sides hash as before.
const PERFECT_HASH_JOIN_MIN_KEY_DENSITY: f64 = 0.05;

/// Resources for query sessions.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Memory pool for query execution, in bytes.
    pub memory_limit_bytes: usize,
    /// Parallelism (defaults to the number of cores).
    pub target_partitions: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            memory_limit_bytes: 2 << 30,
            target_partitions: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        }
    }
}

impl Warehouse {
    /// A session with every table registered at the snapshot's version: `person`,
    /// `ed_visit`, `admission`, `enrolment`, `survey_response`, `quarantine`, `load_manifest`.
    /// Tables not loaded yet are registered empty with their schema. The derived tables and
    /// `person_number` are registered at their latest version, when they exist.
    pub async fn session(
        &self,
        snapshot: &Snapshot,
        options: &SessionOptions,
    ) -> Result<SessionContext, WarehouseError> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(options.memory_limit_bytes, 1.0)
            .build_arc()?;
        let mut config = SessionConfig::new()
            .with_target_partitions(options.target_partitions.max(1))
            .with_information_schema(true);
        // Hash joins build the input smaller in memory, not the one with smaller files
        // (see `join_sizes`).
        config.options_mut().optimizer.use_statistics_registry = true;
        // No row-level filtering inside the Parquet reader. Given a predicate on a column
        // that is not a partition column, the Delta provider (which takes its scan settings
        // from the session it is built with, below) has the reader decode the filter's
        // column, test every row, then decode the other columns through the selection:
        // worth it when a filter keeps few rows, a cost when it keeps most, as the
        // warehouse's filters do (statuses, categories) — 1.1 s of `experience_top_box_pct`'s
        // 1.6–2.4 s at province scale, where `answer_status = 'valid'` keeps 93% of 16M
        // answers. Files and row groups are still skipped by their statistics, and the
        // filter above the scan selects the rows.
        config.options_mut().execution.parquet.pushdown_filters = false;
        config
            .options_mut()
            .execution
            .perfect_hash_join_min_key_density = PERFECT_HASH_JOIN_MIN_KEY_DENSITY;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_statistics_registry(crate::join_sizes::registry())
            .with_physical_optimizer_rules(crate::join_modes::physical_optimizer_rules())
            // `CAST(date_trunc(..) AS DATE)` and `date ± interval 'N days'` computed on day
            // numbers (see the modules): the same dates, without the calendar per value.
            .with_optimizer_rule(Arc::new(crate::period_start::RULE))
            .with_optimizer_rule(Arc::new(crate::day_shift::RULE))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let mut names: Vec<(String, Option<arrow::datatypes::SchemaRef>)> = Entity::ALL
            .iter()
            .map(|e| (e.table_name().to_string(), Some(e.schema())))
            .collect();
        names.push((
            QUARANTINE_TABLE.to_string(),
            Some(vigie_model::quarantine_schema()),
        ));
        names.push((
            MANIFEST_TABLE.to_string(),
            Some(crate::manifest::manifest_schema()),
        ));
        // Opened together: each opening replays its table's log, and the thirteen, one
        // after the other, took 0.23 s of every command on the province's warehouse.
        let opened = futures::future::try_join_all(names.into_iter().map(|(name, schema)| {
            let version = if name == MANIFEST_TABLE {
                snapshot.manifest_version
            } else {
                snapshot.tables.get(&name).copied()
            };
            async move {
                let url = self.table_url(&name)?;
                let table = match version {
                    Some(v) => open_at(&url, Some(v)).await?,
                    None => None,
                };
                Ok::<_, WarehouseError>((name, schema, url, table))
            }
        }))
        .await?;
        for (name, schema, url, table) in opened {
            match table {
                Some(table) => {
                    let err = |source| WarehouseError::Delta {
                        table: url.to_string(),
                        source,
                    };
                    table.update_datafusion_session(&ctx.state()).map_err(err)?;
                    let provider = table
                        .table_provider()
                        .with_session(Arc::new(ctx.state()))
                        .await?;
                    ctx.register_table(name.as_str(), provider)?;
                }
                None => {
                    if let Some(schema) = schema {
                        let empty =
                            datafusion::datasource::MemTable::try_new(schema, vec![vec![]])?;
                        ctx.register_table(name.as_str(), Arc::new(empty))?;
                    }
                }
            }
        }
        // Derived tables are not loads, and the key-to-number table only grows (see
        // `person_numbers`): they are read at their latest version, when present.
        let derived = futures::future::try_join_all(
            DERIVED_TABLES
                .into_iter()
                .chain([vigie_model::PERSON_NUMBER, "worklist_export_audit"])
                .map(|name| async move {
                    let url = self.table_url(name)?;
                    let table = open_at(&url, None).await?;
                    Ok::<_, WarehouseError>((name, url, table))
                }),
        )
        .await?;
        for (name, url, table) in derived {
            if let Some(table) = table {
                let err = |source| WarehouseError::Delta {
                    table: url.to_string(),
                    source,
                };
                table.update_datafusion_session(&ctx.state()).map_err(err)?;
                let provider = table
                    .table_provider()
                    .with_session(Arc::new(ctx.state()))
                    .await?;
                ctx.register_table(name, provider)?;
            }
        }
        Ok(ctx)
    }
}
