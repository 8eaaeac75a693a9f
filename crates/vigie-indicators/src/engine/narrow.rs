//! Narrowing the event tables for a recompute of recent periods (a weekly refresh).

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use super::person_view::{REGISTRY, StrataRun, person_sql_over};
use super::session::run_sql;
use crate::error::IndicatorError;

/// Narrows the event tables to the rows periods from `from` on can depend on: ED visits
/// and survey responses from that month (its partitions only; a response counts in the
/// period it was completed), stays admitted or discharged from that day (a stay discharged
/// in a recomputed month may have begun long before; a readmission follows its discharge),
/// the population of the months from that day,
/// and the persons with such events or responses, with a contact or referral step in those
/// periods, or in a program. Every other table stays whole. Called again, it redefines
/// them for the new day: `previous` is the day they are narrowed to now. A recompute narrows
/// to its years, then its quarters, then its months (see `select`), so each set of persons
/// is taken from the one before and only the first reads the whole registry. `persons`:
/// whether to narrow `person` too (not for a year, whose events name too many persons for
/// the copy to pay: `person` then stays as it was).
pub(super) async fn restrict_events(
    ctx: &SessionContext,
    from: NaiveDate,
    previous: Option<NaiveDate>,
    persons: bool,
    strata: &StrataRun,
) -> Result<(), IndicatorError> {
    let month = from.format("%Y-%m");
    let narrowed = [
        (
            "ed_visit",
            format!("event_month >= '{month}' AND CAST(arrival AS DATE) >= DATE '{from}'"),
        ),
        (
            "admission",
            format!("admit_date >= DATE '{from}' OR discharge_date >= DATE '{from}'"),
        ),
        (
            "survey_response",
            format!("event_month >= '{month}' AND completed_date >= DATE '{from}'"),
        ),
        // The denominators of the months recomputed: a rate's query adds every month of
        // the population to its events, and would compute cells no row keeps.
        ("population_month", format!("period_start >= DATE '{from}'")),
    ];
    let internal = |e: datafusion::error::DataFusionError| IndicatorError::Internal(e.to_string());
    for (table, filter) in narrowed {
        let whole = format!("{table}__whole");
        // Narrowed before (a recompute going from its years to its quarters and months):
        // the view is redefined over the whole table.
        let narrowed_before = ctx.table_exist(whole.as_str()).map_err(internal)?;
        let Some(provider) = ctx.deregister_table(table).map_err(internal)? else {
            continue;
        };
        if !narrowed_before {
            ctx.register_table(whole.as_str(), provider)
                .map_err(internal)?;
        }
        let view = format!("CREATE VIEW {table} AS SELECT * FROM {whole} WHERE {filter}");
        run_sql(ctx, table, &view).await?;
    }
    if !persons {
        return Ok(());
    }
    // Indicators reach persons only through their events (denominators come from
    // `population_month`, built from the whole table): the persons with events or survey
    // responses in the narrowed tables, or with a contact or a referral step from `from` on (the pathway
    // tables stay whole), and every program participant (a few in a hundred, whose program
    // indicators count those without any event too) are all a recompute needs, and a small table to join against
    // spares every query hashing the whole registry again.
    let narrowed_before = ctx.table_exist("person__whole").map_err(internal)?;
    if let Some(provider) = ctx.deregister_table("person").map_err(internal)? {
        // The persons of a later day are among those of an earlier one.
        let source = if !narrowed_before {
            ctx.register_table("person__whole", provider)
                .map_err(internal)?;
            "person__whole"
        } else if previous.is_some_and(|p| p <= from) {
            ctx.register_table("person__narrowed", provider)
                .map_err(internal)?;
            "person__narrowed"
        } else {
            "person__whole"
        };
        let keys = format!(
            "SELECT person_number FROM ed_visit UNION SELECT person_number FROM admission \
             UNION SELECT person_number FROM enrolment \
             UNION SELECT person_number FROM survey_response \
             UNION SELECT person_number FROM contact WHERE contact_date >= DATE '{from}' \
             UNION SELECT person_number FROM referral WHERE referral_date >= DATE '{from}' \
                OR accepted_date >= DATE '{from}' OR first_appointment_date >= DATE '{from}' \
                OR report_returned_date >= DATE '{from}'"
        );
        let kept = |p: &str| {
            format!(
                "(SELECT p.* FROM ({keys}) AS k JOIN {p} AS p ON p.person_number = k.person_number)"
            )
        };
        // From the whole registry, its rows are kept before `person`'s strata are looked
        // up, for the persons kept only: through the view, every registry row was joined
        // with the area lookups first (a province's quarter: 2.1 s, 0.7 s for the join
        // with the bare registry).
        let from_registry = source == "person__whole";
        let over_registry = if from_registry {
            person_sql_over(ctx, strata, &kept(REGISTRY)).await?
        } else {
            None
        };
        let persons = match over_registry {
            Some(sql) => format!("CREATE TABLE person AS {sql}"),
            None => format!(
                "CREATE TABLE person AS SELECT p.* FROM {} AS p",
                kept(source)
            ),
        };
        // From the whole registry, the persons kept are about a tenth of it: one hash
        // table of them, probed by the registry's partitions as they are read, spares
        // hashing every registry row into partitions first (DataFusion cannot tell the
        // kept persons' number before the union runs, and partitions both sides when it
        // cannot): 1.8 s -> 1.4 s for a province's quarter. From persons narrowed before
        // (in memory, a month's events naming a third of them), partitioning is faster:
        // 0.3-0.4 s against 0.6-0.7 s.
        let made = if from_registry {
            let repartition = set_repartition_joins(ctx, false);
            let made = run_sql(ctx, "person", &persons).await;
            set_repartition_joins(ctx, repartition);
            made
        } else {
            run_sql(ctx, "person", &persons).await
        };
        made?;
        if source == "person__narrowed" {
            ctx.deregister_table(source).map_err(internal)?;
        }
    }
    Ok(())
}

/// Sets whether the session's hash joins partition both sides (DataFusion's
/// `optimizer.repartition_joins`); returns what it was.
fn set_repartition_joins(ctx: &SessionContext, on: bool) -> bool {
    let state = ctx.state_ref();
    let mut state = state.write();
    let optimizer = &mut state.config_mut().options_mut().optimizer;
    std::mem::replace(&mut optimizer.repartition_joins, on)
}
