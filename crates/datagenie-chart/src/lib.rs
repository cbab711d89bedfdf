//! Renders DataGenie's Vega-Lite chart specs to SVG and PNG in pure Rust, with Hangul glyphs embedded.
//!
//! The specs are those `datagenie_core::chart::choose_chart` emits: a KPI (text layers), bars (vertical,
//! horizontal, grouped, coloured/stacked), lines (temporal, ordinal or quantitative x; several series) and
//! points. The SVG is written here, by hand; the PNG is that SVG rasterised by resvg with a font database holding
//! only the embedded font, so a machine without fonts draws Korean labels the same way.
//!
//! Canvas: 720×440 (a KPI 560×260; horizontal bars grow 22+ px per category up to 4,000 px). A numeric `width` or
//! `height` in the spec sets the whole canvas in pixels (clamped to 100..=4000), not Vega-Lite's plot area.
//!
//! Invariants:
//! - Nothing here runs code from a spec, fetches anything, or reads fonts from the system.
//! - Any JSON input gives either a chart or an [`Error`] with code `invalid_argument` naming the unsupported part;
//!   never a panic. Output size and work are bounded (see the caps in `spec`).
//! - Every text in the SVG is XML-escaped; colours from a spec are validated before use.
//! - Labels are measured with the embedded font, so layout holds in the PNG.

mod format;
mod render;
mod scale;
mod spec;
mod svg;
mod text;

use datagenie_core::{Error, ErrorCode};
use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};
use std::path::Path;
use std::sync::{Arc, LazyLock};

pub use render::PALETTE;
pub use text::{FONT_DATA, FONT_FAMILY, FONT_STACK};

/// PNGs are drawn at this many pixels per SVG unit (sharp on high-density screens and in documents).
pub const PNG_SCALE: f32 = 2.0;
/// A PNG never has more pixels than this (64 MB of RGBA); larger canvases are drawn at a smaller scale.
pub const MAX_PNG_PIXELS: f32 = 16_000_000.0;

/// The font database resvg uses: the embedded font only, also answering for the generic families.
static FONTS: LazyLock<Arc<fontdb::Database>> = LazyLock::new(|| {
    let mut db = fontdb::Database::new();
    db.load_font_data(FONT_DATA.to_vec());
    db.set_sans_serif_family(FONT_FAMILY);
    db.set_serif_family(FONT_FAMILY);
    db.set_monospace_family(FONT_FAMILY);
    Arc::new(db)
});

/// The chart as an SVG document.
pub fn render_svg(spec: &serde_json::Value) -> Result<String, Error> {
    let chart = spec::parse(spec)?;
    Ok(render::draw(&chart))
}

/// The chart as a PNG image at [`PNG_SCALE`].
pub fn render_png(spec: &serde_json::Value) -> Result<Vec<u8>, Error> {
    render_png_scaled(spec, PNG_SCALE)
}

/// The chart as a PNG image, `scale` pixels per SVG unit (0 < scale ≤ 4; lowered for huge canvases so the image
/// stays under [`MAX_PNG_PIXELS`]).
pub fn render_png_scaled(spec: &serde_json::Value, scale: f32) -> Result<Vec<u8>, Error> {
    if !(scale.is_finite() && scale > 0.0 && scale <= 4.0) {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("PNG scale must be in (0, 4], not {scale}")));
    }
    svg_to_png(&render_svg(spec)?, scale)
}

/// A chart file format, chosen by a path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Svg,
    Png,
}

/// The format for `path` (`.svg` or `.png`, any case); `invalid_argument` for anything else. Callers check this
/// before doing any work, so a bad path fails fast.
pub fn output_format(path: &Path) -> Result<OutputFormat, Error> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => Ok(OutputFormat::Svg),
        Some("png") => Ok(OutputFormat::Png),
        _ => Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("chart file {} must end in .svg or .png", path.display()),
        )),
    }
}

/// Writes the chart to `path` as SVG or PNG, chosen by the extension (`.svg`, `.png`, any case).
pub fn render_to_file(spec: &serde_json::Value, path: &Path) -> Result<(), Error> {
    let bytes = match output_format(path)? {
        OutputFormat::Svg => render_svg(spec)?.into_bytes(),
        OutputFormat::Png => render_png(spec)?,
    };
    std::fs::write(path, bytes)
        .map_err(|e| Error::new(ErrorCode::OutputFailed, format!("could not write chart to {}: {e}", path.display())))
}

fn internal(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::Internal, format!("chart rasterising failed: {what}"))
}

/// Rasterises an SVG with the embedded font.
fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, Error> {
    let options = usvg::Options {
        fontdb: Arc::clone(&FONTS),
        font_family: FONT_FAMILY.to_string(),
        languages: vec!["ko".to_string(), "en".to_string()],
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(internal)?;
    let size = tree.size();
    let scale = scale.min((MAX_PNG_PIXELS / (size.width() * size.height())).sqrt());
    let (w, h) = ((size.width() * scale).ceil() as u32, (size.height() * scale).ceil() as u32);
    let mut pixmap = tiny_skia::Pixmap::new(w.max(1), h.max(1)).ok_or_else(|| internal("empty canvas"))?;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(internal)
}
