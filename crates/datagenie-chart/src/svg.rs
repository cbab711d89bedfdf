//! A small SVG writer. Invariants: every text and attribute value it writes is escaped; numbers are finite (a
//! non-finite coordinate is written as 0) and short (one decimal).

use crate::text::{FONT_STACK, escape};
use std::fmt::Write as _;

/// Text anchoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// How a text is set.
#[derive(Debug, Clone, Copy)]
pub struct Font<'a> {
    pub size: f64,
    pub fill: &'a str,
    pub bold: bool,
    pub anchor: Anchor,
}

/// A coordinate with at most one decimal, no `-0`, and 0 for non-finite input.
pub fn n(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".to_string()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// An SVG document being written.
pub struct Svg {
    buf: String,
}

impl Svg {
    /// Starts a `width`×`height` document with a white background, an accessible title and description.
    pub fn new(width: f64, height: f64, title: Option<&str>, description: Option<&str>) -> Svg {
        let mut buf = String::with_capacity(16 * 1024);
        let (w, h) = (n(width), n(height));
        let _ = write!(
            buf,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{}" role="img">"#,
            escape(FONT_STACK)
        );
        if let Some(t) = title {
            let _ = write!(buf, "<title>{}</title>", escape(t));
        }
        if let Some(d) = description {
            let _ = write!(buf, "<desc>{}</desc>", escape(d));
        }
        let _ = write!(buf, r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##);
        Svg { buf }
    }

    /// A filled rectangle, with a tooltip when `tip` is given. Negative sizes are normalised.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: Option<&str>) {
        let (x, w) = if w < 0.0 { (x + w, -w) } else { (x, w) };
        let (y, h) = if h < 0.0 { (y + h, -h) } else { (y, h) };
        let _ = write!(
            self.buf,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}""#,
            n(x),
            n(y),
            n(w),
            n(h),
            escape(fill)
        );
        self.close("rect", tip);
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = write!(
            self.buf,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"/>"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            escape(stroke),
            n(width)
        );
    }

    /// An open polyline through `points`.
    pub fn path(&mut self, points: &[(f64, f64)], stroke: &str, width: f64) {
        let mut d = String::with_capacity(points.len() * 12);
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(d, "{}{},{}", if i == 0 { "M" } else { "L" }, n(*x), n(*y));
        }
        let _ = write!(
            self.buf,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round" stroke-linecap="round"/>"#,
            escape(stroke),
            n(width)
        );
    }

    /// A circle; `opacity` below 1 makes overlapping points readable.
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str, opacity: f64, tip: Option<&str>) {
        let _ = write!(self.buf, r#"<circle cx="{}" cy="{}" r="{}" fill="{}""#, n(cx), n(cy), n(r), escape(fill));
        if opacity < 1.0 {
            let _ = write!(self.buf, r#" fill-opacity="{}""#, (opacity.clamp(0.0, 1.0) * 100.0).round() / 100.0);
        }
        self.close("circle", tip);
    }

    /// A text whose baseline starts at (`x`, `y`), rotated by `rotate` degrees around that point.
    pub fn text(&mut self, x: f64, y: f64, text: &str, font: Font, rotate: Option<f64>) {
        if text.is_empty() {
            return;
        }
        let _ = write!(
            self.buf,
            r#"<text x="{}" y="{}" font-size="{}" fill="{}" text-anchor="{}""#,
            n(x),
            n(y),
            n(font.size),
            escape(font.fill),
            font.anchor.as_str()
        );
        if font.bold {
            self.buf.push_str(r#" font-weight="bold""#);
        }
        if let Some(angle) = rotate {
            let _ = write!(self.buf, r#" transform="rotate({} {} {})""#, n(angle), n(x), n(y));
        }
        let _ = write!(self.buf, ">{}</text>", escape(text));
    }

    /// Ends the open `element` tag, with a `<title>` tooltip inside when `tip` is given.
    fn close(&mut self, element: &str, tip: Option<&str>) {
        match tip {
            Some(t) => {
                let _ = write!(self.buf, "><title>{}</title></{element}>", escape(t));
            }
            None => self.buf.push_str("/>"),
        }
    }

    pub fn finish(mut self) -> String {
        self.buf.push_str("</svg>\n");
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_short_and_finite() {
        assert_eq!(n(1.26), "1.3");
        assert_eq!(n(-0.01), "0");
        assert_eq!(n(3.0), "3");
        assert_eq!(n(f64::NAN), "0");
        assert_eq!(n(f64::INFINITY), "0");
    }

    #[test]
    fn elements_escape_and_close() {
        let mut svg = Svg::new(10.0, 10.0, Some("a<b"), None);
        svg.rect(5.0, 5.0, -2.0, 3.0, "#fff", Some("x & y"));
        svg.circle(1.0, 1.0, 1.0, "#000", 0.5, Some("<c>"));
        let font = Font { size: 11.0, fill: "#000", bold: true, anchor: Anchor::Middle };
        svg.text(1.0, 2.0, "\"q\"", font, Some(-45.0));
        let out = svg.finish();
        assert!(out.contains("<title>a&lt;b</title>"));
        assert!(
            out.contains(r##"<rect x="3" y="5" width="2" height="3" fill="#fff"><title>x &amp; y</title></rect>"##)
        );
        assert!(out.contains("<title>&lt;c&gt;</title></circle>"));
        assert!(out.contains(r#"transform="rotate(-45 1 2)">&quot;q&quot;</text>"#));
        assert!(out.ends_with("</svg>\n"));
    }
}
