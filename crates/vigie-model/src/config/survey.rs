//! A survey source bound to its instrument: the instrument file read, and the partner's
//! answers (`survey.answers`, per scale) checked against the instrument's scales once, at
//! load, so that the ingest reads each answer with one look-up.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use super::instrument::{Answer, Instrument, load_instrument};
use super::load::Problems;
use super::source::{Columns, Output, SourceSpec};
use crate::entity::Entity;
use crate::error::ConfigError;

/// The keyword of a partner answer that means "not applicable".
pub const NOT_APPLICABLE: &str = "not_applicable";
/// The keyword of a partner answer that means "missing".
pub const MISSING: &str = "missing";

/// A survey source's instrument with the partner's answers of each scale.
#[derive(Debug, Clone)]
pub struct SurveyBinding {
    instrument: Arc<Instrument>,
    /// Scale -> the partner's answer -> what it means.
    answers: BTreeMap<String, HashMap<String, Answer>>,
}

impl SurveyBinding {
    /// The instrument.
    pub fn instrument(&self) -> &Arc<Instrument> {
        &self.instrument
    }

    /// What the partner's answer `text` (trimmed) means on `scale`; `None` when it is not an
    /// answer of that scale.
    pub fn answer(&self, scale: &str, text: &str) -> Option<Answer> {
        self.answers.get(scale)?.get(text).copied()
    }

    /// The partner's answers of `scale`, sorted (for messages).
    pub fn partner_answers(&self, scale: &str) -> Vec<&str> {
        let mut list: Vec<&str> = self
            .answers
            .get(scale)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        list.sort_unstable();
        list
    }
}

/// Reads the instrument of a survey source and checks its answers and fields against it;
/// sets `spec.survey.binding` when everything holds. `survey_reported`: the `survey` key
/// already has a deserialisation problem (not reported again).
pub(super) fn bind_survey(
    spec: &mut SourceSpec,
    source_path: &Path,
    survey_reported: bool,
    p: &mut Problems<'_>,
) {
    let outputs = spec.outputs();
    let survey_outputs: Vec<(String, &Output)> = outputs
        .iter()
        .filter(|(_, o)| o.entity == Entity::SurveyResponse)
        .map(|(case, o)| {
            let prefix = match case {
                Some(c) => format!("split.cases.{c}"),
                None => String::new(),
            };
            (prefix, o)
        })
        .collect();
    let Some(survey) = &spec.survey else {
        if !survey_reported {
            for (prefix, _) in &survey_outputs {
                p.add(
                    key(prefix, "entity"),
                    "a survey source names its instrument: add `survey: { instrument: ../instruments/<file>.yaml, answers: { <scale>: { <partner answer>: <value> } } }` / une source de sondage nomme son instrument",
                );
            }
        }
        return;
    };
    if survey_outputs.is_empty() {
        p.add(
            "survey",
            "only a source feeding survey_response has an instrument: remove `survey` / seule une source de sondage a un instrument",
        );
        return;
    }
    let base = source_path.parent().unwrap_or(Path::new("."));
    let instrument_path = base.join(&survey.instrument);
    let instrument = match load_instrument(&instrument_path) {
        Ok(i) => Arc::new(i),
        Err(ConfigError::Invalid(list)) => {
            p.list.extend(list);
            return;
        }
        Err(ConfigError::Read { error: source, .. }) => {
            p.add(
                "survey.instrument",
                format!(
                    "cannot read the instrument file {} (relative to this source spec): {source} / fichier d'instrument illisible",
                    instrument_path.display()
                ),
            );
            return;
        }
    };
    let before = p.list.len();
    let answers = check_answers(spec, &instrument, p);
    for (prefix, output) in &survey_outputs {
        check_fields(prefix, output, p);
    }
    check_unpivot(spec, &survey_outputs, &instrument, p);
    if p.list.len() == before
        && let Some(survey) = spec.survey.as_mut()
    {
        survey.binding = Some(Arc::new(SurveyBinding {
            instrument,
            answers,
        }));
    }
}

/// `fields.<name>` or `split.cases.<c>.fields.<name>` (or `entity`).
fn key(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_string()
    } else {
        format!("{prefix}.{rest}")
    }
}

/// Every scale named in `survey.answers` is a scale of the instrument and every target one
/// of its values (or a non-answer it offers); every scale an item uses has answers.
fn check_answers(
    spec: &SourceSpec,
    instrument: &Instrument,
    p: &mut Problems<'_>,
) -> BTreeMap<String, HashMap<String, Answer>> {
    let mut out = BTreeMap::new();
    let Some(survey) = &spec.survey else {
        return out;
    };
    let scale_names: Vec<&str> = instrument.scales().iter().map(|s| s.id()).collect();
    for (scale_id, map) in &survey.answers {
        let skey = format!("survey.answers.{scale_id}");
        let Some(scale) = instrument.scale(scale_id) else {
            p.add(
                skey,
                format!(
                    "unknown scale \"{scale_id}\": the instrument {} has the scales {} / échelle inconnue",
                    instrument.path().display(),
                    scale_names.join(", ")
                ),
            );
            continue;
        };
        let values: Vec<String> = scale.values().iter().map(|v| v.value.to_string()).collect();
        let mut lookup = HashMap::with_capacity(map.len());
        for (partner, target) in map {
            let akey = format!("{skey}.{}", partner.0);
            let partner_text = partner.0.trim();
            if partner_text.is_empty() {
                p.add(
                    akey,
                    "a blank answer is always missing: remove this entry / une réponse vide est toujours manquante",
                );
                continue;
            }
            let answer = match target.0.trim() {
                NOT_APPLICABLE if scale.not_applicable().is_some() => Some(Answer::NotApplicable),
                NOT_APPLICABLE => {
                    p.add(
                        akey,
                        format!(
                            "scale {scale_id} has no \"not applicable\" answer: declare `not_applicable: {{ fr: Sans objet, en: Not applicable }}` on the scale in {}, or map this answer elsewhere / l'échelle n'offre pas « sans objet »",
                            instrument.path().display()
                        ),
                    );
                    None
                }
                MISSING if scale.missing().is_some() => Some(Answer::Missing),
                MISSING => {
                    p.add(
                        akey,
                        format!(
                            "scale {scale_id} has no \"missing\" answer: declare `missing: {{ fr: Sans réponse, en: No answer }}` on the scale in {} / l'échelle n'a pas de réponse « manquante »",
                            instrument.path().display()
                        ),
                    );
                    None
                }
                other => match other.parse::<i32>() {
                    Ok(v) if scale.contains(v) => Some(Answer::Value(v)),
                    _ => {
                        p.add(
                            akey,
                            format!(
                                "maps to \"{other}\", which is not a value of scale {scale_id} (values: {}; or {NOT_APPLICABLE}, {MISSING}) / n'est pas une valeur de l'échelle",
                                values.join(", ")
                            ),
                        );
                        None
                    }
                },
            };
            if let Some(a) = answer {
                lookup.insert(partner_text.to_string(), a);
            }
        }
        out.insert(scale_id.clone(), lookup);
    }
    for scale in instrument.scales() {
        let items: Vec<&str> = instrument
            .items()
            .iter()
            .filter(|i| instrument.scale_of(i).id() == scale.id())
            .map(|i| i.code())
            .collect();
        if !items.is_empty() && !survey.answers.contains_key(scale.id()) {
            p.add(
                "survey.answers",
                format!(
                    "no answer of the partner maps to scale {} (items {}): add `{}: {{ <partner answer>: <value> }}` with the partner's answers in both languages / aucune réponse du partenaire pour cette échelle",
                    scale.id(),
                    items.join(", "),
                    scale.id()
                ),
            );
        }
    }
    out
}

/// The fields the instrument fills are not mapped, and the answer is read through the
/// instrument rather than a `map` or `range` of its own.
fn check_fields(prefix: &str, output: &Output, p: &mut Problems<'_>) {
    let fields = key(prefix, "fields");
    for filled in ["answer_status", "instrument"] {
        if output.fields.contains_key(filled) {
            p.add(
                format!("{fields}.{filled}"),
                format!(
                    "`{filled}` is filled from the instrument: remove it / `{filled}` est rempli d'après l'instrument"
                ),
            );
        }
    }
    let Some(answer) = output.fields.get("answer") else {
        p.add(
            fields,
            "map the answer, e.g. `answer: { from: $value }`: the instrument reads it / indiquez la colonne de la réponse",
        );
        return;
    };
    for (set, option) in [
        (answer.map.is_some(), "map"),
        (answer.range.is_some(), "range"),
        (answer.allowed.is_some(), "allowed"),
    ] {
        if set {
            p.add(
                format!("{fields}.answer.{option}"),
                format!(
                    "the instrument's scales decide the answers: remove `{option}` and list the partner's answers under `survey.answers.<scale>` / les réponses se déclarent dans `survey.answers`"
                ),
            );
        }
    }
    if answer.value.is_some() {
        p.add(
            format!("{fields}.answer"),
            "read the answer from a column (`from:`), not a constant / la réponse vient d'une colonne",
        );
    }
}

/// A wide survey whose item codes are its column names (`item_code: { from: $name }`)
/// unpivots only columns that are items of the instrument: any other would reject every
/// response.
fn check_unpivot(
    spec: &SourceSpec,
    survey_outputs: &[(String, &Output)],
    instrument: &Instrument,
    p: &mut Problems<'_>,
) {
    let Some(unpivot) = &spec.unpivot else {
        return;
    };
    let from_name = survey_outputs.iter().any(|(_, o)| {
        o.fields
            .get("item_code")
            .and_then(|f| f.from.as_ref())
            .is_some_and(|c| *c == Columns::One("$name".into()))
    });
    if !from_name {
        return;
    }
    for (i, column) in unpivot.columns.iter().enumerate() {
        if instrument.item(column).is_none() {
            p.add(
                format!("unpivot.columns[{i}]"),
                format!(
                    "{column} is not an item of the instrument {} ({}: items {}): add it to the instrument or remove the column / {column} n'est pas une question de l'instrument",
                    instrument.id(),
                    instrument.path().display(),
                    instrument.item_codes().join(", ")
                ),
            );
        }
    }
}
