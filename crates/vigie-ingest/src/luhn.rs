//! Luhn mod-10 check digits, as used by Ontario and other provincial health card numbers.

/// Whether a string of digits (spaces and dashes ignored) passes the Luhn check, the last
/// digit checking the others. Anything with other characters, or fewer than 2 digits, fails.
pub fn luhn_valid(raw: &str) -> bool {
    let mut digits = Vec::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c as u32 - '0' as u32),
            ' ' | '-' => {}
            _ => return false,
        }
    }
    if digits.len() < 2 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
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
