//! The one Hangul predicate. Korean text mixes precomposed syllables (가–힣) with loose letters: conjoining jamo
//! (U+1100–U+11FF, and the extended blocks old text and decomposed input use) and compatibility jamo
//! (ㄱ–ㅣ, U+3130–U+318F, what people type for "ㅋㅋ" or an initial). Every part of DataGenie that asks "is this
//! Korean?" asks here.

/// Any Hangul letter: a precomposed syllable or a jamo of any block.
pub fn is_hangul(c: char) -> bool {
    is_syllable(c)
        || matches!(c, '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}')
}

/// A precomposed Hangul syllable (가–힣), the unit a Korean name or word is written in.
pub fn is_syllable(c: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&c)
}

/// Whether `text` holds any Hangul letter.
pub fn contains_hangul(text: &str) -> bool {
    text.chars().any(is_hangul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_counts_and_nothing_else() {
        for c in ['가', '힣', '한', 'ㄱ', 'ㅣ', 'ㅋ', '\u{1100}', '\u{11A8}', '\u{A960}', '\u{D7B0}'] {
            assert!(is_hangul(c), "{c:?}");
        }
        for c in ['a', '1', '漢', 'あ', ' ', '·', '\u{ABFF}', '\u{D7A4}', '\u{3190}'] {
            assert!(!is_hangul(c), "{c:?}");
        }
        assert!(is_syllable('가') && !is_syllable('ㄱ') && !is_syllable('\u{1100}'));
        assert!(contains_hangul("top 5 매출") && !contains_hangul("top 5 revenue"));
    }
}
