//! Survey answers read through the source's instrument: the partner's answer text becomes a
//! value of the item's scale (or not applicable, or missing), with the answer's status and
//! the instrument's id; an answer that is not one of its item's scale, or an item the
//! instrument does not have, rejects the response with the item and the value at fault.

use std::sync::Arc;

use vigie_model::config::{Answer, AnswerStatus, SurveyBinding};
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
    /// The instrument's id and the answer statuses' codes (in [`AnswerStatus::ALL`]'s
    /// order), shared by every row rather than copied into each.
    instrument_id: Arc<str>,
    status_codes: [Arc<str>; 3],
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
            instrument_id: binding.instrument().id().into(),
            status_codes: AnswerStatus::ALL.map(|s| Arc::from(s.code())),
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
        let Some(code) = values.get(self.item_at).and_then(Value::as_str) else {
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
        let answer = match values.get(self.answer_at).and_then(Value::as_str) {
            Some(text) => self.binding.answer(scale.id(), text).ok_or_else(|| {
                let shown = identifiers.mask(&text.chars().take(80).collect::<String>());
                off_scale(&self.binding, item.code(), scale.id(), &shown, column)
            })?,
            // A blank answer (or a null value) is missing on every scale.
            _ => Answer::Missing,
        };
        let value = match answer {
            Answer::Value(v) => Value::Int(v),
            _ => Value::Null,
        };
        let status = AnswerStatus::ALL
            .iter()
            .zip(&self.status_codes)
            .find(|(s, _)| **s == answer.status())
            .map(|(_, code)| code.clone());
        for (at, v) in [
            (self.answer_at, value),
            (self.status_at, status.map_or(Value::Null, Value::Shared)),
            (
                self.instrument_at,
                Value::Shared(self.instrument_id.clone()),
            ),
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
