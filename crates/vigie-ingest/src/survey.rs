//! Survey answers read through the source's instrument: the partner's answer text becomes a
//! value of the item's scale (or not applicable, or missing), with the answer's status and
//! the instrument's id; an answer that is not one of its item's scale, or an item the
//! instrument does not have, rejects the response with the item and the value at fault.

use std::sync::Arc;

use vigie_model::config::{Answer, SurveyBinding};
use vigie_model::{Entity, FieldDef, FieldType, IdentifierDetector};

use crate::convert::FieldError;
use crate::value::Value;

/// The answer as the partner wrote it: converted as text (trimmed, null values applied), then
/// read through the instrument.
pub static ANSWER_TEXT: FieldDef = FieldDef {
    name: "answer",
    ty: FieldType::Text,
    required: false,
    allowed: &[],
    range: None,
};

/// How one survey output's rows are scored: positions of its fields in canonical order.
#[derive(Debug, Clone)]
pub struct SurveyPlan {
    binding: Arc<SurveyBinding>,
    item_at: usize,
    answer_at: usize,
    status_at: usize,
    instrument_at: usize,
}

/// At most this many of a scale's partner answers are listed in a rejection.
const LISTED_ANSWERS: usize = 24;

impl SurveyPlan {
    /// The plan of a `survey_response` output; `None` for any other entity.
    pub fn new(entity: Entity, binding: &Arc<SurveyBinding>) -> Option<SurveyPlan> {
        if entity != Entity::SurveyResponse {
            return None;
        }
        let at = |name: &str| entity.fields().iter().position(|f| f.name == name);
        Some(SurveyPlan {
            binding: binding.clone(),
            item_at: at("item_code")?,
            answer_at: at("answer")?,
            status_at: at("answer_status")?,
            instrument_at: at("instrument")?,
        })
    }

    /// Whether canonical field `index` is the answer (converted as text first).
    pub fn is_answer(&self, index: usize) -> bool {
        index == self.answer_at
    }

    /// Reads the row's answer through the instrument: `answer` becomes the scale's value
    /// (null unless valid), `answer_status` and `instrument` are set. `column`: the answer's
    /// partner column, for the rejection, whose reason shows the item and the answer with
    /// anything shaped like an identifier masked.
    pub fn score(
        &self,
        values: &mut [Value],
        column: &str,
        identifiers: &IdentifierDetector,
    ) -> Result<(), FieldError> {
        let instrument = self.binding.instrument();
        // A missing item code is reported by the field itself.
        let Some(Value::Str(code)) = values.get(self.item_at) else {
            return Ok(());
        };
        let Some(item) = instrument.item(code) else {
            let code = identifiers.mask(&code.chars().take(80).collect::<String>());
            return Err(FieldError {
                column: column.to_string(),
                reason: format!(
                    "item not in the instrument: item \"{code}\" is not an item of {} (items: {}); add it to {} or correct the item / question absente de l'instrument",
                    instrument.id(),
                    instrument.item_codes().join(", "),
                    instrument.path().display()
                ),
                value: Some(code),
            });
        };
        let scale = instrument.scale_of(item);
        let answer = match values.get(self.answer_at) {
            Some(Value::Str(text)) => self.binding.answer(scale.id(), text).ok_or_else(|| {
                let shown = identifiers.mask(&text.chars().take(80).collect::<String>());
                off_scale(&self.binding, item.code(), scale.id(), &shown, column)
            })?,
            // A blank answer (or a null value) is missing on every scale.
            _ => Answer::Missing,
        };
        let (value, status) = match answer {
            Answer::Value(v) => (Value::Int(v), answer.status()),
            other => (Value::Null, other.status()),
        };
        for (at, v) in [
            (self.answer_at, value),
            (self.status_at, Value::Str(status.code().to_string())),
            (self.instrument_at, Value::Str(instrument.id().to_string())),
        ] {
            if let Some(slot) = values.get_mut(at) {
                *slot = v;
            }
        }
        Ok(())
    }
}

/// The rejection of an answer (`shown`: cut and masked) that is not one of its item's scale.
fn off_scale(
    binding: &SurveyBinding,
    item: &str,
    scale: &str,
    shown: &str,
    column: &str,
) -> FieldError {
    let known = binding.partner_answers(scale);
    let mut listed: Vec<String> = known
        .iter()
        .take(LISTED_ANSWERS)
        .map(|a| format!("\"{a}\""))
        .collect();
    if known.len() > LISTED_ANSWERS {
        listed.push("…".to_string());
    }
    FieldError {
        column: column.to_string(),
        reason: format!(
            "answer not on the item's scale: item {item} (scale {scale}) has no answer \"{shown}\" (its answers: {}); add it to `survey.answers.{scale}` if it is one / réponse hors de l'échelle de la question",
            listed.join(", ")
        ),
        value: Some(shown.to_string()),
    }
}
