//! Seed derivation: every random stream is a pure function of the master
//! seed, the person index and a stream tag, so output never depends on
//! chunking or thread scheduling.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Independent random streams of one person. Keeping them separate is what
/// makes the counterfactual property hold: the program and survey streams
/// never shift the draws of the population or event streams.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    /// Demographics, base rates, death.
    Population = 1,
    /// Candidate ED visits and admissions with all their details.
    Events = 2,
    /// Enrolment decision and program dates.
    Program = 3,
    /// Survey sampling and answers.
    Survey = 4,
    /// The survey's rating and recommendation items and respondent type, drawn apart so
    /// that adding them left the earlier survey answers (and who answers) unchanged.
    SurveyExtra = 5,
    /// Contacts and referrals of the care pathway.
    Pathway = 6,
}

/// SplitMix64 finaliser: a fast, well-mixed bijection on u64.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a sequence of words, order-sensitive.
pub(crate) fn hash(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(0x6A09_E667_F3BC_C908, |h, &w| splitmix64(h ^ splitmix64(w)))
}

/// Uniform in `[0, 1)` from a hash.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The random stream `stream` of person `person`.
pub(crate) fn person_rng(seed: u64, person: u64, stream: Stream) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(hash(&[seed, person, stream as u64]))
}
