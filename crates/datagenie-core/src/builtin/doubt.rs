//! Confidence. A reading carries features — a guess made, a word left unexplained, the shape of the query — counted,
//! and its confidence is the product of one factor per feature raised to its count:
//! `confidence = Π FACTORS[f] ^ count[f]`. The engine answers when the confidence reaches [`THRESHOLD`].
//!
//! [`FACTORS`] and [`THRESHOLD`] are the ONE place these numbers live. They are fitted by
//! `datagenie eval --calibrate --split tune` (see `calibrate.rs` and docs/builtin-engine-spider.md), which prints this
//! table to paste here.

/// Features of one reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum F {
    Ambiguous,
    Loose,
    Unreachable,
    ValueAmbiguous,
    CountNoKey,
    CommonOfWhat,
    SuperNoMeasure,
    AggSuperSubject,
    TopNoMeasure,
    GroupNoKey,
    CmpNoCol,
    RangeNoCol,
    LikeDefault,
    NoToday,
    MonthNoYear,
    DateNoCol,
    QuotedNowhere,
    ValueNoCol,
    HaveCol,
    Describing,
    ReadLoosely,
    CountDistinctGuess,
    CountRowsGuess,
    NoNameCol,
    AggNoCol,
    GroupedListed,
    GroupsByKey,
    GroupNoAgg,
    OrderNoKey,
    EveryColumn,
    DefaultName,
    DefaultStar,
    TextComparedWithNumber,
    NamedLikeTable,
    TablesListed,
    Joins,
    JoinAmbiguous,
    UWord,
    UVerb,
    UNum,
    UValue,
    UTableMentioned,
    UTableOther,
    UCol,
    UCueStrong,
    UCueSuper,
    UCueOrder,
    UNot,
    UCueWeak,
    UEach,
    SubjectByCoverage,
    Filters,
    Grouped,
    Ordered,
    Limited,
    SelectCols,
    Aggregates,
    Words,
}

pub(crate) const N: usize = F::Words as usize + 1;

pub(crate) type Features = [f32; N];

/// Every feature with its name (as `Engine::explain` and the calibration print it) and its confidence factor.
/// Row `i` is feature `i` (a test checks it).
pub(crate) const FACTORS: [(F, &str, f32); N] = [
    (F::Ambiguous, "ambiguous", 0.8),
    (F::Loose, "loose", 0.85),
    (F::Unreachable, "unreachable", 0.5),
    (F::ValueAmbiguous, "value_ambiguous", 0.75),
    (F::CountNoKey, "count_no_key", 0.5),
    (F::CommonOfWhat, "common_of_what", 0.4),
    (F::SuperNoMeasure, "super_no_measure", 0.5),
    (F::AggSuperSubject, "agg_super_subject", 0.6),
    (F::TopNoMeasure, "top_no_measure", 0.7),
    (F::GroupNoKey, "group_no_key", 0.5),
    (F::CmpNoCol, "cmp_no_col", 0.5),
    (F::RangeNoCol, "range_no_col", 0.5),
    (F::LikeDefault, "like_default", 0.8),
    (F::NoToday, "no_today", 0.3),
    (F::MonthNoYear, "month_no_year", 0.8),
    (F::DateNoCol, "date_no_col", 0.4),
    (F::QuotedNowhere, "quoted_nowhere", 0.75),
    (F::ValueNoCol, "value_no_col", 0.5),
    (F::HaveCol, "have_col", 0.9),
    (F::Describing, "describing", 0.8),
    (F::ReadLoosely, "read_loosely", 0.85),
    (F::CountDistinctGuess, "count_distinct_guess", 0.85),
    (F::CountRowsGuess, "count_rows_guess", 0.9),
    (F::NoNameCol, "no_name_col", 0.7),
    (F::AggNoCol, "agg_no_col", 0.6),
    (F::GroupedListed, "grouped_listed", 1.0),
    (F::GroupsByKey, "groups_by_key", 0.85),
    (F::GroupNoAgg, "group_no_agg", 0.7),
    (F::OrderNoKey, "order_no_key", 0.6),
    (F::EveryColumn, "every_column", 0.9),
    (F::DefaultName, "default_name", 0.78),
    (F::DefaultStar, "default_star", 0.6),
    (F::TextComparedWithNumber, "text_compared_with_number", 0.7),
    (F::NamedLikeTable, "named_like_table", 0.9),
    (F::TablesListed, "tables_listed", 0.6),
    (F::Joins, "joins", 0.93),
    (F::JoinAmbiguous, "join_ambiguous", 0.8),
    (F::UWord, "u_word", 0.75),
    (F::UVerb, "u_verb", 0.85),
    (F::UNum, "u_num", 0.5),
    (F::UValue, "u_value", 0.5),
    (F::UTableMentioned, "u_table_mentioned", 0.85),
    (F::UTableOther, "u_table_other", 0.8),
    (F::UCol, "u_col", 0.6),
    (F::UCueStrong, "u_cue_strong", 0.5),
    (F::UCueSuper, "u_cue_super", 0.5),
    (F::UCueOrder, "u_cue_order", 0.6),
    (F::UNot, "u_not", 0.5),
    (F::UCueWeak, "u_cue_weak", 0.85),
    (F::UEach, "u_each", 0.7),
    (F::SubjectByCoverage, "subject_by_coverage", 1.0),
    (F::Filters, "filters", 1.0),
    (F::Grouped, "grouped", 1.0),
    (F::Ordered, "ordered", 1.0),
    (F::Limited, "limited", 1.0),
    (F::SelectCols, "select_cols", 1.0),
    (F::Aggregates, "aggregates", 1.0),
    (F::Words, "words", 1.0),
];

/// Readings less confident than this are withheld.
pub(crate) const THRESHOLD: f32 = 0.74;

/// The name of feature `i`.
pub(crate) fn name(i: usize) -> &'static str {
    FACTORS.get(i).map(|r| r.1).unwrap_or("?")
}

/// `Π FACTORS[f] ^ count[f]`.
pub(crate) fn confidence(x: &Features) -> f32 {
    product(FACTORS.iter().map(|r| r.2), x)
}

/// `Π factor ^ count`, computed in f64 as a sum of logarithms, so the order of the features does not matter.
pub(crate) fn product(factors: impl Iterator<Item = f32>, counts: &[f32]) -> f32 {
    let mut log = 0.0f64;
    for (count, factor) in counts.iter().zip(factors) {
        if *count != 0.0 && count.is_finite() {
            log += f64::from(*count) * f64::from(factor.max(f32::MIN_POSITIVE)).ln();
        }
    }
    log.exp() as f32
}

pub(crate) fn describe(x: &Features) -> String {
    let parts: Vec<String> =
        x.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(i, v)| format!("{}={v}", name(i))).collect();
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_in_feature_order_and_factors_lower_confidence() {
        for (i, (f, name, factor)) in FACTORS.iter().enumerate() {
            assert_eq!(*f as usize, i, "row {i} ({name}) is not feature {i}");
            assert!(*factor > 0.0 && *factor <= 1.0, "{name}: {factor}");
        }
        assert!(THRESHOLD > 0.0 && THRESHOLD <= 1.0);
    }

    #[test]
    fn confidence_is_the_product_of_factors() {
        let mut x = [0.0; N];
        assert_eq!(confidence(&x), 1.0);
        x[F::Ambiguous as usize] = 2.0;
        x[F::Joins as usize] = 1.0;
        let want = FACTORS[F::Ambiguous as usize].2.powi(2) * FACTORS[F::Joins as usize].2;
        assert!((confidence(&x) - want).abs() < 1e-6);
    }
}
