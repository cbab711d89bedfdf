//! Layout and drawing: title and subtitle, legend, axes with nice ticks and gridlines, then the marks.
//!
//! Invariants: all sizes derive from measured text (the embedded font), so labels never overlap the plot or each
//! other: long labels are truncated with "…", crowded labels rotate or thin out. Output size is bounded by the
//! caps in [`crate::spec`]. Drawing never fails: empty data gives a chart frame saying "No data".

use crate::format::smart;
use crate::scale::{Linear, Ticks, nice, nice_whole, time_ticks};
use crate::spec::{Bars, Body, Chart, Legend, LinePoint, Lines, Points, TextItem, XAxis};
use crate::svg::{Anchor, Font, Svg};
use crate::text::{truncate, width};

/// Vega-Lite's default categorical scheme (tableau10), so the web view and the rendered image agree.
pub const PALETTE: [&str; 10] =
    ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 440.0;
const KPI_WIDTH: f64 = 560.0;
const KPI_HEIGHT: f64 = 260.0;
const MAX_AUTO_HEIGHT: f64 = 4000.0;
const PAD: f64 = 16.0;
const TITLE_SIZE: f64 = 17.0;
const SUBTITLE_SIZE: f64 = 12.0;
const AXIS_TITLE_SIZE: f64 = 12.0;
const TICK_SIZE: f64 = 11.0;
const LEGEND_SIZE: f64 = 11.0;
const VALUE_SIZE: f64 = 10.0;
const INK: &str = "#222222";
const MUTED: &str = "#666666";
const TICK_INK: &str = "#555555";
const GRID: &str = "#e6e6e6";
const AXIS: &str = "#999999";
const ZERO: &str = "#777777";
/// Longest rotated or band label, in pixels.
const MAX_LABEL: f64 = 120.0;
/// Longest label beside horizontal bars.
const MAX_SIDE_LABEL: f64 = 180.0;
/// Values are printed on single-series bar charts with at most this many bars.
const VALUE_LABELS_UP_TO: usize = 20;
/// Line charts without a `point` property still mark points up to this many per series.
const POINTS_UP_TO: usize = 60;

/// The SVG of a parsed chart.
pub fn draw(chart: &Chart) -> String {
    match &chart.body {
        Body::Kpi(items) => kpi(chart, items),
        Body::Bar(bars) => bar_chart(chart, bars),
        Body::Line(lines) => line_chart(chart, lines),
        Body::Scatter(points) => scatter_chart(chart, points),
    }
}

fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn font(size: f64, fill: &str, anchor: Anchor) -> Font<'_> {
    Font { size, fill, bold: false, anchor }
}

fn bold(size: f64, fill: &str, anchor: Anchor) -> Font<'_> {
    Font { size, fill, bold: true, anchor }
}

fn start(chart: &Chart, width: f64, height: f64) -> Svg {
    let accessible_title = chart.title.as_deref().or(chart.description.as_deref());
    Svg::new(width, height, accessible_title, chart.description.as_deref())
}

/// Height of the title block, where the chart area begins (what [`header`] draws).
fn header_height(chart: &Chart) -> f64 {
    let title = if chart.title.is_some() { TITLE_SIZE + 6.0 } else { 0.0 };
    let subtitles = chart.subtitle.len().min(3) as f64 * (SUBTITLE_SIZE + 4.0);
    PAD + title + subtitles + 10.0
}

/// Draws the title and up to three subtitle lines; returns the y where the chart area begins.
fn header(svg: &mut Svg, chart: &Chart, canvas_width: f64) -> f64 {
    let room = canvas_width - 2.0 * PAD;
    let mut y = PAD;
    if let Some(title) = &chart.title {
        y += TITLE_SIZE;
        svg.text(PAD, y, &truncate(title, TITLE_SIZE, room), bold(TITLE_SIZE, INK, Anchor::Start), None);
        y += 6.0;
    }
    for line in chart.subtitle.iter().take(3) {
        y += SUBTITLE_SIZE + 4.0;
        svg.text(PAD, y - 4.0, &truncate(line, SUBTITLE_SIZE, room), font(SUBTITLE_SIZE, MUTED, Anchor::Start), None);
    }
    header_height(chart)
}

// ---------------------------------------------------------------------------------------------------------------
// KPI

/// Centred texts (value, label), each moved down by its `dy` as Vega-Lite does; the block as a whole is centred
/// vertically, and a text wider than the canvas is set smaller.
fn kpi(chart: &Chart, items: &[TextItem]) -> String {
    let (w, h) = (chart.width.unwrap_or(KPI_WIDTH), chart.height.unwrap_or(KPI_HEIGHT));
    let mut svg = start(chart, w, h);
    let top = header(&mut svg, chart, w);
    let room = w - 2.0 * PAD;
    let sized: Vec<(&TextItem, f64)> = items
        .iter()
        .map(|item| {
            let natural = width(&item.text, item.size);
            (item, if natural > room { item.size * room / natural } else { item.size })
        })
        .collect();
    let block_top = sized.iter().map(|(i, s)| i.dy - s / 2.0).fold(f64::INFINITY, f64::min);
    let block_bottom = sized.iter().map(|(i, s)| i.dy + s / 2.0).fold(f64::NEG_INFINITY, f64::max);
    let offset = (top + h - PAD) / 2.0 - (block_top + block_bottom) / 2.0;
    for (item, size) in sized {
        let fill = item.color.as_deref().unwrap_or(if item.bold { INK } else { MUTED });
        let f = Font { size, fill, bold: item.bold, anchor: Anchor::Middle };
        svg.text(w / 2.0, offset + item.dy + size * 0.35, &item.text, f, None);
    }
    svg.finish()
}

// ---------------------------------------------------------------------------------------------------------------
// Legend

/// What a legend entry's swatch looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swatch {
    Square,
    Line,
    Dot,
}

/// The width a legend takes at the right, including its gap to the plot; 0 without a legend.
fn legend_width(legend: Option<&Legend>) -> f64 {
    let Some(legend) = legend else { return 0.0 };
    let title = legend.title.as_deref().map_or(0.0, |t| width(t, LEGEND_SIZE));
    let entries = legend.entries.iter().map(|e| width(e, LEGEND_SIZE) + 18.0).fold(0.0, f64::max);
    title.max(entries).min(170.0) + 16.0
}

/// Draws a legend in the column starting at `x`, from `top` down to at most `bottom`.
fn draw_legend(svg: &mut Svg, legend: &Legend, x: f64, top: f64, bottom: f64, swatch: Swatch) {
    let room = 170.0;
    let mut y = top;
    if let Some(title) = &legend.title {
        y += LEGEND_SIZE;
        svg.text(x, y, &truncate(title, LEGEND_SIZE, room), bold(LEGEND_SIZE, INK, Anchor::Start), None);
        y += 6.0;
    }
    let fits = (((bottom - y) / 18.0).floor().max(1.0)) as usize;
    let shown = if legend.entries.len() > fits { fits.saturating_sub(1) } else { legend.entries.len() };
    for (i, entry) in legend.entries.iter().take(shown).enumerate() {
        let cy = y + 9.0;
        match swatch {
            Swatch::Square => svg.rect(x, cy - 5.0, 10.0, 10.0, color(i), None),
            Swatch::Line => {
                svg.line(x, cy, x + 12.0, cy, color(i), 2.0);
                svg.circle(x + 6.0, cy, 2.5, color(i), 1.0, None);
            }
            Swatch::Dot => svg.circle(x + 5.0, cy, 4.0, color(i), 0.8, None),
        }
        let text = truncate(entry, LEGEND_SIZE, room - 18.0);
        svg.text(x + 18.0, cy + 4.0, &text, font(LEGEND_SIZE, INK, Anchor::Start), None);
        y += 18.0;
    }
    if shown < legend.entries.len() {
        let more = format!("+{} more", legend.entries.len() - shown);
        svg.text(x + 18.0, y + 13.0, &more, font(LEGEND_SIZE, MUTED, Anchor::Start), None);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Axes

/// The plot area in pixels.
#[derive(Debug, Clone, Copy)]
struct Frame {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

/// Labels under the x axis: (x, text), straight or rotated by -45°, and the height they take.
struct BottomLabels {
    items: Vec<(f64, String)>,
    rotated: bool,
    extent: f64,
}

/// Labels for evenly spaced categories `step` pixels apart: straight when they fit, else rotated and truncated;
/// thinned to every k-th when even rotated labels would collide.
fn band_labels(labels: &[String], positions: Vec<f64>, step: f64) -> BottomLabels {
    let widest = labels.iter().map(|l| width(l, TICK_SIZE)).fold(0.0, f64::max);
    let (rotated, limit) = if widest <= step - 6.0 { (false, step - 6.0) } else { (true, MAX_LABEL) };
    let every = if rotated { (TICK_SIZE * 1.5 / step.max(0.1)).ceil().max(1.0) as usize } else { 1 };
    // A rotated label runs down-left from its anchor: it may not cross the canvas's left padding.
    let room = |x: f64| if rotated { limit.min((x - PAD) * std::f64::consts::SQRT_2 - TICK_SIZE) } else { limit };
    let items: Vec<(f64, String)> = labels
        .iter()
        .zip(positions)
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(_, (l, x))| (x, truncate(l, TICK_SIZE, room(x))))
        .collect();
    let longest = items.iter().map(|(_, l)| width(l, TICK_SIZE)).fold(0.0, f64::max);
    let extent = if rotated { (longest + TICK_SIZE) * std::f64::consts::FRAC_1_SQRT_2 + 10.0 } else { TICK_SIZE + 8.0 };
    BottomLabels { items, rotated, extent }
}

/// Straight tick labels, dropping any that would overlap the previous one kept.
fn tick_labels(items: Vec<(f64, String)>) -> BottomLabels {
    let mut kept: Vec<(f64, String)> = Vec::new();
    let mut last_right = f64::NEG_INFINITY;
    for (x, label) in items {
        let half = width(&label, TICK_SIZE) / 2.0;
        if x - half >= last_right + 6.0 {
            last_right = x + half;
            kept.push((x, label));
        }
    }
    BottomLabels { items: kept, rotated: false, extent: TICK_SIZE + 8.0 }
}

fn draw_bottom_labels(svg: &mut Svg, labels: &BottomLabels, axis_y: f64) {
    for (x, text) in &labels.items {
        if labels.rotated {
            svg.text(*x, axis_y + 10.0, text, font(TICK_SIZE, TICK_INK, Anchor::End), Some(-45.0));
        } else {
            svg.text(*x, axis_y + 6.0 + TICK_SIZE, text, font(TICK_SIZE, TICK_INK, Anchor::Middle), None);
        }
    }
}

/// A quantitative vertical axis: gridlines across the frame, a darker line at zero, labels at the left.
fn draw_y_ticks(svg: &mut Svg, frame: Frame, ticks: &Ticks, scale: &Linear) {
    for (value, label) in ticks.values.iter().zip(ticks.labels()) {
        let y = scale.map(*value);
        let stroke = if *value == 0.0 && ticks.lo < 0.0 { ZERO } else { GRID };
        svg.line(frame.left, y, frame.right, y, stroke, 1.0);
        svg.text(frame.left - 6.0, y + TICK_SIZE * 0.35, &label, font(TICK_SIZE, TICK_INK, Anchor::End), None);
    }
}

/// Vertical gridlines (a darker one at zero) for a quantitative x axis.
fn draw_x_grid(svg: &mut Svg, frame: Frame, ticks: &Ticks, scale: &Linear) {
    for value in &ticks.values {
        let x = scale.map(*value);
        let stroke = if *value == 0.0 && ticks.lo < 0.0 { ZERO } else { GRID };
        svg.line(x, frame.top, x, frame.bottom, stroke, 1.0);
    }
}

/// Axis titles: x centred under the labels, y rotated at the left edge.
fn draw_axis_titles(svg: &mut Svg, frame: Frame, x_title: Option<&str>, y_title: Option<&str>, canvas_h: f64) {
    if let Some(t) = x_title {
        let text = truncate(t, AXIS_TITLE_SIZE, frame.right - frame.left);
        let f = bold(AXIS_TITLE_SIZE, INK, Anchor::Middle);
        svg.text((frame.left + frame.right) / 2.0, canvas_h - PAD, &text, f, None);
    }
    if let Some(t) = y_title {
        let text = truncate(t, AXIS_TITLE_SIZE, frame.bottom - frame.top);
        let (x, y) = (PAD + AXIS_TITLE_SIZE, (frame.top + frame.bottom) / 2.0);
        svg.text(x, y, &text, bold(AXIS_TITLE_SIZE, INK, Anchor::Middle), Some(-90.0));
    }
}

fn no_data(svg: &mut Svg, frame: Frame) {
    let (x, y) = ((frame.left + frame.right) / 2.0, (frame.top + frame.bottom) / 2.0);
    svg.text(x, y, "No data", font(14.0, MUTED, Anchor::Middle), None);
}

/// About one tick per `spacing` pixels, at least 2 and at most 10.
fn tick_target(length: f64, spacing: f64) -> usize {
    ((length / spacing).floor() as usize).clamp(2, 10)
}

/// The left margin for y labels and an optional rotated y title.
fn left_margin(labels: &[String], has_title: bool) -> f64 {
    let widest = labels.iter().map(|l| width(l, TICK_SIZE)).fold(0.0, f64::max);
    PAD + if has_title { AXIS_TITLE_SIZE + 8.0 } else { 0.0 } + widest + 8.0
}

/// The bottom margin below the x labels, for an optional x title.
fn bottom_margin(labels: &BottomLabels, has_title: bool) -> f64 {
    PAD + if has_title { AXIS_TITLE_SIZE + 8.0 } else { 0.0 } + labels.extent
}

/// Smallest and largest of finite values, or `None` for none.
fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Bars

/// Vega-Lite's band scale: inner padding 0.1, outer padding 0.05.
struct Band {
    start: f64,
    step: f64,
}

impl Band {
    fn new(r0: f64, r1: f64, n: usize) -> Band {
        let n = n.max(1) as f64;
        let step = (r1 - r0) / (n - 0.1 + 2.0 * 0.05);
        Band { start: r0 + step * 0.05, step }
    }
    fn at(&self, i: usize) -> f64 {
        self.start + self.step * i as f64
    }
    fn bandwidth(&self) -> f64 {
        self.step * 0.9
    }
}

fn bar_chart(chart: &Chart, bars: &Bars) -> String {
    if bars.horizontal { horizontal_bars(chart, bars) } else { vertical_bars(chart, bars) }
}

/// Whether to print each bar's value: a single series of few bars.
fn value_labels(bars: &Bars) -> bool {
    bars.legend.is_none() && bars.groups == 1 && bars.bars.len() <= VALUE_LABELS_UP_TO
}

/// The value-axis ticks for bars (always including zero), with headroom for printed values.
fn bar_ticks(bars: &Bars, target: usize, headroom: bool) -> Ticks {
    let ends = || bars.bars.iter().flat_map(|b| [b.start, b.end]);
    let (lo, hi) = extent(ends()).unwrap_or((0.0, 0.0));
    let grow = if headroom { 1.1 } else { 1.0 };
    if ends().all(|v| v.fract() == 0.0) {
        nice_whole(lo * grow, hi * grow, target, true)
    } else {
        nice(lo * grow, hi * grow, target, true)
    }
}

fn bar_fill(bars: &Bars, color_index: usize) -> String {
    match (&bars.color, &bars.legend) {
        (Some(fixed), None) => fixed.clone(),
        _ => color(color_index).to_string(),
    }
}

fn vertical_bars(chart: &Chart, bars: &Bars) -> String {
    let (w, h) = (chart.width.unwrap_or(WIDTH), chart.height.unwrap_or(HEIGHT));
    let mut svg = start(chart, w, h);
    let top = header(&mut svg, chart, w);
    let right = w - PAD - legend_width(bars.legend.as_ref());
    let show_values = value_labels(bars);
    let ticks = bar_ticks(bars, tick_target(h - top - 80.0, 50.0), show_values);
    let left = left_margin(&ticks.labels(), bars.value_title.is_some());
    let band = Band::new(left, right, bars.categories.len());
    let centres = (0..bars.categories.len()).map(|i| band.at(i) + band.bandwidth() / 2.0).collect();
    let labels = band_labels(&bars.categories, centres, band.step);
    let bottom = h - bottom_margin(&labels, bars.band_title.is_some());
    let frame = Frame { left, top, right, bottom: bottom.max(top + 20.0) };
    let scale = Linear { d0: ticks.lo, d1: ticks.hi, r0: frame.bottom, r1: frame.top };
    draw_y_ticks(&mut svg, frame, &ticks, &scale);
    let sub = band.bandwidth() / bars.groups as f64;
    let gap = if bars.groups > 1 { 1.0f64.min(sub * 0.2) } else { 0.0 };
    let fits = bars.bars.iter().all(|b| width(&smart(b.end - b.start), VALUE_SIZE) <= band.step);
    for bar in &bars.bars {
        let x = band.at(bar.category) + sub * bar.group as f64 + gap / 2.0;
        let (y0, y1) = (scale.map(bar.start), scale.map(bar.end));
        svg.rect(x, y0, sub - gap, y1 - y0, &bar_fill(bars, bar.color), Some(&bar.tip));
        if show_values && fits {
            let v = bar.end - bar.start;
            let y = if v >= 0.0 { y1 - 4.0 } else { y1 + VALUE_SIZE + 2.0 };
            svg.text(x + sub / 2.0, y, &smart(v), font(VALUE_SIZE, TICK_INK, Anchor::Middle), None);
        }
    }
    svg.line(frame.left, scale.map(0.0), frame.right, scale.map(0.0), ZERO, 1.0);
    draw_bottom_labels(&mut svg, &labels, frame.bottom);
    if bars.bars.is_empty() {
        no_data(&mut svg, frame);
    }
    draw_axis_titles(&mut svg, frame, bars.band_title.as_deref(), bars.value_title.as_deref(), h);
    if let Some(legend) = &bars.legend {
        draw_legend(&mut svg, legend, right + 16.0, top, frame.bottom, Swatch::Square);
    }
    svg.finish()
}

fn horizontal_bars(chart: &Chart, bars: &Bars) -> String {
    let w = chart.width.unwrap_or(WIDTH);
    let top = header_height(chart);
    let has_x_title = bars.value_title.is_some();
    let bottom_space = PAD + if has_x_title { AXIS_TITLE_SIZE + 8.0 } else { 0.0 } + TICK_SIZE + 8.0;
    let step = (bars.groups as f64 * 12.0 + 8.0).clamp(22.0, 60.0);
    let n = bars.categories.len().max(1) as f64;
    let auto = (top + n * step + bottom_space).clamp(240.0, MAX_AUTO_HEIGHT);
    let h = chart.height.unwrap_or(auto);
    let mut svg = start(chart, w, h);
    header(&mut svg, chart, w);
    let limit = MAX_SIDE_LABEL.min(w * 0.3);
    let labels: Vec<String> = bars.categories.iter().map(|c| truncate(c, TICK_SIZE, limit)).collect();
    let left = left_margin(&labels, bars.band_title.is_some());
    let show_values = value_labels(bars);
    let value_room = if show_values {
        bars.bars.iter().map(|b| width(&smart(b.end - b.start), VALUE_SIZE)).fold(0.0, f64::max) + 8.0
    } else {
        0.0
    };
    let right = w - PAD - legend_width(bars.legend.as_ref());
    let frame = Frame { left, top, right, bottom: (h - bottom_space).max(top + 20.0) };
    let ticks = bar_ticks(bars, tick_target(frame.right - frame.left - value_room, 90.0), false);
    let scale =
        Linear { d0: ticks.lo, d1: ticks.hi, r0: frame.left, r1: (frame.right - value_room).max(frame.left + 10.0) };
    draw_x_grid(&mut svg, frame, &ticks, &scale);
    let band = Band::new(frame.top, frame.bottom, bars.categories.len());
    for (i, label) in labels.iter().enumerate() {
        let y = band.at(i) + band.bandwidth() / 2.0 + TICK_SIZE * 0.35;
        svg.text(frame.left - 6.0, y, label, font(TICK_SIZE, TICK_INK, Anchor::End), None);
    }
    let sub = band.bandwidth() / bars.groups as f64;
    let gap = if bars.groups > 1 { 1.0f64.min(sub * 0.2) } else { 0.0 };
    for bar in &bars.bars {
        let y = band.at(bar.category) + sub * bar.group as f64 + gap / 2.0;
        let (x0, x1) = (scale.map(bar.start), scale.map(bar.end));
        svg.rect(x0, y, x1 - x0, sub - gap, &bar_fill(bars, bar.color), Some(&bar.tip));
        if show_values {
            let v = bar.end - bar.start;
            let (x, anchor) = if v >= 0.0 { (x1 + 4.0, Anchor::Start) } else { (x1 - 4.0, Anchor::End) };
            svg.text(x, y + sub / 2.0 + VALUE_SIZE * 0.35, &smart(v), font(VALUE_SIZE, TICK_INK, anchor), None);
        }
    }
    svg.line(scale.map(0.0), frame.top, scale.map(0.0), frame.bottom, ZERO, 1.0);
    let items = ticks.values.iter().zip(ticks.labels()).map(|(v, l)| (scale.map(*v), l)).collect();
    draw_bottom_labels(&mut svg, &tick_labels(items), frame.bottom);
    if bars.bars.is_empty() {
        no_data(&mut svg, frame);
    }
    draw_axis_titles(&mut svg, frame, bars.value_title.as_deref(), bars.band_title.as_deref(), h);
    if let Some(legend) = &bars.legend {
        draw_legend(&mut svg, legend, right + 16.0, top, frame.bottom, Swatch::Square);
    }
    svg.finish()
}

// ---------------------------------------------------------------------------------------------------------------
// Lines

/// How x values become pixels on a line chart.
enum XScale {
    Continuous(Linear),
    /// A point scale: `start + step * (i + 0.5)`.
    Points {
        start: f64,
        step: f64,
    },
}

impl XScale {
    fn map(&self, x: f64) -> f64 {
        match self {
            XScale::Continuous(s) => s.map(x),
            XScale::Points { start, step } => start + step * (x + 0.5),
        }
    }
}

fn line_chart(chart: &Chart, lines: &Lines) -> String {
    let (w, h) = (chart.width.unwrap_or(WIDTH), chart.height.unwrap_or(HEIGHT));
    let mut svg = start(chart, w, h);
    let top = header(&mut svg, chart, w);
    let right = w - PAD - legend_width(lines.legend.as_ref());
    let all = || lines.series.iter().flatten();
    let (ylo, yhi) = extent(all().filter_map(|p| p.y)).unwrap_or((0.0, 0.0));
    let yticks = nice(ylo, yhi, tick_target(h - top - 80.0, 50.0), lines.zero);
    let left = left_margin(&yticks.labels(), lines.y_title.is_some());
    let (xscale, labels, xgrid) = line_x(lines, left, right);
    let bottom = h - bottom_margin(&labels, lines.x_title.is_some());
    let frame = Frame { left, top, right, bottom: bottom.max(top + 20.0) };
    let yscale = Linear { d0: yticks.lo, d1: yticks.hi, r0: frame.bottom, r1: frame.top };
    draw_y_ticks(&mut svg, frame, &yticks, &yscale);
    if let Some((ticks, scale)) = &xgrid {
        draw_x_grid(&mut svg, frame, ticks, scale);
    }
    svg.line(frame.left, frame.bottom, frame.right, frame.bottom, AXIS, 1.0);
    for (i, series) in lines.series.iter().enumerate() {
        let stroke = match (&lines.color, &lines.legend) {
            (Some(fixed), None) => fixed.clone(),
            _ => color(i).to_string(),
        };
        draw_series(&mut svg, series, &xscale, &yscale, &stroke, lines.show_points || series.len() <= POINTS_UP_TO);
    }
    draw_bottom_labels(&mut svg, &labels, frame.bottom);
    if all().all(|p| p.y.is_none()) {
        no_data(&mut svg, frame);
    }
    draw_axis_titles(&mut svg, frame, lines.x_title.as_deref(), lines.y_title.as_deref(), h);
    if let Some(legend) = &lines.legend {
        draw_legend(&mut svg, legend, right + 16.0, top, frame.bottom, Swatch::Line);
    }
    svg.finish()
}

/// The x scale, its labels and (for continuous axes) its grid ticks.
fn line_x(lines: &Lines, left: f64, right: f64) -> (XScale, BottomLabels, Option<(Ticks, Linear)>) {
    let xs = || lines.series.iter().flatten().map(|p| p.x);
    let target = tick_target(right - left, 90.0);
    match &lines.x {
        XAxis::Discrete(domain) => {
            let step = (right - left) / domain.len().max(1) as f64;
            let centres = (0..domain.len()).map(|i| left + step * (i as f64 + 0.5)).collect();
            (XScale::Points { start: left, step }, band_labels(domain, centres, step), None)
        }
        XAxis::Temporal => {
            let (lo, hi) = extent(xs()).unwrap_or((0.0, 0.0));
            let (lo, hi) = if lo == hi { (lo - 43_200_000.0, hi + 43_200_000.0) } else { (lo, hi) };
            let scale = Linear { d0: lo, d1: hi, r0: left, r1: right };
            let items = time_ticks(lo, hi, target).into_iter().map(|(t, l)| (scale.map(t), l)).collect();
            (XScale::Continuous(scale), tick_labels(items), None)
        }
        XAxis::Linear { zero } => {
            let (lo, hi) = extent(xs()).unwrap_or((0.0, 0.0));
            let ticks = nice(lo, hi, target, *zero);
            let scale = Linear { d0: ticks.lo, d1: ticks.hi, r0: left, r1: right };
            let items = ticks.values.iter().zip(ticks.labels()).map(|(v, l)| (scale.map(*v), l)).collect();
            (XScale::Continuous(scale), tick_labels(items), Some((ticks, scale)))
        }
    }
}

/// One series: a path per run of non-null points; isolated points and (when asked) every point as a dot.
fn draw_series(svg: &mut Svg, series: &[LinePoint], x: &XScale, y: &Linear, stroke: &str, dots: bool) {
    let mut run: Vec<(f64, f64)> = Vec::new();
    let flush = |svg: &mut Svg, run: &mut Vec<(f64, f64)>| {
        match run.len() {
            0 => {}
            1 => svg.circle(run[0].0, run[0].1, 2.5, stroke, 1.0, None),
            _ => svg.path(run, stroke, 2.0),
        }
        run.clear();
    };
    for p in series {
        match p.y {
            Some(v) => run.push((x.map(p.x), y.map(v))),
            None => flush(svg, &mut run),
        }
    }
    flush(svg, &mut run);
    if dots {
        for p in series {
            if let Some(v) = p.y {
                svg.circle(x.map(p.x), y.map(v), 3.0, stroke, 1.0, Some(&p.tip));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Points

fn scatter_chart(chart: &Chart, points: &Points) -> String {
    let (w, h) = (chart.width.unwrap_or(WIDTH), chart.height.unwrap_or(HEIGHT));
    let mut svg = start(chart, w, h);
    let top = header(&mut svg, chart, w);
    let right = w - PAD - legend_width(points.legend.as_ref());
    let (ylo, yhi) = extent(points.points.iter().map(|p| p.y)).unwrap_or((0.0, 0.0));
    let yticks = nice(ylo, yhi, tick_target(h - top - 80.0, 50.0), points.zero_y);
    let left = left_margin(&yticks.labels(), points.y_title.is_some());
    let (xlo, xhi) = extent(points.points.iter().map(|p| p.x)).unwrap_or((0.0, 0.0));
    let xticks = nice(xlo, xhi, tick_target(right - left, 90.0), points.zero_x);
    let xscale = Linear { d0: xticks.lo, d1: xticks.hi, r0: left, r1: right };
    let items = xticks.values.iter().zip(xticks.labels()).map(|(v, l)| (xscale.map(*v), l)).collect();
    let labels = tick_labels(items);
    let bottom = h - bottom_margin(&labels, points.x_title.is_some());
    let frame = Frame { left, top, right, bottom: bottom.max(top + 20.0) };
    let yscale = Linear { d0: yticks.lo, d1: yticks.hi, r0: frame.bottom, r1: frame.top };
    draw_y_ticks(&mut svg, frame, &yticks, &yscale);
    draw_x_grid(&mut svg, frame, &xticks, &xscale);
    svg.line(frame.left, frame.bottom, frame.right, frame.bottom, AXIS, 1.0);
    let radius = if points.points.len() > 1000 { 2.0 } else { 3.5 };
    for p in &points.points {
        let fill = match (&points.color, &points.legend) {
            (Some(fixed), None) => fixed.clone(),
            _ => color(p.color).to_string(),
        };
        svg.circle(xscale.map(p.x), yscale.map(p.y), radius, &fill, 0.7, Some(&p.tip));
    }
    draw_bottom_labels(&mut svg, &labels, frame.bottom);
    if points.points.is_empty() {
        no_data(&mut svg, frame);
    }
    draw_axis_titles(&mut svg, frame, points.x_title.as_deref(), points.y_title.as_deref(), h);
    if let Some(legend) = &points.legend {
        draw_legend(&mut svg, legend, right + 16.0, top, frame.bottom, Swatch::Dot);
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_labels_rotate_and_thin_when_crowded() {
        let few: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let straight = band_labels(&few, vec![10.0, 110.0], 100.0);
        assert!(!straight.rotated);
        let long: Vec<String> = (0..40).map(|i| format!("아주 긴 카테고리 이름 {i}")).collect();
        let positions = (0..40).map(|i| 60.0 + i as f64 * 8.0).collect();
        let crowded = band_labels(&long, positions, 8.0);
        assert!(crowded.rotated);
        assert!(crowded.items.len() < 40 && crowded.items.len() >= 10, "{}", crowded.items.len());
        assert!(crowded.items.iter().all(|(_, l)| width(l, TICK_SIZE) <= MAX_LABEL + 1e-9));
        // The first label is cut to stay inside the canvas.
        let (x, first) = &crowded.items[0];
        assert!(x - width(first, TICK_SIZE) * std::f64::consts::FRAC_1_SQRT_2 >= PAD, "{first}");
    }

    #[test]
    fn overlapping_tick_labels_are_dropped() {
        let items = (0..10).map(|i| (i as f64 * 10.0, "1,000,000".to_string())).collect();
        let kept = tick_labels(items);
        assert!(kept.items.len() < 10 && !kept.items.is_empty());
    }

    #[test]
    fn band_scale_matches_vega_lite_padding() {
        let b = Band::new(0.0, 100.0, 1);
        assert!((b.at(0) - 5.0).abs() < 1e-9 && (b.bandwidth() - 90.0).abs() < 1e-9);
    }
}
