//! Salesforce record ids, normalized to their 18-character case-insensitive form.
//!
//! A 15-character id is case-sensitive. The 18-character form appends three checksum
//! characters, one per block of five: bit `i` of a block's mask is set when its character `i`
//! is an upper-case letter, and the mask (0 to 31) indexes `A`–`Z` then `0`–`5`.

use thiserror::Error;

const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// An id that is not a 15- or 18-character alphanumeric Salesforce id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid Salesforce id {value:?}: {reason}; expected 15 or 18 letters and digits")]
pub struct InvalidId {
    /// The rejected input.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Normalizes a 15- or 18-character Salesforce id to 18 characters.
///
/// The 18-character form is case-insensitive, so for such input the checksum restores the
/// case of the first 15 characters: `0035000000KM1OHAAA` and `0035000000km1ohAAA` both
/// normalize to `0035000000km1ohAAA`.
pub fn to_18(id: &str) -> Result<String, InvalidId> {
    let invalid = |reason| InvalidId {
        value: id.to_owned(),
        reason,
    };

    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(
            "it contains a character that is not a letter or digit",
        ));
    }
    let mut base: Vec<u8> = match id.len() {
        15 | 18 => id.as_bytes()[..15].to_vec(),
        _ => return Err(invalid("it has the wrong length")),
    };

    if id.len() == 18 {
        for (block, suffix) in base.chunks_mut(5).zip(id.as_bytes()[15..].iter()) {
            let mask = CHECKSUM_ALPHABET
                .iter()
                .position(|c| c.eq_ignore_ascii_case(suffix))
                .ok_or_else(|| invalid("its checksum contains a digit above 5"))?;
            for (i, byte) in block.iter_mut().enumerate() {
                let upper = mask & (1 << i) != 0;
                if upper && !byte.is_ascii_alphabetic() {
                    return Err(invalid(
                        "its checksum marks a digit as an upper-case letter",
                    ));
                }
                *byte = if upper {
                    byte.to_ascii_uppercase()
                } else {
                    byte.to_ascii_lowercase()
                };
            }
        }
    }

    let mut normalized = String::from_utf8(base).expect("ASCII input stays ASCII");
    let checksum: String = normalized
        .as_bytes()
        .chunks(5)
        .map(|block| {
            let mask = block
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0_usize, |mask, (i, _)| mask | (1 << i));
            char::from(CHECKSUM_ALPHABET[mask])
        })
        .collect();
    normalized.push_str(&checksum);
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_18_known_ids() {
        let cases = [
            ("0035000000km1oh", "0035000000km1ohAAA"),
            ("001B000001LntWl", "001B000001LntWlIAJ"),
            ("a00D0000008pQRA", "a00D0000008pQRAIA2"),
            ("003q000000KvQ1t", "003q000000KvQ1tAAF"),
            ("0035000000km1ohAAA", "0035000000km1ohAAA"),
            ("0035000000KM1OHAAA", "0035000000km1ohAAA"),
            ("0035000000km1ohaaa", "0035000000km1ohAAA"),
            ("001b000001lntwliaj", "001B000001LntWlIAJ"),
        ];
        for (input, expected) in cases {
            assert_eq!(to_18(input).as_deref(), Ok(expected), "input {input}");
        }
    }

    #[test]
    fn to_18_rejects_bad_input() {
        for bad in [
            "",
            "foo",
            "0035000000km1o",
            "0035000000km1oh!",
            "0035000000km1oh999",
            "003500000Akm1ohBAA",
        ] {
            let error = to_18(bad).unwrap_err();
            assert_eq!(error.value, bad);
        }
    }
}
