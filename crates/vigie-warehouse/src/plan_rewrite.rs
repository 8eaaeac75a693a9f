//! Rewriting the expressions of a logical plan node, typed by its inputs, keeping its
//! output names: what the warehouse's logical optimizer rules (`period_start`, `day_shift`)
//! share.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, DFSchemaRef, Result};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan};

/// Applies `rewrite` to every sub-expression of `plan`'s own expressions (not its inputs'),
/// bottom up. `rewrite` gets the schema the expressions are typed by: the input's, or the
/// inputs' together (a join's keys and filter). A rewritten expression keeps the name its
/// node's output gave it. Nodes whose inputs' columns cannot be put together (a union's
/// inputs share names) are left as they are.
pub(crate) fn rewrite_expressions(
    plan: LogicalPlan,
    rewrite: impl Fn(Expr, &DFSchema) -> Result<Transformed<Expr>>,
) -> Result<Transformed<LogicalPlan>> {
    let schema: Option<DFSchemaRef> = match plan.inputs().as_slice() {
        [] => None,
        [input] => Some(Arc::clone(input.schema())),
        [first, rest @ ..] => rest
            .iter()
            .try_fold(first.schema().as_ref().clone(), |merged, input| {
                merged.join(input.schema())
            })
            .ok()
            .map(Arc::new),
    };
    let Some(schema) = schema else {
        return Ok(Transformed::no(plan));
    };
    let names = NamePreserver::new(&plan);
    plan.map_expressions(|expr| {
        let saved = names.save(&expr);
        let rewritten = expr.transform_up(|e| rewrite(e, &schema))?;
        Ok(if rewritten.transformed {
            rewritten.update_data(|e| saved.restore(e))
        } else {
            rewritten
        })
    })
}
