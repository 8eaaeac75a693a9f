//! Strata declarations (`queries/strata.yaml`): what an indicator can be broken down by and
//! compared across, where each stratum's value comes from, its categories in order, the
//! reference category and whether the stratum is governed (computed only when a pipeline
//! enables it). Parsed once into [`Strata`]; the catalogue checks indicators against it and
//! the engine builds the person view and the disparity measures from it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vigie_model::config::CatalogueSource;
use vigie_model::locate::locate;
use vigie_model::{ConfigError, ConfigProblem, Entity};

use crate::catalogue::Bilingual;

/// The file name of the declarations, in `queries/` and in a pipeline's catalogue directory.
pub const STRATA_FILE: &str = "strata.yaml";

/// The built-in declarations (the repository's `queries/strata.yaml`).
const EMBEDDED_STRATA: &str = include_str!(concat!(env!("OUT_DIR"), "/strata.yaml"));

/// The value every row without a known category falls in (never dropped).
pub const UNKNOWN: &str = "unknown";

/// Where a stratum's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StratumSource {
    /// The indicator's query computes the column (age band from the period, survey item,
    /// partner source).
    Query,
    /// A column of the person registry.
    Person(String),
    /// An attribute of the person's `area`, looked up in the `area_attribute` table.
    Area(String),
    /// An attribute of the person in `person_attribute` (a source of its own, e.g. under a
    /// data-sharing agreement).
    PersonAttribute(String),
}

/// The YAML forms of a source: `query`, or a map with one key.
#[derive(Deserialize)]
#[serde(untagged)]
enum SourceRepr {
    Word(String),
    Map(std::collections::BTreeMap<String, String>),
}

impl TryFrom<SourceRepr> for StratumSource {
    type Error = String;
    fn try_from(repr: SourceRepr) -> Result<Self, String> {
        const EXPECTED: &str = "expected `query`, `{ person: COLUMN }`, `{ area: ATTRIBUTE }` or `{ person_attribute: ATTRIBUTE }`";
        match repr {
            SourceRepr::Word(w) if w == "query" => Ok(Self::Query),
            SourceRepr::Word(w) => Err(format!("unknown stratum source \"{w}\": {EXPECTED}")),
            SourceRepr::Map(m) if m.len() == 1 => match m.into_iter().next() {
                Some((k, v)) if k == "person" => Ok(Self::Person(v)),
                Some((k, v)) if k == "area" => Ok(Self::Area(v)),
                Some((k, v)) if k == "person_attribute" => Ok(Self::PersonAttribute(v)),
                Some((k, _)) => Err(format!("unknown stratum source `{k}`: {EXPECTED}")),
                None => Err(EXPECTED.to_string()),
            },
            SourceRepr::Map(_) => Err(EXPECTED.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for StratumSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        StratumSource::try_from(SourceRepr::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// One category of a stratum.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// The stored value (`stratum_value` in the results).
    pub code: String,
    /// French label.
    pub fr: String,
    /// English label.
    pub en: String,
}

/// One declared stratum.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StratumDecl {
    /// The column name in query output and `stratum_dimension` in the results.
    pub id: String,
    /// Its name for readers.
    pub name: Bilingual,
    /// Where its value comes from.
    pub source: StratumSource,
    /// Categories in order (empty: open, e.g. survey items).
    #[serde(default)]
    pub categories: Vec<Category>,
    /// The category the others are compared with.
    #[serde(default)]
    pub reference: Option<String>,
    /// Whether the categories are ordered from the most disadvantaged to the least (the
    /// slope index of inequality is computed across them).
    #[serde(default)]
    pub ordered: bool,
    /// Computed only when the pipeline lists it in `equity.enabled`.
    #[serde(default)]
    pub governed: bool,
}

impl StratumDecl {
    /// Whether a value is one of the declared categories.
    pub fn has_category(&self, code: &str) -> bool {
        self.categories.iter().any(|c| c.code == code)
    }

    /// The reference category, if declared.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrataFile {
    strata: Vec<StratumDecl>,
}

/// The declared strata and the file they came from.
#[derive(Debug, Clone)]
pub struct Strata {
    /// Declarations in file order.
    pub decls: Vec<StratumDecl>,
    /// The file (for messages).
    pub path: PathBuf,
    /// The file's text (to locate keys in messages).
    text: String,
}

/// Whether `s` can be a column name spliced into SQL.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Strata {
    /// Parses and checks declarations; every problem at once.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if let Some(problem) = vigie_model::config::duplicate_key(path, text) {
            return Err(ConfigError::Invalid(vec![problem]));
        }
        let de = serde_yaml::Deserializer::from_str(text);
        let file: StrataFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            ConfigError::Invalid(vec![ConfigProblem {
                file: path.to_path_buf(),
                line: inner.location().map(|l| l.line()),
                key,
                message: inner
                    .to_string()
                    .split(" at line ")
                    .next()
                    .unwrap_or("")
                    .to_string(),
            }])
        })?;
        let strata = Strata {
            decls: file.strata,
            path: path.to_path_buf(),
            text: text.to_string(),
        };
        let problems = strata.problems();
        if problems.is_empty() {
            Ok(strata)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    fn problem(&self, key: String, message: String) -> ConfigProblem {
        ConfigProblem {
            file: self.path.clone(),
            line: locate(&self.text, &key),
            key,
            message,
        }
    }

    fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut ids = BTreeSet::new();
        for (i, d) in self.decls.iter().enumerate() {
            let key = |k: &str| format!("strata[{i}].{k}");
            let mut add = |k: &str, m: String| out.push(self.problem(key(k), m));
            if !is_identifier(&d.id) || d.id == vigie_disclosure::ALL {
                add(
                    "id",
                    format!(
                        "\"{}\" cannot name a stratum: use lowercase letters, digits and `_` (not `all`)",
                        d.id
                    ),
                );
            }
            if !ids.insert(d.id.clone()) {
                add("id", format!("the stratum \"{}\" is declared twice", d.id));
            }
            if d.name.fr.trim().is_empty() || d.name.en.trim().is_empty() {
                add("name", "give both `fr` and `en` text".into());
            }
            match &d.source {
                StratumSource::Person(c) if Entity::Person.field(c).is_none() => add(
                    "source",
                    format!("the person registry has no column \"{c}\""),
                ),
                StratumSource::Area(a) | StratumSource::PersonAttribute(a) if !is_identifier(a) => {
                    add(
                        "source",
                        format!(
                            "\"{a}\" cannot name an attribute: use lowercase letters, digits and `_`"
                        ),
                    )
                }
                _ => {}
            }
            if !matches!(d.source, StratumSource::Person(_))
                && Entity::Person.field(&d.id).is_some()
            {
                add(
                    "id",
                    format!(
                        "\"{}\" is a column of the person registry: name a stratum from another source differently",
                        d.id
                    ),
                );
            }
            let mut codes = BTreeSet::new();
            for c in &d.categories {
                if !codes.insert(c.code.as_str())
                    || c.code == UNKNOWN
                    || c.code == vigie_disclosure::ALL
                {
                    add(
                        "categories",
                        format!(
                            "the category \"{}\" is listed twice or is reserved (`unknown`, `all`)",
                            c.code
                        ),
                    );
                }
            }
            if let Some(r) = &d.reference
                && !d.has_category(r)
            {
                add(
                    "reference",
                    format!(
                        "the reference \"{r}\" is not one of the categories of {}",
                        d.id
                    ),
                );
            }
            if d.ordered && d.categories.len() < 2 {
                add(
                    "ordered",
                    "an ordered stratum needs at least two categories".into(),
                );
            }
        }
        out
    }

    /// The declaration of `id`.
    pub fn get(&self, id: &str) -> Option<&StratumDecl> {
        self.decls.iter().find(|d| d.id == id)
    }

    /// The declared ids, for messages.
    pub fn ids(&self) -> String {
        self.decls
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks a pipeline's `equity.enabled` list: each must be a declared governed stratum.
    pub fn check_enabled(&self, enabled: &[String], pipeline: &Path) -> Result<(), ConfigError> {
        let problems: Vec<ConfigProblem> = enabled
            .iter()
            .filter(|id| !self.get(id).is_some_and(|d| d.governed))
            .map(|id| ConfigProblem {
                file: pipeline.to_path_buf(),
                line: None,
                key: "equity.enabled".into(),
                message: format!(
                    "\"{id}\" is not a governed stratum of {} (governed: {})",
                    self.path.display(),
                    self.decls
                        .iter()
                        .filter(|d| d.governed)
                        .map(|d| d.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// Whether a stratum is computed in a run enabling `enabled`: declared, and either not
    /// governed or enabled.
    pub fn is_active(&self, id: &str, enabled: &[String]) -> bool {
        self.get(id)
            .is_some_and(|d| !d.governed || enabled.iter().any(|e| e == id))
    }
}

/// The strata of a catalogue: its directory's `strata.yaml` when there is one, else the
/// built-in declarations.
pub fn load_strata(source: &CatalogueSource) -> Result<Strata, ConfigError> {
    if let Some(dir) = &source.directory {
        let path = dir.join(STRATA_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                error: source,
            })?;
            return Strata::parse(&text, &path);
        }
    }
    Strata::parse(EMBEDDED_STRATA, Path::new("(built-in)/queries/strata.yaml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match Strata::parse(text, Path::new("strata.yaml")) {
            Ok(_) => vec![],
            Err(e) => e.problems().iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn the_built_in_strata_parse_with_their_sources_and_references() {
        let s = load_strata(&CatalogueSource::embedded()).expect("built in");
        let dep = s.get("deprivation_quintile").expect("declared");
        assert_eq!(
            dep.source,
            StratumSource::Area("deprivation_quintile".into())
        );
        assert_eq!(dep.reference(), Some("5"));
        assert!(dep.ordered && !dep.governed);
        let codes: Vec<&str> = dep.categories.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["1", "2", "3", "4", "5"]);
        let ind = s.get("indigenous_identity").expect("declared");
        assert!(ind.governed);
        assert!(!s.is_active("indigenous_identity", &[]));
        assert!(s.is_active("indigenous_identity", &["indigenous_identity".into()]));
        assert!(s.is_active("sex", &[]));
        for id in ["sex", "age_band", "language", "rurality", "item", "source"] {
            assert!(s.get(id).is_some(), "{id}");
        }
    }

    #[test]
    fn bad_declarations_name_the_key_and_value() {
        let text = "strata:\n  - id: quintile\n    name: { fr: Q, en: Q }\n    source: { area: q }\n    categories:\n      - { code: a, fr: A, en: A }\n    reference: z\n    ordered: true\n  - id: x\n    name: { fr: X, en: X }\n    source: { person: postal_code }\n";
        let p = problems(text);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].contains("strata[0].reference") && p[0].contains("\"z\""),
            "{p:?}"
        );
        assert!(p[1].contains("strata[0].ordered"), "{p:?}");
        assert!(
            p[2].contains("strata[1].source") && p[2].contains("postal_code"),
            "{p:?}"
        );
        let p = problems("strata:\n  - id: q\n    name: { fr: Q, en: Q }\n    source: census\n");
        assert!(
            p[0].contains("census") && p[0].contains("strata[0].source"),
            "{p:?}"
        );
    }

    #[test]
    fn only_declared_governed_strata_can_be_enabled() {
        let s = load_strata(&CatalogueSource::embedded()).expect("built in");
        let pipeline = Path::new("pipelines/demo.yaml");
        assert!(
            s.check_enabled(&["indigenous_identity".into()], pipeline)
                .is_ok()
        );
        let err = s
            .check_enabled(&["sex".into(), "ethnicity".into()], pipeline)
            .expect_err("not governed");
        let text = err.to_string();
        assert!(
            text.contains("\"sex\"")
                && text.contains("\"ethnicity\"")
                && text.contains("equity.enabled"),
            "{text}"
        );
    }
}
