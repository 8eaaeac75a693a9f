//! Numbers, dates and periods as a French or English reader writes them.
//!
//! French (Canada): decimal comma, thousands separated by a narrow no-break space (U+202F),
//! a narrow no-break space before `%` ("12,5 %"), dates "3 oct. 2025", "3e trimestre 2025".
//! English (Canada): "12.5%", "1,234", "Oct 3, 2025", "Q3 2025". Negative numbers take the
//! true minus sign (U+2212), which screen readers announce as "minus".

use chrono::{Datelike, NaiveDate};
use vigie_disclosure::Lang;
use vigie_indicators::{PeriodType, Unit};

/// Narrow no-break space: French thousands separator and space before `%`.
pub const NNBSP: char = '\u{202F}';
/// The minus sign.
pub const MINUS: char = '\u{2212}';
/// What a suppressed or missing cell shows.
pub const DASH: &str = "—";

/// A number with `decimals` decimals, grouped by thousands.
pub fn number(v: f64, decimals: usize, lang: Lang) -> String {
    if !v.is_finite() {
        return DASH.to_string();
    }
    let text = format!("{:.*}", decimals, v.abs());
    // "-0.0" is printed as "0.0".
    let negative = v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let (group, point) = match lang {
        Lang::Fr => (NNBSP, ','),
        Lang::En => (',', '.'),
    };
    let mut grouped = String::new();
    let digits: Vec<char> = int.chars().collect();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(group);
        }
        grouped.push(*c);
    }
    let mut out = String::new();
    if negative {
        out.push(MINUS);
    }
    out.push_str(&grouped);
    if let Some(f) = frac {
        out.push(point);
        out.push_str(f);
    }
    out
}

/// A whole count: "1 234" / "1,234".
pub fn count(n: u64, lang: Lang) -> String {
    #[allow(clippy::cast_precision_loss)]
    number(n as f64, 0, lang)
}

/// A percentage: "12,5 %" / "12.5%".
pub fn percent(v: f64, decimals: usize, lang: Lang) -> String {
    let n = number(v, decimals, lang);
    match lang {
        Lang::Fr => format!("{n}{NNBSP}%"),
        Lang::En => format!("{n}%"),
    }
}

/// A signed percentage change: "+3,1 %", "−24,5 %".
pub fn percent_change(v: f64, lang: Lang) -> String {
    let p = percent(v, 1, lang);
    if v > 0.0 && p.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{p}")
    } else {
        p
    }
}

/// Decimals shown for a unit.
pub fn decimals(unit: Unit) -> usize {
    match unit {
        Unit::Percent | Unit::RatePer1000 | Unit::RatePer100000 | Unit::Days => 1,
        Unit::Ratio | Unit::RatePerPersonMonth => 2,
        Unit::Count => 0,
    }
}

/// A value in its unit, compact (tables): "57,1 %", "31,4", "4,0 j" / "57.1%", "31.4", "4.0 d".
pub fn value(v: f64, unit: Unit, lang: Lang) -> String {
    match unit {
        Unit::Percent => percent(v, 1, lang),
        Unit::Days => match lang {
            Lang::Fr => format!("{}{NNBSP}j", number(v, 1, lang)),
            Lang::En => format!("{}{NNBSP}d", number(v, 1, lang)),
        },
        _ => number(v, decimals(unit), lang),
    }
}

/// A bare number in the unit's precision (axis ticks, intervals).
pub fn bare(v: f64, unit: Unit, lang: Lang) -> String {
    number(v, decimals(unit), lang)
}

/// A 95% interval: "41,7 à 52,1" / "41.7 to 52.1".
pub fn interval(lo: f64, hi: f64, unit: Unit, lang: Lang) -> String {
    let (a, b) = (bare(lo, unit, lang), bare(hi, unit, lang));
    match lang {
        Lang::Fr => format!("{a} à {b}"),
        Lang::En => format!("{a} to {b}"),
    }
}

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_FR_ABBR: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_EN_ABBR: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month_index(d: NaiveDate) -> usize {
    d.month0() as usize
}

/// A date: "3 oct. 2025" / "Oct 3, 2025" (1er for the first day of the month in French).
pub fn date(d: NaiveDate, lang: Lang) -> String {
    let m = month_index(d);
    match lang {
        Lang::Fr => {
            let day = if d.day() == 1 {
                "1er".to_string()
            } else {
                d.day().to_string()
            };
            format!("{day} {} {}", MONTHS_FR_ABBR[m], d.year())
        }
        Lang::En => format!("{} {}, {}", MONTHS_EN_ABBR[m], d.day(), d.year()),
    }
}

/// A month in full: "juillet 2025" / "July 2025".
pub fn month(d: NaiveDate, lang: Lang) -> String {
    let m = month_index(d);
    match lang {
        Lang::Fr => format!("{} {}", MONTHS_FR[m], d.year()),
        Lang::En => format!("{} {}", MONTHS_EN[m], d.year()),
    }
}

/// A month for a chart axis: "juil. 2025" / "Jul 2025".
pub fn month_short(d: NaiveDate, lang: Lang) -> String {
    let m = month_index(d);
    match lang {
        Lang::Fr => format!("{} {}", MONTHS_FR_ABBR[m], d.year()),
        Lang::En => format!("{} {}", MONTHS_EN_ABBR[m], d.year()),
    }
}

/// Quarter number (1-4) of a date.
pub fn quarter_of(d: NaiveDate) -> u32 {
    d.month0() / 3 + 1
}

/// A quarter in full: "3e trimestre 2025" / "Q3 2025".
pub fn quarter(d: NaiveDate, lang: Lang) -> String {
    let q = quarter_of(d);
    match lang {
        Lang::Fr => {
            let ord = if q == 1 {
                "1er".to_string()
            } else {
                format!("{q}e")
            };
            format!("{ord} trimestre {}", d.year())
        }
        Lang::En => format!("Q{q} {}", d.year()),
    }
}

/// A quarter for a chart axis: "T3 2025" / "Q3 2025".
pub fn quarter_short(d: NaiveDate, lang: Lang) -> String {
    let q = quarter_of(d);
    match lang {
        Lang::Fr => format!("T{q} {}", d.year()),
        Lang::En => format!("Q{q} {}", d.year()),
    }
}

/// Label of a result's period from its type and first day.
pub fn period_of(period_type: PeriodType, start: NaiveDate, end: NaiveDate, lang: Lang) -> String {
    match period_type {
        PeriodType::Month => month(start, lang),
        PeriodType::Quarter => quarter(start, lang),
        PeriodType::Year => start.year().to_string(),
        PeriodType::Span => match lang {
            Lang::Fr => format!("du {} au {}", date(start, lang), date(end, lang)),
            Lang::En => format!("{} to {}", date(start, lang), date(end, lang)),
        },
    }
}

/// Short label of a result's period (chart axes).
pub fn period_short(period_type: PeriodType, start: NaiveDate, lang: Lang) -> String {
    match period_type {
        PeriodType::Month => month_short(start, lang),
        PeriodType::Quarter => quarter_short(start, lang),
        PeriodType::Year | PeriodType::Span => start.year().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn numbers_in_french_and_english() {
        assert_eq!(number(1234.0, 0, Lang::Fr), "1\u{202F}234");
        assert_eq!(number(1234.0, 0, Lang::En), "1,234");
        assert_eq!(
            number(1_234_567.25, 1, Lang::Fr),
            "1\u{202F}234\u{202F}567,2"
        );
        assert_eq!(number(1_234_567.25, 2, Lang::En), "1,234,567.25");
        assert_eq!(number(999.0, 0, Lang::Fr), "999");
        assert_eq!(number(-24.516, 1, Lang::En), "\u{2212}24.5");
        assert_eq!(number(-0.01, 1, Lang::En), "0.0");
        assert_eq!(number(f64::NAN, 1, Lang::En), "—");
        assert_eq!(count(20_000, Lang::Fr), "20\u{202F}000");
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(12.5, 1, Lang::Fr), "12,5\u{202F}%");
        assert_eq!(percent(12.5, 1, Lang::En), "12.5%");
        assert_eq!(percent_change(-24.516, Lang::Fr), "\u{2212}24,5\u{202F}%");
        assert_eq!(percent_change(3.12, Lang::En), "+3.1%");
        assert_eq!(value(57.142, Unit::Percent, Lang::Fr), "57,1\u{202F}%");
        assert_eq!(value(4.0, Unit::Days, Lang::En), "4.0\u{202F}d");
        assert_eq!(
            interval(-41.709, -2.766, Unit::Percent, Lang::Fr),
            "\u{2212}41,7 à \u{2212}2,8"
        );
    }

    #[test]
    fn dates_and_periods() {
        assert_eq!(date(d(2025, 10, 3), Lang::Fr), "3 oct. 2025");
        assert_eq!(date(d(2025, 10, 3), Lang::En), "Oct 3, 2025");
        assert_eq!(date(d(2025, 2, 1), Lang::Fr), "1er févr. 2025");
        assert_eq!(quarter(d(2025, 7, 1), Lang::Fr), "3e trimestre 2025");
        assert_eq!(quarter(d(2025, 2, 1), Lang::Fr), "1er trimestre 2025");
        assert_eq!(quarter(d(2025, 7, 1), Lang::En), "Q3 2025");
        assert_eq!(month(d(2025, 8, 1), Lang::Fr), "août 2025");
        assert_eq!(month_short(d(2025, 7, 1), Lang::En), "Jul 2025");
        assert_eq!(quarter_short(d(2025, 12, 1), Lang::Fr), "T4 2025");
    }
}
