//! The key-to-number table and the migration that numbers a warehouse written before it.
//!
//! The `person_number` table only grows: each load appends the numbers it gave, in the
//! commit group of the rows that use them, before the manifest commit makes those rows
//! visible. A load that crashes after appending leaves numbers no visible row uses; they
//! stay given (a key, once numbered, keeps its number), which is what "never renumbered"
//! needs. So the table is read at its latest version — by the writer, under the writer
//! lock — not through the manifest.
//!
//! Migration (`vigie migrate`, or the first writer that finds a table in an earlier layout):
//! numbers every key of the unnumbered tables, appends them, then rewrites each outdated
//! table at the version the manifest shows with the `person_number` column added (and any
//! field added to its entity since, empty for the rows already there), and records
//! the rewrite in the maintenance log as an equivalence (the same rows, now numbered), so
//! readers pinned to the old version move to the new one. Every step can be redone: a
//! crash leaves either numbers no row uses yet, or a rewritten table whose equivalence was
//! not recorded (rewritten again from the same version next time).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, RecordBatch};
use arrow::datatypes::{DataType, Int32Type};
use chrono::Utc;
use datafusion::prelude::SessionContext;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use futures::StreamExt;
use vigie_model::{Entity, PERSON_NUMBER, PersonNumbers, StoredNumbers, person_number_schema};

use crate::error::WarehouseError;
use crate::maintenance::CompactionRecord;
use crate::numbering_copy::TableFiles;
use crate::table::{delta_err, open_at, writer_properties};
use crate::{Replace, Warehouse, WriteInput, WriterLock};

/// Persons the numbering's map is sized for before reading (beyond, it grows as it reads).
const MAX_PRESIZED_PERSONS: usize = 64 << 20;

/// What a migration did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedTable {
    /// The table.
    pub table: String,
    /// The version the manifest showed, without numbers.
    pub from_version: u64,
    /// The rewritten version, with them.
    pub to_version: u64,
    /// Rows rewritten.
    pub rows: u64,
}

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberingMigration {
    /// Keys numbered by the migration (keys numbered before keep their numbers).
    pub persons_numbered: u64,
    /// Tables rewritten with the number column.
    pub tables: Vec<NumberedTable>,
}

impl Warehouse {
    /// The numbering stored so far (empty for a warehouse that numbered nobody yet). Read at
    /// the table's latest version: call it while holding the writer lock. From the
    /// numbering's copy when it fits the table (see `numbering_copy`), else from the table.
    pub async fn person_numbers(&self) -> Result<PersonNumbers, WarehouseError> {
        let url = self.table_url(PERSON_NUMBER)?;
        let Some(table) = open_at(&url, None).await? else {
            return Ok(PersonNumbers::new());
        };
        let files = TableFiles::of(&table, &url)?;
        if let Some(numbers) = self.numbers_from_copy(&table, &url, &files).await? {
            return Ok(numbers);
        }
        // Sized once from the row counts the log records for its files: growing a map of
        // millions of keys rehashes it again and again. Capped, so that a damaged log cannot
        // make it allocate beyond a national population.
        let rows = files.known_rows().min(MAX_PRESIZED_PERSONS);
        tracing::debug!(persons = rows, "reading the person numbering");
        let mut stored = StoredNumbers::with_capacity(rows);
        read_pairs(&table, &url, None, &mut stored).await?;
        Ok(stored.finish()?)
    }

    /// Appends the numbers a load gave (one commit). Returns the table's new version. The
    /// rows are made batch by batch as the writer takes them: a registry's first load gives
    /// millions of numbers at once.
    pub async fn append_person_numbers(
        &self,
        numbers: vigie_model::NewNumbers,
        lock: &WriterLock,
    ) -> Result<Option<u64>, WarehouseError> {
        if numbers.is_empty() {
            return Ok(None);
        }
        lock.still_held()?;
        let stream = NewNumbersStream {
            numbers: Arc::new(numbers),
            schema: person_number_schema(),
        };
        self.write_inputs(
            PERSON_NUMBER,
            vec![],
            vec![WriteInput::Stream(Arc::new(stream))],
            &[Replace::Nothing],
        )
        .await
    }

    /// The loaded tables, at the versions the manifest shows, written in an earlier layout:
    /// without a column the entity has now (the person number, or a field added since).
    /// Each with the columns it lacks.
    pub async fn outdated_tables(&self) -> Result<Vec<(Entity, u64, Vec<String>)>, WarehouseError> {
        let snapshot = self.snapshot(None).await?;
        // Opened together (see `session`): every load and compute asks.
        let checked = futures::future::try_join_all(Entity::ALL.into_iter().filter_map(|entity| {
            let version = *snapshot.tables.get(entity.table_name())?;
            Some(async move {
                let url = self.table_url(entity.table_name())?;
                let Some(table) = open_at(&url, Some(version)).await? else {
                    return Ok(None);
                };
                let stored = table.snapshot().map_err(delta_err(&url))?.schema();
                let missing: Vec<String> = entity
                    .schema()
                    .fields()
                    .iter()
                    .filter(|f| stored.field(f.name()).is_none())
                    .map(|f| f.name().clone())
                    .collect();
                Ok::<_, WarehouseError>((!missing.is_empty()).then_some((entity, version, missing)))
            })
        }))
        .await?;
        Ok(checked.into_iter().flatten().collect())
    }

    /// Brings every table written in an earlier layout to the current one (see the module
    /// docs): numbers the persons of tables without person numbers, and adds the fields
    /// added since (empty for the rows already loaded). Nothing to do returns an empty
    /// report. `lock` must be this warehouse's writer lock.
    pub async fn migrate_layout(
        &self,
        lock: &WriterLock,
    ) -> Result<NumberingMigration, WarehouseError> {
        let tables = self.outdated_tables().await?;
        if tables.is_empty() {
            return Ok(NumberingMigration::default());
        }
        for (entity, _, missing) in &tables {
            if let Some(required) = entity.schema().fields().iter().find(|f| {
                !f.is_nullable() && f.name() != PERSON_NUMBER && missing.contains(f.name())
            }) {
                return Err(WarehouseError::Internal(format!(
                    "{entity} lacks its required column {}: this warehouse was not written by vigie",
                    required.name()
                )));
            }
        }
        let numbers = self.person_numbers().await?;
        // Numbered in table order (the registry first), then key order: reproducible.
        for (entity, version, missing) in &tables {
            if missing.iter().any(|m| m == PERSON_NUMBER) {
                self.number_keys_of(*entity, *version, &numbers).await?;
            }
        }
        let new = numbers.take_new();
        let persons_numbered = new.len() as u64;
        self.append_person_numbers(new, lock).await?;
        let mut report = NumberingMigration {
            persons_numbered,
            tables: Vec::new(),
        };
        for (entity, version, _) in tables {
            let done = self
                .rewrite_numbered(entity, version, &numbers, lock)
                .await?;
            tracing::info!(
                table = %done.table,
                from_version = done.from_version,
                to_version = done.to_version,
                rows = done.rows,
                "table brought to the current layout / table mise à jour"
            );
            report.tables.push(done);
        }
        Ok(report)
    }

    /// A session reading `entity`'s table at `version`, registered as `t`.
    async fn table_at(
        &self,
        entity: Entity,
        version: u64,
    ) -> Result<SessionContext, WarehouseError> {
        let url = self.table_url(entity.table_name())?;
        let table = open_at(&url, Some(version)).await?.ok_or_else(|| {
            WarehouseError::Internal(format!("{entity} version {version} vanished"))
        })?;
        let ctx = SessionContext::new();
        table
            .update_datafusion_session(&ctx.state())
            .map_err(delta_err(&url))?;
        ctx.register_table("t", table.table_provider().await?)?;
        Ok(ctx)
    }

    async fn number_keys_of(
        &self,
        entity: Entity,
        version: u64,
        numbers: &PersonNumbers,
    ) -> Result<(), WarehouseError> {
        let ctx = self.table_at(entity, version).await?;
        let mut stream = ctx
            .sql("SELECT DISTINCT person_key FROM t WHERE person_key IS NOT NULL ORDER BY person_key")
            .await?
            .execute_stream()
            .await?;
        while let Some(batch) = stream.next().await {
            let keys = arrow::compute::cast(batch?.column(0), &DataType::Utf8)?;
            for key in keys.as_string::<i32>().iter().flatten() {
                numbers.number(key)?;
            }
        }
        Ok(())
    }

    /// Rewrites `entity`'s table from `version` with the number column, in one commit, and
    /// records the equivalence.
    async fn rewrite_numbered(
        &self,
        entity: Entity,
        version: u64,
        numbers: &PersonNumbers,
        lock: &WriterLock,
    ) -> Result<NumberedTable, WarehouseError> {
        let ctx = self.table_at(entity, version).await?;
        let staging = tempfile_dir()?;
        let path = staging
            .path()
            .join(format!("{}.parquet", entity.table_name()));
        let rows = stage_numbered(&ctx, entity, numbers, &path).await?;
        let url = self.table_url(entity.table_name())?;
        let table = open_at(&url, None).await?.ok_or_else(|| {
            WarehouseError::Internal(format!("{entity} has no version to rewrite"))
        })?;
        let read = SessionContext::new();
        let input = read
            .read_parquet(
                path.display().to_string(),
                datafusion::prelude::ParquetReadOptions::default(),
            )
            .await?;
        lock.still_held()?;
        let table = table
            .write(Vec::<RecordBatch>::new())
            .with_input_plan(input.into_unoptimized_plan())
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_partition_columns(entity.partition_columns())
            .with_writer_properties(writer_properties())
            .await
            .map_err(delta_err(&url))?;
        let to_version = table.version().ok_or_else(|| {
            WarehouseError::Internal(format!("{entity} rewrite produced no version"))
        })?;
        let record = CompactionRecord {
            at: Utc::now(),
            table: entity.table_name().to_string(),
            from_version: version,
            to_version,
            files_removed: 0,
            files_added: 0,
            bytes_removed: 0,
            bytes_added: 0,
        };
        self.record_compaction(&record, lock).await?;
        Ok(NumberedTable {
            table: entity.table_name().to_string(),
            from_version: version,
            to_version,
            rows,
        })
    }
}

/// Adds the table's (key, number) pairs to `stored` — those numbered `from` or higher,
/// when given — and returns how many were read. Read batch by batch: a national table
/// holds tens of millions of keys.
pub(crate) async fn read_pairs(
    table: &deltalake::DeltaTable,
    url: &url::Url,
    from: Option<u32>,
    stored: &mut StoredNumbers,
) -> Result<usize, WarehouseError> {
    use datafusion::prelude::{col, lit};
    let ctx = SessionContext::new();
    table
        .update_datafusion_session(&ctx.state())
        .map_err(delta_err(url))?;
    let provider = table.table_provider().await?;
    let mut frame = ctx
        .read_table(provider)?
        .select_columns(&["person_key", PERSON_NUMBER])?;
    if let Some(from) = from {
        let from = i32::try_from(from).map_err(|_| vigie_model::PersonNumberError::Exhausted)?;
        frame = frame.filter(col(PERSON_NUMBER).gt_eq(lit(from)))?;
    }
    let mut stream = frame.execute_stream().await?;
    let mut read = 0usize;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        read += batch.num_rows();
        let numbers = arrow::compute::cast(batch.column(1), &DataType::Int32)?;
        let numbers = numbers.as_primitive::<Int32Type>();
        // Scans return text as views: read in place (a cast to plain text copied every
        // key of the registry).
        let keys = batch.column(0);
        match keys.data_type() {
            DataType::Utf8View => add_pairs(stored, keys.as_string_view(), numbers)?,
            DataType::Utf8 => add_pairs(stored, keys.as_string::<i32>(), numbers)?,
            _ => {
                let keys = arrow::compute::cast(keys, &DataType::Utf8)?;
                add_pairs(stored, keys.as_string::<i32>(), numbers)?;
            }
        }
    }
    Ok(read)
}

/// Adds the pairs of one batch (rows lacking a key or a number hold no pair).
fn add_pairs<'a>(
    stored: &mut StoredNumbers,
    keys: impl arrow::array::ArrayAccessor<Item = &'a str>,
    numbers: &arrow::array::Int32Array,
) -> Result<(), WarehouseError> {
    for i in (0..keys.len()).filter(|i| keys.is_valid(*i) && numbers.is_valid(*i)) {
        stored.add(keys.value(i), numbers.value(i))?;
    }
    Ok(())
}

fn tempfile_dir() -> Result<tempfile::TempDir, WarehouseError> {
    tempfile::Builder::new()
        .prefix("vigie-migrate-")
        .tempdir()
        .map_err(|e| WarehouseError::Staging {
            path: std::env::temp_dir().display().to_string(),
            message: format!("cannot create a staging directory for the migration: {e}"),
        })
}

/// Writes every row of `t` to `path` in `entity`'s schema: numbers added where missing,
/// fields added since empty. Returns the rows.
async fn stage_numbered(
    ctx: &SessionContext,
    entity: Entity,
    numbers: &PersonNumbers,
    path: &std::path::Path,
) -> Result<u64, WarehouseError> {
    let schema = entity.schema();
    let file = std::fs::File::create(path).map_err(|e| WarehouseError::Staging {
        path: path.display().to_string(),
        message: format!("cannot stage the migration: {e}"),
    })?;
    let stage_err = |e: parquet::errors::ParquetError| WarehouseError::Staging {
        path: path.display().to_string(),
        message: format!("cannot stage the migration: {e}"),
    };
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).map_err(stage_err)?;
    let mut stream = ctx.table("t").await?.execute_stream().await?;
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let numbered = match (
            entity.person_key_field(),
            batch.column_by_name(PERSON_NUMBER),
        ) {
            (None, _) => None,
            (Some(_), Some(stored)) => Some(arrow::compute::cast(stored, &DataType::Int32)?),
            (Some(_), None) => Some(numbers_of(&batch, entity, numbers)?),
        };
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                if f.name() == PERSON_NUMBER
                    && let Some(numbered) = &numbered
                {
                    return Ok(numbered.clone());
                }
                match batch.column_by_name(f.name()) {
                    Some(column) => Ok(arrow::compute::cast(column, f.data_type())?),
                    // A field added since the table was written: empty for its rows.
                    None => Ok(arrow::array::new_null_array(
                        f.data_type(),
                        batch.num_rows(),
                    )),
                }
            })
            .collect::<Result<Vec<ArrayRef>, WarehouseError>>()?;
        let out = RecordBatch::try_new(schema.clone(), columns)?;
        rows += out.num_rows() as u64;
        writer.write(&out).map_err(stage_err)?;
    }
    writer.close().map_err(stage_err)?;
    Ok(rows)
}

/// The person numbers of a batch's keys (all numbered beforehand).
fn numbers_of(
    batch: &RecordBatch,
    entity: Entity,
    numbers: &PersonNumbers,
) -> Result<ArrayRef, WarehouseError> {
    let keys = batch
        .column_by_name("person_key")
        .ok_or_else(|| WarehouseError::Internal(format!("{entity} lacks person_key")))?;
    let keys = arrow::compute::cast(keys, &DataType::Utf8)?;
    let numbered: Int32Array = keys
        .as_string::<i32>()
        .iter()
        .map(|k| match k {
            None => Ok(None),
            Some(k) => numbers
                .get(k)
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    WarehouseError::Internal(format!("{entity}: a key was left unnumbered"))
                }),
        })
        .collect::<Result<_, _>>()?;
    Ok(Arc::new(numbered))
}

/// The new numbers as a stream of batches, made as the writer asks for them.
#[derive(Debug)]
struct NewNumbersStream {
    numbers: Arc<vigie_model::NewNumbers>,
    schema: arrow::datatypes::SchemaRef,
}

impl datafusion::physical_plan::streaming::PartitionStream for NewNumbersStream {
    fn schema(&self) -> &arrow::datatypes::SchemaRef {
        &self.schema
    }

    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::execution::SendableRecordBatchStream {
        let batches = self
            .numbers
            .clone()
            .batches()
            .map(|b| b.map_err(datafusion::error::DataFusionError::from));
        Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::iter(batches),
            ),
        )
    }
}
