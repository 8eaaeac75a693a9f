//! Finds the line of a dotted key path in block-style YAML, so that problems found after
//! deserialisation (semantic checks) still point at a line of the user's file.

/// Returns the 1-based line where the last segment of `path` is defined, following the
/// nesting of keys by indentation. Sequence indices (`columns[3]`) are matched on `- ` items.
/// Returns the deepest segment found when the full path is absent.
pub fn locate(text: &str, path: &str) -> Option<usize> {
    let segments: Vec<Segment> = path
        .split('.')
        .filter(|s| !s.is_empty())
        .flat_map(parse_segment)
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    let mut start = 0usize;
    let mut end = lines.len();
    let mut parent_indent: isize = -1;
    for seg in segments {
        let mut hit = None;
        let mut item_count = 0usize;
        let mut child_indent: Option<usize> = None;
        for (i, raw) in lines.iter().enumerate().take(end).skip(start) {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            if (indent as isize) <= parent_indent {
                break;
            }
            let level = *child_indent.get_or_insert(indent);
            if indent != level {
                continue;
            }
            match &seg {
                Segment::Key(k) => {
                    let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
                    let key = body
                        .split(':')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .trim_matches(|c| c == '"' || c == '\'');
                    if key == k && body.contains(':') {
                        hit = Some((i, indent));
                        break;
                    }
                }
                Segment::Index(n) => {
                    if trimmed.starts_with("- ") || trimmed == "-" {
                        if item_count == *n {
                            hit = Some((i, indent));
                            break;
                        }
                        item_count += 1;
                    }
                }
            }
        }
        match hit {
            Some((i, indent)) => {
                found = Some(i + 1);
                start = i + 1;
                parent_indent = indent as isize;
                // A flow mapping on the same line ends the search here.
                end = lines.len();
            }
            None => return found,
        }
    }
    found
}

enum Segment {
    Key(String),
    Index(usize),
}

fn parse_segment(s: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = s;
    if let Some(pos) = rest.find('[') {
        if pos > 0 {
            out.push(Segment::Key(rest[..pos].to_string()));
        }
        rest = &rest[pos..];
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(close) = stripped.find(']') else {
                break;
            };
            if let Ok(n) = stripped[..close].parse() {
                out.push(Segment::Index(n));
            }
            rest = &stripped[close + 1..];
        }
    } else {
        out.push(Segment::Key(rest.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::locate;

    const DOC: &str = "source: a\nfields:\n  person_key:\n    from: HCN\n  triage:\n    from: T\n    range: [1, 5]\nsources:\n  - one.yaml\n  - two.yaml\n";

    #[test]
    fn finds_nested_keys_and_items() {
        assert_eq!(locate(DOC, "source"), Some(1));
        assert_eq!(locate(DOC, "fields.triage.range"), Some(7));
        assert_eq!(locate(DOC, "fields.person_key.from"), Some(4));
        assert_eq!(locate(DOC, "sources[1]"), Some(10));
    }

    #[test]
    fn falls_back_to_deepest_known_key() {
        assert_eq!(locate(DOC, "fields.triage.missing"), Some(5));
        assert_eq!(locate(DOC, "nothing"), None);
    }
}
