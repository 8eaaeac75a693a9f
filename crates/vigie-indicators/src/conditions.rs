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

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use serde::Deserialize;
use vigie_model::{ConfigError, ConfigProblem};

use crate::catalogue::Bilingual;

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
    code.chars()
        .filter(|c| !matches!(c, '.' | ' ' | '-'))
        .flat_map(char::to_uppercase)
        .collect()
}

impl Conditions {
    /// The groups of the catalogue directory `dir` when it has its own file, else the
    /// built-in ones.
    pub fn load(dir: Option<&Path>) -> Result<Self, ConfigError> {
        match dir.map(|d| d.join(CONDITIONS_FILE)).filter(|p| p.is_file()) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
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
        let prefixes: Arc<HashMap<String, Vec<String>>> = Arc::new(
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
            Arc::new(move |args: &[ColumnarValue]| {
                let arrays = ColumnarValue::values_to_arrays(args)?;
                let [groups, codes] = arrays.as_slice() else {
                    return Err(DataFusionError::Plan(
                        "vigie_condition(group, code) takes two arguments".into(),
                    ));
                };
                let text = |a: &ArrayRef| -> Result<StringArray, DataFusionError> {
                    let a = cast(a, &DataType::Utf8)?;
                    a.as_any()
                        .downcast_ref::<StringArray>()
                        .cloned()
                        .ok_or_else(|| DataFusionError::Internal("not text".into()))
                };
                let (groups, codes) = (text(groups)?, text(codes)?);
                let mut out = Vec::with_capacity(codes.len());
                for i in 0..codes.len() {
                    if groups.is_null(i) || codes.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    let group = groups.value(i);
                    let Some(list) = prefixes.get(group) else {
                        return Err(DataFusionError::Plan(format!(
                            "vigie_condition: unknown condition group `{group}` (declared: {})",
                            prefixes.keys().cloned().collect::<Vec<_>>().join(", ")
                        )));
                    };
                    let code = normalise(codes.value(i));
                    out.push(Some(list.iter().any(|p| code.starts_with(p.as_str()))));
                }
                Ok(ColumnarValue::Array(
                    Arc::new(BooleanArray::from(out)) as ArrayRef
                ))
            }),
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
