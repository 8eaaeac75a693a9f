//! Condition groups: diagnosis code lists declared in YAML (`queries/reference/conditions.yaml`,
//! built into the binary; a catalogue directory's own `reference/conditions.yaml` replaces
//! it), reached from indicator SQL through `vigie_condition('<group>', <code>)`.
//!
//! A code belongs to a group when, written without dots or spaces and in upper case, it
//! starts with one of the group's codes written the same way: partners send `E10.0`,
//! `E100` or `e10.0` for the same code.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder};
use arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use serde::Deserialize;
use vigie_model::{ConfigError, ConfigProblem};

use crate::catalogue::Bilingual;
use crate::persons::Texts;

/// The built-in condition groups.
const EMBEDDED: &str = include_str!("../../../queries/reference/conditions.yaml");

/// Where a catalogue directory's own groups live.
pub const CONDITIONS_FILE: &str = "reference/conditions.yaml";

/// A code system (ICD-10-CA...).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSystem {
    /// Its name.
    pub name: Bilingual,
    /// Who publishes it.
    pub source: String,
}

/// One condition group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionGroup {
    /// Its name.
    pub name: Bilingual,
    /// The code system of its codes (a key of `code_systems`).
    pub code_system: String,
    /// The public definition it follows.
    pub source: String,
    /// What of that definition vigie does not apply, and why.
    #[serde(default)]
    pub notes: Option<Bilingual>,
    /// Code prefixes (a code matches when it starts with one of them).
    pub codes: Vec<String>,
}

/// Every condition group, by id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Code systems, by id.
    pub code_systems: BTreeMap<String, CodeSystem>,
    /// Groups, by id.
    pub groups: BTreeMap<String, ConditionGroup>,
}

/// A code as compared: no dots, spaces or dashes, upper case.
fn normalise(code: &str) -> String {
    let mut out = String::new();
    normalise_into(code, &mut out);
    out
}

/// [`normalise`] into a buffer reused from row to row. Codes are ASCII nearly always, and
/// taken byte by byte then (a fifth of `ed_visits_per_1000`'s chronic groups' CPU went to
/// the character-by-character Unicode path); other text keeps Unicode's upper case.
fn normalise_into(code: &str, out: &mut String) {
    out.clear();
    if code.is_ascii() {
        out.extend(
            code.bytes()
                .filter(|b| !matches!(b, b'.' | b' ' | b'-'))
                .map(|b| char::from(b.to_ascii_uppercase())),
        );
        return;
    }
    for c in code.chars().filter(|c| !matches!(c, '.' | ' ' | '-')) {
        out.extend(c.to_uppercase());
    }
}

/// Whether a normalised code begins with one of a group's normalised prefixes. Most codes
/// share no first character with any prefix of the group they are tested against: that is
/// checked before comparing the rest.
fn starts_with_any(code: &str, prefixes: &[String]) -> bool {
    let code = code.as_bytes();
    prefixes.iter().any(|p| {
        let p = p.as_bytes();
        p.first().is_none_or(|f| code.first() == Some(f)) && code.starts_with(p)
    })
}

/// The groups' normalised code prefixes, by group id.
type Prefixes = HashMap<String, Vec<String>>;

/// `vigie_condition` over one batch. Per row it costs a code's normalisation into a reused
/// buffer and a scan of its group's prefixes: the group is looked up once when it is a
/// constant, and text is read in whatever string layout the scan gives (ED visits' chronic
/// groups evaluate it on four rows per visit, tens of millions at province scale).
fn condition_flags(
    prefixes: &Prefixes,
    args: &[ColumnarValue],
) -> Result<ColumnarValue, DataFusionError> {
    let [group_arg, code_arg] = args else {
        return Err(DataFusionError::Plan(
            "vigie_condition(group, code) takes two arguments".into(),
        ));
    };
    let lookup = |group: &str| {
        prefixes.get(group).ok_or_else(|| {
            DataFusionError::Plan(format!(
                "vigie_condition: unknown condition group `{group}` (declared: {})",
                prefixes.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    };
    let rows = args
        .iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1);
    let codes = Texts::from_array(&code_arg.to_array(rows)?)?;
    // A constant group: looked up once (None: the SQL NULL, every flag null).
    let constant = match group_arg {
        ColumnarValue::Scalar(s) => Some(match Texts::from_array(&s.to_array()?)?.get(0) {
            Some(g) => Some(lookup(g)?),
            None => None,
        }),
        ColumnarValue::Array(_) => None,
    };
    let groups = match constant {
        Some(_) => None,
        None => Some(Texts::from_array(&group_arg.to_array(rows)?)?),
    };
    let mut out = BooleanBuilder::with_capacity(rows);
    let mut code = String::new();
    // A group column (a join of events with the groups) repeats each group over many rows:
    // the last one looked up is kept rather than hashed again.
    let mut last: Option<(&str, &Vec<String>)> = None;
    for i in 0..rows {
        let list = match (&constant, &groups) {
            (Some(list), _) => *list,
            (None, Some(groups)) => match groups.get(i) {
                None => None,
                Some(g) => match last {
                    Some((name, list)) if name == g => Some(list),
                    _ => {
                        let list = lookup(g)?;
                        last = Some((g, list));
                        Some(list)
                    }
                },
            },
            (None, None) => None,
        };
        match (list, codes.get(i)) {
            (Some(list), Some(raw)) => {
                normalise_into(raw, &mut code);
                out.append_value(starts_with_any(&code, list));
            }
            _ => out.append_null(),
        }
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
}

impl Conditions {
    /// The groups of the catalogue directory `dir` when it has its own file, else the
    /// built-in ones.
    pub fn load(dir: Option<&Path>) -> Result<Self, ConfigError> {
        match dir.map(|d| d.join(CONDITIONS_FILE)).filter(|p| p.is_file()) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    error: source,
                })?;
                Self::parse(&text, &path)
            }
            None => Self::parse(EMBEDDED, Path::new("queries/reference/conditions.yaml")),
        }
    }

    /// Parses and checks a conditions file.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let problem = |key: String, message: String| ConfigProblem {
            file: PathBuf::from(path),
            line: None,
            key,
            message,
        };
        if let Some(problem) = vigie_model::config::duplicate_key(path, text) {
            return Err(ConfigError::Invalid(vec![problem]));
        }
        let conditions: Conditions = serde_yaml::from_str(text).map_err(|e| {
            ConfigError::Invalid(vec![ConfigProblem {
                file: PathBuf::from(path),
                line: e.location().map(|l| l.line()),
                key: String::new(),
                message: e.to_string(),
            }])
        })?;
        let mut problems = Vec::new();
        for (id, group) in &conditions.groups {
            if !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                problems.push(problem(
                    format!("groups.{id}"),
                    "a group id is lower case letters, digits and `_`".into(),
                ));
            }
            if !conditions.code_systems.contains_key(&group.code_system) {
                problems.push(problem(
                    format!("groups.{id}.code_system"),
                    format!(
                        "unknown code system `{}` (declared: {})",
                        group.code_system,
                        conditions
                            .code_systems
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if group.codes.is_empty() || group.codes.iter().any(|c| normalise(c).is_empty()) {
                problems.push(problem(
                    format!("groups.{id}.codes"),
                    "list at least one code, none empty".into(),
                ));
            }
            if group.source.trim().is_empty()
                || group.name.fr.trim().is_empty()
                || group.name.en.trim().is_empty()
            {
                problems.push(problem(
                    format!("groups.{id}"),
                    "give the group's name in French and English and the public definition it follows (`source`)".into(),
                ));
            }
        }
        if problems.is_empty() {
            Ok(conditions)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// Whether `code` belongs to group `id` (None: no such group).
    pub fn contains(&self, id: &str, code: &str) -> Option<bool> {
        let group = self.groups.get(id)?;
        let code = normalise(code);
        Some(group.codes.iter().any(|c| code.starts_with(&normalise(c))))
    }

    /// `vigie_condition(group, code) -> boolean`: whether the code belongs to the group; a
    /// query naming an unknown group fails, naming it.
    pub fn udf(&self) -> ScalarUDF {
        let prefixes: Arc<Prefixes> = Arc::new(
            self.groups
                .iter()
                .map(|(id, g)| (id.clone(), g.codes.iter().map(|c| normalise(c)).collect()))
                .collect(),
        );
        create_udf(
            "vigie_condition",
            vec![DataType::Utf8, DataType::Utf8],
            DataType::Boolean,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| condition_flags(&prefixes, args)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_groups_load_and_follow_their_definitions() {
        let c = Conditions::load(None).expect("the shipped conditions are valid");
        for id in [
            "acsc",
            "copd",
            "heart_failure",
            "diabetes",
            "mental_health_addictions",
        ] {
            assert!(c.groups.contains_key(id), "{id}");
        }
        // From the CIHI technical note: E10.0^^ is in, E10.2 (kidney complications) is not;
        // I10.0 and I10.1 are in, I10.9 is not; I23.82 is in, I23.8 alone is not.
        let acsc = |code: &str| c.contains("acsc", code).expect("acsc");
        assert!(acsc("E10.0") && acsc("E100") && acsc("e10.01") && acsc("E10.9"));
        assert!(!acsc("E10.2"));
        assert!(acsc("I10.1") && !acsc("I10.9"));
        assert!(acsc("I23.82") && !acsc("I23.8"));
        assert!(acsc("J44.1") && acsc("G40.9") && acsc("I50.0") && acsc("J45.9"));
        assert!(
            !acsc("J18.9"),
            "pneumonia counts only with a secondary COPD diagnosis"
        );
        assert_eq!(c.contains("copd", "J44.1"), Some(true));
        assert_eq!(c.contains("mental_health_addictions", "F10.0"), Some(true));
        assert_eq!(c.contains("mental_health_addictions", "F03"), Some(false));
        assert_eq!(c.contains("nothing", "F10"), None);
    }

    #[test]
    fn codes_normalise_alike_on_the_ascii_and_unicode_paths() {
        // The Unicode path, written out: every character but dots, spaces and dashes, upper
        // case (some characters have several).
        let reference = |code: &str| -> String {
            code.chars()
                .filter(|c| !matches!(c, '.' | ' ' | '-'))
                .flat_map(char::to_uppercase)
                .collect()
        };
        let mut out = String::new();
        for code in [
            "e10.01",
            "E10 9",
            "j44-1",
            "",
            "...",
            "f1",
            "z99.9a",
            "é10.1",
            "straße",
            "ﬁ10",
            "I10\u{00A0}1",
        ] {
            normalise_into(code, &mut out);
            assert_eq!(out, reference(code), "{code:?}");
        }
        assert_eq!(normalise("straße"), "STRASSE");
        // Prefix tests: the first character, then the rest; an empty code matches nothing.
        let prefixes = vec![
            "F1".to_string(),
            "J44".to_string(),
            "E10.0".replace('.', ""),
        ];
        assert!(starts_with_any("F10", &prefixes));
        assert!(starts_with_any("J441", &prefixes) && !starts_with_any("J4", &prefixes));
        assert!(starts_with_any("E100", &prefixes) && !starts_with_any("E101", &prefixes));
        assert!(!starts_with_any("", &prefixes) && !starts_with_any("G40", &prefixes));
    }

    #[tokio::test]
    async fn the_sql_function_agrees_with_the_definitions_on_every_argument_shape() {
        use arrow::array::{Array, AsArray};
        use datafusion::prelude::SessionContext;
        let c = Conditions::load(None).expect("the shipped conditions are valid");
        let ctx = SessionContext::new();
        ctx.register_udf(c.udf());
        ctx.sql(
            "CREATE TABLE v AS SELECT * FROM (VALUES \
             (1, 'acsc', 'e10.01'), (2, 'copd', 'J44.1'), (3, 'acsc', 'J18.9'), \
             (4, NULL, 'J44.1'), (5, 'copd', NULL), (6, 'diabetes', 'E11 9')) AS t(id, g, code)",
        )
        .await
        .expect("table")
        .collect()
        .await
        .expect("created");
        let flags = |sql: &'static str| {
            let ctx = ctx.clone();
            async move {
                let batches = ctx
                    .sql(sql)
                    .await
                    .expect("plans")
                    .collect()
                    .await
                    .expect("runs");
                batches
                    .iter()
                    .flat_map(|b| {
                        let a = b.column(0).as_boolean().clone();
                        (0..a.len())
                            .map(|i| (!a.is_null(i)).then(|| a.value(i)))
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            }
        };
        // The group from a column, the code as plain text and as a string view.
        let by_row = [Some(true), Some(true), Some(false), None, None, Some(true)];
        assert_eq!(
            flags("SELECT vigie_condition(g, code) FROM v ORDER BY id").await,
            by_row
        );
        assert_eq!(
            flags("SELECT vigie_condition(g, arrow_cast(code, 'Utf8View')) FROM v ORDER BY id")
                .await,
            by_row
        );
        // A constant group, and a constant NULL group.
        let acsc: Vec<Option<bool>> = ["e10.01", "J44.1", "J18.9", "J44.1"]
            .iter()
            .map(|code| c.contains("acsc", code))
            .chain([None, c.contains("acsc", "E11 9")])
            .collect();
        assert_eq!(
            flags("SELECT vigie_condition('acsc', code) FROM v ORDER BY id").await,
            acsc
        );
        assert_eq!(
            flags("SELECT vigie_condition(NULL, code) FROM v ORDER BY id").await,
            vec![None; 6]
        );
        // An unknown group fails, naming it, whether constant or from a row.
        for sql in [
            "SELECT vigie_condition('asthma', code) FROM v",
            "SELECT vigie_condition(concat(g, 'x'), code) FROM v",
        ] {
            let err = ctx
                .sql(sql)
                .await
                .expect("plans")
                .collect()
                .await
                .expect_err("an unknown group");
            assert!(
                err.to_string().contains("unknown condition group"),
                "{sql}: {err}"
            );
        }
    }

    #[test]
    fn a_bad_file_names_the_key_at_fault() {
        let text = "code_systems: { icd10ca: { name: { fr: a, en: a }, source: s } }\n\
                    groups:\n  Bad-Id: { name: { fr: a, en: a }, code_system: icd9, source: s, codes: [] }\n";
        let err = Conditions::parse(text, Path::new("c.yaml")).expect_err("invalid");
        let keys: Vec<String> = err.problems().iter().map(|p| p.key.clone()).collect();
        assert!(keys.contains(&"groups.Bad-Id".to_string()), "{keys:?}");
        assert!(
            keys.contains(&"groups.Bad-Id.code_system".to_string()),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"groups.Bad-Id.codes".to_string()),
            "{keys:?}"
        );
        let typo = "code_systems: {}\ngroups: {}\nextra: 1\n";
        assert!(Conditions::parse(typo, Path::new("c.yaml")).is_err());
    }
}
