//! Renders DataGenie's Vega-Lite chart specs to SVG and PNG in pure Rust, with Hangul glyphs embedded
