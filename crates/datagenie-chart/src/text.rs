//! Text: the embedded font, label measurement with its real advance widths, truncation and XML escaping.
//!
//! Invariants: every string that reaches the SVG passes through [`escape`]; widths come from the same font the PNG
//! is drawn with, so layout decisions (truncation, rotation, margins) hold in the raster.

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};
use std::sync::LazyLock;

/// The embedded font: NanumGothic subset to Latin, Latin-1, punctuation, symbols and all Hangul syllables and jamo,
/// renamed "DataGenie Sans" as its licence (SIL OFL 1.1, `assets/OFL.txt`) requires of modified versions.
pub const FONT_DATA: &[u8] = include_bytes!("../assets/DataGenieSans-Regular.ttf");

/// The embedded font's family name.
pub const FONT_FAMILY: &str = "DataGenie Sans";

/// The SVG `font-family`: the embedded font first (what the PNG uses), then fonts with Hangul that SVG viewers may
/// have, then the generic family.
pub const FONT_STACK: &str = "'DataGenie Sans', NanumGothic, 'Noto Sans CJK KR', 'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic', sans-serif";

/// The ellipsis appended to truncated labels.
const ELLIPSIS: char = '…';

/// Advance widths in em for the characters the font maps; `None` when the font does not parse (never, for the
/// embedded file: a test proves it).
struct Metrics {
    font: FontRef<'static>,
    units_per_em: f32,
}

static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| {
    let font = FontRef::new(FONT_DATA).ok()?;
    let units_per_em = f32::from(font.metrics(Size::unscaled(), LocationRef::default()).units_per_em);
    (units_per_em > 0.0).then_some(Metrics { font, units_per_em })
});

/// The width of `c` in em. Characters the font lacks are measured as a full em for wide scripts and half an em
/// otherwise, which errs on the wide side.
fn char_em(metrics: Option<&Metrics>, c: char) -> f64 {
    let measured = metrics.and_then(|m| {
        let gid = m.font.charmap().map(c)?;
        let advance = m.font.glyph_metrics(Size::unscaled(), LocationRef::default()).advance_width(gid)?;
        Some(f64::from(advance / m.units_per_em))
    });
    measured.unwrap_or(if (c as u32) >= 0x1100 { 1.0 } else { 0.55 })
}

/// The width in pixels of `text` set at `size` pixels in the embedded font.
pub fn width(text: &str, size: f64) -> f64 {
    let metrics = METRICS.as_ref();
    text.chars().map(|c| char_em(metrics, c)).sum::<f64>() * size
}

/// `text` cut to fit `max_width` pixels at `size`, with an ellipsis when cut. Never longer than the input plus the
/// ellipsis; an empty result only when `max_width` cannot hold even the ellipsis.
pub fn truncate(text: &str, size: f64, max_width: f64) -> String {
    if width(text, size) <= max_width {
        return text.to_string();
    }
    let metrics = METRICS.as_ref();
    let budget = max_width - char_em(metrics, ELLIPSIS) * size;
    if budget < 0.0 {
        return String::new();
    }
    let mut used = 0.0;
    let mut out = String::new();
    for c in text.chars() {
        used += char_em(metrics, c) * size;
        if used > budget {
            break;
        }
        out.push(c);
    }
    let mut out = out.trim_end().to_string();
    out.push(ELLIPSIS);
    out
}

/// `text` escaped for XML character data and attribute values; control characters XML forbids are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_font_parses_and_covers_latin_and_every_hangul_syllable() {
        let m = METRICS.as_ref().expect("embedded font parses");
        let charmap = m.font.charmap();
        let missing: Vec<char> = ('\u{AC00}'..='\u{D7A3}')
            .chain(' '..='~')
            .chain('\u{3131}'..='\u{318E}')
            .filter(|&c| charmap.map(c).is_none())
            .collect();
        assert!(missing.is_empty(), "missing glyphs: {missing:?}");
        assert!(charmap.map('€').is_some() && charmap.map('₩').is_some() && charmap.map('…').is_some());
    }

    #[test]
    fn widths_follow_the_font() {
        assert_eq!(width("", 12.0), 0.0);
        // Hangul syllables are full-width in this font; Latin letters are narrower.
        assert!((width("가", 10.0) - 10.0).abs() < 1.5, "{}", width("가", 10.0));
        assert!(width("i", 10.0) < width("W", 10.0));
        assert!((width("ab", 24.0) - 2.0 * width("ab", 12.0)).abs() < 1e-9);
    }

    #[test]
    fn truncation_fits_and_marks_the_cut() {
        let long = "서울특별시 강남구 테헤란로 아주 긴 상점 이름";
        let cut = truncate(long, 11.0, 60.0);
        assert!(cut.ends_with('…'));
        assert!(width(&cut, 11.0) <= 60.0 + 1e-9);
        assert_eq!(truncate("short", 11.0, 500.0), "short");
        assert_eq!(truncate("anything", 11.0, 1.0), "");
    }

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(escape(r#"<a & "b" 'c'>"#), "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;");
        assert_eq!(escape("a\u{0}b\nc"), "ab c");
        assert_eq!(escape("매출"), "매출");
    }
}
