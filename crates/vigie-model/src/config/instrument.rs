//! A survey instrument: the items a survey asks, their wording in French and English, and
//! the scale each is answered on (ordinal values with their labels, the top box, and whether
//! "not applicable" and "missing" answers exist).
//!
//! The file (`pipelines/instruments/*.yaml`, named by a survey source's `survey.instrument`)
//! is read once into [`Instrument`]; every problem names the file, the line and the key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::parse::parse;
use crate::Lang;
use crate::error::{ConfigError, ConfigProblem};
use crate::locate::locate;

/// Text in French and in English, both present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// French.
    pub fr: String,
    /// English.
    pub en: String,
}

impl Text {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        }
    }
}

/// One valid answer of a scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleValue {
    /// The ordinal value stored in `survey_response.answer`.
    pub value: i32,
    /// Its label.
    pub label: Text,
}

/// An answer scale: ordinal values from the lowest to the highest, the top box, and the
/// non-answers it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    id: String,
    values: Vec<ScaleValue>,
    top_box: Vec<i32>,
    not_applicable: Option<Text>,
    missing: Option<Text>,
}

impl Scale {
    /// The scale's name in the instrument file (e.g. `frequency_4`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The valid answers, lowest first.
    pub fn values(&self) -> &[ScaleValue] {
        &self.values
    }

    /// The scale's own top box (an item may declare its own).
    pub fn top_box(&self) -> &[i32] {
        &self.top_box
    }

    /// Whether `value` is a valid answer of the scale.
    pub fn contains(&self, value: i32) -> bool {
        self.values.iter().any(|v| v.value == value)
    }

    /// The label of "not applicable", when the scale offers that answer.
    pub fn not_applicable(&self) -> Option<&Text> {
        self.not_applicable.as_ref()
    }

    /// The label of a "missing" answer (refused, don't know), when the scale has one. A blank
    /// answer is missing on every scale.
    pub fn missing(&self) -> Option<&Text> {
        self.missing.as_ref()
    }
}

/// One survey item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    code: String,
    wording: Text,
    scale: usize,
    top_box: Vec<i32>,
}

impl Item {
    /// The item's code (`Q1`): `survey_response.item_code` and the `item` stratum.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The question as respondents read it.
    pub fn wording(&self) -> &Text {
        &self.wording
    }

    /// The item's top box: its own when it declares one, else its scale's.
    pub fn top_box(&self) -> &[i32] {
        &self.top_box
    }

    /// Whether a valid answer is in the item's top box.
    pub fn is_top_box(&self, value: i32) -> bool {
        self.top_box.contains(&value)
    }
}

/// A survey instrument, checked: every item has a known scale, wording in both languages
/// and a top box within its scale; item codes are unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    id: String,
    name: Text,
    path: PathBuf,
    scales: Vec<Scale>,
    items: Vec<Item>,
}

impl Instrument {
    /// The instrument's id (`survey_response.instrument`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its name.
    pub fn name(&self) -> &Text {
        &self.name
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The scales, in name order.
    pub fn scales(&self) -> &[Scale] {
        &self.scales
    }

    /// A scale by name.
    pub fn scale(&self, id: &str) -> Option<&Scale> {
        self.scales.iter().find(|s| s.id == id)
    }

    /// The items, in the file's order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// An item by code.
    pub fn item(&self, code: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.code == code)
    }

    /// The scale an item is answered on.
    pub fn scale_of(&self, item: &Item) -> &Scale {
        // `scale` indexes `scales` by construction (checked at load); the first scale stands
        // in for an item of another instrument rather than panicking.
        self.scales
            .get(item.scale)
            .or_else(|| self.scales.first())
            .unwrap_or(&EMPTY_SCALE)
    }

    /// An item's top box as a reader names it: the label of a single answer ("Toujours",
    /// "Excellent"), the range of consecutive values ("9–10"), or the labels of others.
    pub fn top_box_label(&self, item: &Item) -> Text {
        let scale = self.scale_of(item);
        let values: Vec<&ScaleValue> = scale
            .values()
            .iter()
            .filter(|v| item.is_top_box(v.value))
            .collect();
        let consecutive = values.len() > 1
            && scale
                .values()
                .windows(values.len())
                .any(|w| w.iter().zip(&values).all(|(a, b)| a.value == b.value));
        match values.as_slice() {
            [one] => one.label.clone(),
            [first, .., last] if consecutive => {
                let range = format!("{}–{}", first.value, last.value);
                Text {
                    fr: range.clone(),
                    en: range,
                }
            }
            many => {
                let join = |lang: Lang| {
                    many.iter()
                        .map(|v| v.label.get(lang))
                        .collect::<Vec<_>>()
                        .join(" / ")
                };
                Text {
                    fr: join(Lang::Fr),
                    en: join(Lang::En),
                }
            }
        }
    }

    /// The item codes, in the file's order, for messages.
    pub fn item_codes(&self) -> Vec<&str> {
        self.items.iter().map(|i| i.code.as_str()).collect()
    }
}

static EMPTY_SCALE: Scale = Scale {
    id: String::new(),
    values: Vec::new(),
    top_box: Vec::new(),
    not_applicable: None,
    missing: None,
};

/// What a respondent's answer is, once read through the instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// A valid answer: a value of the item's scale.
    Value(i32),
    /// Not applicable to the respondent: kept, never counted in a denominator.
    NotApplicable,
    /// No usable answer (blank, refused, don't know): kept, never counted either.
    Missing,
}

impl Answer {
    /// The status stored in `survey_response.answer_status`.
    pub fn status(self) -> AnswerStatus {
        match self {
            Answer::Value(_) => AnswerStatus::Valid,
            Answer::NotApplicable => AnswerStatus::NotApplicable,
            Answer::Missing => AnswerStatus::Missing,
        }
    }
}

/// The closed list of `survey_response.answer_status` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerStatus {
    /// A value of the item's scale.
    Valid,
    /// Not applicable.
    NotApplicable,
    /// Missing.
    Missing,
}

impl AnswerStatus {
    /// Every status, in the order of the entity's code list.
    pub const ALL: [AnswerStatus; 3] = [
        AnswerStatus::Valid,
        AnswerStatus::NotApplicable,
        AnswerStatus::Missing,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            AnswerStatus::Valid => "valid",
            AnswerStatus::NotApplicable => "not_applicable",
            AnswerStatus::Missing => "missing",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------------------------

/// Text whose languages are checked after deserialisation, so that a missing language is
/// reported with the item it belongs to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    #[serde(default)]
    fr: Option<String>,
    #[serde(default)]
    en: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstrument {
    instrument: String,
    #[serde(default)]
    name: RawText,
    scales: BTreeMap<String, RawScale>,
    items: Vec<RawItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScale {
    values: Vec<RawValue>,
    #[serde(default)]
    top_box: Vec<i32>,
    #[serde(default)]
    not_applicable: Option<RawText>,
    #[serde(default)]
    missing: Option<RawText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValue {
    value: i32,
    #[serde(default)]
    fr: Option<String>,
    #[serde(default)]
    en: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    code: String,
    scale: String,
    #[serde(default)]
    wording: RawText,
    #[serde(default)]
    top_box: Option<Vec<i32>>,
}

/// Problems of one instrument file.
struct Problems<'a> {
    file: &'a Path,
    text: &'a str,
    list: Vec<ConfigProblem>,
}

impl Problems<'_> {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        self.list.push(ConfigProblem {
            file: self.file.to_path_buf(),
            line: locate(self.text, &key),
            key,
            message: message.into(),
        });
    }

    /// Both languages of `raw`, or a problem per missing one at `key.fr` / `key.en`;
    /// `what` names the text's owner in English and in French.
    fn text(
        &mut self,
        raw: (&Option<String>, &Option<String>),
        key: &str,
        what: (&str, &str),
    ) -> Text {
        let mut get = |value: &Option<String>, lang: &str, language: (&str, &str)| match value
            .as_deref()
            .map(str::trim)
        {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => {
                self.add(
                    format!("{key}.{lang}"),
                    format!(
                        "{} has no {} text: add `{lang}: ...` / {} n'a pas de texte en {}",
                        what.0, language.0, what.1, language.1
                    ),
                );
                String::new()
            }
        };
        Text {
            fr: get(raw.0, "fr", ("French", "français")),
            en: get(raw.1, "en", ("English", "anglais")),
        }
    }
}

/// Whether `id` is usable as an instrument or scale name.
fn is_name(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Loads and checks an instrument file; every problem names the file, line and key.
pub fn load_instrument(path: &Path) -> Result<Instrument, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        error: source,
    })?;
    parse_instrument(path, &text)
}

/// Checks the text of an instrument file (`path` names it in messages).
pub fn parse_instrument(path: &Path, text: &str) -> Result<Instrument, ConfigError> {
    let mut parsed = parse::<RawInstrument>(path, text);
    let Some(raw) = parsed.value.take() else {
        return Err(ConfigError::Invalid(parsed.problems));
    };
    let mut p = Problems {
        file: path,
        text,
        list: vec![],
    };
    let instrument = check(raw, path, &mut p);
    // A key already reported as bad by the deserialisation is not reported again.
    let mut list = parsed.problems.clone();
    list.extend(p.list.into_iter().filter(|x| !parsed.covers(&x.key)));
    if list.is_empty() {
        Ok(instrument)
    } else {
        Err(ConfigError::Invalid(list))
    }
}

fn check(raw: RawInstrument, path: &Path, p: &mut Problems<'_>) -> Instrument {
    if !is_name(&raw.instrument) {
        p.add(
            "instrument",
            format!(
                "\"{}\" is not a usable instrument id: use letters, digits, `_` or `-` (it is stored in every answer) / identifiant d'instrument invalide : lettres, chiffres, `_` ou `-`",
                raw.instrument
            ),
        );
    }
    let name = p.text(
        (&raw.name.fr, &raw.name.en),
        "name",
        ("the instrument's name", "le nom de l'instrument"),
    );
    if raw.scales.is_empty() {
        p.add(
            "scales",
            "declare at least one answer scale / déclarez au moins une échelle de réponse",
        );
    }
    let scales: Vec<Scale> = raw
        .scales
        .into_iter()
        .map(|(id, s)| check_scale(id, s, p))
        .collect();
    if raw.items.is_empty() {
        p.add(
            "items",
            "declare at least one item / déclarez au moins une question",
        );
    }
    let mut first_at: BTreeMap<String, usize> = BTreeMap::new();
    let mut items = Vec::with_capacity(raw.items.len());
    for (i, item) in raw.items.into_iter().enumerate() {
        let key = format!("items[{i}]");
        let code = item.code.trim().to_string();
        if code.is_empty() || code != item.code {
            p.add(
                format!("{key}.code"),
                "give the item's code without surrounding spaces, e.g. `code: Q1` / code de question vide ou entouré d'espaces",
            );
        }
        if let Some(first) = first_at.get(&code) {
            p.add(
                format!("{key}.code"),
                format!(
                    "item {code} is declared twice (first at items[{first}]): item codes must be unique / la question {code} est déclarée deux fois"
                ),
            );
        } else {
            first_at.insert(code.clone(), i);
        }
        let wording = p.text(
            (&item.wording.fr, &item.wording.en),
            &format!("{key}.wording"),
            (&format!("item {code}"), &format!("la question {code}")),
        );
        let Some(scale) = scales.iter().position(|s| s.id == item.scale) else {
            let known: Vec<&str> = scales.iter().map(|s| s.id.as_str()).collect();
            p.add(
                format!("{key}.scale"),
                format!(
                    "item {code}: unknown scale \"{}\" (scales of this file: {}) / échelle inconnue",
                    item.scale,
                    known.join(", ")
                ),
            );
            continue;
        };
        let top_box = match item.top_box {
            Some(own) => {
                check_top_box(&scales[scale], &own, &format!("{key}.top_box"), p);
                own
            }
            None => scales[scale].top_box.clone(),
        };
        items.push(Item {
            code,
            wording,
            scale,
            top_box,
        });
    }
    Instrument {
        id: raw.instrument,
        name,
        path: path.to_path_buf(),
        scales,
        items,
    }
}

fn check_scale(id: String, raw: RawScale, p: &mut Problems<'_>) -> Scale {
    let key = format!("scales.{id}");
    if !is_name(&id) {
        p.add(
            key.clone(),
            format!(
                "\"{id}\" is not a usable scale name: use letters, digits, `_` or `-` / nom d'échelle invalide"
            ),
        );
    }
    if raw.values.is_empty() {
        p.add(
            format!("{key}.values"),
            "list the scale's answers from the lowest to the highest, e.g. `- { value: 1, fr: Jamais, en: Never }` / listez les réponses de l'échelle",
        );
    }
    let mut values: Vec<ScaleValue> = Vec::with_capacity(raw.values.len());
    for (i, v) in raw.values.iter().enumerate() {
        let vkey = format!("{key}.values[{i}]");
        if let Some(prev) = values.last()
            && v.value <= prev.value
        {
            p.add(
                format!("{vkey}.value"),
                format!(
                    "{} after {}: list the values once each, from the lowest to the highest (the scale is ordinal) / valeurs uniques et croissantes",
                    v.value, prev.value
                ),
            );
        }
        let label = p.text(
            (&v.fr, &v.en),
            &vkey,
            (
                &format!("value {} of scale {id}", v.value),
                &format!("la valeur {} de l'échelle {id}", v.value),
            ),
        );
        values.push(ScaleValue {
            value: v.value,
            label,
        });
    }
    let mut scale = Scale {
        id: id.clone(),
        values,
        top_box: Vec::new(),
        not_applicable: None,
        missing: None,
    };
    check_top_box(&scale, &raw.top_box, &format!("{key}.top_box"), p);
    scale.top_box = raw.top_box;
    scale.not_applicable = raw.not_applicable.map(|t| {
        p.text(
            (&t.fr, &t.en),
            &format!("{key}.not_applicable"),
            ("\"not applicable\"", "« sans objet »"),
        )
    });
    scale.missing = raw.missing.map(|t| {
        p.text(
            (&t.fr, &t.en),
            &format!("{key}.missing"),
            ("\"missing\"", "« manquant »"),
        )
    });
    scale
}

/// A top box: at least one value, every one a value of the scale.
fn check_top_box(scale: &Scale, top_box: &[i32], key: &str, p: &mut Problems<'_>) {
    let values: Vec<String> = scale.values.iter().map(|v| v.value.to_string()).collect();
    if top_box.is_empty() {
        p.add(
            key,
            format!(
                "give the top box (the most positive answers, e.g. `top_box: [{}]`): without it no answer can be scored / indiquez la meilleure réponse",
                values.last().map(String::as_str).unwrap_or("4")
            ),
        );
    }
    let outside: BTreeSet<i32> = top_box
        .iter()
        .copied()
        .filter(|v| !scale.contains(*v))
        .collect();
    for v in outside {
        p.add(
            key,
            format!(
                "{v} is not a value of scale {} (values: {}) / {v} n'est pas une valeur de l'échelle",
                scale.id,
                values.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests;
