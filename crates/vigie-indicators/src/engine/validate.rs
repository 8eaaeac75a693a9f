//! `vigie validate`'s check of the catalogue: every query plans against the warehouse schema
//! and returns the columns its method needs.

use chrono::NaiveDate;
use vigie_model::locate::locate;
use vigie_model::{ConfigError, ConfigProblem};
use vigie_warehouse::{SessionOptions, Warehouse};

use super::person_view::StrataRun;
use super::session::{SessionExtras, indicator_session};
use crate::catalogue::{IndicatorDef, Method};

/// Checks that every query plans against the warehouse schema (the survey instrument tables
/// included, empty) and returns the columns its method needs; problems name the SQL file.
pub async fn validate_catalogue(
    catalogue: &[IndicatorDef],
    warehouse: &Warehouse,
    strata: &StrataRun,
) -> Result<(), ConfigError> {
    let options = SessionOptions::default();
    let d = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
    // Queries plan the same with any condition groups (the group is a value, not a name).
    let conditions = crate::conditions::Conditions::load(None)?;
    let extras = SessionExtras {
        instruments: &[],
        conditions: &conditions,
        strata,
        population_from: None,
    };
    let (ctx, _) = match indicator_session(warehouse, &options, Some((d, d)), &extras).await {
        Ok(x) => x,
        Err(e) => {
            return Err(ConfigError::Invalid(vec![ConfigProblem {
                file: warehouse.root().to_string().into(),
                line: None,
                key: String::new(),
                message: format!("cannot open the warehouse to check the queries: {e}"),
            }]));
        }
    };
    let mut problems = Vec::new();
    for def in catalogue.iter().filter(|d| !d.meta.method.is_builtin()) {
        let file = def
            .sql_path
            .clone()
            .unwrap_or_else(|| def.meta_path.clone());
        let df = match ctx.sql(&def.sql).await {
            Ok(df) => df,
            Err(e) => {
                problems.push(ConfigProblem {
                    file,
                    line: None,
                    key: String::new(),
                    message: format!("does not plan: {e}"),
                });
                continue;
            }
        };
        let schema = df.schema();
        let mut needed: Vec<&str> = vec!["period_start", "team"];
        needed.extend(def.meta.strata.iter().map(|s| s.column()));
        if def.meta.method.is_quantile() {
            needed.push("observation");
        } else {
            needed.extend(["numerator", "denominator"]);
        }
        if def.meta.method == Method::DobsonDsr {
            needed.push("std_age_band");
        }
        for col in needed {
            if schema.field_with_unqualified_name(col).is_err() {
                let text = std::fs::read_to_string(&def.meta_path).unwrap_or_default();
                problems.push(ConfigProblem {
                    file: file.clone(),
                    line: None,
                    key: String::new(),
                    message: format!(
                        "returns no `{col}` column, which `method: {}`{} needs (see queries/README.md)",
                        def.meta.method.yaml_name(),
                        if def.meta.strata.iter().any(|s| s.column() == col) {
                            format!(" with `strata` (line {} of {})", locate(&text, "strata").unwrap_or(0), def.meta_path.display())
                        } else {
                            String::new()
                        }
                    ),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(problems))
    }
}
