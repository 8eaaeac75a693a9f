//! Deserialising a configuration file with every independent problem reported at once.
//!
//! serde stops at the first bad value. After each problem the bad key is removed from the
//! document and the rest deserialised again, so that a bad cron expression does not hide a
//! bad disclosure setting three lines below; what remains, once it deserialises, still goes
//! through the semantic checks. A problem that only follows from a removal (the parent now
//! lacks a required field) is not reported: the removed key's own problem says it all.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use serde_yaml::Value;

use crate::error::ConfigProblem;
use crate::locate::locate;

/// At most this many problems per file (each costs one more deserialisation).
const MAX_PROBLEMS: usize = 50;

/// The outcome of deserialising one file.
pub(super) struct Parsed<T> {
    /// The document without its bad keys, when that deserialises.
    pub value: Option<T>,
    /// One problem per bad key, in the order found.
    pub problems: Vec<ConfigProblem>,
    /// The keys removed: the bad ones, and parents left without a required field.
    removed: Vec<String>,
}

impl<T> Parsed<T> {
    /// Whether `key` is, or lies under, a key already reported as bad (a semantic check of
    /// the rest would only repeat it).
    pub fn covers(&self, key: &str) -> bool {
        self.removed.iter().any(|r| {
            !r.is_empty()
                && (key == r
                    || key.starts_with(&format!("{r}."))
                    || key.starts_with(&format!("{r}[")))
        })
    }
}

/// One step into the YAML tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The steps of an error path; `None` when the path goes where no key can be removed.
fn steps(path: &serde_path_to_error::Path) -> Option<Vec<Step>> {
    path.iter()
        .map(|s| match s {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// Removes the value at `steps`; false when it is not there.
fn remove(tree: &mut Value, steps: &[Step]) -> bool {
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut node = tree;
    for step in parents {
        let next = match (step, node) {
            (Step::Key(k), Value::Mapping(m)) => m
                .iter_mut()
                .find(|(key, _)| key_text(key).as_deref() == Some(k.as_str()))
                .map(|(_, v)| v),
            (Step::Index(i), Value::Sequence(s)) => s.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    match (last, node) {
        (Step::Key(k), Value::Mapping(m)) => {
            let found = m
                .keys()
                .find(|key| key_text(key).as_deref() == Some(k.as_str()))
                .cloned();
            found.is_some_and(|key| m.remove(&key).is_some())
        }
        (Step::Index(i), Value::Sequence(s)) if *i < s.len() => {
            s.remove(*i);
            true
        }
        _ => false,
    }
}

/// A mapping key as serde_path_to_error names it.
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The problem an error describes, at the line of its key.
fn problem(
    path: &Path,
    text: &str,
    err: serde_path_to_error::Error<serde_yaml::Error>,
) -> ConfigProblem {
    let key = err.path().to_string();
    let key = if key == "." { String::new() } else { key };
    let inner = err.into_inner();
    // The key's own line is the most precise; custom errors (e.g. `try_from`) carry no
    // location of their own, or that of the enclosing mapping.
    let line = (!key.is_empty())
        .then(|| locate(text, &key))
        .flatten()
        .or_else(|| inner.location().map(|l| l.line()));
    // serde_yaml appends " at line L column C"; the line is shown in front already.
    let message = inner.to_string();
    let message = match message.find(" at line ") {
        Some(pos) => message[..pos].to_string(),
        None => message,
    };
    // serde_yaml also puts the path, or the part of it it knows, in front of its message;
    // the key is shown already.
    let message = match message.split_once(": ") {
        Some((head, rest))
            if !head.is_empty()
                && !head.contains(' ')
                && (key.starts_with(head) || key.ends_with(head)) =>
        {
            rest.to_string()
        }
        _ => message,
    };
    ConfigProblem {
        file: path.to_path_buf(),
        line,
        key,
        message,
    }
}

/// A key written twice in one mapping of `text` (the contents of `path`), as a problem.
///
/// Deserialised into a map or a struct, YAML keeps the last of two equal keys without a
/// word: a second `"01": died` under a code map recoded every `01`, a second field of the
/// same name replaced the first. serde_yaml's own tree refuses them, naming the mapping
/// (its path and line) and the key; the key's lines are looked for below it.
pub fn duplicate_key(path: &Path, text: &str) -> Option<ConfigProblem> {
    let err = serde_yaml::from_str::<Value>(text).err()?;
    let message = err.to_string();
    let at = message.find("duplicate entry with key ")?;
    let parent = message[..at].trim_end_matches([' ', ':']).to_string();
    let rest = &message[at + "duplicate entry with key ".len()..];
    let key = rest
        .strip_prefix('"')
        .and_then(|r| r.split_once('"'))
        .map_or_else(
            || rest.split(' ').next().unwrap_or("").to_string(),
            |(k, _)| k.to_string(),
        );
    let mapping_line = err.location().map_or(1, |l| l.line());
    let lines = key_lines(text, &key, mapping_line);
    let line = lines
        .get(1)
        .or(lines.first())
        .copied()
        .or(Some(mapping_line));
    let seen = if lines.len() > 1 {
        format!(
            " (lines {} / lignes {})",
            join_lines(&lines),
            join_lines(&lines)
        )
    } else {
        String::new()
    };
    Some(ConfigProblem {
        file: path.to_path_buf(),
        line,
        key: if parent.is_empty() {
            key.clone()
        } else {
            format!("{parent}.{key}")
        },
        message: format!(
            "`{key}` is written twice in the same mapping{seen}: YAML would keep only the last, silently; keep one / `{key}` figure deux fois dans le même bloc{seen} : YAML ne garderait que la dernière, sans le dire ; n'en gardez qu'une"
        ),
    })
}

/// The lines where `key` starts an entry of the mapping that begins at line `from` (plain or
/// quoted keys): those at the indentation of the mapping's first entry, up to the first line
/// indented less (the mapping's end). A flow mapping (`{ a: 1, a: 2 }`) is its own line.
fn key_lines(text: &str, key: &str, from: usize) -> Vec<usize> {
    let forms = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    let indent = |line: &str| line.len() - line.trim_start_matches([' ', '-']).len();
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let Some(&(first_at, first)) = lines.first() else {
        return vec![];
    };
    if first.contains('{') && forms.iter().any(|f| first.contains(f.as_str())) {
        return vec![first_at + 1];
    }
    // A block mapping: its entries are indented as its first one; serde_yaml names the line
    // of that first entry (or of the key holding the mapping, whose children come next).
    let entry_indent = match lines.get(1) {
        Some((_, next)) if first.trim_end().ends_with(':') && indent(next) > indent(first) => {
            indent(next)
        }
        _ => indent(first),
    };
    let mut found = Vec::new();
    for &(at, line) in &lines {
        let here = indent(line);
        if here < entry_indent && at != first_at {
            break;
        }
        let entry = line.trim_start().trim_start_matches("- ");
        if here == entry_indent && forms.iter().any(|f| entry.starts_with(f.as_str())) {
            found.push(at + 1);
        }
    }
    found
}

fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deserialises `text` (the contents of `path`), collecting one problem per bad key.
pub(super) fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Parsed<T> {
    if let Some(problem) = duplicate_key(path, text) {
        return Parsed {
            value: None,
            problems: vec![problem],
            removed: vec![],
        };
    }
    let mut err = match serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text)) {
        Ok(value) => {
            return Parsed {
                value: Some(value),
                problems: vec![],
                removed: vec![],
            };
        }
        Err(e) => e,
    };
    let mut problems = Vec::new();
    // Not even YAML: the syntax error is the only problem.
    let Ok(mut tree) = serde_yaml::from_str::<Value>(text) else {
        problems.push(problem(path, text, err));
        return Parsed {
            value: None,
            problems,
            removed: vec![],
        };
    };
    let mut removed: Vec<Vec<Step>> = Vec::new();
    let mut removed_keys = Vec::new();
    while problems.len() < MAX_PROBLEMS && removed.len() < 2 * MAX_PROBLEMS {
        let key = err.path().to_string();
        let at = steps(err.path());
        // At or above a removed key: a consequence of the removal (the parent lacks a
        // required field), already reported; the parent goes too, silently.
        let consequence = at
            .as_ref()
            .is_some_and(|at| removed.iter().any(|r| r.starts_with(at)));
        if !consequence {
            problems.push(problem(path, text, err));
        }
        match at {
            Some(at) if !at.is_empty() && remove(&mut tree, &at) => {
                removed.push(at);
                removed_keys.push(key);
            }
            _ => break,
        }
        match serde_path_to_error::deserialize(tree.clone()) {
            Ok(value) => {
                return Parsed {
                    value: Some(value),
                    problems,
                    removed: removed_keys,
                };
            }
            Err(e) => err = e,
        }
    }
    Parsed {
        value: None,
        problems,
        removed: removed_keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: String,
        #[serde(default)]
        size: Option<u32>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        flag: bool,
    }

    #[test]
    fn a_key_written_twice_is_refused_with_its_lines() {
        let text = "name: x\ninner:\n  flag: true\n  flag: false\n";
        let parsed: Parsed<Doc> = parse(Path::new("d.yaml"), text);
        assert!(parsed.value.is_none());
        let p = &parsed.problems[0];
        assert_eq!((p.key.as_str(), p.line), ("inner.flag", Some(4)), "{p:?}");
        assert!(p.message.contains("lines 3, 4"), "{}", p.message);
        // Top level, and flow mappings with quoted keys.
        let parsed: Parsed<Doc> = parse(Path::new("d.yaml"), "name: x\nsize: 1\nname: y\n");
        assert_eq!(
            (parsed.problems[0].key.as_str(), parsed.problems[0].line),
            ("name", Some(3))
        );
        let text = "name: x\nmap: { \"01\": home, \"01\": died }\n";
        let problem = duplicate_key(Path::new("d.yaml"), text).expect("a duplicate");
        assert_eq!((problem.key.as_str(), problem.line), ("map.01", Some(2)));
        assert!(duplicate_key(Path::new("d.yaml"), "a: 1\nb: { a: 2 }\n").is_none());
        // Only the lines of the mapping at fault, not the same key's in other mappings.
        let text = "name:\n  fr: a\n  en: b\n  en: c\ndescription:\n  fr: d\n  en: e\n";
        let problem = duplicate_key(Path::new("d.yaml"), text).expect("a duplicate");
        assert_eq!((problem.key.as_str(), problem.line), ("name.en", Some(4)));
        assert!(
            problem.message.contains("(lines 3, 4 /"),
            "{}",
            problem.message
        );
        let text =
            "cases:\n  URG:\n    map:\n      A: x\n      A: y\n  HOSP:\n    map:\n      A: z\n";
        let problem = duplicate_key(Path::new("d.yaml"), text).expect("a duplicate");
        assert_eq!(problem.line, Some(5), "{problem:?}");
        assert!(
            problem.message.contains("(lines 4, 5 /"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn independent_problems_are_all_reported() {
        let text = "name: x\nsize: big\ninner:\n  flag: maybe\n";
        let parsed: Parsed<Doc> = parse(Path::new("d.yaml"), text);
        let keys: Vec<_> = parsed.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["size", "inner.flag"]);
        assert_eq!(parsed.problems[1].line, Some(4));
        // `inner` lost its required `flag`: not reported again, but dropped with it, so
        // the rest still deserialises for the semantic checks.
        let doc = parsed.value.as_ref().expect("the rest deserialises");
        assert_eq!((doc.name.as_str(), doc.size), ("x", None));
        assert!(doc.inner.is_none());
        assert!(parsed.covers("inner.flag") && parsed.covers("inner"));
        assert!(!parsed.covers("name") && !parsed.covers("inner_other"));
    }

    #[test]
    fn the_rest_deserialises_when_the_bad_keys_are_optional() {
        let parsed: Parsed<Doc> = parse(Path::new("d.yaml"), "name: x\nsize: -1\n");
        assert_eq!(parsed.problems.len(), 1);
        let doc = parsed.value.expect("the rest deserialises");
        assert_eq!((doc.name.as_str(), doc.size), ("x", None));
    }

    #[test]
    fn a_good_document_has_no_problem() {
        let parsed: Parsed<Doc> = parse(Path::new("d.yaml"), "name: x\ninner: { flag: true }\n");
        assert!(parsed.problems.is_empty());
        assert!(parsed.value.and_then(|d| d.inner).is_some_and(|i| i.flag));
    }

    #[test]
    fn a_missing_required_key_or_bad_syntax_is_one_problem() {
        let parsed: Parsed<Doc> = parse(Path::new("d.yaml"), "size: 3\n");
        assert_eq!(parsed.problems.len(), 1);
        assert!(parsed.problems[0].message.contains("name"));
        let parsed: Parsed<Doc> = parse(Path::new("d.yaml"), "name: [x\n");
        assert_eq!(parsed.problems.len(), 1);
    }
}
