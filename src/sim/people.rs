//! Deterministic fake people shared by both simulators, so that seeding Salesforce and Intercom
//! with the same seed produces the same people and the requested share of emails on both sides.

use serde::{Deserialize, Serialize};

/// One generated person, in the fields both vendors store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub first_name: String,
    pub last_name: String,
    /// Email unique within one batch, ignoring case. The case is mixed on purpose, because
    /// both vendors store an email as typed.
    pub email: String,
    pub phone: String,
    pub company: String,
    pub title: String,
}

/// The three groups of people produced by [`split_people`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeopleSplit {
    pub salesforce_only: Vec<Person>,
    pub both: Vec<Person>,
    pub intercom_only: Vec<Person>,
}

/// Errors from splitting people between the two simulators.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PeopleError {
    #[error("invalid overlap {0}: expected a share between 0.0 and 1.0")]
    InvalidOverlap(f64),
}

/// A first name with the ASCII spelling used in its email address.
struct Name {
    display: &'static str,
    ascii: &'static str,
}

const FIRST_NAMES: &[Name] = &[
    Name {
        display: "José",
        ascii: "jose",
    },
    Name {
        display: "Zoë",
        ascii: "zoe",
    },
    Name {
        display: "Björn",
        ascii: "bjorn",
    },
    Name {
        display: "François",
        ascii: "francois",
    },
    Name {
        display: "Łukasz",
        ascii: "lukasz",
    },
    Name {
        display: "Søren",
        ascii: "soren",
    },
    Name {
        display: "Anaïs",
        ascii: "anais",
    },
    Name {
        display: "Ana",
        ascii: "ana",
    },
    Name {
        display: "Emily",
        ascii: "emily",
    },
    Name {
        display: "Michael",
        ascii: "michael",
    },
    Name {
        display: "Priya",
        ascii: "priya",
    },
    Name {
        display: "Olusegun",
        ascii: "olusegun",
    },
    Name {
        display: "Дмитрий",
        ascii: "dmitry",
    },
    Name {
        display: "Αλέξανδρος",
        ascii: "alexandros",
    },
    Name {
        display: "太郎",
        ascii: "taro",
    },
    Name {
        display: "美咲",
        ascii: "misaki",
    },
    Name {
        display: "伟",
        ascii: "wei",
    },
    Name {
        display: "محمد",
        ascii: "mohammed",
    },
    Name {
        display: "Nguyễn",
        ascii: "nguyen",
    },
    Name {
        display: "Sarah",
        ascii: "sarah",
    },
];

const LAST_NAMES: &[Name] = &[
    Name {
        display: "García",
        ascii: "garcia",
    },
    Name {
        display: "Müller",
        ascii: "mueller",
    },
    Name {
        display: "O'Brien",
        ascii: "obrien",
    },
    Name {
        display: "Nørgaard",
        ascii: "norgaard",
    },
    Name {
        display: "Wiśniewski",
        ascii: "wisniewski",
    },
    Name {
        display: "Dubois-Lefèvre",
        ascii: "dubois-lefevre",
    },
    Name {
        display: "Smith",
        ascii: "smith",
    },
    Name {
        display: "Johnson",
        ascii: "johnson",
    },
    Name {
        display: "Okafor",
        ascii: "okafor",
    },
    Name {
        display: "Patel",
        ascii: "patel",
    },
    Name {
        display: "Иванова",
        ascii: "ivanova",
    },
    Name {
        display: "Παπαδόπουλος",
        ascii: "papadopoulos",
    },
    Name {
        display: "山田",
        ascii: "yamada",
    },
    Name {
        display: "王",
        ascii: "wang",
    },
    Name {
        display: "Al-Hassan",
        ascii: "alhassan",
    },
    Name {
        display: "van der Berg",
        ascii: "vanderberg",
    },
    Name {
        display: "Ñúñez",
        ascii: "nunez",
    },
    Name {
        display: "Kim",
        ascii: "kim",
    },
];

const COMPANIES: &[(&str, &str)] = &[
    ("Acme Corporation", "acme.example"),
    ("Globex", "globex.example"),
    ("Initech", "initech.example"),
    ("Umbrella Gesellschaft mbH", "umbrella.example"),
    ("Société Générale de Café", "cafe.example"),
    ("株式会社サンプル", "sample.example.jp"),
    ("Stark Industries", "stark.example"),
    ("Łódź Software Sp. z o.o.", "lodz.example.pl"),
    ("Wayne Enterprises", "wayne.example"),
    ("Tyrell Corp", "tyrell.example"),
];

const TITLES: &[&str] = &[
    "CEO",
    "VP of Sales",
    "Head of Support",
    "Software Engineer",
    "Marketing Manager",
    "Directeur Général",
    "Procurement Lead",
    "Customer Success Manager",
];

/// SplitMix64: a tiny generator whose output never changes between releases, unlike the
/// `rand` crate's `StdRng`, because generated people must stay identical for a given seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Generates `count` people, the same list for the same `count` and `seed`.
///
/// Names mix accented, non-Latin and plain Latin spellings. Emails are ASCII with mixed case
/// and carry the person's index, so no two people in one batch share an email.
pub fn generate_people(count: usize, seed: u64) -> Vec<Person> {
    let mut rng = SplitMix64(seed);
    (0..count)
        .map(|index| generate_person(&mut rng, index))
        .collect()
}

fn generate_person(rng: &mut SplitMix64, index: usize) -> Person {
    let first = rng.pick(FIRST_NAMES);
    let last = rng.pick(LAST_NAMES);
    let (company, domain) = *rng.pick(COMPANIES);
    let title = *rng.pick(TITLES);

    let local = format!("{}.{}{}", first.ascii, last.ascii, index);
    let email = format!("{}@{}", mix_case(rng, &local), mix_case(rng, domain));

    Person {
        first_name: first.display.to_string(),
        last_name: last.display.to_string(),
        email,
        phone: generate_phone(rng),
        company: company.to_string(),
        title: title.to_string(),
    }
}

/// Capitalises some letters in about two thirds of the strings and keeps the rest as given,
/// so both simulators see emails that differ from their lower-case form.
fn mix_case(rng: &mut SplitMix64, text: &str) -> String {
    match rng.below(3) {
        0 => text
            .to_ascii_uppercase()
            .chars()
            .take(1)
            .chain(text.chars().skip(1))
            .collect(),
        1 => text
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 4 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect(),
        _ => text.to_string(),
    }
}

/// Builds a phone number in one of the formats people type into CRMs.
fn generate_phone(rng: &mut SplitMix64) -> String {
    let digits: Vec<u64> = (0..10).map(|_| rng.next_u64() % 10).collect();
    let d = |range: std::ops::Range<usize>| -> String {
        digits[range]
            .iter()
            .map(|digit| digit.to_string())
            .collect()
    };
    match rng.below(4) {
        0 => format!("+1 ({}) {}-{}", d(0..3), d(3..6), d(6..10)),
        1 => format!("+44 20 {} {}", d(0..4), d(4..8)),
        2 => format!("+49 30 {}{}", d(0..4), d(4..9)),
        _ => format!("+81-3-{}-{}", d(0..4), d(4..8)),
    }
}

/// Splits people between the simulators.
///
/// A share `overlap` of them, rounded to the nearest person and chosen by `seed`, lives on
/// both sides. The rest alternate in list order: the first goes to Salesforce only, the
/// next to Intercom only, and so on.
///
/// Each output list keeps the original order. Seeding both simulators with the same
/// `generate_people` output, `overlap` and `seed` yields matching sides.
pub fn split_people(
    people: Vec<Person>,
    overlap: f64,
    seed: u64,
) -> Result<PeopleSplit, PeopleError> {
    if !(0.0..=1.0).contains(&overlap) {
        return Err(PeopleError::InvalidOverlap(overlap));
    }
    let shared_count = (people.len() as f64 * overlap).round() as usize;

    // A partial Fisher-Yates shuffle of the positions picks which people are shared.
    let mut positions: Vec<usize> = (0..people.len()).collect();
    let mut rng = SplitMix64(seed ^ 0x5EED_5EED_5EED_5EED);
    for i in 0..shared_count {
        let j = i + rng.below(people.len() - i);
        positions.swap(i, j);
    }
    let mut shared = vec![false; people.len()];
    for &position in &positions[..shared_count] {
        shared[position] = true;
    }

    let mut split = PeopleSplit::default();
    let mut rest_index = 0;
    for (position, person) in people.into_iter().enumerate() {
        if shared[position] {
            split.both.push(person);
        } else {
            if rest_index % 2 == 0 {
                split.salesforce_only.push(person);
            } else {
                split.intercom_only.push(person);
            }
            rest_index += 1;
        }
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn same_seed_same_people() {
        assert_eq!(generate_people(50, 42), generate_people(50, 42));
        assert_ne!(generate_people(50, 42), generate_people(50, 43));
    }

    #[test]
    fn emails_unique_ignoring_case() {
        let people = generate_people(2_000, 7);
        let emails: HashSet<String> = people.iter().map(|p| p.email.to_lowercase()).collect();
        assert_eq!(emails.len(), people.len());
    }

    #[test]
    fn names_include_non_ascii_and_mixed_case() {
        let people = generate_people(200, 1);
        assert!(people.iter().any(|p| !p.first_name.is_ascii()));
        assert!(people.iter().any(|p| p.email != p.email.to_lowercase()));
        assert!(people
            .iter()
            .all(|p| p.email.is_ascii() && p.email.contains('@')));
    }

    #[test]
    fn split_honours_overlap() {
        let split = split_people(generate_people(1_000, 3), 0.5, 3).unwrap();
        assert_eq!(split.both.len(), 500);
        assert_eq!(split.salesforce_only.len(), 250);
        assert_eq!(split.intercom_only.len(), 250);
    }

    #[test]
    fn split_is_deterministic() {
        let first = split_people(generate_people(100, 9), 0.3, 9).unwrap();
        let second = split_people(generate_people(100, 9), 0.3, 9).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn split_rejects_bad_overlap() {
        assert_eq!(
            split_people(Vec::new(), 1.5, 0),
            Err(PeopleError::InvalidOverlap(1.5))
        );
        assert!(split_people(Vec::new(), f64::NAN, 0).is_err());
    }
}
