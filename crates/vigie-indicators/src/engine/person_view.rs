//! The `person` every query reads: the registry with one column per declared stratum that
//! comes from elsewhere (an area attribute, a person attribute), and governed strata the
//! pipeline did not enable blanked. Built from `strata.yaml`, so a new area-level stratum
//! needs no query or Rust change beyond listing the column.

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use super::session::run_sql;
use crate::error::IndicatorError;
use crate::strata::{Strata, StratumDecl, StratumSource, UNKNOWN};

/// The strata of one run: the declarations and the governed ones the pipeline enables.
#[derive(Debug, Clone)]
pub struct StrataRun {
    /// The declarations.
    pub strata: Strata,
    /// Governed strata enabled by the pipeline (`equity.enabled`).
    pub enabled: Vec<String>,
}

impl StrataRun {
    /// Whether `id` is computed in this run.
    pub fn is_active(&self, id: &str) -> bool {
        self.strata.is_active(id, &self.enabled)
    }

    /// The declared governed strata this run does not compute.
    fn blanked(&self) -> impl Iterator<Item = &StratumDecl> {
        self.strata
            .decls
            .iter()
            .filter(|d| d.governed && !self.is_active(&d.id))
    }
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The expression mapping a looked-up `value` onto the declared categories: anything else,
/// and a missing row, is `unknown` (never dropped).
fn categorised(value: &str, d: &StratumDecl) -> String {
    if d.categories.is_empty() {
        return format!("coalesce({value}, {})", lit(UNKNOWN));
    }
    let codes: Vec<String> = d.categories.iter().map(|c| lit(&c.code)).collect();
    format!(
        "CASE WHEN {value} IN ({}) THEN {value} ELSE {} END",
        codes.join(", "),
        lit(UNKNOWN)
    )
}

/// The warehouse tables `person` is built from: what a result derived from `person` alone
/// (`population_month`'s groups) must be rebuilt after, with the view's statements.
pub(super) const PERSON_VIEW_TABLES: [&str; 3] = ["person", "area_attribute", "person_attribute"];

/// Replaces `person` (and `person_attribute`) by the views the strata imply. Returns the
/// statements that define them (with [`PERSON_VIEW_TABLES`]' versions, what `person` holds).
pub(super) async fn register_person_view(
    ctx: &SessionContext,
    run: &StrataRun,
) -> Result<String, IndicatorError> {
    let mut statements = String::new();
    let internal = |e: datafusion::error::DataFusionError| IndicatorError::Internal(e.to_string());
    // A governed attribute the pipeline does not enable is not readable at all, not even by
    // a query reading `person_attribute` directly.
    let hidden: Vec<String> = run
        .blanked()
        .filter_map(|d| match &d.source {
            StratumSource::PersonAttribute(a) => Some(lit(a)),
            _ => None,
        })
        .collect();
    if let Some(provider) = ctx.deregister_table("person_attribute").map_err(internal)? {
        ctx.register_table("person_attribute__all", provider)
            .map_err(internal)?;
        let filter = if hidden.is_empty() {
            String::new()
        } else {
            format!(" WHERE attribute NOT IN ({})", hidden.join(", "))
        };
        let view =
            format!("CREATE VIEW person_attribute AS SELECT * FROM person_attribute__all{filter}");
        run_sql(ctx, "person_attribute", &view).await?;
        statements.push_str(&view);
        statements.push('\n');
    }
    let Some(provider) = ctx.deregister_table("person").map_err(internal)? else {
        return Ok(statements);
    };
    // Indicators reach persons by their number: the view carries strata, not the
    // pseudonymous key. A recompute materialises the persons it needs (`narrow`), and
    // 64-character keys were most of what it copied. The evaluation, which orders persons
    // by key, reads `person__keyed`: the registry's columns as `person` shows them, and the
    // key.
    let registry_columns = columns_shown(provider.schema().as_ref());
    ctx.register_table(REGISTRY, provider).map_err(internal)?;
    let keyed = format!(
        "CREATE VIEW person__keyed AS SELECT p.person_key, {} FROM {REGISTRY} AS p",
        registry_select(run, &registry_columns).join(", ")
    );
    run_sql(ctx, "person", &keyed).await?;
    let view = format!(
        "CREATE VIEW person AS {}",
        person_sql(run, &registry_columns, REGISTRY)
    );
    run_sql(ctx, "person", &view).await?;
    statements.push_str(&view);
    Ok(statements)
}

/// The registry as the warehouse stores it, under the `person` view.
pub(super) const REGISTRY: &str = "person__registry";

/// The registry's columns `person` shows: all but the pseudonymous key and the rows'
/// provenance (`_source`, `_file`, `_line`, `_load_id`: which load and line gave a person
/// is the load manifest's and `vigie query`'s business, not an indicator's). A recompute
/// copies the persons it needs (`narrow`), and the provenance was four of the copy's twelve
/// columns, among them a load identifier and a file name per person: the quarter's
/// narrowing of a province took 0.68–0.88 s with them, 0.34–0.59 s without
/// (docs/benchmarks.md).
fn columns_shown(schema: &datafusion::arrow::datatypes::Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|c| c != "person_key" && !vigie_model::PROVENANCE_FIELDS.contains(&c.as_str()))
        .collect()
}

/// `person`'s query over some of the registry's rows: `registry` is a parenthesised query
/// over [`REGISTRY`] with its columns (a recompute narrows the registry to the persons it
/// needs before looking their strata up: see `narrow`). None when the session's `person`
/// is the stored table itself (no registry registered under the view).
pub(super) async fn person_sql_over(
    ctx: &SessionContext,
    run: &StrataRun,
    registry: &str,
) -> Result<Option<String>, IndicatorError> {
    let internal = |e: datafusion::error::DataFusionError| IndicatorError::Internal(e.to_string());
    if !ctx.table_exist(REGISTRY).map_err(internal)? {
        return Ok(None);
    }
    let provider = ctx.table_provider(REGISTRY).await.map_err(internal)?;
    let registry_columns = columns_shown(provider.schema().as_ref());
    Ok(Some(person_sql(run, &registry_columns, registry)))
}

/// The registry's columns as `person` shows them: governed ones the run does not enable
/// blanked.
fn registry_select(run: &StrataRun, registry_columns: &[String]) -> Vec<String> {
    registry_columns
        .iter()
        .map(|c| {
            let blank = run
                .blanked()
                .any(|d| d.source == StratumSource::Person(c.clone()));
            if blank {
                format!("CAST(NULL AS VARCHAR) AS \"{c}\"")
            } else {
                format!("p.\"{c}\"")
            }
        })
        .collect()
}

/// `person`'s query: the registry rows of `registry` (aliased `p`) with one column per
/// declared stratum looked up elsewhere.
fn person_sql(run: &StrataRun, registry_columns: &[String], registry: &str) -> String {
    let mut select = registry_select(run, registry_columns);
    let mut joins = Vec::new();
    for (i, d) in run.strata.decls.iter().enumerate() {
        let (table, key, attribute) = match &d.source {
            StratumSource::Area(a) => ("area_attribute", "area", a),
            StratumSource::PersonAttribute(a) => ("person_attribute", "person_number", a),
            // A registry column under another name.
            StratumSource::Person(c) if *c != d.id && !registry_columns.contains(&d.id) => {
                select.push(if run.is_active(&d.id) {
                    format!("p.\"{c}\" AS \"{}\"", d.id)
                } else {
                    format!("CAST(NULL AS VARCHAR) AS \"{}\"", d.id)
                });
                continue;
            }
            StratumSource::Query | StratumSource::Person(_) => continue,
        };
        if registry_columns.contains(&d.id) {
            // Checked when the declarations are read; never shadow a registry column.
            continue;
        }
        if !run.is_active(&d.id) {
            select.push(format!("CAST(NULL AS VARCHAR) AS \"{}\"", d.id));
            continue;
        }
        let alias = format!("s{i}");
        select.push(format!(
            "{} AS \"{}\"",
            categorised(&format!("{alias}.value"), d),
            d.id
        ));
        // One value per key: a lookup listing an area twice must not double its persons.
        joins.push(format!(
            "LEFT JOIN (SELECT {key}, max(CAST(value AS VARCHAR)) AS value FROM {table} \
             WHERE attribute = {} GROUP BY {key}) AS {alias} ON {alias}.{key} = p.{key}",
            lit(attribute)
        ));
    }
    format!(
        "SELECT {} FROM {registry} AS p {}",
        select.join(", "),
        joins.join(" ")
    )
}

/// The groups `population_month` is made of: persons by team, sex, language, rurality,
/// birth year, every other stratum of `person` and death month. They depend on `person`
/// alone, not on the data span, so a run may reuse the groups an earlier run built from the
/// same registry (see `session`).
pub(super) fn population_groups_sql(run: &StrataRun) -> String {
    let columns = population_columns(run);
    let p: Vec<String> = columns.iter().map(|c| format!("p.\"{c}\"")).collect();
    format!(
        "SELECT {}, CAST(date_trunc('month', p.death_date) AS DATE) AS death_month,
       count(*) AS persons
FROM person AS p
GROUP BY {}",
        p.join(", "),
        (1..=columns.len() + 1)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// `population_month` from the registered `population_groups`: the attributed population
/// alive at the start of each month of the calendar, by the groups' columns; from `from` on
/// when given (a recompute, whose queries read no earlier month: see `narrow`).
///
/// The columns in `views` (text read as string views) are stored as plain strings: the
/// table stays in memory for the whole run, and a view takes 16 bytes a value where these
/// short codes take 4 and their few bytes (a national table has 8M rows; its catalogue
/// peaked 0.45 GB lower).
pub(super) fn population_month_sql(
    run: &StrataRun,
    from: Option<NaiveDate>,
    views: &[String],
) -> String {
    let g: Vec<String> = population_columns(run)
        .iter()
        .map(|c| {
            if views.contains(c) {
                format!("arrow_cast(g.\"{c}\", 'Utf8') AS \"{c}\"")
            } else {
                format!("g.\"{c}\"")
            }
        })
        .collect();
    let months_from = from
        .map(|d| format!("\n  AND c.period_start >= DATE '{d}'"))
        .unwrap_or_default();
    format!(
        "CREATE TABLE population_month AS
SELECT c.period_start, {}, g.persons
FROM population_groups AS g
CROSS JOIN calendar AS c
WHERE c.period_type = 'month'
  AND (g.death_month IS NULL OR g.death_month >= c.period_start){months_from}",
        g.join(", ")
    )
}

/// The columns `population_month` is broken down by.
fn population_columns(run: &StrataRun) -> Vec<String> {
    let mut columns: Vec<String> = ["team", "sex", "language", "rurality", "birth_year"]
        .map(String::from)
        .to_vec();
    for d in &run.strata.decls {
        let from_person = !matches!(d.source, StratumSource::Query);
        if from_person && !columns.contains(&d.id) {
            columns.push(d.id.clone());
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray, Date32Array, Int64Array, RecordBatch, StringViewArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use vigie_model::config::CatalogueSource;

    use super::*;

    /// The built-in strata, no governed one enabled.
    fn built_in_run() -> StrataRun {
        let strata = crate::strata::load_strata(&CatalogueSource {
            embedded: true,
            directory: None,
        })
        .expect("built-in strata");
        StrataRun {
            strata,
            enabled: vec![],
        }
    }

    /// `population_month` built by its statement over groups whose text is string views, as
    /// read from Parquet: the text is stored as plain strings, numbers stay numbers, and
    /// every group is there for each month it is alive at the start of.
    #[tokio::test]
    async fn population_month_stores_text_as_plain_strings_with_the_same_values() {
        let run = built_in_run();
        let columns = population_columns(&run);
        let mut fields = Vec::new();
        let mut arrays: Vec<Arc<dyn Array>> = Vec::new();
        for c in &columns {
            if c == "birth_year" {
                fields.push(Field::new(c, DataType::Int64, true));
                arrays.push(Arc::new(Int64Array::from(vec![1950, 1990])));
            } else {
                fields.push(Field::new(c, DataType::Utf8View, true));
                let values = [format!("{c}-a"), format!("{c}-b")];
                arrays.push(Arc::new(StringViewArray::from_iter_values(values)));
            }
        }
        // The first group died in February 2024: it counts in January and February only.
        let february = chrono::NaiveDate::from_ymd_opt(2024, 2, 1).expect("date");
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("date");
        let day = |d: chrono::NaiveDate| (d - epoch).num_days() as i32;
        fields.push(Field::new("death_month", DataType::Date32, true));
        arrays.push(Arc::new(Date32Array::from(vec![Some(day(february)), None])));
        fields.push(Field::new("persons", DataType::Int64, false));
        arrays.push(Arc::new(Int64Array::from(vec![7, 11])));
        let schema = Arc::new(Schema::new(fields));
        let groups = RecordBatch::try_new(schema.clone(), arrays).expect("groups");
        let ctx = SessionContext::new();
        ctx.register_table(
            "population_groups",
            Arc::new(MemTable::try_new(schema, vec![vec![groups]]).expect("table")),
        )
        .expect("register");
        ctx.sql(
            "CREATE TABLE calendar AS SELECT * FROM (VALUES \
             ('month', DATE '2024-01-01'), ('month', DATE '2024-02-01'), \
             ('month', DATE '2024-03-01'), ('quarter', DATE '2024-01-01')) \
             AS t(period_type, period_start)",
        )
        .await
        .expect("calendar")
        .collect()
        .await
        .expect("calendar");
        let views: Vec<String> = columns
            .iter()
            .filter(|c| *c != "birth_year")
            .cloned()
            .collect();
        run_sql(
            &ctx,
            "population_month",
            &population_month_sql(&run, None, &views),
        )
        .await
        .expect("population_month");
        let table = ctx.table("population_month").await.expect("table");
        for c in &columns {
            let field = table
                .schema()
                .field_with_unqualified_name(c)
                .expect("column");
            let expected = if c == "birth_year" {
                DataType::Int64
            } else {
                DataType::Utf8
            };
            assert_eq!(field.data_type(), &expected, "{c}");
        }
        let rows = ctx
            .sql("SELECT period_start, team, language, birth_year, persons FROM population_month ORDER BY persons, period_start")
            .await
            .expect("sql")
            .collect()
            .await
            .expect("rows");
        let mut seen = Vec::new();
        for b in &rows {
            let team = b.column(1).as_string::<i32>();
            let language = b.column(2).as_string::<i32>();
            let birth = b.column(3).as_primitive::<arrow::datatypes::Int64Type>();
            let persons = b.column(4).as_primitive::<arrow::datatypes::Int64Type>();
            for i in 0..b.num_rows() {
                seen.push((
                    team.value(i).to_string(),
                    language.value(i).to_string(),
                    birth.value(i),
                    persons.value(i),
                ));
            }
        }
        let group =
            |s: &str, by: i64, n: i64| (format!("team-{s}"), format!("language-{s}"), by, n);
        let mut expected = vec![group("a", 1950, 7); 2];
        expected.extend(vec![group("b", 1990, 11); 3]);
        assert_eq!(seen, expected);
    }

    /// `person` shows the registry's columns and strata, without the pseudonymous key and
    /// without the rows' provenance; `person__keyed` (the evaluation's) adds the key alone.
    #[tokio::test]
    async fn person_shows_neither_the_key_nor_the_rows_provenance() {
        let run = built_in_run();
        let schema = vigie_model::Entity::Person.schema();
        let ctx = SessionContext::new();
        ctx.register_table(
            "person",
            Arc::new(MemTable::try_new(schema.clone(), vec![vec![]]).expect("table")),
        )
        .expect("register");
        for entity in [
            vigie_model::Entity::AreaAttribute,
            vigie_model::Entity::PersonAttribute,
        ] {
            let empty = MemTable::try_new(entity.schema(), vec![vec![]]).expect("table");
            ctx.register_table(entity.table_name(), Arc::new(empty))
                .expect("register");
        }
        register_person_view(&ctx, &run).await.expect("view");
        let shown = |table: &str| {
            let ctx = ctx.clone();
            let table = table.to_string();
            async move {
                let frame = ctx.table(table.as_str()).await.expect("table");
                frame
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect::<Vec<_>>()
            }
        };
        let person = shown("person").await;
        let keyed = shown("person__keyed").await;
        for hidden in vigie_model::PROVENANCE_FIELDS.iter().chain(&["person_key"]) {
            assert!(
                !person.iter().any(|c| c == hidden),
                "{hidden} in {person:?}"
            );
        }
        for hidden in vigie_model::PROVENANCE_FIELDS {
            assert!(!keyed.iter().any(|c| c == hidden), "{hidden} in {keyed:?}");
        }
        for column in [
            "person_number",
            "team",
            "sex",
            "birth_year",
            "death_date",
            "deprivation_quintile",
        ] {
            assert!(
                person.iter().any(|c| c == column),
                "{column} missing: {person:?}"
            );
        }
        assert!(keyed.iter().any(|c| c == "person_key"), "{keyed:?}");
        // The registry itself still has them, for `vigie query`.
        assert!(schema.field_with_name("_load_id").is_ok());
    }
}
