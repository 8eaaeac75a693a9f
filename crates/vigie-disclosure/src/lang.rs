//! The languages vigie writes for people: French and English, parsed in one place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Language of a report or a label.
///
/// Written `fr` or `en` (any case) in the pipeline file and on the command line; nothing
/// else is accepted, so a report's file name and its language always agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// French.
    Fr,
    /// English.
    En,
}

impl Lang {
    /// Both languages, French first (the default order of reports).
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    /// The code: `fr` or `en` (used in report file names).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A language code that is neither `fr` nor `en`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language \"{0}\": use fr or en / langue inconnue : utilisez fr ou en")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;
    /// `fr` or `en`, in any case; surrounding spaces are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Ok(Lang::Fr),
            "en" => Ok(Lang::En),
            _ => Err(UnknownLang(s.to_string())),
        }
    }
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_fr_and_en_in_any_case() {
        assert_eq!("fr".parse(), Ok(Lang::Fr));
        assert_eq!(" EN ".parse(), Ok(Lang::En));
        assert_eq!("Fr".parse(), Ok(Lang::Fr));
        for bad in ["english", "anglais", "français", "fra", "eng", ""] {
            assert!(bad.parse::<Lang>().is_err(), "{bad}");
        }
        assert_eq!(Lang::En.to_string(), "en");
    }

    #[test]
    fn round_trips_through_serde() {
        let v: Vec<Lang> = serde_yaml::from_str("[fr, EN]").expect("yaml");
        assert_eq!(v, vec![Lang::Fr, Lang::En]);
        assert_eq!(serde_yaml::to_string(&Lang::Fr).expect("yaml").trim(), "fr");
        assert!(serde_yaml::from_str::<Lang>("english").is_err());
    }
}
