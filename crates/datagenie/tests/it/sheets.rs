//! Spreadsheets as databases (`--db file.csv`, `--db folder/`): files written by the tests as Korean offices write
//! them — CP949 bytes, title rows, `1,000원`, `2024.03.05`, totals rows — read into tables and asked end to end.

use serde_json::{Value, json};

use datagenie_testkit::{Group, tests};

use crate::harness::Env;
use crate::scripted_llm::{ScriptedLlm, sql};

/// `datagenie schema --db PATH --format json`: `{table: [(column, type, comment)]}` and the table comments.
async fn schema(env: &Env, path: &str) -> (Value, Vec<(String, Vec<(String, String, Option<String>)>)>) {
    let out = env.run(&["schema", "--db", path, "--format", "json"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let tables = v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            let cols = t["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or("").to_string(),
                        c["data_type"].as_str().unwrap_or("").to_string(),
                        c["comment"].as_str().map(str::to_string),
                    )
                })
                .collect();
            (t["name"].as_str().unwrap_or("").to_string(), cols)
        })
        .collect();
    (v, tables)
}

fn types(cols: &[(String, String, Option<String>)]) -> Vec<(&str, &str)> {
    cols.iter().map(|(n, t, _)| (n.as_str(), t.as_str())).collect()
}

/// A report as a Korean office exports it: CP949, a title and a unit note above the header, money written `1,000원`
/// and `￦700`, dates three ways, Y/N, and a totals row.
fn korean_report() -> Vec<u8> {
    let text = "2024년 지점별 매출 보고서,,,,\r\n단위: 원,,,,\r\n,,,,\r\n지점,매출,주문 수,날짜,반품\r\n\
                강남,\"1,000원\",3,2024.03.05,N\r\n서초,\"2,500원\",5,2024.3.6,Y\r\n잠실,￦700,2,2024년 3월 7일,N\r\n\
                합계,\"4,200원\",10,,\r\n";
    let (bytes, _, unmappable) = encoding_rs::EUC_KR.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

async fn a_korean_cp949_report_reads_as_a_person_reads_it() {
    let llm = ScriptedLlm::start(vec![sql("SELECT 지점, 매출 FROM 매출 ORDER BY 매출 DESC")]).await;
    let env = Env::with_openai(&llm.base_url);
    let path = env.path("매출.csv");
    std::fs::write(&path, korean_report()).expect("write");
    let p = path.to_str().expect("path");
    let (v, tables) = schema(&env, p).await;
    assert_eq!(tables.len(), 1, "{v}");
    let (name, cols) = &tables[0];
    assert_eq!(name, "매출");
    assert_eq!(
        types(cols),
        [("지점", "TEXT"), ("매출", "REAL"), ("주문 수", "INTEGER"), ("날짜", "TEXT"), ("반품", "INTEGER")]
    );
    assert_eq!(cols[1].2.as_deref(), Some("an amount of money"));
    assert_eq!(cols[3].2.as_deref(), Some("date, YYYY-MM-DD"));
    let comment = v["tables"][0]["comment"].as_str().expect("comment");
    assert!(comment.contains("CP949") && comment.contains("header on row 4"), "{comment}");
    assert!(comment.contains("1 totals row at the end left out"), "{comment}");
    assert_eq!(v["tables"][0]["row_count"], 3, "the totals row is not data");

    // The rows, exactly: amounts as numbers, dates as ISO text SQLite's date functions read, Y/N as 1/0.
    let out = env.run(&["ask", "--db", p, "--format", "json", "매장별 매출 순위"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let answer = out.json();
    assert_eq!(answer["rows"], json!([["서초", 2500.0], ["강남", 1000.0], ["잠실", 700.0]]));
    // Without an LLM the built-in engine reads the file's own Korean names.
    let offline = Env::new();
    let copy = offline.path("매출.csv");
    std::fs::write(&copy, korean_report()).expect("write");
    let c = copy.to_str().expect("path");
    let count = offline.run(&["ask", "--db", c, "--format", "json", "지점별 주문 수 합계"]).await;
    assert_eq!(count.code, 0, "{count:?}");
    assert_eq!(count.json()["rows"], json!([["강남", 3], ["서초", 5], ["잠실", 2]]));
}

async fn encodings_delimiters_and_headers_are_detected() {
    let env = Env::new();
    let write = |name: &str, bytes: &[u8]| {
        let p = env.path(name);
        std::fs::write(&p, bytes).expect("write");
        p.to_str().expect("path").to_string()
    };
    // UTF-8 with a BOM, tab-separated.
    let tsv = write("people.tsv", "\u{feff}이름\t나이\t가입\n김민준\t31\tTRUE\n이서연\t28\tFALSE\n".as_bytes());
    let (_, t) = schema(&env, &tsv).await;
    assert_eq!(
        (t[0].0.as_str(), types(&t[0].1)),
        ("people", vec![("이름", "TEXT"), ("나이", "INTEGER"), ("가입", "INTEGER")])
    );
    // UTF-16 LE with a BOM, as Excel's "Unicode text" saves.
    let mut utf16 = vec![0xff, 0xfe];
    for unit in "도시\t인구\n서울\t9411\n부산\t3349\n".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    let u16 = write("cities.tsv", &utf16);
    let (_, t) = schema(&env, &u16).await;
    assert_eq!(types(&t[0].1), [("도시", "TEXT"), ("인구", "INTEGER")]);
    // Semicolons and decimal commas, as European exports write them.
    let eu = write("eu.csv", b"item;price;share\nA;1.234,50;12,5%\nB;2,75;7,5%\n");
    let (_, t) = schema(&env, &eu).await;
    assert_eq!(types(&t[0].1), [("item", "TEXT"), ("price", "REAL"), ("share", "REAL")]);
    assert_eq!(t[0].1[2].2.as_deref(), Some("percent: 12.5 means 12.5%"));
    let out = env.run(&["ask", "--db", &eu, "--format", "json", "What is the total price?"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["rows"], json!([[1237.25]]));
    // Pipes; an empty header and a repeated one; a few stray values kept visible.
    let mut piped = String::from("code|amount||amount\n");
    for i in 1..=40 {
        let amount = if i == 7 { "n/a".to_string() } else { format!("{i}") };
        piped.push_str(&format!("c{i}|{amount}|x|{}\n", i * 2));
    }
    let pipe = write("piped.csv", piped.as_bytes());
    let (_, t) = schema(&env, &pipe).await;
    assert_eq!(
        types(&t[0].1),
        [("code", "TEXT"), ("amount", "INTEGER"), ("column_3", "TEXT"), ("amount_2", "INTEGER")]
    );
    assert_eq!(t[0].1[1].2.as_deref(), Some("1 value that is not a number left NULL ('n/a')"));
    // No header at all: numbered columns.
    let bare = write("bare.csv", b"1,2.5\n3,4.5\n");
    let (_, t) = schema(&env, &bare).await;
    assert_eq!(types(&t[0].1), [("column_1", "INTEGER"), ("column_2", "REAL")]);
}

/// A folder is a database of its spreadsheets; a question joins two of them.
async fn a_folder_of_files_is_one_database_and_its_tables_join() {
    let llm = ScriptedLlm::start(vec![sql(
        "SELECT c.region, SUM(o.amount) AS total FROM orders o JOIN customers c ON c.id = o.customer_id \
         GROUP BY c.region ORDER BY c.region",
    )])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let dir = env.path("shop");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("customers.csv"), "id,region\n1,서울\n2,부산\n").expect("write");
    std::fs::write(dir.join("orders.csv"), "id,customer_id,amount\n1,1,\"1,000\"\n2,2,500\n3,1,250\n").expect("write");
    std::fs::write(dir.join("notes.md"), "not a table").expect("write");
    let d = dir.to_str().expect("path");
    let (_, t) = schema(&env, d).await;
    let names: Vec<&str> = t.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["customers", "orders"]);
    let out = env.run(&["ask", "--db", d, "--format", "json", "revenue by region"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["rows"], json!([["부산", 500], ["서울", 1250]]));
    // The guard is the same as for any SQLite file.
    let bad = ScriptedLlm::start_with_fallback(vec![], Some(sql("DELETE FROM orders"))).await;
    let mut env2 = Env::with_openai(&bad.base_url);
    env2.set("DATAGENIE_PATHS__CACHE_DIR", env.path("cache").to_str().expect("cache"));
    let refused = env2.run(&["ask", "--db", d, "--format", "json", "delete everything"]).await;
    assert_eq!((refused.code, refused.json()["error"]["code"].clone()), (1, json!("not_a_query")), "{refused:?}");
}

/// A loaded file is cached by its content: asking again does not reload it; a changed file is loaded anew.
async fn a_loaded_file_is_cached_by_content() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) FROM cached"))).await;
    let env = Env::with_openai(&llm.base_url);
    let path = env.path("cached.csv");
    std::fs::write(&path, "a,b\n1,2\n").expect("write");
    let p = path.to_str().expect("path");
    let sheets = env.path("cache").join("sheets");
    let listing = || {
        let mut files: Vec<(String, std::time::SystemTime)> = std::fs::read_dir(&sheets)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            e.metadata().and_then(|m| m.modified()).expect("mtime"),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    };
    assert_eq!(env.run(&["schema", "--db", p]).await.code, 0);
    let first = listing();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(env.run(&["schema", "--db", p]).await.code, 0);
    assert_eq!(listing(), first, "the same database, not rewritten");
    std::fs::write(&path, "a,b\n1,2\n3,4\n").expect("rewrite");
    let out = env.run(&["ask", "--db", p, "--format", "json", "How many cached rows are there?"]).await;
    assert_eq!(out.json()["rows"], json!([[2]]), "{out:?}");
    assert_eq!(listing().len(), 2);
}

/// Each file (name, bytes) is refused with its code: exit 2, the code and the file's name on stderr.
async fn refused_files(env: &Env, cases: Vec<(&str, Vec<u8>, &str)>) {
    for (name, bytes, code) in cases {
        let path = env.path(name);
        std::fs::write(&path, &bytes).expect("write");
        let out = env.run(&["schema", "--db", path.to_str().expect("path")]).await;
        assert_eq!(out.code, 2, "{name}: {out:?}");
        assert!(out.stderr.contains(&format!("error[{code}]")), "{name}: {}", out.stderr);
        assert!(out.stderr.contains(name), "the message names the file: {}", out.stderr);
    }
}

/// Bad files: a stable code, a clear message, exit 2, nothing left behind in the cache.
async fn bad_files_get_clear_errors() {
    let env = Env::new();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", Vec::new(), "empty_file"),
        ("blank.csv", b"\n\n  \n".to_vec(), "empty_file"),
        ("program.csv", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec(), "invalid_file"),
        ("elf.csv", b"\x7fELF\x02\x01\x01\x00".to_vec(), "invalid_file"),
        ("binary.csv", b"a,b\n1,\x00\x01\x02\n".to_vec(), "invalid_file"),
        ("renamed.csv", b"PK\x03\x04\x14\x00\x00\x00".to_vec(), "invalid_file"),
        (
            "long.csv",
            {
                let mut v = b"a,b\n".to_vec();
                v.extend(std::iter::repeat_n(b'x', 5 << 20));
                v
            },
            "file_too_large",
        ),
        ("wide.csv", (0..1500).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",").into_bytes(), "file_too_large"),
    ];
    refused_files(&env, cases).await;
    let missing = env.run(&["schema", "--db", env.path("missing.csv").to_str().expect("path")]).await;
    assert!(missing.stderr.contains("error[database_not_found]"), "{}", missing.stderr);
    let leftovers: Vec<_> = std::fs::read_dir(env.path("cache").join("sheets"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "a failed load leaves nothing: {leftovers:?}");
}

/// A workbook as offices keep them: a merged title, a header with a merged cell, dates, a formula's cached value, a
/// totals row; a second sheet; a hidden one.
fn workbook(path: &std::path::Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let plain = Format::new();
    let sales = book.add_worksheet();
    sales.set_name("매출").expect("name");
    sales.merge_range(0, 0, 0, 4, "2024년 1분기 매출", &plain).expect("title");
    sales.write_string(2, 0, "지점ID").expect("h");
    sales.write_string(2, 1, "날짜").expect("h");
    sales.merge_range(2, 2, 2, 3, "금액", &plain).expect("merged header");
    sales.write_string(2, 4, "비고").expect("h");
    let rows = [(1, (2024, 1, 5), 1000.0, 100.0), (2, (2024, 2, 10), 2500.5, 0.0), (1, (2024, 3, 15), 700.0, 50.0)];
    for (i, (branch, (y, m, d), amount, discount)) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        sales.write_number(r, 0, f64::from(*branch)).expect("n");
        let day = ExcelDateTime::from_ymd(*y, *m, *d).expect("date");
        sales.write_datetime_with_format(r, 1, &day, &date).expect("d");
        sales.write_number(r, 2, *amount).expect("n");
        sales.write_number(r, 3, *discount).expect("n");
    }
    sales.write_string(6, 0, "합계").expect("t");
    sales.write_formula(6, 2, "=SUM(C4:C6)").expect("f");
    sales.set_formula_result(6, 2, "4200.5");
    let branches = book.add_worksheet();
    branches.set_name("지점").expect("name");
    branches.write_string(0, 0, "id").expect("h");
    branches.write_string(0, 1, "지점명").expect("h");
    branches.write_number(1, 0, 1.0).expect("n");
    branches.write_string(1, 1, "강남").expect("s");
    branches.write_number(2, 0, 2.0).expect("n");
    branches.write_string(2, 1, "서초").expect("s");
    branches.write_string(3, 0, "3").expect("s");
    branches.write_formula(3, 1, "=\"잠\"&\"실\"").expect("f");
    branches.set_formula_result(3, 1, "잠실");
    let hidden = book.add_worksheet();
    hidden.set_name("계산").expect("name");
    hidden.write_string(0, 0, "secret").expect("s");
    hidden.set_hidden(true);
    book.save(path).expect("save");
}

/// Two sheets of one workbook are two tables, joined in one query.
async fn a_workbook_is_a_database_of_its_sheets() {
    let llm = ScriptedLlm::start(vec![sql(
        "SELECT b.지점명, SUM(s.금액) AS total FROM 매출 s JOIN 지점 b ON b.id = s.지점ID GROUP BY b.지점명 ORDER BY b.지점명",
    )])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let path = env.path("report.xlsx");
    workbook(&path);
    let p = path.to_str().expect("path");
    let (v, t) = schema(&env, p).await;
    let names: Vec<&str> = t.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["매출", "지점"], "the hidden sheet is skipped: {v}");
    assert_eq!(
        types(&t[0].1),
        [("지점ID", "INTEGER"), ("날짜", "TEXT"), ("금액", "REAL"), ("금액_2", "INTEGER"), ("비고", "TEXT")],
        "the merged header names both its columns"
    );
    assert_eq!(t[0].1[1].2.as_deref(), Some("date, YYYY-MM-DD"));
    assert_eq!(v["tables"][0]["row_count"], 3, "the totals row is left out");
    assert!(v["tables"][0]["comment"].as_str().is_some_and(|c| c.contains("header on row 3")), "{v}");
    assert_eq!(types(&t[1].1), [("id", "INTEGER"), ("지점명", "TEXT")]);
    let out = env.run(&["ask", "--db", p, "--format", "json", "지점별 매출"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["rows"], json!([["강남", 1700.0], ["서초", 2500.5]]));
    // Dates are ISO text that SQLite's date functions read; a formula gives its cached value.
    let llm2 = ScriptedLlm::start(vec![
        sql("SELECT strftime('%m', 날짜) AS month, 날짜 FROM 매출 ORDER BY 날짜"),
        sql("SELECT 지점명 FROM 지점 WHERE id = 3"),
    ])
    .await;
    let mut env2 = Env::with_openai(&llm2.base_url);
    env2.set("DATAGENIE_PATHS__CACHE_DIR", env.path("cache").to_str().expect("cache"));
    env2.set("DATAGENIE_ASK__SUMMARY", "false");
    let months = env2.run(&["ask", "--db", p, "--format", "json", "months"]).await;
    assert_eq!(
        months.json()["rows"],
        json!([["01", "2024-01-05"], ["02", "2024-02-10"], ["03", "2024-03-15"]]),
        "{months:?}"
    );
    let formula = env2.run(&["ask", "--db", p, "--format", "json", "branch 3"]).await;
    assert_eq!(formula.json()["rows"], json!([["잠실"]]), "{formula:?}");
    // Hidden sheets when asked for (a separate cache entry: the option is part of its key).
    env2.set("DATAGENIE_FILES__INCLUDE_HIDDEN_SHEETS", "true");
    let (_, all) = schema(&env2, p).await;
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["계산", "매출", "지점"], "tables are listed by name");
}

/// A workbook in the 1904 date system (old Mac Excel): the same serial day is four years later, and read so.
async fn the_1904_date_system_is_applied() {
    use rust_xlsxwriter::{Format, Workbook};
    use std::io::{Read, Write};
    let env = Env::new();
    let plain = env.path("plain.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("days").expect("name");
    sheet.write_string(0, 0, "day").expect("h");
    // 2024-03-05 is day 45356 in the 1900 system and day 43894 in the 1904 system.
    sheet.write_number_with_format(1, 0, 43894.0, &Format::new().set_num_format("yyyy-mm-dd")).expect("n");
    book.save(&plain).expect("save");
    let mut source = zip::ZipArchive::new(std::fs::File::open(&plain).expect("open")).expect("zip");
    let mut patched = Vec::new();
    {
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(&mut patched));
        for i in 0..source.len() {
            let mut part = source.by_index(i).expect("part");
            let name = part.name().expect("a part name").to_string();
            let mut bytes = Vec::new();
            part.read_to_end(&mut bytes).expect("read");
            if name == "xl/workbook.xml" {
                let text = String::from_utf8(bytes).expect("xml");
                assert!(text.contains("<workbookPr"), "{text}");
                bytes = text.replacen("<workbookPr", "<workbookPr date1904=\"1\"", 1).into_bytes();
            }
            out.start_file(name, zip::write::SimpleFileOptions::default()).expect("start");
            out.write_all(&bytes).expect("write");
        }
        out.finish().expect("finish");
    }
    let path = env.path("mac.xlsx");
    std::fs::write(&path, patched).expect("write");
    let llm = ScriptedLlm::start(vec![sql("SELECT day FROM days")]).await;
    let mut asking = Env::with_openai(&llm.base_url);
    asking.set("DATAGENIE_ASK__SUMMARY", "false");
    let out = asking.run(&["ask", "--db", path.to_str().expect("path"), "--format", "json", "days"]).await;
    assert_eq!(out.json()["rows"], json!([["2024-03-05"]]), "{out:?}");
}

/// An OpenDocument spreadsheet (LibreOffice), written by hand: its sheet is a table, its dates ISO text.
async fn an_ods_spreadsheet_is_read_too() {
    use std::io::Write;
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  office:version="1.2"><office:body><office:spreadsheet>
<table:table table:name="재고">
<table:table-row><table:table-cell office:value-type="string"><text:p>품목</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>수량</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>입고일</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>노트북</text:p></table:table-cell>
<table:table-cell office:value-type="float" office:value="12"><text:p>12</text:p></table:table-cell>
<table:table-cell office:value-type="date" office:date-value="2024-03-05"><text:p>2024-03-05</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>마우스</text:p></table:table-cell>
<table:table-cell office:value-type="float" office:value="30"><text:p>30</text:p></table:table-cell>
<table:table-cell office:value-type="date" office:date-value="2024-03-07"><text:p>2024-03-07</text:p></table:table-cell></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"#;
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("mimetype", stored).expect("mimetype");
        zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet").expect("write");
        let deflated = zip::write::SimpleFileOptions::default();
        zip.start_file("META-INF/manifest.xml", deflated).expect("manifest");
        zip.write_all(manifest.as_bytes()).expect("write");
        zip.start_file("content.xml", deflated).expect("content");
        // as LibreOffice writes it: no whitespace between elements
        zip.write_all(content.replace('\n', "").as_bytes()).expect("write");
        zip.finish().expect("finish");
    }
    let env = Env::new();
    let path = env.path("stock.ods");
    std::fs::write(&path, bytes).expect("write");
    let (v, t) = schema(&env, path.to_str().expect("path")).await;
    assert_eq!(t.len(), 1, "{v}");
    assert_eq!(t[0].0, "재고");
    assert_eq!(types(&t[0].1), [("품목", "TEXT"), ("수량", "INTEGER"), ("입고일", "TEXT")]);
    assert_eq!(t[0].1[2].2.as_deref(), Some("date, YYYY-MM-DD"));
}

/// Workbooks that are not what they claim: encrypted, a zip bomb, truncated, an executable.
async fn bad_workbooks_get_clear_errors() {
    use std::io::Write;
    let env = Env::new();
    let good = env.path("good.xlsx");
    workbook(&good);
    let bytes = std::fs::read(&good).expect("read");
    let mut bomb = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bomb));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/worksheets/sheet1.xml", options).expect("file");
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..16 {
            zip.write_all(&zeros).expect("write");
        }
        zip.finish().expect("finish");
    }
    // The same bomb, lying: its headers say the part inflates to 1,000 bytes (stopped there, never inflated whole).
    let mut liar = bomb.clone();
    for (signature, offset) in [(&b"PK\x03\x04"[..], 22), (&b"PK\x01\x02"[..], 24)] {
        let at = liar.windows(4).position(|w| w == signature).expect("header") + offset;
        liar[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
    }
    let mut encrypted = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
    encrypted.extend(std::iter::repeat_n(0u8, 4096));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("locked.xlsx", encrypted, "encrypted_file"),
        ("bomb.xlsx", bomb, "file_too_large"),
        ("liar.xlsx", liar, "invalid_file"),
        ("cut.xlsx", bytes[..bytes.len() / 2].to_vec(), "invalid_file"),
        ("program.xlsx", b"MZ\x90\x00\x03\x00".to_vec(), "invalid_file"),
        ("empty.xlsx", Vec::new(), "empty_file"),
        ("old.xls", b"not an ole2 file at all".to_vec(), "invalid_file"),
    ];
    refused_files(&env, cases).await;
}

/// A `multipart/form-data` body with the field `file` (and `name`, when given): (content type, body).
fn form(file_name: &str, bytes: &[u8], name: Option<&str>) -> (String, Vec<u8>) {
    let boundary = "datagenie-test-boundary-7d1c";
    let mut body = Vec::new();
    if let Some(n) = name {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{n}\r\n").as_bytes());
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn upload(base: &str, token: &str, file_name: &str, bytes: &[u8], name: Option<&str>) -> (u16, Value) {
    let (content_type, body) = form(file_name, bytes, name);
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/files"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Folders under `<data_dir>/files`: one per kept upload.
fn kept(env: &Env) -> usize {
    std::fs::read_dir(env.path("data").join("files")).map(|d| d.count()).unwrap_or(0)
}

/// The server: an upload becomes its uploader's private connection, answered and filed as `excel`, shared through a
/// grant, limited in size, refused when bad, and deleted with its file.
async fn an_uploaded_spreadsheet_is_its_uploaders_connection() {
    let llm =
        ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT 지점, 매출 FROM 매출 ORDER BY 매출 DESC"))).await;
    let w = crate::server::world_with(Env::with_openai(&llm.base_url)).await;
    let base = w.server.base.clone();
    let (owner_id, owner) = w.user("owner@example.com", "user").await;
    let (other_id, other) = w.user("other@example.com", "user").await;
    let (_, viewer) = w.user("looker@example.com", "viewer").await;

    let (status, created) = upload(&base, &owner, "매출.csv", &korean_report(), Some("sales")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["engine"].as_str(), created["name"].as_str()), (Some("file"), Some("sales")));
    assert_eq!(created["file"]["name"], "매출.csv");
    assert_eq!(created["file"]["size"], korean_report().len());
    assert_eq!(kept(&w.env), 1);
    let ask = |token: String| {
        let server = &w.server;
        async move {
            server.post("/api/v1/ask", &token, json!({"connection_id": "sales", "question": "매출 순위"})).await
        }
    };
    let answered = ask(owner.clone()).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!(answered.json["rows"], json!([["서초", 2500.0], ["강남", 1000.0], ["잠실", 700.0]]));
    let entry =
        w.server.get(&format!("/api/v1/history/{}", answered.json["history_id"].as_str().expect("id")), &owner).await;
    assert_eq!(entry.json["query_type"], "excel", "{}", entry.text);
    assert_eq!(entry.json["file_info"]["name"], "매출.csv");

    // Private until shared: another user neither sees nor asks it, nor may share it.
    assert_eq!(w.server.get("/api/v1/connections/sales", &other).await.status, 404);
    let refused = ask(other.clone()).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (403, "forbidden"), "{}", refused.text);
    let share = format!("/api/v1/connections/sales/permissions/{other_id}");
    let shared = w.server.request(reqwest::Method::PUT, &share, Some(&owner), Some(json!({}))).await;
    assert_eq!(shared.status, 200, "{}", shared.text);
    assert_eq!(ask(other.clone()).await.status, 200, "shared by its uploader");
    let mine = format!("/api/v1/connections/sales/permissions/{owner_id}");
    let grab = w.server.request(reqwest::Method::DELETE, &mine, Some(&other), None).await;
    assert_eq!(grab.status, 403, "only the uploader or an admin manages it: {}", grab.text);
    assert_eq!(
        w.server.request(reqwest::Method::DELETE, "/api/v1/connections/sales", Some(&other), None).await.status,
        403
    );

    // Who may upload, how much, and what.
    assert_eq!(upload(&base, &viewer, "v.csv", b"a\n1\n", None).await.0, 403);
    let limit = w
        .server
        .request(reqwest::Method::PUT, "/api/v1/settings/max_file_size_mb", Some(&w.admin), Some(json!({"value": 1})))
        .await;
    assert_eq!(limit.status, 200, "{}", limit.text);
    let big: Vec<u8> =
        b"a,b\n".iter().copied().chain((0..200_000).flat_map(|i: u32| format!("{i},x\n").into_bytes())).collect();
    assert!(big.len() > 1 << 20);
    let (status, body) = upload(&base, &owner, "big.csv", &big, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("file_too_large")), "{body}");
    let (status, body) = upload(&base, &owner, "tool.csv", b"MZ\x90\x00\x03\x00\x00\x00", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_file")), "{body}");
    let (status, body) = upload(&base, &owner, "tool.exe", b"a,b\n1,2\n", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_file")), "{body}");
    assert_eq!(kept(&w.env), 1, "refused uploads leave nothing behind");
    // A name from the file when none is given (Korean names become file-<hash>), unique.
    let (status, second) = upload(&base, &owner, "Sales Report.csv", b"a,b\n1,2\n", None).await;
    assert_eq!((status, second["name"].as_str()), (201, Some("sales-report")), "{second}");

    // Deleting the connection deletes the file.
    let gone = w.server.request(reqwest::Method::DELETE, "/api/v1/connections/sales", Some(&owner), None).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(kept(&w.env), 1, "only the second upload is left");
    let audit = w.server.get("/api/v1/audit?action=file.upload", &w.admin).await;
    assert_eq!(audit.json["items"].as_array().map(Vec::len), Some(2), "{}", audit.text);
}

pub fn tests() -> Group {
    Group::new("sheets").tests(tests![
        a_korean_cp949_report_reads_as_a_person_reads_it,
        encodings_delimiters_and_headers_are_detected,
        a_folder_of_files_is_one_database_and_its_tables_join,
        a_loaded_file_is_cached_by_content,
        bad_files_get_clear_errors,
        a_workbook_is_a_database_of_its_sheets,
        the_1904_date_system_is_applied,
        an_ods_spreadsheet_is_read_too,
        bad_workbooks_get_clear_errors,
        an_uploaded_spreadsheet_is_its_uploaders_connection,
    ])
}
