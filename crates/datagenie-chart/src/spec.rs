//! Reading the Vega-Lite subset that `datagenie_core::chart::choose_chart` emits into drawable models.
//!
//! Supported: inline `data.values`; `transform: [{fold}]`; marks `text` (also as a `layer` of text marks: the KPI),
//! `bar` (vertical or horizontal, grouped with `xOffset`/`yOffset`, stacked when coloured without an offset),
//! `line` (temporal, ordinal, nominal or quantitative x; series by colour) and `point`/`circle`/`square`.
//! Anything else is refused with [`ErrorCode::InvalidArgument`] and a message naming what is unsupported.
//!
//! Invariants: nothing here panics on any JSON input; every list it builds is bounded (rows, bands, points), and a
//! cut adds a note to the model; colours taken from a spec are validated before they can reach the SVG.

use crate::format::{d3, smart};
use datagenie_core::chart::iso_timestamp_ms;
use datagenie_core::{Error, ErrorCode};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Rows read from `data.values` (after folding); the rest are dropped with a note.
pub const MAX_ROWS: usize = 50_000;
/// Categories on a bar chart's band axis.
pub const MAX_BANDS: usize = 200;
/// Points on a scatter chart.
pub const MAX_POINTS: usize = 10_000;
/// Points over all lines of a line chart.
pub const MAX_LINE_POINTS: usize = 20_000;

/// A chart ready to lay out.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: Option<String>,
    /// Subtitle lines: the spec's subtitle, then notes about rows this renderer dropped.
    pub subtitle: Vec<String>,
    pub description: Option<String>,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub body: Body,
}

#[derive(Debug, Clone)]
pub enum Body {
    Kpi(Vec<TextItem>),
    Bar(Bars),
    Line(Lines),
    Scatter(Points),
}

/// One text of a KPI: centred, moved down by `dy` pixels.
#[derive(Debug, Clone)]
pub struct TextItem {
    pub text: String,
    pub size: f64,
    pub dy: f64,
    pub bold: bool,
    pub color: Option<String>,
}

/// Series names (the colour domain) in legend order, and the legend's title.
#[derive(Debug, Clone, Default)]
pub struct Legend {
    pub title: Option<String>,
    pub entries: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Bars {
    pub horizontal: bool,
    pub categories: Vec<String>,
    /// Bars side by side within a category (1 when not grouped).
    pub groups: usize,
    pub bars: Vec<Bar>,
    pub band_title: Option<String>,
    pub value_title: Option<String>,
    pub legend: Option<Legend>,
    /// A fixed colour for all bars (`color: {value}` or `mark.color`).
    pub color: Option<String>,
}

/// One bar from `start` to `end` on the value axis (start is 0 unless stacked).
#[derive(Debug, Clone)]
pub struct Bar {
    pub category: usize,
    pub group: usize,
    pub color: usize,
    pub start: f64,
    pub end: f64,
    pub tip: String,
}

/// How x positions of a line chart are measured.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Epoch milliseconds.
    Temporal,
    /// Index into these labels.
    Discrete(Vec<String>),
    Linear {
        zero: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Lines {
    pub x: XAxis,
    /// One list per legend entry (or a single list), sorted by x; `y == None` breaks the line.
    pub series: Vec<Vec<LinePoint>>,
    pub show_points: bool,
    pub x_title: Option<String>,
    pub y_title: Option<String>,
    pub legend: Option<Legend>,
    pub zero: bool,
    pub color: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LinePoint {
    pub x: f64,
    pub y: Option<f64>,
    pub tip: String,
}

#[derive(Debug, Clone)]
pub struct Points {
    pub points: Vec<Point>,
    pub x_title: Option<String>,
    pub y_title: Option<String>,
    pub zero_x: bool,
    pub zero_y: bool,
    pub legend: Option<Legend>,
    pub color: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub color: usize,
    pub tip: String,
}

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::InvalidArgument, format!("chart spec: {what}"))
}

/// Reads a spec. Errors name the first unsupported or malformed part.
pub fn parse(spec: &Json) -> Result<Chart, Error> {
    let spec = spec.as_object().ok_or_else(|| unsupported("a chart spec must be a JSON object"))?;
    for key in ["facet", "repeat", "concat", "hconcat", "vconcat", "params", "selection"] {
        if spec.contains_key(key) {
            return Err(unsupported(format!("\"{key}\" is not supported")));
        }
    }
    let mut notes = Vec::new();
    let rows = rows(spec, &mut notes)?;
    let (title, mut subtitle) = titles(spec.get("title"));
    let body = match (spec.get("layer"), spec.get("mark")) {
        (Some(layer), None) => Body::Kpi(kpi_layers(layer, &rows)?),
        (None, Some(mark)) => mark_body(mark, spec.get("encoding"), &rows, &mut notes)?,
        (Some(_), Some(_)) => {
            return Err(unsupported("a spec has either \"mark\" or \"layer\", not both"));
        }
        (None, None) => return Err(unsupported("no \"mark\"")),
    };
    subtitle.extend(notes);
    Ok(Chart {
        title,
        subtitle,
        description: spec.get("description").and_then(Json::as_str).map(str::to_string),
        width: dimension(spec.get("width")),
        height: dimension(spec.get("height")),
        body,
    })
}

/// A width or height in pixels, clamped to 100..=4000; anything else (e.g. `"container"`) means the default.
fn dimension(value: Option<&Json>) -> Option<f64> {
    value.and_then(Json::as_f64).filter(|v| v.is_finite()).map(|v| v.clamp(100.0, 4000.0))
}

/// The title text and subtitle lines from a string or `{text, subtitle}` (each a string or a list of lines).
fn titles(title: Option<&Json>) -> (Option<String>, Vec<String>) {
    let lines = |v: Option<&Json>| -> Vec<String> {
        match v {
            Some(Json::String(s)) => vec![s.clone()],
            Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let (text, sub) = match title {
        Some(Json::Object(o)) => (lines(o.get("text")).join(" "), lines(o.get("subtitle"))),
        other => (lines(other).join(" "), Vec::new()),
    };
    let text = text.trim().to_string();
    ((!text.is_empty()).then_some(text), sub.into_iter().filter(|s| !s.trim().is_empty()).collect())
}

/// The data rows after transforms, at most [`MAX_ROWS`].
fn rows(spec: &Map<String, Json>, notes: &mut Vec<String>) -> Result<Vec<Map<String, Json>>, Error> {
    let data = spec.get("data").ok_or_else(|| unsupported("no \"data\""))?;
    let values = data
        .get("values")
        .and_then(Json::as_array)
        .ok_or_else(|| unsupported("only inline data (\"data\": {\"values\": [...]}) is supported"))?;
    let mut rows: Vec<Map<String, Json>> = values
        .iter()
        .take(MAX_ROWS)
        .map(|v| match v {
            Json::Object(o) => o.clone(),
            other => Map::from_iter([("data".to_string(), other.clone())]),
        })
        .collect();
    if let Some(transforms) = spec.get("transform") {
        let list = transforms.as_array().ok_or_else(|| unsupported("\"transform\" must be a list"))?;
        for t in list {
            rows = fold(t, rows)?;
        }
    }
    let total = values.len();
    if total > MAX_ROWS || rows.len() > MAX_ROWS {
        rows.truncate(MAX_ROWS);
        notes.push(format!("rendered the first {} of {} data rows", smart(MAX_ROWS as f64), smart(total as f64)));
    }
    Ok(rows)
}

/// Applies a `{"fold": [fields], "as": [key, value]}` transform; any other transform is refused.
fn fold(transform: &Json, rows: Vec<Map<String, Json>>) -> Result<Vec<Map<String, Json>>, Error> {
    let t = transform.as_object().ok_or_else(|| unsupported("a transform must be an object"))?;
    let Some(fields) = t.get("fold") else {
        let name = t.keys().next().map_or("(empty)", String::as_str);
        return Err(unsupported(format!("transform \"{name}\" is not supported (only \"fold\")")));
    };
    let fields: Vec<String> = fields
        .as_array()
        .ok_or_else(|| unsupported("\"fold\" must list field names"))?
        .iter()
        .map(|f| f.as_str().map(str::to_string).ok_or_else(|| unsupported("\"fold\" must list field names")))
        .collect::<Result<_, _>>()?;
    let names: Vec<&str> = match t.get("as") {
        None => vec!["key", "value"],
        Some(a) => a.as_array().map(|a| a.iter().filter_map(Json::as_str).collect()).unwrap_or_default(),
    };
    let [key, value] = names.as_slice() else {
        return Err(unsupported("\"fold\" needs \"as\": [key, value]"));
    };
    let mut out = Vec::with_capacity(rows.len().saturating_mul(fields.len()).min(MAX_ROWS + 1));
    'rows: for row in rows {
        for field in &fields {
            if out.len() > MAX_ROWS {
                break 'rows;
            }
            let path = field_path(field);
            let mut folded = row.clone();
            folded.insert(key.to_string(), Json::String(path.join(".")));
            folded.insert(value.to_string(), lookup(&row, &path).cloned().unwrap_or(Json::Null));
            out.push(folded);
        }
    }
    Ok(out)
}

/// The path of a Vega-Lite field reference: unescaped dots separate nested fields; a backslash escapes the next
/// character (`t\.name` is the field named `t.name`).
pub fn field_path(reference: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = reference.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), parts.last_mut()) {
                    last.push(next);
                }
            }
            '.' => parts.push(String::new()),
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts
}

fn lookup<'a>(row: &'a Map<String, Json>, path: &[String]) -> Option<&'a Json> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(row.get(first)?, |v, p| v.get(p.as_str()))
}

/// A value as a category label, as Vega-Lite shows it: `null` for missing.
fn label(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => "null".to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), smart_plain),
        Some(other) => other.to_string(),
    }
}

/// Numbers as categories keep their plain form (`2024`, not `2,024`).
fn smart_plain(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v}") }
}

/// A value on a quantitative axis: finite numbers and numeric text; anything else is left out (as Vega-Lite
/// filters invalid values).
fn quantity(v: Option<&Json>) -> Option<f64> {
    let n = match v? {
        Json::Number(n) => n.as_f64()?,
        Json::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// A colour safe to place in an SVG attribute: `#rgb`, `#rrggbb`, `#rrggbbaa` or a plain colour name.
fn safe_color(v: Option<&Json>) -> Option<String> {
    let s = v?.as_str()?.trim();
    let hex =
        s.strip_prefix('#').is_some_and(|h| matches!(h.len(), 3 | 6 | 8) && h.chars().all(|c| c.is_ascii_hexdigit()));
    let name = !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_alphabetic());
    (hex || name).then(|| s.to_string())
}

/// One encoding channel.
struct Channel<'a> {
    raw: &'a Map<String, Json>,
    path: Option<Vec<String>>,
}

impl<'a> Channel<'a> {
    fn ty(&self) -> Option<&'a str> {
        self.raw.get("type").and_then(Json::as_str)
    }

    fn is_quantitative(&self) -> bool {
        self.ty() == Some("quantitative")
    }

    fn is_discrete(&self) -> bool {
        matches!(self.ty(), Some("nominal" | "ordinal")) || (self.ty().is_none() && self.path.is_some())
    }

    fn value(&self, row: &'a Map<String, Json>) -> Option<&'a Json> {
        match &self.path {
            Some(path) => lookup(row, path),
            None => self.raw.get("value"),
        }
    }

    /// The axis or legend title: the `title` property (null hides it), else the field name.
    fn title(&self) -> Option<String> {
        match self.raw.get("title") {
            Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(Json::Array(a)) => Some(a.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(" ")),
            _ => self.path.as_ref().map(|p| p.join(".")),
        }
        .filter(|t| !t.trim().is_empty())
    }

    /// `scale.zero`, which Vega-Lite defaults to true for quantitative x and y.
    fn zero(&self) -> bool {
        self.raw.get("scale").and_then(|s| s.get("zero")).and_then(Json::as_bool).unwrap_or(true)
    }

    fn sort(&self) -> Option<&'a Json> {
        self.raw.get("sort")
    }
}

const CHANNELS: &[&str] = &["x", "y", "color", "xOffset", "yOffset", "text", "tooltip", "opacity", "size", "shape"];

/// The encoding's channels, refusing channels this renderer cannot honour (facets, ranges, detail…).
fn channels(encoding: Option<&Json>) -> Result<HashMap<&str, Channel<'_>>, Error> {
    let mut out = HashMap::new();
    let Some(encoding) = encoding else {
        return Ok(out);
    };
    let encoding = encoding.as_object().ok_or_else(|| unsupported("\"encoding\" must be an object"))?;
    for (name, def) in encoding {
        let Some(&known) = CHANNELS.iter().find(|c| **c == name.as_str()) else {
            return Err(unsupported(format!("encoding channel \"{name}\" is not supported")));
        };
        let Some(raw) = def.as_object() else { continue };
        if let Some(agg) = raw.get("aggregate")
            && agg.as_str() != Some("sum")
        {
            return Err(unsupported(format!("aggregate {agg} is not supported (only \"sum\")")));
        }
        if raw.contains_key("bin") || raw.contains_key("timeUnit") {
            return Err(unsupported(format!("\"bin\" and \"timeUnit\" are not supported (channel \"{name}\")")));
        }
        let path = raw.get("field").and_then(Json::as_str).map(field_path);
        out.insert(known, Channel { raw, path });
    }
    Ok(out)
}

/// A mark's properties, when the mark is given as an object.
type MarkProps<'a> = Option<&'a Map<String, Json>>;

/// The mark type and its properties.
fn mark(mark: &Json) -> Result<(&str, MarkProps<'_>), Error> {
    match mark {
        Json::String(s) => Ok((s.as_str(), None)),
        Json::Object(o) => {
            let ty = o.get("type").and_then(Json::as_str).ok_or_else(|| unsupported("\"mark\" has no \"type\""))?;
            Ok((ty, Some(o)))
        }
        _ => Err(unsupported("\"mark\" must be a string or an object")),
    }
}

fn mark_body(
    mark_json: &Json,
    encoding: Option<&Json>,
    rows: &[Map<String, Json>],
    notes: &mut Vec<String>,
) -> Result<Body, Error> {
    let (ty, props) = mark(mark_json)?;
    let enc = channels(encoding)?;
    let fixed = props.and_then(|p| safe_color(p.get("color")));
    match ty {
        "text" => Ok(Body::Kpi(vec![text_item(props, &enc, rows)?])),
        "bar" => Ok(Body::Bar(bars(&enc, rows, fixed, notes)?)),
        "line" => {
            let show = props.and_then(|p| p.get("point")).is_some_and(|p| p.as_bool().unwrap_or(p.is_object()));
            Ok(Body::Line(lines(&enc, rows, show, fixed, notes)?))
        }
        "point" | "circle" | "square" => Ok(Body::Scatter(points(&enc, rows, fixed, notes)?)),
        other => Err(unsupported(format!(
            "mark \"{other}\" is not supported (supported: bar, line, point, circle, square, text)"
        ))),
    }
}

/// A `layer` of text marks (the KPI).
fn kpi_layers(layer: &Json, rows: &[Map<String, Json>]) -> Result<Vec<TextItem>, Error> {
    let layers = layer.as_array().ok_or_else(|| unsupported("\"layer\" must be a list"))?;
    if layers.is_empty() || layers.len() > 8 {
        return Err(unsupported("\"layer\" must hold 1 to 8 text layers"));
    }
    layers
        .iter()
        .map(|l| {
            let (ty, props) = mark(l.get("mark").ok_or_else(|| unsupported("a layer has no \"mark\""))?)?;
            if ty != "text" {
                return Err(unsupported(format!("layers are supported for text marks only, not \"{ty}\"")));
            }
            text_item(props, &channels(l.get("encoding"))?, rows)
        })
        .collect()
}

/// A text mark: its `text` channel's first value (formatted when quantitative) or constant.
fn text_item(
    props: Option<&Map<String, Json>>,
    enc: &HashMap<&str, Channel>,
    rows: &[Map<String, Json>],
) -> Result<TextItem, Error> {
    if enc.contains_key("x") || enc.contains_key("y") {
        return Err(unsupported("text marks placed by x/y are not supported (only a centred KPI)"));
    }
    let channel = enc.get("text").ok_or_else(|| unsupported("a text mark needs a \"text\" channel"))?;
    let value = match &channel.path {
        Some(_) => rows.first().and_then(|r| channel.value(r)),
        None => channel.raw.get("value"),
    };
    let text = match (channel.is_quantitative(), quantity(value)) {
        (true, Some(n)) => d3(channel.raw.get("format").and_then(Json::as_str).unwrap_or(""), n),
        _ => label(value),
    };
    let prop = |k: &str| props.and_then(|p| p.get(k));
    Ok(TextItem {
        text,
        size: prop("fontSize").and_then(Json::as_f64).filter(|s| s.is_finite()).unwrap_or(11.0).clamp(4.0, 200.0),
        dy: prop("dy").and_then(Json::as_f64).filter(|s| s.is_finite()).unwrap_or(0.0).clamp(-1000.0, 1000.0),
        bold: prop("fontWeight").is_some_and(|w| w.as_str() == Some("bold") || w.as_f64().is_some_and(|n| n >= 600.0)),
        color: safe_color(prop("color")),
    })
}

/// Distinct values in the order a `sort` asks: `null` keeps first appearance, a list puts its values first,
/// `"ascending"` (the default) and `"descending"` compare numbers as numbers and text as text.
fn domain(values: impl Iterator<Item = String>, sort: Option<&Json>) -> Result<Vec<String>, Error> {
    let mut seen = HashMap::new();
    let mut order = Vec::new();
    for v in values {
        if !seen.contains_key(&v) {
            seen.insert(v.clone(), order.len());
            order.push(v);
        }
    }
    match sort {
        Some(Json::Null) => {}
        Some(Json::Array(list)) => {
            let rank = |v: &String| list.iter().position(|l| label(Some(l)) == *v).unwrap_or(usize::MAX);
            order.sort_by_key(|v| (rank(v), seen.get(v).copied().unwrap_or(0)));
        }
        None | Some(Json::String(_)) => {
            let descending = match sort.and_then(Json::as_str) {
                None | Some("ascending") => false,
                Some("descending") => true,
                Some(other) => {
                    return Err(unsupported(format!("sort \"{other}\" is not supported here")));
                }
            };
            order.sort_by(natural);
            if descending {
                order.reverse();
            }
        }
        Some(other) => return Err(unsupported(format!("sort {other} is not supported"))),
    }
    Ok(order)
}

/// Numbers by value, then text by code point.
fn natural(a: &String, b: &String) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        _ => a.cmp(b),
    }
}

fn index_of(domain: &[String]) -> HashMap<&str, usize> {
    domain.iter().enumerate().map(|(i, v)| (v.as_str(), i)).collect()
}

/// The legend of a colour channel with a field, or `None`.
fn legend(color: Option<&Channel>, rows: &[Map<String, Json>]) -> Result<Option<Legend>, Error> {
    let Some(color) = color.filter(|c| c.path.is_some()) else {
        return Ok(None);
    };
    if color.is_quantitative() || color.ty() == Some("temporal") {
        return Err(unsupported("colour must be nominal or ordinal"));
    }
    let entries = domain(rows.iter().map(|r| label(color.value(r))), color.sort())?;
    Ok(Some(Legend { title: color.title(), entries }))
}

/// Bars from the rows: summed per (category, group, colour), stacked when coloured without an offset.
fn bars(
    enc: &HashMap<&str, Channel>,
    rows: &[Map<String, Json>],
    fixed: Option<String>,
    notes: &mut Vec<String>,
) -> Result<Bars, Error> {
    let (x, y) = (enc.get("x"), enc.get("y"));
    let (Some(x), Some(y)) = (x, y) else {
        return Err(unsupported("a bar chart needs \"x\" and \"y\""));
    };
    let (band, value, horizontal, offset) = if x.is_discrete() && y.is_quantitative() {
        (x, y, false, enc.get("xOffset"))
    } else if y.is_discrete() && x.is_quantitative() {
        (y, x, true, enc.get("yOffset"))
    } else {
        return Err(unsupported("a bar chart needs one nominal or ordinal axis and one quantitative axis"));
    };
    let color = enc.get("color");
    let legend = legend(color, rows)?;
    let categories = band_domain(band, value, rows)?;
    let mut categories = categories;
    if categories.len() > MAX_BANDS {
        notes.push(format!("showing the first {MAX_BANDS} of {} categories", smart(categories.len() as f64)));
        categories.truncate(MAX_BANDS);
    }
    let groups = match offset.filter(|o| o.path.is_some()) {
        Some(o) => domain(rows.iter().map(|r| label(o.value(r))), o.sort())?,
        None => Vec::new(),
    };
    let stacked = legend.is_some() && groups.is_empty();
    let (cat_ix, group_ix) = (index_of(&categories), index_of(&groups));
    let color_ix = legend.as_ref().map(|l| index_of(&l.entries)).unwrap_or_default();
    let mut sums: Vec<((usize, usize, usize), f64, String)> = Vec::new();
    let mut slot: HashMap<(usize, usize, usize), usize> = HashMap::new();
    for row in rows {
        let cat_label = label(band.value(row));
        let Some(&c) = cat_ix.get(cat_label.as_str()) else {
            continue;
        };
        let Some(v) = quantity(value.value(row)) else {
            continue;
        };
        let g = offset.and_then(|o| group_ix.get(label(o.value(row)).as_str()).copied()).unwrap_or(0);
        let color_label = color.filter(|c| c.path.is_some()).map(|ch| label(ch.value(row)));
        let k = color_label.as_deref().and_then(|l| color_ix.get(l).copied()).unwrap_or(0);
        let key = (c, g, k);
        match slot.get(&key) {
            Some(&i) => sums[i].1 += v,
            None => {
                slot.insert(key, sums.len());
                let series = color_label.map(|l| format!(" · {l}")).unwrap_or_default();
                sums.push((key, v, format!("{cat_label}{series}")));
            }
        }
    }
    let bars = place_bars(sums, stacked);
    Ok(Bars {
        horizontal,
        categories,
        groups: groups.len().max(1),
        bars,
        band_title: band.title(),
        value_title: value.title(),
        legend,
        color: color.and_then(|c| safe_color(c.raw.get("value"))).or(fixed),
    })
}

/// The band axis domain: its own sort, or by the value channel's sums for `"x"`, `"-x"`, `"y"`, `"-y"`.
fn band_domain(band: &Channel, value: &Channel, rows: &[Map<String, Json>]) -> Result<Vec<String>, Error> {
    let by_value = band.sort().and_then(Json::as_str).filter(|s| matches!(*s, "x" | "-x" | "y" | "-y"));
    let Some(order) = by_value else {
        return domain(rows.iter().map(|r| label(band.value(r))), band.sort());
    };
    let mut labels = domain(rows.iter().map(|r| label(band.value(r))), Some(&Json::Null))?;
    let mut totals: HashMap<String, f64> = HashMap::new();
    for row in rows {
        *totals.entry(label(band.value(row))).or_default() += quantity(value.value(row)).unwrap_or(0.0);
    }
    let total = |l: &String| totals.get(l).copied().unwrap_or(0.0);
    labels.sort_by(|a, b| total(a).partial_cmp(&total(b)).unwrap_or(Ordering::Equal));
    if order.starts_with('-') {
        labels.reverse();
    }
    Ok(labels)
}

/// Start and end of each bar; stacked bars pile positives up and negatives down per category, in colour order.
fn place_bars(mut sums: Vec<((usize, usize, usize), f64, String)>, stacked: bool) -> Vec<Bar> {
    if stacked {
        sums.sort_by_key(|(key, _, _)| (key.0, key.2));
    }
    let mut up: HashMap<usize, f64> = HashMap::new();
    let mut down: HashMap<usize, f64> = HashMap::new();
    sums.into_iter()
        .map(|((category, group, color), v, tip)| {
            let start = if !stacked {
                0.0
            } else if v >= 0.0 {
                let s = up.entry(category).or_default();
                std::mem::replace(s, *s + v)
            } else {
                let s = down.entry(category).or_default();
                std::mem::replace(s, *s + v)
            };
            Bar { category, group, color, start, end: start + v, tip: format!("{tip}: {}", smart(v)) }
        })
        .collect()
}

fn lines(
    enc: &HashMap<&str, Channel>,
    rows: &[Map<String, Json>],
    show_points: bool,
    fixed: Option<String>,
    notes: &mut Vec<String>,
) -> Result<Lines, Error> {
    let (Some(x), Some(y)) = (enc.get("x"), enc.get("y")) else {
        return Err(unsupported("a line chart needs \"x\" and \"y\""));
    };
    if !y.is_quantitative() {
        return Err(unsupported("a line chart needs a quantitative \"y\""));
    }
    let axis = match x.ty() {
        Some("temporal") => XAxis::Temporal,
        Some("quantitative") => XAxis::Linear { zero: x.zero() },
        _ if x.is_discrete() => XAxis::Discrete(domain(rows.iter().map(|r| label(x.value(r))), x.sort())?),
        _ => {
            return Err(unsupported("a line chart's \"x\" must be temporal, ordinal, nominal or quantitative"));
        }
    };
    let color = enc.get("color");
    let legend = legend(color, rows)?;
    let series_ix = legend.as_ref().map(|l| index_of(&l.entries)).unwrap_or_default();
    let discrete_ix = match &axis {
        XAxis::Discrete(d) => index_of(d),
        _ => HashMap::new(),
    };
    let mut series: Vec<Vec<LinePoint>> = vec![Vec::new(); legend.as_ref().map_or(1, |l| l.entries.len().max(1))];
    let mut kept = 0;
    for row in rows.iter().take(MAX_LINE_POINTS) {
        let xv = x.value(row);
        let xpos = match &axis {
            XAxis::Temporal => match xv {
                Some(Json::String(s)) => iso_timestamp_ms(s),
                other => quantity(other),
            },
            XAxis::Linear { .. } => quantity(xv),
            XAxis::Discrete(_) => discrete_ix.get(label(xv).as_str()).map(|&i| i as f64),
        };
        let Some(xpos) = xpos else { continue };
        let s = color.filter(|c| c.path.is_some()).and_then(|c| series_ix.get(label(c.value(row)).as_str()).copied());
        let yv = quantity(y.value(row));
        let name =
            color.filter(|c| c.path.is_some()).map(|c| format!("{} · ", label(c.value(row)))).unwrap_or_default();
        let tip = format!("{name}{}: {}", label(xv), yv.map_or("null".to_string(), smart));
        if let Some(list) = series.get_mut(s.unwrap_or(0)) {
            list.push(LinePoint { x: xpos, y: yv, tip });
            kept += 1;
        }
    }
    if rows.len() > MAX_LINE_POINTS {
        notes.push(format!("drew the first {} of {} points", smart(kept as f64), smart(rows.len() as f64)));
    }
    for list in &mut series {
        list.sort_by(|a, b| a.x.partial_cmp(&b.x).unwrap_or(Ordering::Equal));
    }
    Ok(Lines {
        x: axis,
        series,
        show_points,
        x_title: x.title(),
        y_title: y.title(),
        legend,
        zero: y.zero(),
        color: color.and_then(|c| safe_color(c.raw.get("value"))).or(fixed),
    })
}

fn points(
    enc: &HashMap<&str, Channel>,
    rows: &[Map<String, Json>],
    fixed: Option<String>,
    notes: &mut Vec<String>,
) -> Result<Points, Error> {
    let (Some(x), Some(y)) = (enc.get("x"), enc.get("y")) else {
        return Err(unsupported("a point chart needs \"x\" and \"y\""));
    };
    if !(x.is_quantitative() && y.is_quantitative()) {
        return Err(unsupported("a point chart needs quantitative \"x\" and \"y\""));
    }
    let color = enc.get("color");
    let legend = legend(color, rows)?;
    let color_ix = legend.as_ref().map(|l| index_of(&l.entries)).unwrap_or_default();
    let mut out = Vec::new();
    for row in rows {
        let (Some(xv), Some(yv)) = (quantity(x.value(row)), quantity(y.value(row))) else {
            continue;
        };
        if out.len() == MAX_POINTS {
            notes.push(format!("drew the first {} points", smart(MAX_POINTS as f64)));
            break;
        }
        let series = color.filter(|c| c.path.is_some()).map(|c| label(c.value(row)));
        let k = series.as_deref().and_then(|s| color_ix.get(s).copied()).unwrap_or(0);
        let prefix = series.map(|s| format!("{s} · ")).unwrap_or_default();
        out.push(Point { x: xv, y: yv, color: k, tip: format!("{prefix}{}, {}", smart(xv), smart(yv)) });
    }
    Ok(Points {
        points: out,
        x_title: x.title(),
        y_title: y.title(),
        zero_x: x.zero(),
        zero_y: y.zero(),
        legend,
        color: color.and_then(|c| safe_color(c.raw.get("value"))).or(fixed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(spec: Json) -> String {
        match parse(&spec) {
            Err(e) => {
                assert_eq!(e.code, ErrorCode::InvalidArgument);
                e.message
            }
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    #[test]
    fn field_paths_unescape() {
        assert_eq!(field_path("a"), ["a"]);
        assert_eq!(field_path("t\\.name"), ["t.name"]);
        assert_eq!(field_path("a.b"), ["a", "b"]);
        assert_eq!(field_path("x\\\\"), ["x\\"]);
        assert_eq!(field_path("trailing\\"), ["trailing"]);
    }

    #[test]
    fn refuses_what_it_cannot_draw() {
        assert!(err(json!([])).contains("object"));
        assert!(err(json!({"mark": "bar"})).contains("data"));
        assert!(err(json!({"data": {"url": "http://x"}, "mark": "bar"})).contains("inline"));
        assert!(err(json!({"data": {"values": []}, "mark": "area"})).contains("\"area\""));
        assert!(err(json!({"data": {"values": []}})).contains("mark"));
        assert!(err(json!({"data": {"values": []}, "mark": "bar", "transform": [{"filter": "x"}]})).contains("filter"));
        assert!(
            err(json!({"data": {"values": []}, "mark": "bar", "encoding": {"row": {"field": "a"}}})).contains("row")
        );
        assert!(
            err(json!({"data": {"values": []}, "mark": "bar", "encoding": {"x": {"field": "a", "type": "nominal"}}}))
                .contains("\"y\"")
        );
        let both_quant = json!({"data": {"values": []}, "mark": "bar", "encoding": {
            "x": {"field": "a", "type": "quantitative"}, "y": {"field": "b", "type": "quantitative"}}});
        assert!(err(both_quant).contains("nominal"));
        let mean = json!({"data": {"values": []}, "mark": "bar", "encoding": {
            "x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative", "aggregate": "mean"}}});
        assert!(err(mean).contains("aggregate"));
        assert!(err(json!({"data": {"values": []}, "layer": [{"mark": "bar"}]})).contains("text"));
        assert!(err(json!({"data": {"values": []}, "mark": 3})).contains("mark"));
        assert!(err(json!({"data": {"values": []}, "hconcat": []})).contains("hconcat"));
    }

    #[test]
    fn duplicate_categories_sum_and_nulls_drop() {
        let spec = json!({"data": {"values": [
            {"c": "a", "v": 1}, {"c": "a", "v": 2}, {"c": "b", "v": null}, {"c": null, "v": 4}, {"c": "d", "v": "5"}
        ]}, "mark": "bar", "encoding": {"x": {"field": "c", "type": "nominal", "sort": null}, "y": {"field": "v", "type": "quantitative"}}});
        let Body::Bar(b) = parse(&spec).expect("parses").body else { panic!("bar") };
        assert_eq!(b.categories, ["a", "b", "null", "d"]);
        let ends: Vec<(usize, f64)> = b.bars.iter().map(|bar| (bar.category, bar.end)).collect();
        assert_eq!(ends, [(0, 3.0), (2, 4.0), (3, 5.0)]);
    }

    #[test]
    fn colour_without_offset_stacks() {
        let spec = json!({"data": {"values": [
            {"c": "a", "s": "p", "v": 2}, {"c": "a", "s": "q", "v": 3}, {"c": "a", "s": "r", "v": -1}
        ]}, "mark": "bar", "encoding": {"x": {"field": "c", "type": "nominal"}, "y": {"field": "v", "type": "quantitative"},
            "color": {"field": "s", "type": "nominal"}}});
        let Body::Bar(b) = parse(&spec).expect("parses").body else { panic!("bar") };
        let spans: Vec<(f64, f64)> = b.bars.iter().map(|bar| (bar.start, bar.end)).collect();
        assert_eq!(spans, [(0.0, 2.0), (2.0, 5.0), (0.0, -1.0)]);
    }

    #[test]
    fn fold_respects_escaped_fields_and_caps() {
        let spec = json!({"data": {"values": [{"a.b": 1, "c": 2}]}, "transform": [{"fold": ["a\\.b", "c"], "as": ["k", "v"]}],
            "mark": "bar", "encoding": {"x": {"field": "k", "type": "nominal"}, "y": {"field": "v", "type": "quantitative"}}});
        let Body::Bar(b) = parse(&spec).expect("parses").body else { panic!("bar") };
        assert_eq!(b.categories, ["a.b", "c"]);
        let many: Vec<Json> = (0..60_000).map(|i| json!({"c": format!("c{i}"), "v": i})).collect();
        let spec = json!({"data": {"values": many}, "mark": "bar", "encoding": {
            "y": {"field": "c", "type": "nominal"}, "x": {"field": "v", "type": "quantitative"}}});
        let chart = parse(&spec).expect("parses");
        let Body::Bar(b) = &chart.body else { panic!("bar") };
        assert_eq!(b.categories.len(), MAX_BANDS);
        assert!(b.horizontal);
        assert_eq!(chart.subtitle.len(), 2, "{:?}", chart.subtitle);
    }

    #[test]
    fn unsafe_colours_are_ignored() {
        assert_eq!(safe_color(Some(&json!("#4c78a8"))), Some("#4c78a8".into()));
        assert_eq!(safe_color(Some(&json!("red"))), Some("red".into()));
        assert_eq!(safe_color(Some(&json!("red\" onload=\"x"))), None);
        assert_eq!(safe_color(Some(&json!("#12345"))), None);
        assert_eq!(safe_color(Some(&json!(3))), None);
    }

    #[test]
    fn domains_sort_as_asked() {
        let vals = || ["b", "10", "a", "9", "b"].into_iter().map(String::from);
        assert_eq!(domain(vals(), Some(&Json::Null)).expect("ok"), ["b", "10", "a", "9"]);
        assert_eq!(domain(vals(), None).expect("ok"), ["9", "10", "a", "b"]);
        assert_eq!(domain(vals(), Some(&json!("descending"))).expect("ok"), ["b", "a", "10", "9"]);
        assert_eq!(domain(vals(), Some(&json!(["a", "zzz"]))).expect("ok"), ["a", "b", "10", "9"]);
        assert!(domain(vals(), Some(&json!({"op": "mean"}))).is_err());
    }
}
