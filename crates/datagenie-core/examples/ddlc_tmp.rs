//! TEMPORARY (ddl_comments dev check; deleted after use).
fn main() {
    let text = std::fs::read_to_string(std::env::args().nth(1).expect("file")).expect("read");
    for stmt in text.split(";\n") {
        let stmt = stmt.trim();
        if stmt.is_empty() {
            continue;
        }
        let c = datagenie_core::ddl_comments::ddl_comments(stmt);
        println!("TABLE {:?}", c.table);
        for (n, t) in &c.columns {
            println!("  {n}: {t}");
        }
    }
}
