//! A source spec bound to one file's header: column names resolved to positions once, so
//! each record is mapped without look-ups.

use std::collections::HashMap;

use vigie_model::config::{CheckDigit, Columns, FieldSpec, SourceSpec};
use vigie_model::{Entity, FieldDef};

use crate::survey::{ANSWER_TEXT, SurveyPlan};

/// Where a field's text comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A column (index into the extended record, see [`CompiledSource::virtual_name`]).
    Column(usize),
    /// A date column and a time column.
    DateTime(usize, usize),
    /// A constant.
    Const(String),
    /// Not mapped (optional field).
    Absent,
}

/// How one canonical field is filled and checked.
#[derive(Debug, Clone)]
pub struct FieldPlan {
    pub def: &'static FieldDef,
    pub origin: Origin,
    /// Partner column name(s), for messages.
    pub label: String,
    pub format: Option<String>,
    pub time_format: Option<String>,
    pub decimal_comma: bool,
    pub map: Option<HashMap<String, String>>,
    pub required: bool,
    pub range: Option<(f64, f64)>,
    pub allowed: Vec<String>,
    pub check: CheckDigit,
    /// The declared identifier format (length, pattern, check digit).
    pub scheme: Option<vigie_model::IdScheme>,
}

/// One target entity with its field plans, in canonical field order.
#[derive(Debug, Clone)]
pub struct CompiledOutput {
    pub entity: Entity,
    pub case: Option<String>,
    pub fields: Vec<FieldPlan>,
    /// A survey output reads its answers through the source's instrument.
    pub survey: Option<SurveyPlan>,
    /// The field holding the event's date (its month partitions the table).
    pub event_date_at: Option<usize>,
    /// The entity's date-order rules as (later, earlier) field positions: found here once
    /// rather than by name for every row.
    pub date_order: Vec<(usize, usize)>,
    /// The field holding the person's key.
    pub person_key_at: Option<usize>,
}

/// A spec bound to a header.
#[derive(Debug, Clone)]
pub struct CompiledSource {
    pub split_col: Option<(usize, String)>,
    pub outputs: Vec<CompiledOutput>,
    /// Indices of the unpivoted columns, with their names.
    pub unpivot: Option<(Vec<(usize, String)>, bool)>,
    pub null_values: NullValues,
    /// Width of the header; `$name` is at `width`, `$value` at `width + 1`.
    pub width: usize,
    /// The header's column names, trimmed: a record repeating it is the header of a second
    /// extract joined to the first, rejected as that.
    pub header: Vec<String>,
}

impl CompiledSource {
    /// Whether `cells` repeat the header.
    pub fn is_header(&self, cells: &[String]) -> bool {
        cells.len() == self.header.len()
            && cells
                .iter()
                .zip(&self.header)
                .all(|(cell, name)| cell.trim() == name)
    }
}

/// Binds the spec to the header; a missing column is an error naming it and the spec key.
pub fn compile(spec: &SourceSpec, header: &[String]) -> Result<CompiledSource, String> {
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    let width = header.len();
    let mut missing: Vec<String> = Vec::new();
    let mut find = |name: &str, key: &str| -> usize {
        match name {
            "$name" => width,
            "$value" => width + 1,
            _ => match index.get(name) {
                Some(i) => *i,
                None => {
                    missing.push(format!("`{name}` (used by {key})"));
                    usize::MAX
                }
            },
        }
    };
    let split_col = spec
        .split
        .as_ref()
        .map(|s| (find(&s.by, "split.by"), s.by.clone()));
    let unpivot = spec.unpivot.as_ref().map(|u| {
        let cols = u
            .columns
            .iter()
            .map(|c| (find(c, "unpivot.columns"), c.clone()))
            .collect();
        (cols, u.keep_empty)
    });
    let mut outputs = Vec::new();
    for (case, output) in spec.outputs() {
        let prefix = match case {
            Some(c) => format!("split.cases.{c}.fields"),
            None => "fields".into(),
        };
        let survey = match (&spec.survey, output.entity) {
            (Some(survey), Entity::SurveyResponse) => match &survey.binding {
                Some(binding) => SurveyPlan::new(output.entity, binding),
                // Only `load_source` reads the instrument: a spec deserialised otherwise
                // cannot read its answers.
                None => {
                    return Err(
                        "the source's survey instrument was not read: load the source spec with `load_source` (or `vigie validate` it)".into(),
                    );
                }
            },
            _ => None,
        };
        let mut fields = Vec::new();
        for (index, def) in output.entity.fields().iter().enumerate() {
            // The instrument reads the answer from its text.
            let def = if survey.as_ref().is_some_and(|p| p.is_answer(index)) {
                &ANSWER_TEXT
            } else {
                def
            };
            let spec_field = output.fields.get(def.name).cloned().unwrap_or_default();
            let key = format!("{prefix}.{}", def.name);
            let origin = match (&spec_field.from, &spec_field.value) {
                (Some(Columns::One(c)), _) => Origin::Column(find(c, &key)),
                (Some(Columns::Many(v)), _) if v.len() == 2 => {
                    Origin::DateTime(find(&v[0], &key), find(&v[1], &key))
                }
                (_, Some(v)) => Origin::Const(v.clone()),
                _ => Origin::Absent,
            };
            fields.push(plan(def, origin, &spec_field));
        }
        let at = |name: &str| fields.iter().position(|f: &FieldPlan| f.def.name == name);
        let event_date_at = output.entity.event_date_field().and_then(at);
        let date_order = output
            .entity
            .date_order_rules()
            .iter()
            .filter_map(|(later, earlier)| Some((at(later)?, at(earlier)?)))
            .collect();
        let person_key_at = fields
            .iter()
            .position(|f| f.def.ty == vigie_model::FieldType::PersonKey);
        outputs.push(CompiledOutput {
            entity: output.entity,
            case: case.map(str::to_string),
            fields,
            survey,
            event_date_at,
            date_order,
            person_key_at,
        });
    }
    if outputs.is_empty() && split_col.is_none() {
        // `entity` without `fields` (the spec loader refuses it, a caller may not have run
        // it): every record would be mapped through an output that does not exist.
        return Err(
            "the source spec maps no fields: give `entity` with `fields`, or `split`".into(),
        );
    }
    if !missing.is_empty() {
        return Err(format!(
            "the header lacks column(s) {}; the header has: {}. Fix the source spec or ask the partner for the agreed layout",
            missing.join(", "),
            header
                .iter()
                .map(|h| shown_header(h))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let null_values = NullValues::new(&spec.null_values);
    Ok(CompiledSource {
        split_col,
        outputs,
        unpivot,
        null_values,
        width,
        header: header.iter().map(|h| h.trim().to_string()).collect(),
    })
}

fn plan(def: &'static FieldDef, origin: Origin, f: &FieldSpec) -> FieldPlan {
    let label = match &f.from {
        Some(c) => c.names().join("+"),
        None => def.name.to_string(),
    };
    // A spec range narrows the canonical one, never widens it.
    let range = match (f.range, def.range) {
        (Some([lo, hi]), Some((clo, chi))) => Some((lo.max(clo), hi.min(chi))),
        (Some([lo, hi]), None) => Some((lo, hi)),
        (None, r) => r,
    };
    let allowed = match &f.allowed {
        Some(list) => list.clone(),
        None => def.allowed.iter().map(|s| s.to_string()).collect(),
    };
    FieldPlan {
        def,
        origin,
        label,
        format: f.format.clone(),
        time_format: f.time_format.clone(),
        decimal_comma: f.decimal.as_deref() == Some(","),
        map: f
            .map
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        // A spec may require an optional field, not relax a required one: the warehouse
        // column is non-nullable (and the event date gives the partition).
        required: def.required || f.required.unwrap_or(false),
        range,
        allowed,
        check: f.check.unwrap_or(CheckDigit::None),
        scheme: f.scheme.clone(),
    }
}

/// A header cell as it may appear in a message: a file without its header row has data
/// there, so anything that could be an identifier (six digits or more) is withheld.
fn shown_header(cell: &str) -> String {
    if cell.chars().filter(char::is_ascii_digit).count() >= 6 {
        "<withheld: looks like data, not a column name>".to_string()
    } else {
        cell.to_string()
    }
}

/// The texts a source writes for "no value" (trimmed), the empty text always among them.
/// Every cell is looked up here: a source declares a handful, so a scan (string equality
/// compares lengths first) costs less than hashing the cell.
#[derive(Debug, Clone)]
pub struct NullValues(Vec<String>);

impl NullValues {
    fn new(declared: &[String]) -> Self {
        let mut texts: Vec<String> = declared.iter().map(|s| s.trim().to_string()).collect();
        texts.retain(|t| !t.is_empty());
        texts.sort();
        texts.dedup();
        NullValues(texts)
    }

    /// Whether `text` (trimmed by the caller) means no value.
    pub fn contains(&self, text: &str) -> bool {
        text.is_empty() || self.0.iter().any(|n| n == text)
    }
}

#[cfg(test)]
mod tests {
    use super::{NullValues, shown_header};

    #[test]
    fn header_cells_that_look_like_identifiers_are_withheld() {
        assert_eq!(shown_header("TRIAGE_LEVEL"), "TRIAGE_LEVEL");
        assert_eq!(shown_header("Q1"), "Q1");
        assert!(!shown_header("1234567897").contains("1234567897"));
        assert!(!shown_header("1234-567-897").contains("567"));
    }

    #[test]
    fn null_texts_are_trimmed_and_the_empty_text_is_always_one() {
        let declared = ["  N/A ", "", "S.O.", " S.O.", "   "].map(String::from);
        let nulls = NullValues::new(&declared);
        for text in ["", "N/A", "S.O."] {
            assert!(nulls.contains(text), "{text:?}");
        }
        // Only whole texts, case and all: a value containing one is a value.
        for text in ["n/a", "N/A.", "NA", "S.O", "0"] {
            assert!(!nulls.contains(text), "{text:?}");
        }
        let none = NullValues::new(&[]);
        assert!(none.contains("") && !none.contains("N/A"));
    }
}
