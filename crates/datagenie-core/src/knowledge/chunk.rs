//! Documents cut into chunks a prompt can quote.
//!
//! Markdown-aware: ATX headings (`#` … `######`) and setext headings (a line underlined with `===` or `---`) start
//! sections, and every chunk carries its section's heading path (`Sales › Refunds`). Within a section, blocks —
//! paragraphs (lines up to a blank line) and fenced code blocks (```` ``` ```` or `~~~`, to the matching fence or
//! the end of the document) — are packed greedily into chunks of at most `max_tokens` estimated tokens, joined by
//! blank lines. Plain text is the same thing without headings: paragraphs split at blank lines.
//!
//! Invariants:
//! - every chunk's text is non-empty and within `max_tokens` by [`crate::llm::estimate_tokens`] (a limit of 0 counts
//!   as 1);
//! - a code block is never split unless it alone exceeds the limit; then it is cut between lines, each piece wrapped
//!   in the block's fences again (a line longer than the limit is cut between characters);
//! - a paragraph over the limit is cut at sentence ends (`.`, `?`, `!`, `。`, … followed by a space, so Korean `다.`
//!   too) and line breaks, a sentence over the limit at whitespace, a word over the limit between characters;
//! - chunking is deterministic and linear in the document's length; no input panics.

use std::ops::Add;

use super::{Chunk, Document};
use crate::schema_text::one_line;

/// The chunk size [`super::KnowledgeIndex::new`] uses, in estimated tokens.
pub const DEFAULT_CHUNK_TOKENS: usize = 300;
/// How a heading path joins its headings.
pub const HEADING_SEPARATOR: &str = " › ";
/// The longest heading kept in a path, in characters.
const MAX_HEADING_CHARS: usize = 120;
/// Deepest heading level (`######`).
const MAX_LEVEL: usize = 6;

/// `doc` cut into chunks of at most `max_tokens` estimated tokens (see the module documentation). Chunks are numbered
/// from 0 in document order; an empty or blank document has none.
pub fn chunk_document(doc: &Document, max_tokens: usize) -> Vec<Chunk> {
    let max = max_tokens.max(1);
    let mut out: Vec<Chunk> = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut blocks: Vec<Block> = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut fence: Option<Fence> = None;

    for line in doc.text.lines() {
        if let Some(f) = &mut fence {
            let closes = f.closes(line);
            f.lines.push(line.trim_end().to_string());
            if closes && let Some(f) = fence.take() {
                blocks.push(Block::Code(f));
            }
            continue;
        }
        if let Some(f) = Fence::open(line) {
            flush_paragraph(&mut paragraph, &mut blocks);
            fence = Some(f);
        } else if let Some((level, text)) = atx_heading(line) {
            flush_paragraph(&mut paragraph, &mut blocks);
            emit_section(&doc.title, &headings, std::mem::take(&mut blocks), max, &mut out);
            enter_heading(&mut headings, level, &text);
        } else if let Some(level) = setext_level(line).filter(|_| paragraph.len() == 1) {
            let text = paragraph.pop().unwrap_or_default();
            emit_section(&doc.title, &headings, std::mem::take(&mut blocks), max, &mut out);
            enter_heading(&mut headings, level, text);
        } else if line.trim().is_empty() {
            flush_paragraph(&mut paragraph, &mut blocks);
        } else {
            paragraph.push(line);
        }
    }
    if let Some(f) = fence.take() {
        blocks.push(Block::Code(f));
    }
    flush_paragraph(&mut paragraph, &mut blocks);
    emit_section(&doc.title, &headings, blocks, max, &mut out);
    out
}

enum Block {
    Paragraph(String),
    Code(Fence),
}

/// An open (then closed, or left open at the end) fenced code block.
struct Fence {
    /// The fence character (`` ` `` or `~`) and the length of its run.
    marker: char,
    len: usize,
    /// The block's lines, the opening fence first (and the closing one last when it was closed).
    lines: Vec<String>,
}

impl Fence {
    /// A fence opening on `line`: up to three spaces, then three or more backticks or tildes (a backtick fence's
    /// info string holds no backtick).
    fn open(line: &str) -> Option<Fence> {
        let rest = strip_indent(line)?;
        let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = rest.chars().take_while(|c| *c == marker).count();
        if len < 3 || (marker == '`' && rest[len..].contains('`')) {
            return None;
        }
        Some(Fence { marker, len, lines: vec![line.trim_end().to_string()] })
    }

    /// True when `line` closes this fence: up to three spaces, a run of the marker at least as long, nothing else.
    fn closes(&self, line: &str) -> bool {
        let Some(rest) = strip_indent(line) else { return false };
        let rest = rest.trim_end();
        rest.chars().count() >= self.len && rest.chars().all(|c| c == self.marker)
    }

    /// The closing fence to wrap a piece in.
    fn closer(&self) -> String {
        std::iter::repeat_n(self.marker, self.len).collect()
    }

    fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// `line` without up to three leading spaces; `None` when it is indented more (an indented code line).
fn strip_indent(line: &str) -> Option<&str> {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    (spaces <= 3).then(|| &line[spaces..])
}

/// An ATX heading: its level and text (closing `#`s removed).
fn atx_heading(line: &str) -> Option<(usize, String)> {
    let rest = strip_indent(line)?;
    let level = rest.bytes().take_while(|b| *b == b'#').count();
    if level == 0 || level > MAX_LEVEL {
        return None;
    }
    let after = &rest[level..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None; // `#hashtag`
    }
    let mut text = after.trim();
    let without_closing = text.trim_end_matches('#');
    if without_closing.is_empty() || without_closing.ends_with([' ', '\t']) {
        text = without_closing.trim_end();
    }
    Some((level, text.to_string()))
}

/// A setext underline: `===` (level 1) or `---` (level 2), three or more.
fn setext_level(line: &str) -> Option<usize> {
    let rest = strip_indent(line)?.trim_end();
    if rest.len() < 3 {
        return None;
    }
    if rest.bytes().all(|b| b == b'=') {
        Some(1)
    } else if rest.bytes().all(|b| b == b'-') {
        Some(2)
    } else {
        None
    }
}

fn enter_heading(headings: &mut Vec<(usize, String)>, level: usize, text: &str) {
    while headings.last().is_some_and(|(l, _)| *l >= level) {
        headings.pop();
    }
    headings.push((level, one_line(text, MAX_HEADING_CHARS)));
}

fn flush_paragraph(paragraph: &mut Vec<&str>, blocks: &mut Vec<Block>) {
    if paragraph.is_empty() {
        return;
    }
    let text: Vec<&str> = paragraph.drain(..).map(str::trim_end).collect();
    blocks.push(Block::Paragraph(text.join("\n")));
}

/// Packs one section's blocks into chunks.
fn emit_section(title: &str, headings: &[(usize, String)], blocks: Vec<Block>, max: usize, out: &mut Vec<Chunk>) {
    if blocks.is_empty() {
        return;
    }
    let heading =
        headings.iter().map(|(_, h)| h.as_str()).filter(|h| !h.is_empty()).collect::<Vec<_>>().join(HEADING_SEPARATOR);
    let mut packer = Packer { max, acc: String::new(), count: Count::default(), texts: Vec::new() };
    for block in blocks {
        match block {
            Block::Paragraph(text) => {
                if Count::of(&text).tokens() <= max {
                    packer.add(&text);
                } else {
                    let mut pieces = Vec::new();
                    pack(&text, Level::Sentence, max, Count::default(), &mut |p| {
                        let p = p.trim();
                        if !p.is_empty() {
                            pieces.push(p.to_string());
                        }
                    });
                    pieces.iter().for_each(|p| packer.add(p));
                }
            }
            Block::Code(fence) => {
                let text = fence.text();
                if Count::of(&text).tokens() <= max {
                    packer.add(&text);
                } else {
                    split_code(&fence, max).iter().for_each(|p| packer.add(p));
                }
            }
        }
    }
    packer.flush();
    for text in packer.texts {
        out.push(Chunk { document: title.to_string(), heading: heading.clone(), ordinal: out.len(), text });
    }
}

/// A code block over the limit, cut between lines; each piece is wrapped in the opening and closing fences again
/// when they leave room for at least one character.
fn split_code(fence: &Fence, max: usize) -> Vec<String> {
    let opener = fence.lines.first().map(String::as_str).unwrap_or_default();
    let closer = fence.closer();
    let closed = fence.lines.len() >= 2 && fence.closes(fence.lines.last().map(String::as_str).unwrap_or_default());
    let end = if closed { fence.lines.len() - 1 } else { fence.lines.len() };
    // The wrapped piece is `opener \n body \n closer`.
    let wrapper = Count::of(opener) + Count::of(&closer) + Count { ascii: 2, other: 0 };
    let wrap = (wrapper + Count { ascii: 0, other: 1 }).tokens() <= max;
    let (body, base) = match wrap {
        true => (fence.lines.get(1..end).unwrap_or_default().join("\n"), wrapper),
        false => (fence.text(), Count::default()),
    };
    let mut pieces = Vec::new();
    pack(&body, Level::Line, max, base, &mut |p| {
        let p = p.trim_end_matches('\n');
        if p.trim().is_empty() {
            return;
        }
        pieces.push(if wrap { format!("{opener}\n{p}\n{closer}") } else { p.to_string() });
    });
    pieces
}

/// Joins pieces (each within the limit) into chunks with blank lines between them.
struct Packer {
    max: usize,
    acc: String,
    count: Count,
    texts: Vec<String>,
}

impl Packer {
    fn add(&mut self, piece: &str) {
        let c = Count::of(piece);
        let joined = self.count + c + Count { ascii: 2, other: 0 };
        if !self.acc.is_empty() && joined.tokens() <= self.max {
            self.acc.push_str("\n\n");
            self.acc.push_str(piece);
            self.count = joined;
            return;
        }
        self.flush();
        self.acc.push_str(piece);
        self.count = c;
    }

    fn flush(&mut self) {
        if !self.acc.trim().is_empty() {
            self.texts.push(std::mem::take(&mut self.acc));
        }
        self.acc.clear();
        self.count = Count::default();
    }
}

/// How finely [`pack`] cuts text.
#[derive(Clone, Copy)]
enum Level {
    /// After a sentence end followed by whitespace, and after a line break.
    Sentence,
    /// After each line break (code).
    Line,
    /// Before each word (a run of non-whitespace after whitespace).
    Word,
    /// Between characters.
    Char,
}

impl Level {
    fn finer(self) -> Option<Level> {
        match self {
            Level::Sentence => Some(Level::Word),
            Level::Line | Level::Word => Some(Level::Char),
            Level::Char => None,
        }
    }

    /// Byte offsets where `text` may be cut (excluding 0 and its length), ascending.
    fn cuts(self, text: &str) -> Vec<usize> {
        let mut cuts = Vec::new();
        match self {
            Level::Sentence => {
                let mut pending = false;
                let mut prev: Option<char> = None;
                for (i, c) in text.char_indices() {
                    if pending && !c.is_whitespace() {
                        cuts.push(i);
                        pending = false;
                    }
                    if c == '\n' || (c.is_whitespace() && prev.is_some_and(is_sentence_end)) {
                        pending = true;
                    }
                    prev = Some(c);
                }
            }
            Level::Line => cuts.extend(text.match_indices('\n').map(|(i, _)| i + 1).filter(|&i| i < text.len())),
            Level::Word => {
                let mut prev_space = false;
                for (i, c) in text.char_indices() {
                    if prev_space && !c.is_whitespace() && i > 0 {
                        cuts.push(i);
                    }
                    prev_space = c.is_whitespace();
                }
            }
            Level::Char => cuts.extend(text.char_indices().map(|(i, _)| i).filter(|&i| i > 0)),
        }
        cuts
    }
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '?' | '!' | '。' | '？' | '！' | '…' | '．')
}

/// Greedy packing: `text` cut at `level` into segments, consecutive segments joined while their count plus `base`
/// stays within `max`; a segment too big alone is packed at the next finer level. `emit` receives slices of `text`
/// (untrimmed; trimming only lowers their count).
fn pack(text: &str, level: Level, max: usize, base: Count, emit: &mut dyn FnMut(&str)) {
    let mut bounds = level.cuts(text);
    bounds.push(text.len());
    let (mut start, mut end) = (0usize, 0usize);
    let mut count = base;
    let mut seg_start = 0usize;
    for seg_end in bounds {
        let seg = &text[seg_start..seg_end];
        let c = Count::of(seg);
        if end > start && (count + c).tokens() <= max {
            end = seg_end;
            count = count + c;
        } else {
            if end > start {
                emit(&text[start..end]);
            }
            if (base + c).tokens() <= max {
                (start, end, count) = (seg_start, seg_end, base + c);
            } else {
                match level.finer() {
                    Some(finer) => pack(seg, finer, max, base, emit),
                    None => emit(seg), // one character over the limit: only when `base` leaves no room (not wrapped)
                }
                (start, end, count) = (seg_end, seg_end, base);
            }
        }
        seg_start = seg_end;
    }
    if end > start {
        emit(&text[start..end]);
    }
}

/// Characters counted the way [`crate::llm::estimate_tokens`] counts them, so the estimate of joined text is known
/// without re-reading it: `estimate_tokens(a + b) == (Count::of(a) + Count::of(b)).tokens()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Count {
    ascii: usize,
    other: usize,
}

impl Count {
    fn of(text: &str) -> Count {
        let ascii = text.bytes().filter(u8::is_ascii).count();
        Count { ascii, other: text.chars().count() - ascii }
    }

    fn tokens(self) -> usize {
        self.ascii.div_ceil(4) + self.other
    }
}

impl Add for Count {
    type Output = Count;

    fn add(self, o: Count) -> Count {
        Count { ascii: self.ascii + o.ascii, other: self.other + o.other }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::estimate_tokens;

    fn doc(text: &str) -> Document {
        Document { title: "handbook.md".into(), text: text.into() }
    }

    fn assert_bounded(chunks: &[Chunk], max: usize) {
        for c in chunks {
            assert!(estimate_tokens(&c.text) <= max.max(1), "{} > {max}: {:?}", estimate_tokens(&c.text), c.text);
            assert!(!c.text.trim().is_empty());
        }
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.ordinal, i);
        }
    }

    #[test]
    fn count_matches_estimate_tokens() {
        for s in ["", "a", "abcd", "abcde", "매출", "mixed 한국어 text …", "\u{1F600}x", "\n\n"] {
            assert_eq!(Count::of(s).tokens(), estimate_tokens(s), "{s:?}");
            let twice = format!("{s}{s}");
            assert_eq!((Count::of(s) + Count::of(s)).tokens(), estimate_tokens(&twice), "{s:?}");
        }
    }

    #[test]
    fn headings_give_paths_and_sections() {
        let text = "Intro paragraph.\n\n# Sales\n\nSales overview.\n\n## Refunds ##\n\nRefunds within 30 days.\n\n\
                    ### Exceptions\n\nDamaged goods.\n\n## Discounts\n\nTen percent for members.\n\n# Support\n\nCall us.";
        let chunks = chunk_document(&doc(text), 300);
        let got: Vec<(&str, &str)> = chunks.iter().map(|c| (c.heading.as_str(), c.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("", "Intro paragraph."),
                ("Sales", "Sales overview."),
                ("Sales › Refunds", "Refunds within 30 days."),
                ("Sales › Refunds › Exceptions", "Damaged goods."),
                ("Sales › Discounts", "Ten percent for members."),
                ("Support", "Call us."),
            ]
        );
        assert!(chunks.iter().all(|c| c.document == "handbook.md"));
        assert_bounded(&chunks, 300);
    }

    #[test]
    fn setext_headings_and_hashtags() {
        let text = "Refunds\n=======\n\n#notaheading stays text\n\nPolicy\n------\nBody.";
        let chunks = chunk_document(&doc(text), 300);
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert_eq!(chunks[0].heading, "Refunds");
        assert_eq!(chunks[0].text, "#notaheading stays text");
        assert_eq!(chunks[1].heading, "Refunds › Policy");
        assert_eq!(chunks[1].text, "Body.");
    }

    #[test]
    fn paragraphs_are_grouped_up_to_the_limit() {
        let para = "word ".repeat(30); // about 38 tokens
        let text = (0..20).map(|_| para.trim()).collect::<Vec<_>>().join("\n\n");
        let chunks = chunk_document(&doc(&text), 100);
        assert_bounded(&chunks, 100);
        assert_eq!(chunks.len(), 10, "two paragraphs a chunk");
        assert!(chunks.iter().all(|c| c.text.matches("\n\n").count() == 1));
    }

    #[test]
    fn code_blocks_stay_whole_even_with_blank_lines_and_headings_inside() {
        let code = "```sql\nSELECT *\n\n# not a heading\nFROM orders\n```";
        let text = format!("# Queries\n\nBefore.\n\n{code}\n\nAfter.");
        let chunks = chunk_document(&doc(&text), 300);
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].text.contains(code), "{:?}", chunks[0].text);
        assert_eq!(chunks[0].heading, "Queries");
        // A small limit moves the block to a chunk of its own rather than cutting it.
        let limit = estimate_tokens(code) + 1;
        let chunks = chunk_document(&doc(&text), limit);
        assert!(chunks.iter().any(|c| c.text == code), "{chunks:?}");
        assert_bounded(&chunks, limit);
    }

    #[test]
    fn an_oversized_code_block_is_cut_between_lines_and_refenced() {
        let body: Vec<String> = (0..200).map(|i| format!("SELECT {i} AS n UNION ALL")).collect();
        let text = format!("~~~~sql\n{}\n~~~~", body.join("\n"));
        let chunks = chunk_document(&doc(&text), 60);
        assert!(chunks.len() > 5);
        assert_bounded(&chunks, 60);
        for c in &chunks {
            assert!(c.text.starts_with("~~~~sql\n") && c.text.ends_with("\n~~~~"), "{:?}", c.text);
            let inner = &c.text["~~~~sql\n".len()..c.text.len() - "\n~~~~".len()];
            assert!(inner.lines().all(|l| body.iter().any(|b| b == l)), "a line was cut: {inner:?}");
        }
        // Every line survives, in order.
        let lines: Vec<&str> =
            chunks.iter().flat_map(|c| c.text.lines().filter(|l| !l.starts_with("~~~~"))).collect::<Vec<_>>();
        assert_eq!(lines, body.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn an_unclosed_fence_runs_to_the_end() {
        let chunks = chunk_document(&doc("Text.\n\n```\ncode\n\n## still code"), 300);
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].text.ends_with("## still code"));
        assert_eq!(chunks[0].heading, "");
    }

    #[test]
    fn long_paragraphs_are_cut_at_sentence_ends_then_whitespace() {
        let sentence = "Refunds are issued to the original payment method within thirty days of the request.";
        let para = vec![sentence; 20].join(" ");
        let chunks = chunk_document(&doc(&para), 50);
        assert_bounded(&chunks, 50);
        for c in &chunks {
            assert!(c.text.ends_with('.'), "cut inside a sentence: {:?}", c.text);
        }
        // A sentence over the limit: cut at whitespace, never inside a word.
        let long = "alpha ".repeat(200);
        let chunks = chunk_document(&doc(&long), 20);
        assert_bounded(&chunks, 20);
        assert!(chunks.iter().all(|c| c.text.split_whitespace().all(|w| w == "alpha")));
        // A word over the limit: cut between characters.
        let word = "x".repeat(1000);
        let chunks = chunk_document(&doc(&word), 10);
        assert_bounded(&chunks, 10);
        assert_eq!(chunks.iter().map(|c| c.text.as_str()).collect::<String>(), word);
    }

    #[test]
    fn korean_text_is_cut_at_korean_sentence_ends() {
        let sentence = "환불은 결제일로부터 30일 이내에 원래 결제 수단으로 처리됩니다.";
        let para = vec![sentence; 30].join(" ");
        let text = format!("# 정책\n\n## 환불\n\n{para}");
        let chunks = chunk_document(&doc(&text), 80);
        assert!(chunks.len() > 1);
        assert_bounded(&chunks, 80);
        for c in &chunks {
            assert_eq!(c.heading, "정책 › 환불");
            assert!(c.text.ends_with("처리됩니다."), "{:?}", c.text);
        }
    }

    #[test]
    fn empty_documents_give_no_chunks() {
        for text in ["", "   ", "\n\n\t\n", "# Only a heading", "## A\n### B\n"] {
            assert!(chunk_document(&doc(text), 300).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn odd_input_never_panics_and_stays_bounded() {
        let inputs = [
            "\u{0}\u{FEFF}#\t\r\n```\r\n\u{202E}".to_string(),
            "#".repeat(10_000),
            "`".repeat(5000),
            "~~~\n".repeat(1000),
            "한".repeat(100_000),
            format!("{}\n", "a.".repeat(50_000)),
            "\u{1F600}\u{0301}".repeat(3000),
            "- item\n".repeat(5000),
            "===\n---\n".repeat(100),
            "\r\r\r".into(),
        ];
        for text in &inputs {
            for max in [0, 1, 2, 7, 300] {
                let chunks = chunk_document(&doc(text), max);
                assert_bounded(&chunks, max);
                assert_eq!(chunks, chunk_document(&doc(text), max), "not deterministic");
            }
        }
    }
}
