//! Declared identifier formats ([`IdScheme`]) and the detection of identifier-shaped values
//! in any text ([`IdentifierDetector`]).
//!
//! A person-key field declares the format its partner sends (`scheme: ontario_hcn`). Each
//! value is then reduced to the canonical form that is pseudonymised
//! ([`IdScheme::normalise_and_check`]), or refused with an [`IdProblem`] whose message never
//! contains the value, so that it can be logged and shown to people.
//!
//! The detector looks for the *shapes* of the declared schemes in every other text cell: a
//! card number must never be stored in clear in a free-text or id column, whether a stray
//! quote swallowed the next record or a partner sent a card number as a survey response id.
//! It is deliberately conservative: a shaped token counts even when its check digit fails,
//! because a mistyped card number is still personal data.

use std::fmt;
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// What [`IdentifierDetector::mask`] puts in place of an identifier-shaped token.
pub const MASK: &str = "[identifier masked]";

/// A declared identifier format.
///
/// In YAML, a built-in name (`ontario_hcn`, `quebec_ramq`, `france_nir`) or a custom map
/// `{ name: ..., pattern: ..., check: luhn | mod97 | none }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdScheme {
    /// Ontario health card number: 10 digits, the last a Luhn (mod 10) check digit over the
    /// first nine, optionally followed by a version code of one or two letters that
    /// identifies the card, not the person, and is dropped.
    ///
    /// Sources: Ontario Ministry of Health and Long-Term Care, Registration and Claims Branch,
    /// *Health Card Validation Reference Manual* (April 2005), for the 10-digit health number
    /// and the version code; the Ministry's "MOD 10" check digit is the Luhn algorithm of
    /// ISO/IEC 7812-1 (restated for Ontario cards by the OSCAR EMR community, "Modulus 10
    /// Number Check Function for Validating Health Card Numbers", worldoscar.org).
    OntarioHcn,
    /// Quebec health insurance number (numéro d'assurance maladie, RAMQ): 4 letters (the
    /// first three of the birth surname and the first of the given name) then 8 digits (year,
    /// month + 50 for women, and day of birth, then a 2-digit administrative code). There is
    /// no public check digit, so only the shape is checked.
    ///
    /// Source: Régie de l'assurance maladie du Québec, the *carte d'assurance maladie* and
    /// the description of the number it carries (ramq.gouv.qc.ca).
    QuebecRamq,
    /// French NIR (numéro d'inscription au répertoire, the social security number): 13
    /// characters (sex, year, month, département, commune, order number) and a 2-digit key
    /// equal to 97 − (the 13-digit number mod 97). For Corsica the département is `2A` or
    /// `2B` (positions 6–7), replaced by `19` and `18` before the key is computed.
    ///
    /// Sources: INSEE, *Répertoire national d'identification des personnes physiques*
    /// (décret n° 82-103 du 22 janvier 1982), and the key rule, Corsican substitution
    /// included, as described in Wikipedia (fr) « Numéro de sécurité sociale en France ».
    FranceNir,
    /// A format declared in the configuration.
    Custom(CustomScheme),
}

/// The check of a custom scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdCheck {
    /// Luhn mod 10 over all digits, the last one checking the others (ISO/IEC 7812-1).
    Luhn,
    /// The NIR's key: the last two digits equal 97 − (the number before them mod 97).
    Mod97,
    /// No check digit: the pattern alone.
    None,
}

impl fmt::Display for IdCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdCheck::Luhn => "Luhn check digit",
            IdCheck::Mod97 => "mod-97 key",
            IdCheck::None => "check",
        })
    }
}

/// What a length counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    /// Digits only (separators and the version code not counted).
    Digits,
    /// Letters and digits (separators not counted).
    Characters,
}

impl fmt::Display for LengthUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LengthUnit::Digits => "digits",
            LengthUnit::Characters => "characters",
        })
    }
}

/// Why a value is not an identifier of its declared scheme.
///
/// The messages name the scheme and what is wrong, never the value: they are logged and
/// stored in the quarantine's reasons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdProblem {
    /// Nothing but spaces or dashes.
    #[error("{scheme}: the value is empty")]
    Empty {
        /// The scheme's label.
        scheme: String,
    },
    /// Too short or too long.
    #[error("{scheme}: expected {expected} {unit}, the value has {actual}")]
    WrongLength {
        /// The scheme's label.
        scheme: String,
        /// What is counted.
        unit: LengthUnit,
        /// The scheme's length.
        expected: usize,
        /// The value's length.
        actual: usize,
    },
    /// Characters the scheme cannot have (or letters where digits belong).
    #[error("{scheme}: expected {expected}; the value has other characters")]
    WrongCharacters {
        /// The scheme's label.
        scheme: String,
        /// What the scheme is made of.
        expected: &'static str,
    },
    /// The right characters in the wrong places, or a custom pattern not matched.
    #[error("{scheme}: the value does not have the expected form ({expected})")]
    Pattern {
        /// The scheme's label.
        scheme: String,
        /// The expected form (for a custom scheme, its pattern).
        expected: String,
    },
    /// The check digit or key does not match: a mistyped or invented number.
    #[error("{scheme}: the {check} does not match (a mistyped or invented number)")]
    CheckFails {
        /// The scheme's label.
        scheme: String,
        /// Which check failed.
        check: IdCheck,
    },
}

/// Why a custom scheme is refused (reported as a configuration problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    /// The name is empty.
    #[error("a custom identifier scheme needs a `name`")]
    EmptyName,
    /// The pattern is not a regular expression.
    #[error("invalid regular expression: {0}")]
    InvalidPattern(String),
    /// The pattern accepts the empty string.
    #[error("the pattern matches an empty value: an identifier has at least one character")]
    MatchesEmpty,
    /// The pattern accepts plain words, so detection would mask ordinary text.
    #[error(
        "the pattern matches plain words (it matches inside \"{MASK}\"): describe the identifier's digits and fixed shape"
    )]
    MatchesWords,
}

/// A format declared in the configuration: a regular expression of the normalised value
/// (separators removed, upper case; vigie anchors it) and a check.
#[derive(Debug, Clone)]
pub struct CustomScheme {
    name: String,
    pattern: String,
    check: IdCheck,
    /// `^(?:pattern)$`, case-insensitive: validates a normalised value.
    anchored: Regex,
    /// The pattern between token delimiters: finds the shape in text.
    shape: Regex,
}

impl PartialEq for CustomScheme {
    fn eq(&self, other: &Self) -> bool {
        // The compiled regexes follow from the pattern.
        self.name == other.name && self.pattern == other.pattern && self.check == other.check
    }
}

impl Eq for CustomScheme {}

impl CustomScheme {
    /// Compiles a custom scheme. `pattern` describes the normalised value: no spaces or
    /// dashes, letters compared without regard to case (the canonical form is upper case).
    /// A leading `^` and a trailing `$` are accepted and redundant.
    pub fn new(
        name: impl Into<String>,
        pattern: &str,
        check: IdCheck,
    ) -> Result<Self, SchemeError> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(SchemeError::EmptyName);
        }
        let compiled = CompiledPattern::new(pattern)?;
        Ok(Self::from_compiled(name, compiled, check))
    }

    fn from_compiled(name: String, compiled: CompiledPattern, check: IdCheck) -> Self {
        CustomScheme {
            name,
            pattern: compiled.source,
            check,
            anchored: compiled.anchored,
            shape: compiled.shape,
        }
    }

    /// The scheme's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The check.
    pub fn check(&self) -> IdCheck {
        self.check
    }
}

/// A custom pattern, validated and compiled once when the configuration is read.
struct CompiledPattern {
    source: String,
    anchored: Regex,
    shape: Regex,
}

impl CompiledPattern {
    fn new(pattern: &str) -> Result<Self, SchemeError> {
        let body = strip_anchors(pattern);
        // Compile the pattern alone first, so that a syntax error points into the user's
        // text rather than into vigie's wrapping.
        Regex::new(body).map_err(regex_problem)?;
        let anchored = RegexBuilder::new(&format!("^(?:{body})$"))
            .case_insensitive(true)
            .build()
            .map_err(regex_problem)?;
        if anchored.is_match("") {
            return Err(SchemeError::MatchesEmpty);
        }
        let shape = token_regex(&format!("(?i:{body})")).map_err(regex_problem)?;
        // A pattern that finds a token in the mask would make masking endless and would mask
        // ordinary words: it is too broad to be an identifier.
        if shape.is_match(MASK) {
            return Err(SchemeError::MatchesWords);
        }
        Ok(CompiledPattern {
            source: pattern.to_string(),
            anchored,
            shape,
        })
    }
}

/// The regex crate's syntax errors span several lines (the pattern, a caret, the error);
/// a configuration problem is one line, so only the error itself is kept.
fn regex_problem(e: regex::Error) -> SchemeError {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or("").trim();
    let last = last.strip_prefix("error: ").unwrap_or(last);
    SchemeError::InvalidPattern(last.to_string())
}

/// Drops one leading `^`/`\A` and one trailing unescaped `$`/`\z`: vigie anchors the pattern
/// itself, and the detector needs it unanchored.
fn strip_anchors(pattern: &str) -> &str {
    let p = pattern
        .strip_prefix('^')
        .or_else(|| pattern.strip_prefix(r"\A"))
        .unwrap_or(pattern);
    if let Some(rest) = p.strip_suffix(r"\z") {
        return rest;
    }
    if let Some(rest) = p.strip_suffix('$') {
        // `\$` is a literal dollar, `\\$` an escaped backslash then the anchor.
        let backslashes = rest.bytes().rev().take_while(|&b| b == b'\\').count();
        if backslashes % 2 == 0 {
            return rest;
        }
    }
    p
}

impl IdScheme {
    /// The name used in configuration (`ontario_hcn`, ... or the custom name).
    pub fn name(&self) -> &str {
        match self {
            IdScheme::OntarioHcn => "ontario_hcn",
            IdScheme::QuebecRamq => "quebec_ramq",
            IdScheme::FranceNir => "france_nir",
            IdScheme::Custom(c) => &c.name,
        }
    }

    /// A label for people, used in [`IdProblem`] messages.
    pub fn label(&self) -> &str {
        match self {
            IdScheme::OntarioHcn => "Ontario health card number",
            IdScheme::QuebecRamq => "RAMQ health insurance number",
            IdScheme::FranceNir => "NIR (French social security number)",
            IdScheme::Custom(c) => &c.name,
        }
    }

    /// The canonical form of a raw value, the one that is pseudonymised, or why the value is
    /// not an identifier of this scheme.
    ///
    /// - Ontario: the 10 digits (separators and version code dropped), e.g. `1234567897`.
    /// - RAMQ: 4 upper-case letters and 8 digits, e.g. `ABCD12345678`.
    /// - NIR: the 15 characters (`2A`/`2B` upper case), e.g. `262087503203977`.
    /// - Custom: the value without separators, in upper case.
    ///
    /// Spaces and dashes are tolerated anywhere: they are formatting, never identity.
    pub fn normalise_and_check(&self, raw: &str) -> Result<String, IdProblem> {
        match self {
            IdScheme::OntarioHcn => self.ontario(raw),
            IdScheme::QuebecRamq => self.ramq(raw),
            IdScheme::FranceNir => self.nir(raw),
            IdScheme::Custom(c) => self.custom(c, raw),
        }
    }

    fn label_owned(&self) -> String {
        self.label().to_string()
    }

    fn ontario(&self, raw: &str) -> Result<String, IdProblem> {
        const MADE_OF: &str = "10 digits, optionally followed by a version code of 1 or 2 letters";
        let wrong = || IdProblem::WrongCharacters {
            scheme: self.label_owned(),
            expected: MADE_OF,
        };
        let mut digits = String::with_capacity(10);
        let mut count = 0usize;
        let mut letters = 0usize;
        for c in raw.chars() {
            if is_separator(c) {
                continue;
            }
            if c.is_ascii_digit() {
                // Letters are only the trailing version code: a digit after one means
                // letters inside the number.
                if letters > 0 {
                    return Err(wrong());
                }
                count += 1;
                if count <= 10 {
                    digits.push(c);
                }
            } else if c.is_ascii_alphabetic() {
                letters += 1;
                if letters > 2 {
                    return Err(wrong());
                }
            } else {
                return Err(wrong());
            }
        }
        if count == 0 && letters == 0 {
            return Err(IdProblem::Empty {
                scheme: self.label_owned(),
            });
        }
        // Checked before Luhn: a 9-digit SIN or an 11-digit number can pass Luhn by chance.
        if count != 10 {
            return Err(IdProblem::WrongLength {
                scheme: self.label_owned(),
                unit: LengthUnit::Digits,
                expected: 10,
                actual: count,
            });
        }
        if !luhn_valid(&digits) {
            return Err(IdProblem::CheckFails {
                scheme: self.label_owned(),
                check: IdCheck::Luhn,
            });
        }
        Ok(digits)
    }

    fn ramq(&self, raw: &str) -> Result<String, IdProblem> {
        let value = self.compact_alphanumeric(raw, "4 letters and 8 digits", 12)?;
        let b = value.as_bytes();
        if !(b[..4].iter().all(u8::is_ascii_alphabetic) && b[4..].iter().all(u8::is_ascii_digit)) {
            return Err(IdProblem::Pattern {
                scheme: self.label_owned(),
                expected: "4 letters then 8 digits".into(),
            });
        }
        Ok(value)
    }

    fn nir(&self, raw: &str) -> Result<String, IdProblem> {
        let value =
            self.compact_alphanumeric(raw, "digits (2A or 2B for Corsica at positions 6-7)", 15)?;
        let Some(body) = nir_digits(&value) else {
            return Err(IdProblem::Pattern {
                scheme: self.label_owned(),
                expected: "13 digits (2A or 2B for Corsica at positions 6-7), then a 2-digit key"
                    .into(),
            });
        };
        let key = u32::from(body[13]) * 10 + u32::from(body[14]);
        if mod97_key(&body[..13]) != key {
            return Err(IdProblem::CheckFails {
                scheme: self.label_owned(),
                check: IdCheck::Mod97,
            });
        }
        Ok(value)
    }

    fn custom(&self, c: &CustomScheme, raw: &str) -> Result<String, IdProblem> {
        let value: String = raw
            .chars()
            .filter(|&ch| !is_separator(ch))
            .flat_map(char::to_uppercase)
            .collect();
        if value.is_empty() {
            return Err(IdProblem::Empty {
                scheme: self.label_owned(),
            });
        }
        if !c.anchored.is_match(&value) {
            return Err(IdProblem::Pattern {
                scheme: self.label_owned(),
                expected: format!("the pattern {}", c.pattern),
            });
        }
        let passes = match c.check {
            IdCheck::None => true,
            IdCheck::Luhn => luhn_valid(&value),
            IdCheck::Mod97 => {
                let b = value.as_bytes();
                b.len() >= 3 && b.iter().all(u8::is_ascii_digit) && {
                    let (number, key) = b.split_at(b.len() - 2);
                    let number: Vec<u8> = number.iter().map(|d| d - b'0').collect();
                    let key = u32::from(key[0] - b'0') * 10 + u32::from(key[1] - b'0');
                    mod97_key(&number) == key
                }
            }
        };
        if !passes {
            return Err(IdProblem::CheckFails {
                scheme: self.label_owned(),
                check: c.check,
            });
        }
        Ok(value)
    }

    /// Separators dropped, ASCII letters and digits only, upper case, of exactly `len`
    /// characters.
    fn compact_alphanumeric(
        &self,
        raw: &str,
        made_of: &'static str,
        len: usize,
    ) -> Result<String, IdProblem> {
        let mut value = String::with_capacity(len);
        let mut count = 0usize;
        for c in raw.chars() {
            if is_separator(c) {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(IdProblem::WrongCharacters {
                    scheme: self.label_owned(),
                    expected: made_of,
                });
            }
            count += 1;
            // Counting on without copying: an over-long cell is reported, not buffered.
            if count <= len {
                value.push(c.to_ascii_uppercase());
            }
        }
        if count == 0 {
            return Err(IdProblem::Empty {
                scheme: self.label_owned(),
            });
        }
        if count != len {
            return Err(IdProblem::WrongLength {
                scheme: self.label_owned(),
                unit: LengthUnit::Characters,
                expected: len,
                actual: count,
            });
        }
        Ok(value)
    }

    /// The regex that finds this scheme's shape in text, and the fewest ASCII digits a
    /// token of that shape has (the detector's pre-filter).
    fn shape(&self) -> (Regex, usize) {
        match self {
            IdScheme::OntarioHcn => (ONTARIO_SHAPE.clone(), 10),
            IdScheme::QuebecRamq => (RAMQ_SHAPE.clone(), 8),
            // A Corsican NIR without its key: 11 digits, `2A`, nothing after.
            IdScheme::FranceNir => (NIR_SHAPE.clone(), 12),
            // An arbitrary pattern's digit count is unknown: no pre-filter.
            IdScheme::Custom(c) => (c.shape.clone(), 0),
        }
    }
}

impl fmt::Display for IdScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Spaces (any Unicode white space) and dashes (ASCII hyphen-minus, the Unicode hyphens and
/// dashes U+2010 to U+2015, the minus sign): how people and systems group digits.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Whether a string of ASCII digits (at least two) passes the Luhn mod 10 check, the last
/// digit checking the others (ISO/IEC 7812-1, annex B). Anything else fails.
pub fn luhn_valid(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() < 2 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d - b'0');
            // Every second digit from the right, the check digit excluded, is doubled and
            // its digits summed (2 × 7 = 14 counts 1 + 4 = 5, i.e. 14 − 9).
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The NIR key of a number given as digit values: 97 − (n mod 97), from 1 to 97. Computed
/// digit by digit so that no length overflows.
fn mod97_key(digits: &[u8]) -> u32 {
    let rest = digits
        .iter()
        .fold(0u32, |r, &d| (r * 10 + u32::from(d)) % 97);
    97 - rest
}

/// The 15 digit values of a normalised NIR, Corsica's `2A`/`2B` (positions 6–7) replaced by
/// `19`/`18` as the key computation requires; None when the form is wrong.
fn nir_digits(value: &str) -> Option<[u8; 15]> {
    let b = value.as_bytes();
    if b.len() != 15 {
        return None;
    }
    let mut out = [0u8; 15];
    for (i, &c) in b.iter().enumerate() {
        out[i] = match (i, c) {
            (_, b'0'..=b'9') => c - b'0',
            (6, b'A') if b[5] == b'2' => 9,
            (6, b'B') if b[5] == b'2' => 8,
            _ => return None,
        };
    }
    match b[6] {
        // 2A → 19, 2B → 18: the `2` at position 6 becomes a `1`.
        b'A' | b'B' => out[5] = 1,
        _ => {}
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------

/// A token starts at the start of the text or after a character that is not an ASCII letter
/// or digit. ASCII only on purpose: an accented letter glued to a number ("né1234567897")
/// must not hide it.
const TOKEN_START: &str = r"(?:^|[^0-9A-Za-z])";
/// A token ends at the end of the text or before a character that is not an ASCII letter or
/// digit.
const TOKEN_END: &str = r"(?:$|[^0-9A-Za-z])";
/// One optional separator between digit groups: a space of any kind, a tab, or a dash.
const SEP: &str = r"[\p{Zs}\t\-\x{2010}-\x{2015}\x{2212}]?";

/// The shape between token delimiters; group 1 is the token itself (the delimiters are
/// consumed by the match but not masked).
fn token_regex(body: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("{TOKEN_START}({body}){TOKEN_END}"))
}

/// Ontario: 4-3-3 digits as printed on the card, an attached version code included. Only
/// the card's own grouping is tolerated: separators between any digits would flag every
/// "2024-01-15 10:30" (10 digits) in free text. A detached version code is left in the text:
/// alone it identifies no one, and it could be an ordinary word ("1234567897 is").
static ONTARIO_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    shape_regex(&format!(
        "[0-9]{{4}}{SEP}[0-9]{{3}}{SEP}[0-9]{{3}}[A-Za-z]{{0,2}}"
    ))
});

/// RAMQ: 4 letters and 8 digits, grouped 4-4-4 as printed on the card.
static RAMQ_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| shape_regex(&format!("[A-Za-z]{{4}}{SEP}[0-9]{{4}}{SEP}[0-9]{{4}}")));

/// NIR: grouped 1-2-2-2-3-3-2 as printed on the carte Vitale; the key is optional because
/// the 13 characters without it still identify a person.
static NIR_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    shape_regex(&format!(
        "[0-9]{SEP}[0-9]{{2}}{SEP}[0-9]{{2}}{SEP}(?:[0-9]{{2}}|2[ABab]){SEP}[0-9]{{3}}{SEP}[0-9]{{3}}(?:{SEP}[0-9]{{2}})?"
    ))
});

fn shape_regex(body: &str) -> Regex {
    // The built-in patterns are constants (no input reaches them) and are compiled by the
    // tests: a failure here is a bug in this file, not a data problem.
    token_regex(body).expect("built-in identifier shapes are valid regular expressions")
}

/// Finds identifier-shaped tokens of some schemes in text, to keep them out of free-text and
/// id columns.
///
/// A token is a run delimited by characters other than ASCII letters and digits (or the
/// ends of the text): `HCN:1234567897.` holds one, a 14-digit run holds none. The shape is
/// enough; check digits are not verified, because a mistyped card number is still personal
/// data. Built-in schemes tolerate one space or dash between the groups printed on the card
/// (Ontario `1234 567 897`, RAMQ `ABCD 1234 5678`, NIR `2 62 08 75 032 039 77`); a custom
/// scheme's pattern is matched as written, without separators.
///
/// Built for every text cell of millions of rows: the regexes are compiled once (the
/// built-in ones once per process), and a cell with fewer ASCII digits than any declared
/// shape needs is dismissed without running a regex.
#[derive(Debug, Clone)]
pub struct IdentifierDetector {
    shapes: Vec<Shape>,
}

#[derive(Debug, Clone)]
struct Shape {
    regex: Regex,
    min_digits: usize,
    /// Whether the identifier is written in digits alone (Ontario, NIR): a longer run of
    /// digits may then hide one (a card number padded with a leading zero).
    digits_only: bool,
}

impl IdentifierDetector {
    /// A detector for these schemes (duplicates are looked for once).
    pub fn new(schemes: &[IdScheme]) -> Self {
        let mut seen: Vec<&IdScheme> = Vec::new();
        let mut shapes = Vec::new();
        for s in schemes {
            if seen.contains(&s) {
                continue;
            }
            seen.push(s);
            let (regex, min_digits) = s.shape();
            let digits_only = matches!(s, IdScheme::OntarioHcn | IdScheme::FranceNir);
            shapes.push(Shape {
                regex,
                min_digits,
                digits_only,
            });
        }
        IdentifierDetector { shapes }
    }

    /// Whether the detector looks for nothing (no scheme declared).
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// Whether the text holds a token shaped like an identifier of one of the schemes.
    pub fn contains_identifier(&self, text: &str) -> bool {
        if self.shapes.is_empty() {
            return false;
        }
        let digits = ascii_digits(text);
        self.shapes
            .iter()
            .any(|s| digits >= s.min_digits && s.regex.is_match(text))
    }

    /// The text with every identifier-shaped token replaced by [`MASK`]; the rest of the
    /// text, delimiters included, is unchanged.
    pub fn mask(&self, text: &str) -> String {
        // Masking only removes digits, so the count taken here bounds every later pass.
        let digits = ascii_digits(text);
        let mut out: Option<String> = None;
        for s in &self.shapes {
            if digits < s.min_digits {
                continue;
            }
            let current = out.as_deref().unwrap_or(text);
            if let Some(masked) = mask_with(&s.regex, current) {
                out = Some(masked);
            }
        }
        out.unwrap_or_else(|| text.to_string())
    }
}

impl IdentifierDetector {
    /// [`IdentifierDetector::mask`], then every run of ASCII digits as long as a digits-only
    /// identifier of the schemes (10 for Ontario) masked too, even inside a longer run: for
    /// values kept to explain a rejection (the quarantine), where a card number padded with
    /// a leading zero (`01234567897`) must not show, and a long number lost from a message
    /// costs nothing. Text that decides whether a cell is refused keeps the token rule.
    pub fn mask_embedded(&self, text: &str) -> String {
        let masked = self.mask(text);
        let Some(run) = self
            .shapes
            .iter()
            .filter(|s| s.digits_only && s.min_digits > 0)
            .map(|s| s.min_digits)
            .min()
        else {
            return masked;
        };
        if ascii_digits(&masked) < run {
            return masked;
        }
        let mut out = String::with_capacity(masked.len());
        let mut digits = String::new();
        let flush = |digits: &mut String, out: &mut String| {
            if digits.len() >= run {
                out.push_str(MASK);
            } else {
                out.push_str(digits);
            }
            digits.clear();
        };
        for c in masked.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                flush(&mut digits, &mut out);
                out.push(c);
            }
        }
        flush(&mut digits, &mut out);
        out
    }
}

fn ascii_digits(text: &str) -> usize {
    text.bytes().filter(u8::is_ascii_digit).count()
}

/// Replaces group 1 of every match; None when nothing matched.
fn mask_with(regex: &Regex, text: &str) -> Option<String> {
    let mut locations = regex.capture_locations();
    let mut out = String::new();
    let mut copied = 0usize;
    let mut pos = 0usize;
    let mut matched = false;
    while pos <= text.len() && regex.captures_read_at(&mut locations, text, pos).is_some() {
        let Some((start, end)) = locations.get(1) else {
            break;
        };
        if start == end {
            // Custom patterns that match nothing are refused when the configuration is read;
            // step over one character anyway so that no pattern can loop forever.
            match text[start..].chars().next() {
                Some(c) => pos = start + c.len_utf8(),
                None => break,
            }
            continue;
        }
        matched = true;
        out.push_str(&text[copied..start]);
        out.push_str(MASK);
        copied = end;
        // The delimiter after the token may start the next one (`1234567897 9876543217`).
        pos = end;
    }
    if !matched {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

// ---------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------

impl<'de> Deserialize<'de> for IdScheme {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SchemeVisitor)
    }
}

struct SchemeVisitor;

const SCHEME_FORMS: &str = "ontario_hcn, quebec_ramq, france_nir or a custom { name, pattern, check: luhn | mod97 | none }";

impl<'de> Visitor<'de> for SchemeVisitor {
    type Value = IdScheme;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an identifier scheme: {SCHEME_FORMS}")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<IdScheme, E> {
        match v {
            "ontario_hcn" => Ok(IdScheme::OntarioHcn),
            "quebec_ramq" => Ok(IdScheme::QuebecRamq),
            "france_nir" => Ok(IdScheme::FranceNir),
            other => Err(E::custom(format!(
                "unknown identifier scheme \"{other}\": use {SCHEME_FORMS}"
            ))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IdScheme, A::Error> {
        let raw = RawCustom::deserialize(de::value::MapAccessDeserializer::new(map))?;
        if raw.name.trim().is_empty() {
            return Err(de::Error::custom(SchemeError::EmptyName));
        }
        Ok(IdScheme::Custom(CustomScheme::from_compiled(
            raw.name,
            raw.pattern,
            raw.check,
        )))
    }
}

/// The custom map as written; the pattern compiles while it is read, so that a bad one is
/// reported at its own key (`....scheme.pattern`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustom {
    name: String,
    pattern: CompiledPattern,
    check: IdCheck,
}

impl<'de> Deserialize<'de> for CompiledPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CompiledPattern::new(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
