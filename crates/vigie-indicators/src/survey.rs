//! The pipeline's survey instruments as two tables of every indicator session, so that an
//! experience indicator scores each item on its own scale and top box in SQL, without Rust:
//!
//! * `survey_item`: one row per item — `instrument`, `item_code`, `position` (1-based order
//!   in the instrument), `scale`, `wording_fr`, `wording_en`, `answer_min`, `answer_max`;
//! * `survey_item_answer`: one row per valid answer of each item — `instrument`,
//!   `item_code`, `answer`, `label_fr`, `label_en`, `top_box`.
//!
//! Both exist (empty) when the pipeline has no survey source, so queries always plan.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use vigie_model::config::Instrument;

/// The table of survey items.
pub const SURVEY_ITEM_TABLE: &str = "survey_item";
/// The table of each item's valid answers.
pub const SURVEY_ITEM_ANSWER_TABLE: &str = "survey_item_answer";

fn item_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("instrument", DataType::Utf8, false),
        Field::new("item_code", DataType::Utf8, false),
        Field::new("position", DataType::Int32, false),
        Field::new("scale", DataType::Utf8, false),
        Field::new("wording_fr", DataType::Utf8, false),
        Field::new("wording_en", DataType::Utf8, false),
        Field::new("answer_min", DataType::Int32, true),
        Field::new("answer_max", DataType::Int32, true),
    ]))
}

fn answer_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("instrument", DataType::Utf8, false),
        Field::new("item_code", DataType::Utf8, false),
        Field::new("answer", DataType::Int32, false),
        Field::new("label_fr", DataType::Utf8, false),
        Field::new("label_en", DataType::Utf8, false),
        Field::new("top_box", DataType::Boolean, false),
    ]))
}

fn strings(v: Vec<&str>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

/// The items of `instruments`, one row each.
fn item_batch(instruments: &[Arc<Instrument>]) -> Result<RecordBatch, DataFusionError> {
    let (mut ids, mut codes, mut positions, mut scales) = (vec![], vec![], vec![], vec![]);
    let (mut fr, mut en, mut lo, mut hi) = (vec![], vec![], vec![], vec![]);
    for instrument in instruments {
        for (i, item) in instrument.items().iter().enumerate() {
            let scale = instrument.scale_of(item);
            ids.push(instrument.id());
            codes.push(item.code());
            positions.push(i32::try_from(i + 1).unwrap_or(i32::MAX));
            scales.push(scale.id());
            fr.push(item.wording().fr.as_str());
            en.push(item.wording().en.as_str());
            lo.push(scale.values().first().map(|v| v.value));
            hi.push(scale.values().last().map(|v| v.value));
        }
    }
    Ok(RecordBatch::try_new(
        item_schema(),
        vec![
            strings(ids),
            strings(codes),
            Arc::new(Int32Array::from(positions)),
            strings(scales),
            strings(fr),
            strings(en),
            Arc::new(Int32Array::from(lo)),
            Arc::new(Int32Array::from(hi)),
        ],
    )?)
}

/// The valid answers of every item, with whether each is in the item's top box.
fn answer_batch(instruments: &[Arc<Instrument>]) -> Result<RecordBatch, DataFusionError> {
    let (mut ids, mut codes, mut answers) = (vec![], vec![], vec![]);
    let (mut fr, mut en, mut top) = (vec![], vec![], vec![]);
    for instrument in instruments {
        for item in instrument.items() {
            for v in instrument.scale_of(item).values() {
                ids.push(instrument.id());
                codes.push(item.code());
                answers.push(v.value);
                fr.push(v.label.fr.as_str());
                en.push(v.label.en.as_str());
                top.push(item.is_top_box(v.value));
            }
        }
    }
    Ok(RecordBatch::try_new(
        answer_schema(),
        vec![
            strings(ids),
            strings(codes),
            Arc::new(Int32Array::from(answers)),
            strings(fr),
            strings(en),
            Arc::new(BooleanArray::from(top)),
        ],
    )?)
}

/// Registers `survey_item` and `survey_item_answer` for `instruments` (empty tables when
/// there are none).
pub fn register_instruments(
    ctx: &SessionContext,
    instruments: &[Arc<Instrument>],
) -> Result<(), DataFusionError> {
    for (name, schema, batch) in [
        (SURVEY_ITEM_TABLE, item_schema(), item_batch(instruments)?),
        (
            SURVEY_ITEM_ANSWER_TABLE,
            answer_schema(),
            answer_batch(instruments)?,
        ),
    ] {
        ctx.register_table(
            name,
            Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int32Type;

    fn experience() -> Arc<Instrument> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../pipelines/instruments/experience.yaml");
        Arc::new(vigie_model::config::load_instrument(&path).unwrap_or_else(|e| panic!("{e}")))
    }

    #[tokio::test]
    async fn every_item_has_its_own_top_box_in_sql() {
        let ctx = SessionContext::new();
        register_instruments(&ctx, &[experience()]).expect("register");
        // Top-box answers per item: Q1..Q6 "Always" (4), Q7 "Excellent" (5), Q8 9 and 10.
        let batches = ctx
            .sql(
                "SELECT a.item_code, min(a.answer), max(a.answer), count(*), min(i.position), min(i.answer_max) \
                 FROM survey_item_answer AS a JOIN survey_item AS i ON i.item_code = a.item_code \
                 WHERE a.top_box GROUP BY a.item_code ORDER BY a.item_code",
            )
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let mut rows = Vec::new();
        for b in &batches {
            let code = b.column(0).as_string::<i32>();
            let n = |c: usize| arrow::compute::cast(b.column(c), &DataType::Int32).expect("int");
            let (lo, hi, count, pos, max) = (n(1), n(2), n(3), n(4), n(5));
            for r in 0..b.num_rows() {
                let v = |a: &ArrayRef| a.as_primitive::<Int32Type>().value(r);
                rows.push((
                    code.value(r).to_string(),
                    v(&lo),
                    v(&hi),
                    v(&count),
                    v(&pos),
                    v(&max),
                ));
            }
        }
        let expected: Vec<(String, i32, i32, i32, i32, i32)> = (1..=6)
            .map(|i| (format!("Q{i}"), 4, 4, 1, i, 4))
            .chain([
                ("Q7".to_string(), 5, 5, 1, 7, 5),
                ("Q8".to_string(), 9, 10, 2, 8, 10),
            ])
            .collect();
        assert_eq!(rows, expected);
        // Labels in both languages: the 5-point scale's top is "Excellent" in both.
        let labels = ctx
            .sql("SELECT label_fr, label_en FROM survey_item_answer WHERE item_code = 'Q7' AND answer = 4")
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let b = &labels[0];
        assert_eq!(
            (
                b.column(0).as_string::<i32>().value(0),
                b.column(1).as_string::<i32>().value(0)
            ),
            ("Très bon", "Very good")
        );
        assert!(!b.column(0).is_null(0));
    }

    #[tokio::test]
    async fn without_instruments_the_tables_exist_empty() {
        let ctx = SessionContext::new();
        register_instruments(&ctx, &[]).expect("register");
        let n = ctx
            .sql("SELECT count(*) FROM survey_item_answer JOIN survey_item USING (instrument, item_code)")
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let count = arrow::compute::cast(n[0].column(0), &DataType::Int64).expect("int");
        assert_eq!(
            count.as_primitive::<arrow::datatypes::Int64Type>().value(0),
            0
        );
    }
}
