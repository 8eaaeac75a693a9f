//! Every expected value below is worked out by hand in the comments, so that it can be
//! checked without this code.

use super::*;
use proptest::prelude::*;

fn all_builtins() -> IdentifierDetector {
    IdentifierDetector::new(&[
        IdScheme::OntarioHcn,
        IdScheme::QuebecRamq,
        IdScheme::FranceNir,
    ])
}

fn ontario() -> IdentifierDetector {
    IdentifierDetector::new(&[IdScheme::OntarioHcn])
}

/// The problem, after checking that its message does not repeat the value.
fn problem(scheme: &IdScheme, raw: &str) -> IdProblem {
    let p = scheme
        .normalise_and_check(raw)
        .expect_err("the value should be refused");
    let message = p.to_string();
    let compact: String = raw.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    assert!(raw.trim().is_empty() || !message.contains(raw), "{message}");
    assert!(
        compact.is_empty() || !message.contains(&compact),
        "{message}"
    );
    p
}

// --- Luhn --------------------------------------------------------------------------------

#[test]
fn luhn_published_examples() {
    // Wikipedia, "Luhn algorithm": 7992739871 has check digit 3. From the right, the digits
    // of 79927398713 count 3, 1×2=2, 7, 8×2=16→7, 9, 3×2=6, 7, 2×2=4, 9, 9×2=18→9, 7;
    // 3+2+7+7+9+6+7+4+9+9+7 = 70, a multiple of 10.
    assert!(luhn_valid("79927398713"));
    // Any other last digit moves the sum off a multiple of 10.
    assert!(!luhn_valid("79927398710"));
    // ISO/IEC 7812 test card number.
    assert!(luhn_valid("4111111111111111"));
    // The Canadian SIN example 046 454 286: 6, 8×2=16→7, 2, 4×2=8, 5, 4×2=8, 6, 4×2=8, 0;
    // 6+7+2+8+5+8+6+8+0 = 50.
    assert!(luhn_valid("046454286"));
    assert!(!luhn_valid("1234 567 897"), "digits only");
    assert!(!luhn_valid("0"), "at least two digits");
}

// --- Ontario -----------------------------------------------------------------------------

#[test]
fn ontario_number_built_by_hand() {
    // First nine digits 123456789. Luhn doubles every second digit from the right of the
    // payload: 9→18→9, 7→14→5, 5→10→1, 3→6, 1→2, sum 23; the others 8+6+4+2 = 20; total 43.
    // The check digit makes the sum a multiple of 10: (10 − 43 mod 10) mod 10 = 7.
    let s = IdScheme::OntarioHcn;
    for raw in [
        "1234567897",
        "1234-567-897",
        "1234 567 897",
        " 1234567897 ",
        "1234567897AB",
        "1234567897 ab",
        "1234-567-897-K",
        "1234\u{a0}567\u{a0}897",
    ] {
        assert_eq!(
            s.normalise_and_check(raw).as_deref(),
            Ok("1234567897"),
            "{raw}"
        );
    }
    // 987654321: doubled 1→2, 3→6, 5→10→1, 7→14→5, 9→18→9 sum 23; others 2+4+6+8 = 20;
    // 43 again, check digit 7.
    assert_eq!(
        s.normalise_and_check("9876 543 217").as_deref(),
        Ok("9876543217")
    );
}

#[test]
fn ontario_refuses_other_lengths_even_when_luhn_passes() {
    let s = IdScheme::OntarioHcn;
    // 046454286 passes Luhn (sum 50, above) but has 9 digits: a SIN, not a health card.
    assert_eq!(
        problem(&s, "046454286"),
        IdProblem::WrongLength {
            scheme: s.label().into(),
            unit: LengthUnit::Digits,
            expected: 10,
            actual: 9
        }
    );
    // 79927398713 passes Luhn (sum 70, above) but has 11 digits.
    assert!(matches!(
        problem(&s, "79927398713"),
        IdProblem::WrongLength { actual: 11, .. }
    ));
    // A version code does not count as a digit.
    assert!(matches!(
        problem(&s, "123456789AB"),
        IdProblem::WrongLength { actual: 9, .. }
    ));
}

#[test]
fn ontario_refuses_letters_wrong_check_and_empty() {
    let s = IdScheme::OntarioHcn;
    // 1234567890: the sum 43 + 0 is not a multiple of 10.
    assert!(matches!(
        problem(&s, "1234567890"),
        IdProblem::CheckFails {
            check: IdCheck::Luhn,
            ..
        }
    ));
    for raw in [
        "12345A7897",
        "AB1234567897",
        "1234567897ABC",
        "1234.567.897",
    ] {
        assert!(
            matches!(problem(&s, raw), IdProblem::WrongCharacters { .. }),
            "{raw}"
        );
    }
    assert!(matches!(problem(&s, " - "), IdProblem::Empty { .. }));
    let message = problem(&s, "123456789").to_string();
    assert_eq!(
        message,
        "Ontario health card number: expected 10 digits, the value has 9"
    );
}

// --- RAMQ --------------------------------------------------------------------------------

#[test]
fn ramq_shapes() {
    let s = IdScheme::QuebecRamq;
    // Built from the public rule: TRE(mblay) M(arie), born 1954-07-15, a woman (month 07 + 50
    // = 57), administrative code 12.
    assert_eq!(
        s.normalise_and_check("TREM 5457 1512").as_deref(),
        Ok("TREM54571512")
    );
    assert_eq!(
        s.normalise_and_check("abcd-1234-5678").as_deref(),
        Ok("ABCD12345678")
    );
    assert!(matches!(
        problem(&s, "ABC 1234 5678"),
        IdProblem::WrongLength {
            expected: 12,
            actual: 11,
            ..
        }
    ));
    assert!(matches!(
        problem(&s, "ABCD 1234 56789"),
        IdProblem::WrongLength { actual: 13, .. }
    ));
    for raw in ["ABC1 1234 5678", "ABCD 1234 567X", "123412345678"] {
        assert!(
            matches!(problem(&s, raw), IdProblem::Pattern { .. }),
            "{raw}"
        );
    }
    assert!(matches!(
        problem(&s, "ABCD.1234.5678"),
        IdProblem::WrongCharacters { .. }
    ));
}

// --- NIR ---------------------------------------------------------------------------------

#[test]
fn nir_keys_computed_by_hand() {
    let s = IdScheme::FranceNir;
    // Published example (trabucaire.free.fr, « Le numéro INSEE »): 2 62 08 75 032 039 77.
    // 2620875032039 = 97 × 27019330227 + 20, key = 97 − 20 = 77.
    assert_eq!(
        s.normalise_and_check("2 62 08 75 032 039 77").as_deref(),
        Ok("262087503203977")
    );
    // Built here: 1 84 12 75 115 423. 1841275115423 = 97 × 18982217684 + 75
    // (97 × 18982217684 = 1841275115348), key = 97 − 75 = 22.
    assert_eq!(
        s.normalise_and_check("184127511542322").as_deref(),
        Ok("184127511542322")
    );
    // Key 23 instead of 22.
    assert!(matches!(
        problem(&s, "1 84 12 75 115 423 23"),
        IdProblem::CheckFails {
            check: IdCheck::Mod97,
            ..
        }
    ));
    // The key missing.
    assert!(matches!(
        problem(&s, "1 84 12 75 115 423"),
        IdProblem::WrongLength {
            expected: 15,
            actual: 13,
            ..
        }
    ));
    assert!(matches!(
        problem(&s, "1 84 12 7X 115 423 22"),
        IdProblem::Pattern { .. }
    ));
}

#[test]
fn corsican_nir_substitutes_before_the_key() {
    let s = IdScheme::FranceNir;
    // 2 90 02 2A 004 012: 2A → 19 gives 2900219004012 = 97 × 29899164989 + 79
    // (97 × 29899164989 = 2900219003933), key = 97 − 79 = 18.
    assert_eq!(
        s.normalise_and_check("2 90 02 2A 004 012 18").as_deref(),
        Ok("290022A00401218")
    );
    // Reading 2A as 20 instead would give 2900220004012 = 97 × 29899175299 + 9, key 88:
    // refused, so the substitution is really applied.
    assert!(matches!(
        problem(&s, "2 90 02 2A 004 012 88"),
        IdProblem::CheckFails { .. }
    ));
    // 1 85 05 2B 123 456: 2B → 18 gives 1850518123456 = 97 × 19077506427 + 37
    // (97 × 19077506427 = 1850518123419), key = 97 − 37 = 60. Lower case is accepted.
    assert_eq!(
        s.normalise_and_check("1 85 05 2b 123 456 60").as_deref(),
        Ok("185052B12345660")
    );
    // Only 2A and 2B exist; and the letter only at position 7 after a 2.
    assert!(matches!(
        problem(&s, "1 85 05 2C 123 456 60"),
        IdProblem::Pattern { .. }
    ));
    assert!(matches!(
        problem(&s, "1 85 05 3A 123 456 60"),
        IdProblem::Pattern { .. }
    ));
}

// --- Custom schemes and YAML -------------------------------------------------------------

#[test]
fn custom_schemes_check_pattern_and_digit() {
    let sin = IdScheme::Custom(
        CustomScheme::new("Canadian SIN", "[0-9]{9}", IdCheck::Luhn).expect("valid"),
    );
    // 046454286 passes Luhn (sum 50, above); 046454287 does not (sum 51).
    assert_eq!(
        sin.normalise_and_check("046 454 286").as_deref(),
        Ok("046454286")
    );
    assert!(matches!(
        problem(&sin, "046 454 287"),
        IdProblem::CheckFails { .. }
    ));
    assert!(matches!(
        problem(&sin, "04645428"),
        IdProblem::Pattern { .. }
    ));
    // The NIR example as a custom mod97 scheme: 2620875032039 → key 77 (above).
    let mod97 = IdScheme::Custom(
        CustomScheme::new("nir digits", "^[0-9]{15}$", IdCheck::Mod97).expect("valid"),
    );
    assert_eq!(
        mod97.normalise_and_check("262087503203977").as_deref(),
        Ok("262087503203977")
    );
    assert!(matches!(
        problem(&mod97, "262087503203978"),
        IdProblem::CheckFails { .. }
    ));
    // Letters compare without case; the canonical form is upper case.
    let letters = IdScheme::Custom(
        CustomScheme::new("member", "[a-z]{2}[0-9]{6}", IdCheck::None).expect("valid"),
    );
    assert_eq!(
        letters.normalise_and_check("ab-123456").as_deref(),
        Ok("AB123456")
    );
}

#[test]
fn bad_custom_schemes_are_refused() {
    assert!(matches!(
        CustomScheme::new("x", "([0-9]", IdCheck::None),
        Err(SchemeError::InvalidPattern(m)) if !m.contains('\n')
    ));
    assert_eq!(
        CustomScheme::new("x", "[0-9]*", IdCheck::None),
        Err(SchemeError::MatchesEmpty)
    );
    assert_eq!(
        CustomScheme::new("x", "[A-Z]+", IdCheck::None),
        Err(SchemeError::MatchesWords)
    );
    assert_eq!(
        CustomScheme::new(" ", "[0-9]{9}", IdCheck::None),
        Err(SchemeError::EmptyName)
    );
    assert_eq!(strip_anchors(r"^[0-9]{9}$"), "[0-9]{9}");
    assert_eq!(strip_anchors(r"[0-9]{9}\$"), r"[0-9]{9}\$");
    assert_eq!(strip_anchors(r"\A[0-9]{9}\z"), "[0-9]{9}");
}

#[test]
fn yaml_forms() {
    let parse = |y: &str| serde_yaml::from_str::<IdScheme>(y);
    assert_eq!(parse("ontario_hcn").expect("ok"), IdScheme::OntarioHcn);
    assert_eq!(parse("quebec_ramq").expect("ok"), IdScheme::QuebecRamq);
    assert_eq!(parse("france_nir").expect("ok"), IdScheme::FranceNir);
    let custom = parse("{ name: Manitoba PHIN, pattern: \"[0-9]{9}\", check: none }").expect("ok");
    assert_eq!(
        custom,
        IdScheme::Custom(
            CustomScheme::new("Manitoba PHIN", "[0-9]{9}", IdCheck::None).expect("valid")
        )
    );
    assert_eq!(custom.to_string(), "Manitoba PHIN");
    let unknown = parse("ontario").expect_err("unknown").to_string();
    assert!(
        unknown.contains("ontario_hcn, quebec_ramq, france_nir"),
        "{unknown}"
    );
    let bad = parse("{ name: x, pattern: \"([0-9]\", check: none }")
        .expect_err("bad regex")
        .to_string();
    assert!(bad.contains("invalid regular expression"), "{bad}");
    assert!(parse("{ name: x, pattern: \"[0-9]{9}\", check: verhoeff }").is_err());
    assert!(
        parse("{ name: x, pattern: \"[0-9]{9}\" }").is_err(),
        "check is required"
    );
    assert!(parse("{ name: x, pattern: \"[0-9]{9}\", check: none, extra: 1 }").is_err());
}

// --- Detection ---------------------------------------------------------------------------

#[test]
fn detects_card_numbers_in_text() {
    let d = ontario();
    assert!(d.contains_identifier("note: 1234 567 897 called"));
    assert_eq!(
        d.mask("note: 1234 567 897 called"),
        "note: [identifier masked] called"
    );
    // Within quotes, glued to punctuation, after an underscore.
    assert_eq!(d.mask("\"1234567897\""), "\"[identifier masked]\"");
    assert_eq!(d.mask("HCN:1234567897."), "HCN:[identifier masked].");
    assert_eq!(d.mask("id_1234-567-897,x"), "id_[identifier masked],x");
    // A version code glued to the number goes with it; a detached word stays.
    assert_eq!(d.mask("1234567897AB"), "[identifier masked]");
    assert_eq!(
        d.mask("1234567897 is on file"),
        "[identifier masked] is on file"
    );
    // A failing check digit is still a card number (1234567890: sum 43, not a multiple of 10).
    assert!(d.contains_identifier("(1234567890)"));
    // Two in a row, separated by one space only.
    assert_eq!(
        d.mask("1234567897 9876543217"),
        "[identifier masked] [identifier masked]"
    );
    // Non-ASCII text around is untouched.
    assert_eq!(
        d.mask("né le 3 mai, carte 1234567897 — Montréal"),
        "né le 3 mai, carte [identifier masked] — Montréal"
    );
    assert_eq!(d.mask("né1234567897"), "né[identifier masked]");
}

#[test]
fn does_not_detect_other_numbers() {
    let d = ontario();
    for text in [
        // A 10-digit run inside a 14-digit run.
        "order 12345678971234 shipped",
        // 9 and 11 digits.
        "SIN 046454286",
        "12345678971",
        // Letters glued on the left, or more than two on the right.
        "x1234567897",
        "1234567897abc",
        // Dates and times: 10 digits, not grouped as on a card.
        "2024-01-15 10:30",
        "seen 2024-01-15 10:30, 2024-02-01 09:15",
        "416-555-123",
        "",
        "no digits here",
    ] {
        assert!(!d.contains_identifier(text), "{text}");
        assert_eq!(d.mask(text), text);
    }
    let nothing = IdentifierDetector::new(&[]);
    assert!(nothing.is_empty());
    assert!(!nothing.contains_identifier("1234567897"));
}

#[test]
fn detects_ramq_and_nir_shapes() {
    let d = all_builtins();
    assert_eq!(
        d.mask("carte: trem 5457 1512; ok"),
        "carte: [identifier masked]; ok"
    );
    assert_eq!(
        d.mask("n° 2 62 08 75 032 039 77 reçu"),
        "n° [identifier masked] reçu"
    );
    // Corsican, no spaces, wrong key: still shaped like a NIR.
    assert!(d.contains_identifier("NIR=290022A00401299"));
    // Without the key, 13 characters still identify a person.
    assert_eq!(d.mask("2620875032039"), "[identifier masked]");
    // A 14-digit run is none of them (Ontario 10, NIR 13 or 15).
    assert!(!d.contains_identifier("26208750320397"));
    // RAMQ needs its four letters.
    assert!(!d.contains_identifier("1234 5678 ok"));
    // Only the declared schemes are looked for.
    assert!(!ontario().contains_identifier("TREM54571512"));
    assert!(!ontario().contains_identifier("262087503203977"));
}

#[test]
fn custom_shapes_are_detected_as_written() {
    let d = IdentifierDetector::new(&[IdScheme::Custom(
        CustomScheme::new("member", "[A-Z]{2}[0-9]{6}", IdCheck::None).expect("valid"),
    )]);
    assert_eq!(d.mask("member ab123456."), "member [identifier masked].");
    assert!(!d.contains_identifier("xab123456"));
}

// --- Properties --------------------------------------------------------------------------

/// The Luhn check digit that completes nine digits.
fn luhn_complete(payload: &str) -> String {
    (0..10)
        .map(|d| format!("{payload}{d}"))
        .find(|candidate| luhn_valid(candidate))
        .expect("one digit of ten completes a Luhn number")
}

fn valid_ontario() -> impl Strategy<Value = String> {
    "[0-9]{9}".prop_map(|p| luhn_complete(&p))
}

fn valid_ramq() -> impl Strategy<Value = String> {
    "[A-Z]{4}[0-9]{8}"
}

fn valid_nir() -> impl Strategy<Value = String> {
    (
        "[0-9]{5}",
        prop_oneof!["[0-9]{2}", Just("2A".to_string()), Just("2B".to_string())],
        "[0-9]{6}",
    )
        .prop_map(|(a, dept, b)| {
            let body = format!("{a}{dept}{b}");
            let digits = nir_digits(&format!("{body}00")).expect("a NIR form");
            format!("{body}{:02}", mod97_key(&digits[..13]))
        })
}

/// Text built from pieces that resemble identifiers, near misses and ordinary text.
fn texty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,16}",
        "[a-zA-Z]{1,6}",
        Just(" ".to_string()),
        Just("-".to_string()),
        Just("\"".to_string()),
        "[.,:;()_/é—\u{a0}]",
        "[0-9]{4}[ -]?[0-9]{3}[ -]?[0-9]{3}[A-Za-z]{0,3}",
        "[A-Za-z]{3,5}[ -]?[0-9]{4}[ -]?[0-9]{4}",
        "[0-9] ?[0-9]{2} ?[0-9]{2} ?(2A|2B|[0-9]{2}) ?[0-9]{3} ?[0-9]{3} ?[0-9]{0,2}",
    ];
    prop::collection::vec(piece, 0..14).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn masked_text_holds_no_identifier(text in texty()) {
        let d = all_builtins();
        let masked = d.mask(&text);
        prop_assert!(!d.contains_identifier(&masked), "{text:?} -> {masked:?}");
        if !d.contains_identifier(&text) {
            prop_assert_eq!(masked, text);
        }
    }

    #[test]
    fn every_valid_identifier_is_detected(
        hcn in valid_ontario(),
        ramq in valid_ramq(),
        nir in valid_nir(),
        before in "[ .,:;(\"'/=_-]{1,2}",
        after in "[ .,:;)\"'/_-]{1,2}",
    ) {
        let d = all_builtins();
        for (scheme, id) in [
            (IdScheme::OntarioHcn, &hcn),
            (IdScheme::QuebecRamq, &ramq),
            (IdScheme::FranceNir, &nir),
        ] {
            let normalised = scheme.normalise_and_check(id);
            prop_assert_eq!(normalised.as_ref(), Ok(id));
            let alone = IdentifierDetector::new(std::slice::from_ref(&scheme));
            prop_assert!(alone.contains_identifier(id), "{} {}", scheme, id);
            // Delimited by the ends of the text, or by punctuation within words.
            for text in [format!("{before}{id}{after}"), format!("x{before}{id}{after}y")] {
                prop_assert!(d.contains_identifier(&text), "{}", text);
                prop_assert!(!d.mask(&text).contains(id.as_str()), "{}", text);
            }
        }
    }

    #[test]
    fn problems_never_repeat_the_value(raw in "[0-9A-Z]{5,30}") {
        for scheme in [IdScheme::OntarioHcn, IdScheme::QuebecRamq, IdScheme::FranceNir] {
            if let Err(p) = scheme.normalise_and_check(&raw) {
                prop_assert!(!p.to_string().contains(&raw), "{}", p);
            }
        }
    }
}

#[test]
fn a_card_number_inside_a_longer_run_of_digits_is_masked_in_quarantined_values() {
    let d = IdentifierDetector::new(&[IdScheme::OntarioHcn]);
    // The token rule leaves an 11-digit run alone (it decides whether a cell is refused)...
    assert_eq!(d.mask("01234567897"), "01234567897");
    // ...but a quarantined value never shows it.
    assert_eq!(d.mask_embedded("01234567897"), MASK);
    assert_eq!(d.mask_embedded("x01234567897y 12"), format!("x{MASK}y 12"));
    assert_eq!(d.mask_embedded("1234 567 897"), MASK);
    // Short numbers, dates and times stay readable.
    for kept in [
        "18250",
        "2024-03-01",
        "20241305",
        "25:00",
        "1e308",
        "Québec",
    ] {
        assert_eq!(d.mask_embedded(kept), kept);
    }
    // A scheme with letters (RAMQ) adds no digit-run rule.
    let ramq = IdentifierDetector::new(&[IdScheme::QuebecRamq]);
    assert_eq!(ramq.mask_embedded("01234567897"), "01234567897");
}
