//! Renders every chart kind from specs made by `choose_chart`, parses the SVG back, decodes the PNG, and checks
//! Korean glyphs, escaping, errors and bounds.

use datagenie_chart::{PNG_SCALE, render_png, render_png_scaled, render_svg, render_to_file};
use datagenie_core::ErrorCode;
use datagenie_core::chart::{ChartKind, choose_chart, classify};
use datagenie_core::value::{ResultColumn, ResultSet, Value};
use resvg::tiny_skia::Pixmap;
use resvg::usvg::{self, roxmltree};
use serde_json::{Value as Json, json};

fn result(columns: &[&str], rows: Vec<Vec<Value>>) -> ResultSet {
    ResultSet {
        columns: columns.iter().map(|c| ResultColumn { name: c.to_string(), decl_type: None }).collect(),
        rows,
        truncated: false,
    }
}

fn t(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// One result per chart shape, with the kind `classify` must give it.
fn shapes() -> Vec<(&'static str, ResultSet, ChartKind)> {
    let regions = ["서울", "부산", "대구", "인천"];
    vec![
        ("kpi", result(&["총 매출"], vec![vec![Value::Decimal("-1234567.50".into())]]), ChartKind::Kpi),
        (
            "bar",
            result(&["지역", "매출"], regions.iter().map(|r| vec![t(r), Value::Int(1_500_000)]).collect()),
            ChartKind::Bar,
        ),
        (
            "bar with negatives",
            result(&["q", "profit"], vec![vec![t("Q1"), Value::Int(-5)], vec![t("Q2"), Value::Float(7.5)]]),
            ChartKind::Bar,
        ),
        (
            "grouped bar",
            result(
                &["region", "revenue", "cost"],
                regions.iter().map(|r| vec![t(r), Value::Int(10), Value::Decimal("4.25".into())]).collect(),
            ),
            ChartKind::Bar,
        ),
        (
            "coloured bar",
            result(
                &["store", "channel", "n"],
                (0..4).flat_map(|s| ["web", "app"].map(|c| vec![t(&format!("s{s}")), t(c), Value::Int(s)])).collect(),
            ),
            ChartKind::Bar,
        ),
        (
            "horizontal bar",
            result(
                &["product", "n"],
                (0..40).map(|i| vec![t(&format!("product number {i}")), Value::Int(i)]).collect(),
            ),
            ChartKind::Bar,
        ),
        (
            "temporal line",
            result(
                &["day", "sales", "returns"],
                (1..=20).map(|d| vec![t(&format!("2024-03-{d:02}")), Value::Int(d * 3), Value::Int(d)]).collect(),
            ),
            ChartKind::Line,
        ),
        (
            "ordinal multi-series line",
            result(
                &["연도", "지역", "인구"],
                (2020..2025).flat_map(|y| regions.map(|r| vec![Value::Int(y), t(r), Value::Int(y * 10)])).collect(),
            ),
            ChartKind::Line,
        ),
        (
            "scatter",
            result(&["x", "y"], (0..50).map(|i| vec![Value::Float(i as f64 * 0.5), Value::Int(-i)]).collect()),
            ChartKind::Scatter,
        ),
    ]
}

/// Parses an SVG with usvg (as the PNG path does) and with roxmltree, returning all text content.
fn svg_texts(svg: &str) -> Vec<String> {
    usvg::Tree::from_str(svg, &usvg::Options::default()).expect("usvg parses the SVG");
    let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
    doc.descendants().filter(|n| n.has_tag_name("text")).map(|n| n.text().unwrap_or_default().to_string()).collect()
}

fn svg_size(svg: &str) -> (f32, f32) {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).expect("usvg parses the SVG");
    (tree.size().width(), tree.size().height())
}

fn decode(png: &[u8]) -> Pixmap {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    Pixmap::decode_png(png).expect("PNG decodes")
}

/// Pixels that are not (nearly) white.
fn ink(pixmap: &Pixmap) -> usize {
    pixmap.pixels().iter().filter(|p| p.red() < 245 || p.green() < 245 || p.blue() < 245).count()
}

#[test]
fn every_chart_kind_renders_to_svg_and_png() {
    for (name, result, kind) in shapes() {
        assert_eq!(classify(&result), kind, "{name}");
        let spec = choose_chart("차트 제목", &result).unwrap_or_else(|| panic!("{name}: a chart"));
        let svg = render_svg(&spec).unwrap_or_else(|e| panic!("{name}: {e}"));
        let texts = svg_texts(&svg);
        assert!(texts.iter().any(|t| t == "차트 제목"), "{name}: title drawn");
        let (w, h) = svg_size(&svg);
        let pixmap = decode(&render_png(&spec).unwrap_or_else(|e| panic!("{name}: {e}")));
        assert_eq!(pixmap.width(), (w * PNG_SCALE).ceil() as u32, "{name}");
        assert_eq!(pixmap.height(), (h * PNG_SCALE).ceil() as u32, "{name}");
        assert!(ink(&pixmap) > 1000, "{name}: something was drawn");
    }
}

#[test]
fn numbers_are_formatted_with_separators_and_signs() {
    let svg = render_svg(&choose_chart("", &shapes()[0].1).expect("kpi")).expect("svg");
    assert!(svg_texts(&svg).contains(&"-1,234,567.50".to_string()));
    let svg = render_svg(&choose_chart("", &shapes()[1].1).expect("bar")).expect("svg");
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"1,500,000".to_string()), "{texts:?}");
    let svg = render_svg(&choose_chart("", &shapes()[2].1).expect("bar")).expect("svg");
    let texts = svg_texts(&svg);
    assert!(texts.iter().any(|t| t.starts_with('-') && t.len() > 1), "a negative tick: {texts:?}");
    assert!(texts.contains(&"7.5".to_string()) && texts.contains(&"-5".to_string()), "{texts:?}");
}

#[test]
fn series_get_a_legend_and_a_colour_each() {
    let spec = choose_chart("", &shapes()[7].1).expect("line");
    let svg = render_svg(&spec).expect("svg");
    let texts = svg_texts(&svg);
    for region in ["서울", "부산", "대구", "인천"] {
        assert!(texts.contains(&region.to_string()), "legend entry {region}");
    }
    for colour in &datagenie_chart::PALETTE[..4] {
        assert!(svg.contains(&format!("stroke=\"{colour}\"")), "series colour {colour}");
    }
}

#[test]
fn long_labels_are_truncated() {
    let long = "서울특별시 강남구 테헤란로 123 아주 긴 가게 이름이 계속됩니다";
    let spec =
        choose_chart("", &result(&["가게", "n"], vec![vec![t(long), Value::Int(1)], vec![t("b"), Value::Int(2)]]))
            .expect("bar");
    let texts = svg_texts(&render_svg(&spec).expect("svg"));
    assert!(texts.iter().any(|t| t.ends_with('…') && long.starts_with(t.trim_end_matches('…'))), "{texts:?}");
    assert!(!texts.contains(&long.to_string()));
}

#[test]
fn crowded_vertical_labels_rotate() {
    let spec = json!({"data": {"values": (0..30).map(|i| json!({"c": format!("category {i}"), "v": i})).collect::<Vec<_>>()},
        "mark": "bar", "encoding": {"x": {"field": "c", "type": "nominal", "sort": null}, "y": {"field": "v", "type": "quantitative"}}});
    let svg = render_svg(&spec).expect("svg");
    assert!(svg.contains("rotate(-45"), "rotated labels");
    svg_texts(&svg);
}

#[test]
fn labels_are_escaped_for_xml() {
    let nasty = r#"<b>&"x'</b>"#;
    let r = result(&[nasty, "n"], vec![vec![t(nasty), Value::Int(1)], vec![t("]]>"), Value::Int(2)]]);
    let spec = choose_chart(nasty, &r).expect("bar");
    let svg = render_svg(&spec).expect("svg");
    assert!(!svg.contains("<b>"), "raw markup must not reach the SVG");
    assert!(svg.contains("&lt;b&gt;&amp;&quot;x&apos;&lt;/b&gt;"));
    let texts = svg_texts(&svg);
    assert!(texts.iter().any(|t| t == nasty), "the label reads back unchanged: {texts:?}");
    decode(&render_png(&spec).expect("png"));
}

/// Renders a KPI-style spec whose only text is `label`, with no title.
fn only_text(label: &str) -> Pixmap {
    let spec = json!({"data": {"values": [{}]}, "layer": [
        {"mark": {"type": "text", "fontSize": 48}, "encoding": {"text": {"value": label}}}
    ]});
    decode(&render_png_scaled(&spec, 1.0).expect("png"))
}

#[test]
fn korean_glyphs_are_drawn_from_the_embedded_font() {
    let blank = only_text(" ");
    assert_eq!(ink(&blank), 0, "a blank label draws nothing");
    let ga = only_text("가");
    let na = only_text("나");
    assert!(ink(&ga) > 100, "the Hangul glyph drew pixels: {}", ink(&ga));
    assert!(ink(&na) > 100);
    // Different syllables give different shapes: real glyphs, not the same missing-glyph box.
    assert_ne!(ga.data(), na.data());
    // The label region (the canvas centre) holds the ink.
    let (w, h) = (ga.width() as usize, ga.height() as usize);
    let centre = ga
        .pixels()
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            let (x, y) = (i % w, i / w);
            x.abs_diff(w / 2) < 40 && y.abs_diff(h / 2) < 40 && p.red() < 245
        })
        .count();
    assert!(centre > 100, "{centre}");
}

#[test]
fn unsupported_specs_are_clear_errors() {
    let cases = [
        (json!(null), "object"),
        (json!({"data": {"values": []}, "mark": "arc"}), "\"arc\""),
        (json!({"data": {"url": "data.csv"}, "mark": "bar"}), "inline"),
        (json!({"data": {"values": []}, "mark": "bar", "transform": [{"calculate": "1", "as": "x"}]}), "calculate"),
        (
            json!({"data": {"values": []}, "mark": "line", "encoding": {"x": {"field": "a", "type": "temporal"}, "y": {"field": "b", "type": "nominal"}}}),
            "quantitative",
        ),
        (
            json!({"data": {"values": []}, "mark": "point", "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}}}),
            "quantitative",
        ),
        (json!({"data": {"values": []}, "vconcat": []}), "vconcat"),
    ];
    for (spec, needle) in cases {
        let err = render_svg(&spec).expect_err("unsupported");
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert!(err.message.contains(needle), "{} lacks {needle}", err.message);
        assert_eq!(render_png(&spec).expect_err("unsupported").code, ErrorCode::InvalidArgument);
    }
    assert_eq!(render_png_scaled(&shapes_spec(1), 0.0).expect_err("bad scale").code, ErrorCode::InvalidArgument);
    assert_eq!(render_png_scaled(&shapes_spec(1), f32::NAN).expect_err("bad scale").code, ErrorCode::InvalidArgument);
}

fn shapes_spec(i: usize) -> Json {
    choose_chart("t", &shapes()[i].1).expect("spec")
}

/// Every leaf of every spec replaced in turn by odd values: each render either succeeds with parseable SVG or
/// fails with an error — never a panic.
#[test]
fn mangled_specs_never_panic() {
    fn leaves(v: &Json, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Json::Object(o) => o.iter().for_each(|(k, c)| leaves(c, [path.clone(), vec![k.clone()]].concat(), out)),
            Json::Array(a) => a
                .iter()
                .take(2)
                .enumerate()
                .for_each(|(i, c)| leaves(c, [path.clone(), vec![i.to_string()]].concat(), out)),
            _ => out.push(path),
        }
    }
    fn set(v: &mut Json, path: &[String], value: Json) {
        let Some((first, rest)) = path.split_first() else {
            *v = value;
            return;
        };
        let child = match v {
            Json::Object(o) => o.get_mut(first),
            Json::Array(a) => first.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        if let Some(child) = child {
            set(child, rest, value);
        }
    }
    let odd = [json!(null), json!(-1e308), json!(""), json!([]), json!({}), json!("<&>"), json!(true), json!(1e-300)];
    let mut renders = 0;
    for (_, r, _) in shapes() {
        let spec = choose_chart("t", &r).expect("spec");
        let mut paths = Vec::new();
        leaves(&spec, Vec::new(), &mut paths);
        for path in paths {
            for value in &odd {
                let mut mangled = spec.clone();
                set(&mut mangled, &path, value.clone());
                if let Ok(svg) = render_svg(&mangled) {
                    svg_texts(&svg);
                }
                renders += 1;
            }
        }
    }
    assert!(renders > 500, "{renders}");
}

#[test]
fn empty_and_all_null_data_render_a_frame() {
    let spec = json!({"data": {"values": [{"c": "a", "v": null}, {"c": null, "v": null}]}, "mark": "bar",
        "encoding": {"x": {"field": "c", "type": "nominal"}, "y": {"field": "v", "type": "quantitative"}}});
    let texts = svg_texts(&render_svg(&spec).expect("svg"));
    assert!(texts.contains(&"No data".to_string()));
    let spec = json!({"data": {"values": []}, "mark": "line",
        "encoding": {"x": {"field": "t", "type": "temporal"}, "y": {"field": "v", "type": "quantitative"}}});
    assert!(svg_texts(&render_svg(&spec).expect("svg")).contains(&"No data".to_string()));
    let spec = json!({"data": {"values": [{"x": 1}]}, "mark": "point",
        "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}});
    decode(&render_png(&spec).expect("png"));
}

#[test]
fn huge_inputs_stay_bounded_in_size() {
    let many: Vec<Json> = (0..200_000).map(|i| json!({"c": format!("c{i}"), "v": i % 1000 - 500})).collect();
    let bars = json!({"data": {"values": many}, "mark": "bar",
        "encoding": {"y": {"field": "c", "type": "nominal", "sort": null}, "x": {"field": "v", "type": "quantitative"}}});
    let svg = render_svg(&bars).expect("svg");
    assert!(svg.len() < 400_000, "bars svg {} bytes", svg.len());
    assert!(svg_texts(&svg).iter().any(|t| t.contains("200,000")), "the cut is disclosed");
    let points: Vec<Json> = (0..100_000).map(|i| json!({"x": i, "y": (i * 7919) % 1000})).collect();
    let scatter = json!({"data": {"values": points}, "mark": "point",
        "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}});
    let svg = render_svg(&scatter).expect("svg");
    assert!(svg.matches("<circle").count() <= 10_000);
    assert!(svg.len() < 2_000_000, "scatter svg {} bytes", svg.len());
    let png = render_png(&bars).expect("png");
    let pixmap = decode(&png);
    assert!((pixmap.width() as f32) * (pixmap.height() as f32) <= datagenie_chart::MAX_PNG_PIXELS + 1e5);
}

#[test]
fn files_are_chosen_by_extension() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = shapes_spec(1);
    let svg_path = dir.path().join("chart.svg");
    render_to_file(&spec, &svg_path).expect("svg written");
    svg_texts(&std::fs::read_to_string(&svg_path).expect("read"));
    let png_path = dir.path().join("chart.PNG");
    render_to_file(&spec, &png_path).expect("png written");
    decode(&std::fs::read(&png_path).expect("read"));
    for bad in ["chart.jpg", "chart", "chart.svg.txt"] {
        let err = render_to_file(&spec, &dir.path().join(bad)).expect_err("bad extension");
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{bad}");
        assert!(!dir.path().join(bad).exists());
    }
    let err = render_to_file(&spec, &dir.path().join("missing/dir/chart.svg")).expect_err("unwritable");
    assert_eq!(err.code, ErrorCode::OutputFailed);
    assert!(err.message.contains("chart.svg"));
}
