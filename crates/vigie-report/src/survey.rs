//! What a report says about survey items: their wording and top box in the reader's
//! language, from the pipeline's survey instruments (results carry only the item's code).

use std::collections::BTreeMap;
use std::sync::Arc;

use vigie_disclosure::Lang;
use vigie_model::config::{Instrument, Text};

/// One item as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ItemText {
    /// Order of the item in its instrument (instruments one after the other).
    order: usize,
    wording: Text,
    top_box: Text,
}

/// The survey items of the pipeline's instruments, by code.
#[derive(Debug, Clone, Default)]
pub struct SurveyItems {
    items: BTreeMap<String, ItemText>,
}

impl SurveyItems {
    /// The items of `instruments`.
    pub fn new(instruments: &[Arc<Instrument>]) -> SurveyItems {
        let mut items = BTreeMap::new();
        for instrument in instruments {
            for item in instrument.items() {
                let order = items.len();
                items.entry(item.code().to_string()).or_insert(ItemText {
                    order,
                    wording: item.wording().clone(),
                    top_box: instrument.top_box_label(item),
                });
            }
        }
        SurveyItems { items }
    }

    /// The question as respondents read it, in `lang`.
    pub fn wording(&self, code: &str, lang: Lang) -> Option<&str> {
        self.items.get(code).map(|i| i.wording.get(lang))
    }

    /// The item's top box, in `lang` ("Toujours", "Excellent", "9–10").
    pub fn top_box(&self, code: &str, lang: Lang) -> Option<&str> {
        self.items.get(code).map(|i| i.top_box.get(lang))
    }

    /// A sort key: instrument order, then unknown codes by code.
    pub fn order(&self, code: &str) -> (usize, String) {
        (
            self.items.get(code).map_or(usize::MAX, |i| i.order),
            code.to_string(),
        )
    }
}

/// `text` cut to `max` characters at a word boundary, with an ellipsis when cut (chart
/// labels have a fixed width; the table shows the whole wording).
pub fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([' ', ',', ';', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experience() -> Arc<Instrument> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../pipelines/instruments/experience.yaml");
        Arc::new(vigie_model::config::load_instrument(&path).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn items_have_their_wording_and_top_box_in_both_languages() {
        let items = SurveyItems::new(&[experience()]);
        assert_eq!(
            items.wording("Q7", Lang::En),
            Some("Overall, how would you rate the care you received from the team?")
        );
        assert_eq!(
            items.wording("Q7", Lang::Fr),
            Some("Dans l'ensemble, comment évaluez-vous les soins reçus de l'équipe ?")
        );
        assert_eq!(items.top_box("Q1", Lang::Fr), Some("Toujours"));
        assert_eq!(items.top_box("Q1", Lang::En), Some("Always"));
        assert_eq!(items.top_box("Q7", Lang::En), Some("Excellent"));
        assert_eq!(items.top_box("Q8", Lang::Fr), Some("9–10"));
        assert_eq!(items.wording("Q9", Lang::En), None);
        assert!(items.order("Q2") < items.order("Q10"));
        assert!(items.order("Q8") < items.order("A0"));
    }

    #[test]
    fn labels_are_cut_at_a_word() {
        assert_eq!(shortened("Short question?", 20), "Short question?");
        assert_eq!(
            shortened("Did the team explain things in a way that was easy?", 24),
            "Did the team explain…"
        );
    }
}
