//! SQL that may only read: an indicator's query, and what `vigie query` runs.
//!
//! DataFusion executes whatever statement it is given: `COPY (SELECT * FROM ed_visit) TO
//! '/tmp/x.csv'` from an indicator's file wrote person-level rows anywhere on disk while the
//! catalogue was computed. The statement is parsed first, and only one query (`SELECT`,
//! `WITH`, `VALUES`, never `SELECT ... INTO`) passes; `vigie query` also lets `EXPLAIN` of
//! one through.

use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::{SetExpr, Statement as SqlStatement};

/// Whether `EXPLAIN [ANALYZE]` of a query passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// `vigie query`: an analyst compares plans.
    Allowed,
    /// An indicator: its query is run, not explained.
    Refused,
}

/// Why SQL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It does not parse; the parser's message.
    DoesNotParse(String),
    /// It parses, but is not one query: what it is (`COPY`, `3 statements`, `INSERT`...).
    NotAQuery(String),
}

/// Passes `sql` if it is one query (see the module docs).
pub fn check_query_only(sql: &str, explain: Explain) -> Result<(), Refusal> {
    let statements = DFParser::parse_sql(sql).map_err(|e| Refusal::DoesNotParse(e.to_string()))?;
    if statements.len() != 1 {
        return Err(Refusal::NotAQuery(format!(
            "{} statements",
            statements.len()
        )));
    }
    check_statement(&statements[0], explain)
}

fn check_statement(statement: &Statement, explain: Explain) -> Result<(), Refusal> {
    let refused = |what: &str| Err(Refusal::NotAQuery(what.to_string()));
    match statement {
        Statement::Statement(s) => check_sql_statement(s, explain),
        Statement::Explain(e) if explain == Explain::Allowed => {
            check_statement(&e.statement, explain)
        }
        Statement::Explain(_) => refused("EXPLAIN"),
        Statement::CreateExternalTable(_) => refused("CREATE EXTERNAL TABLE"),
        Statement::CopyTo(_) => refused("COPY"),
        Statement::Reset(_) => refused("RESET"),
    }
}

fn check_sql_statement(statement: &SqlStatement, explain: Explain) -> Result<(), Refusal> {
    match statement {
        SqlStatement::Query(q) => {
            // `SELECT ... INTO t` creates a table.
            if let SetExpr::Select(select) = q.body.as_ref()
                && select.into.is_some()
            {
                return Err(Refusal::NotAQuery("SELECT INTO".into()));
            }
            Ok(())
        }
        SqlStatement::Explain { statement, .. } if explain == Explain::Allowed => {
            check_sql_statement(statement, explain)
        }
        other => {
            let text = other.to_string();
            let verb = text.split_whitespace().next().unwrap_or("this statement");
            Err(Refusal::NotAQuery(verb.to_uppercase()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_query_passes() {
        for sql in [
            "select 1",
            "-- a comment\nwith t as (select 1 as a) select a from t",
            "values (1), (2)",
        ] {
            assert_eq!(check_query_only(sql, Explain::Refused), Ok(()), "{sql}");
        }
        for (sql, what) in [
            ("copy (select 1) to '/tmp/x.csv' stored as csv", "COPY"),
            ("select 1; select 2", "2 statements"),
            ("create table t as select 1", "CREATE"),
            ("insert into t values (1)", "INSERT"),
            ("select 1 into t", "SELECT INTO"),
            ("set datafusion.execution.batch_size = 1", "SET"),
            (
                "create external table t stored as csv location '/etc/passwd'",
                "CREATE EXTERNAL TABLE",
            ),
            ("explain select 1", "EXPLAIN"),
            ("", "0 statements"),
        ] {
            assert_eq!(
                check_query_only(sql, Explain::Refused),
                Err(Refusal::NotAQuery(what.into())),
                "{sql}"
            );
        }
        assert_eq!(
            check_query_only("explain select 1", Explain::Allowed),
            Ok(())
        );
        assert!(matches!(
            check_query_only("explain copy (select 1) to 'x.csv'", Explain::Allowed),
            Err(Refusal::NotAQuery(_))
        ));
        assert!(matches!(
            check_query_only("selec 1", Explain::Refused),
            Err(Refusal::DoesNotParse(_))
        ));
    }
}
