//! What the warehouse's logical optimizer rules (`period_start`, `day_shift`) share: a rule
//! that rewrites expressions one by one, typed by the inputs of the node holding them and
//! keeping the node's output names, and the shape of their functions' results.

use std::sync::Arc;

use arrow::array::ArrayRef;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, DFSchemaRef, Result, ScalarValue};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{ColumnarValue, Expr, LogicalPlan};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// A rewrite of single expressions (Transformed::no where it does not apply).
pub(crate) type ExprRewrite = fn(Expr, &DFSchema) -> Result<Transformed<Expr>>;

/// A logical optimizer rule applying an expression rewrite to every node, bottom up.
#[derive(Debug)]
pub(crate) struct ExpressionRule {
    /// The rule's name, as DataFusion's optimizer lists it.
    pub(crate) name: &'static str,
    pub(crate) rewrite: ExprRewrite,
}

impl OptimizerRule for ExpressionRule {
    fn name(&self) -> &str {
        self.name
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        rewrite_expressions(plan, self.rewrite)
    }
}

/// A function's result in the shape of its input: one value for a scalar argument.
pub(crate) fn shaped_like_input(is_scalar: bool, result: ArrayRef) -> Result<ColumnarValue> {
    Ok(if is_scalar {
        ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
    } else {
        ColumnarValue::Array(result)
    })
}

/// Applies `rewrite` to every sub-expression of `plan`'s own expressions (not its inputs'),
/// bottom up. `rewrite` gets the schema the expressions are typed by: the input's, or the
/// inputs' together (a join's keys and filter). A rewritten expression keeps the name its
/// node's output gave it. Nodes whose inputs' columns cannot be put together (a union's
/// inputs share names) are left as they are.
fn rewrite_expressions(
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

/// For the rules' tests: a query's optimized logical plan and its rows, printed.
#[cfg(test)]
pub(crate) async fn optimized_plan_and_rows(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
) -> (String, String) {
    let frame = ctx.sql(sql).await.expect("plan");
    let plan = ctx
        .state()
        .optimize(frame.logical_plan())
        .expect("optimize")
        .display_indent()
        .to_string();
    let batches = frame.collect().await.expect("run");
    let rows = arrow::util::pretty::pretty_format_batches(&batches)
        .expect("print")
        .to_string();
    (plan, rows)
}
