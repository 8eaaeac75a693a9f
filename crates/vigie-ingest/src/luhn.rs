//! Luhn mod-10 check digits, as used by Ontario and other provincial health card numbers.

/// Whether a string of digits (spaces and dashes ignored) passes the Luhn check, the last
/// digit checking the others. Anything with other characters, or fewer than 2 digits, fails.
/// The check itself is the model's, shared with the declared identifier schemes.
pub fn luhn_valid(raw: &str) -> bool {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    vigie_model::identifier::luhn_valid(&digits)
}

#[cfg(test)]
mod tests {
    use super::luhn_valid;

    #[test]
    fn published_examples() {
        // Wikipedia's Luhn example: 7992739871 check digit 3.
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        // ISO/IEC 7812 test card number.
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("1234-567-897"));
        assert!(!luhn_valid("123456789A"));
        assert!(!luhn_valid(""));
    }
}
