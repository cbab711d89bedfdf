//! Renders one chart of each kind from small generated results, prints the time per chart for SVG and PNG, and
//! (given a directory) writes the files there for a look:
//! `cargo run --release -p datagenie-chart --example chart_bench -- /tmp/charts`.

use datagenie_core::chart::choose_chart;
use datagenie_core::value::{ResultColumn, ResultSet, Value};
use std::time::Instant;

fn result(columns: &[&str], rows: Vec<Vec<Value>>) -> ResultSet {
    ResultSet {
        columns: columns.iter().map(|c| ResultColumn { name: c.to_string(), decl_type: None }).collect(),
        rows,
        truncated: false,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn samples() -> Vec<(&'static str, String, ResultSet)> {
    let regions = ["서울", "부산", "대구", "인천", "광주", "대전", "울산"];
    let bar = result(
        &["지역", "매출"],
        regions.iter().enumerate().map(|(i, r)| vec![text(r), Value::Int(1_250_000 - i as i64 * 260_000)]).collect(),
    );
    let grouped = result(
        &["region", "revenue", "cost"],
        regions
            .iter()
            .enumerate()
            .map(|(i, r)| vec![text(r), Value::Int(900 + 37 * i as i64), Value::Decimal(format!("{}.5", 400 + 61 * i))])
            .collect(),
    );
    let colored = result(
        &["store", "channel", "orders"],
        (0..6)
            .flat_map(|s| {
                ["web", "app", "phone"].into_iter().enumerate().map(move |(c, ch)| {
                    vec![text(&format!("Store <{s}> & co")), text(ch), Value::Int(10 + s * 7 + c as i64 * 13)]
                })
            })
            .collect(),
    );
    let horizontal = result(
        &["상품명", "판매수량"],
        (0..30)
            .map(|i| vec![text(&format!("프리미엄 유기농 상품 번호 {i} 세트 구성")), Value::Int(500 - i * 15)])
            .collect(),
    );
    let line = result(
        &["month", "매출", "비용"],
        (1..=24)
            .map(|m| {
                vec![
                    text(&format!("{}-{:02}", 2023 + (m - 1) / 12, (m - 1) % 12 + 1)),
                    Value::Int(1000 + m * 40 + (m % 5) * 70),
                    if m == 7 { Value::Null } else { Value::Int(800 + m * 20) },
                ]
            })
            .collect(),
    );
    let series = result(
        &["연도", "지역", "인구"],
        (2015..=2024)
            .flat_map(|y| {
                regions[..4].iter().enumerate().map(move |(i, r)| {
                    vec![
                        Value::Int(y),
                        text(r),
                        Value::Int(100_000 * (i as i64 + 1) + (y - 2015) * 3_000 * (i as i64 - 1)),
                    ]
                })
            })
            .collect(),
    );
    let scatter = result(
        &["price", "quantity"],
        (0..300)
            .map(|i| {
                let p = (i as f64 * 0.37).sin() * 50.0 + 60.0;
                vec![Value::Float(p), Value::Float(200.0 - p * 1.5 + (i as f64 * 1.7).cos() * 25.0)]
            })
            .collect(),
    );
    let negative = result(
        &["분기", "손익"],
        vec![
            vec![text("1분기"), Value::Int(-120_000)],
            vec![text("2분기"), Value::Int(45_500)],
            vec![text("3분기"), Value::Int(-3_200)],
            vec![text("4분기"), Value::Int(98_000)],
        ],
    );
    let rotated = result(
        &["city", "visits"],
        (0..22).map(|i| vec![text(&format!("City no. {i}")), Value::Int(40_000 + (i * 7_919) % 30_000)]).collect(),
    );
    let days = result(
        &["order_date", "orders"],
        (1..=60)
            .map(|d| {
                vec![
                    text(&format!("2024-{:02}-{:02} 09:30", 1 + (d - 1) / 28, 1 + (d - 1) % 28)),
                    Value::Float(50.0 + (d as f64 / 4.0).sin() * 20.0),
                ]
            })
            .collect(),
    );
    let kpi = result(&["총 매출"], vec![vec![Value::Decimal("12345678.50".into())]]);
    vec![
        ("kpi", "올해 총 매출은?".to_string(), kpi),
        ("bar", "지역별 매출".to_string(), bar),
        ("bar_negative", "분기별 손익 (흑자/적자)".to_string(), negative),
        ("bar_grouped", "Revenue and cost by region".to_string(), grouped),
        ("bar_colored", "Orders by store & channel".to_string(), colored),
        ("bar_horizontal", "상품별 판매 수량 상위 30".to_string(), horizontal),
        ("bar_rotated", "Visits by city".to_string(), rotated),
        ("line", "월별 매출과 비용".to_string(), line),
        ("line_days", "일별 주문".to_string(), days),
        ("line_series", "연도별 지역 인구".to_string(), series),
        ("scatter", "Price vs quantity".to_string(), scatter),
    ]
}

fn main() {
    let out_dir = std::env::args().nth(1);
    let rounds = 20;
    for (name, title, result) in samples() {
        let Some(spec) = choose_chart(&title, &result) else {
            println!("{name}: no chart");
            continue;
        };
        let started = Instant::now();
        let mut svg = String::new();
        for _ in 0..rounds {
            svg = datagenie_chart::render_svg(&spec).expect("svg");
        }
        let svg_ms = started.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        let started = Instant::now();
        let mut png = Vec::new();
        for _ in 0..rounds {
            png = datagenie_chart::render_png(&spec).expect("png");
        }
        let png_ms = started.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        println!("{name:16} svg {svg_ms:7.3} ms ({:6} bytes)   png {png_ms:7.2} ms ({:7} bytes)", svg.len(), png.len());
        if let Some(dir) = &out_dir {
            let dir = std::path::Path::new(dir);
            std::fs::create_dir_all(dir).expect("output directory");
            std::fs::write(dir.join(format!("{name}.svg")), &svg).expect("write svg");
            std::fs::write(dir.join(format!("{name}.png")), &png).expect("write png");
            std::fs::write(dir.join(format!("{name}.json")), serde_json::to_string_pretty(&spec).expect("json"))
                .expect("write json");
        }
    }
}
