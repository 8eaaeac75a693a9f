//! Luhn mod-10 check digits for health card numbers (HCN).
//!
//! A synthetic HCN is 10 ASCII digits: a 9-digit payload followed by the Luhn
//! check digit of that payload. The ingest side validates HCNs with the same
//! rule, so these functions are public.

/// Luhn mod-10 check digit of a digit string (normally the first 9 digits of
/// an HCN).
///
/// Starting from the rightmost payload digit, every other digit is doubled
/// (subtracting 9 when the result exceeds 9); the check digit brings the sum
/// to a multiple of 10. Characters that are not ASCII digits are skipped.
///
/// ```
/// assert_eq!(vigie_synth::luhn_check_digit("7992739871"), 3);
/// ```
pub fn luhn_check_digit(first9: &str) -> u8 {
    let sum: u32 = first9
        .bytes()
        .filter(u8::is_ascii_digit)
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 0 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    // `sum % 10` is below 10, so the result fits in a u8.
    ((10 - sum % 10) % 10) as u8
}

/// True when `s` is at least two ASCII digits and its last digit is the Luhn
/// check digit of the preceding ones. Any other character makes it invalid.
///
/// ```
/// assert!(vigie_synth::luhn_valid("79927398713"));
/// assert!(!vigie_synth::luhn_valid("79927398710"));
/// ```
pub fn luhn_valid(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() < 2 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (payload, check) = s.split_at(s.len() - 1);
    u32::from(luhn_check_digit(payload)) == u32::from(check.as_bytes()[0] - b'0')
}

/// True when `s` is a well-formed health card number: exactly 10 ASCII digits
/// whose last digit is the Luhn check digit of the first nine.
pub fn hcn_valid(s: &str) -> bool {
    s.len() == 10 && luhn_valid(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(luhn_check_digit("7992739871"), 3);
        assert_eq!(luhn_check_digit("000000000"), 0);
        assert_eq!(luhn_check_digit("123456789"), 7);
        assert!(luhn_valid("1234567897"));
        assert!(hcn_valid("1234567897"));
        assert!(!hcn_valid("79927398713"));
        assert!(!luhn_valid("1234567898"));
        assert!(!luhn_valid("12345678a7"));
        assert!(!luhn_valid("7"));
        assert!(!luhn_valid(""));
    }

    #[test]
    fn every_single_digit_change_is_detected() {
        let hcn = "4567123459";
        let first9 = &hcn[..9];
        let good = format!("{first9}{}", luhn_check_digit(first9));
        assert!(luhn_valid(&good));
        for pos in 0..10 {
            for d in b'0'..=b'9' {
                let mut b = good.clone().into_bytes();
                if b[pos] == d {
                    continue;
                }
                b[pos] = d;
                let s = String::from_utf8(b).expect("ascii");
                assert!(!luhn_valid(&s), "{s} should be invalid");
            }
        }
    }
}
