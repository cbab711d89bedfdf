//! The ONE comparison of query results, for `datagenie eval` (a prediction against the gold query) and
//! `datagenie bench gold` (rows through `ask` against rows read directly). Two results are equal when:
//!
//! - they have the same number of rows, compared as a **multiset** (duplicates count), or **in order** only when the
//!   gold query has an ORDER BY at its top level (decided on the parsed query: one in a subquery does not count);
//! - **column order is ignored**: some one-to-one pairing of the prediction's columns with the gold's makes every row
//!   equal (rows are compared whole, so values that match column by column but are paired differently across rows
//!   are not equal); both need the same number of columns;
//! - **numbers** — integers, floats, decimals, booleans (as 0 and 1) — are equal within a relative 1e-6 (or an
//!   absolute 1e-9 near zero), so `1`, `1.0` and a decimal `"1.00"` are the same; text and bytes are compared
//!   exactly and a number never equals text (`1` ≠ `"1"`); NULL equals NULL; JSON is compared as its text;
//! - two **empty** results are equal whatever their columns (there is no row to compare), as in Spider's own
//!   evaluation.
//!
//! At most 5,000 column pairings are tried (columns are only paired when their sorted values are equal, so real
//! results need few).

use datagenie_core::Dialect;
use datagenie_core::value::Value;

/// Relative and absolute tolerance for numbers.
const REL_TOL: f64 = 1e-6;
const ABS_TOL: f64 = 1e-9;
/// Column assignments tried when several columns have the same values.
const MAX_PERMUTATIONS: usize = 5000;

/// True when the query's outermost level has an ORDER BY (then row order is part of the answer). Decided on the
/// parsed query, not on its text: an ORDER BY inside a subquery does not count.
pub fn orders_at_top_level(sql: &str, dialect: Dialect) -> bool {
    use sqlparser::ast::Statement;
    use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
    use sqlparser::parser::Parser;
    let parsed = match dialect {
        Dialect::Sqlite => Parser::parse_sql(&SQLiteDialect {}, sql),
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, sql),
        Dialect::Mysql => Parser::parse_sql(&MySqlDialect {}, sql),
    };
    match parsed.ok().as_deref() {
        Some([Statement::Query(q)]) => q.order_by.is_some(),
        _ => false,
    }
}

/// A cell for comparison: numbers (integers, floats, decimals, booleans) as f64, the rest as text or bytes.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
    Bytes(Vec<u8>),
}

fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Num(if *b { 1.0 } else { 0.0 }),
        Value::Int(i) => Cell::Num(*i as f64),
        Value::Float(f) => Cell::Num(*f),
        Value::Decimal(d) => d.parse().map(Cell::Num).unwrap_or_else(|_| Cell::Text(d.clone())),
        Value::Text(s) => Cell::Text(s.clone()),
        Value::Blob(b) => Cell::Bytes(b.clone()),
        Value::Json(j) => Cell::Text(j.to_string()),
    }
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    let d = (a - b).abs();
    d <= ABS_TOL || d <= REL_TOL * a.abs().max(b.abs())
}

fn cell_eq(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => close(*x, *y),
        _ => a == b,
    }
}

fn rank(c: &Cell) -> u8 {
    match c {
        Cell::Null => 0,
        Cell::Num(_) => 1,
        Cell::Text(_) => 2,
        Cell::Bytes(_) => 3,
    }
}

fn cell_cmp(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => x.total_cmp(y),
        (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
        (Cell::Bytes(x), Cell::Bytes(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn row_cmp(a: &[Cell], b: &[Cell]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = cell_cmp(x, y);
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn rows_eq(a: &[Vec<Cell>], b: &[Vec<Cell>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| cell_eq(p, q)))
}

/// Whether `pred` has the rows of `gold`, by the rules of the module comment. `ordered`: the gold query orders its
/// rows at the top level ([`orders_at_top_level`]).
pub fn same_rows(gold: &[Vec<Value>], pred: &[Vec<Value>], ordered: bool) -> bool {
    let g: Vec<Vec<Cell>> = gold.iter().map(|r| r.iter().map(cell).collect()).collect();
    let p: Vec<Vec<Cell>> = pred.iter().map(|r| r.iter().map(cell).collect()).collect();
    if g.len() != p.len() {
        return false;
    }
    if g.is_empty() {
        return true;
    }
    let (gw, pw) = (g[0].len(), p[0].len());
    if gw != pw || g.iter().any(|r| r.len() != gw) || p.iter().any(|r| r.len() != pw) {
        return false;
    }
    let column = |rows: &[Vec<Cell>], j: usize| {
        let mut c: Vec<Cell> = rows.iter().map(|r| r[j].clone()).collect();
        c.sort_by(cell_cmp);
        c
    };
    let gcols: Vec<Vec<Cell>> = (0..gw).map(|j| column(&g, j)).collect();
    let pcols: Vec<Vec<Cell>> = (0..pw).map(|j| column(&p, j)).collect();
    let compatible: Vec<Vec<usize>> = gcols
        .iter()
        .map(|gc| (0..pw).filter(|&j| gc.iter().zip(&pcols[j]).all(|(a, b)| cell_eq(a, b))).collect())
        .collect();
    if compatible.iter().any(Vec::is_empty) {
        return false;
    }
    let mut gold_rows = g;
    if !ordered {
        gold_rows.sort_by(|a, b| row_cmp(a, b));
    }
    let mut assignment = vec![usize::MAX; gw];
    let mut taken = vec![false; pw];
    let mut tries = 0usize;
    search(0, &compatible, &mut assignment, &mut taken, &mut tries, &mut |perm| {
        let mut rows: Vec<Vec<Cell>> = p.iter().map(|r| perm.iter().map(|&j| r[j].clone()).collect()).collect();
        if !ordered {
            rows.sort_by(|a, b| row_cmp(a, b));
        }
        rows_eq(&gold_rows, &rows)
    })
}

/// Backtracking over column assignments; stops at the first that `check` accepts or after [`MAX_PERMUTATIONS`].
fn search(
    i: usize,
    compatible: &[Vec<usize>],
    assignment: &mut Vec<usize>,
    taken: &mut Vec<bool>,
    tries: &mut usize,
    check: &mut dyn FnMut(&[usize]) -> bool,
) -> bool {
    if i == compatible.len() {
        *tries += 1;
        return check(assignment);
    }
    for &j in &compatible[i] {
        if taken[j] || *tries >= MAX_PERMUTATIONS {
            continue;
        }
        taken[j] = true;
        assignment[i] = j;
        if search(i + 1, compatible, assignment, taken, tries, check) {
            return true;
        }
        taken[j] = false;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn multiset_column_order_and_tolerance() {
        let gold = vec![vec![t("a"), Value::Int(1)], vec![t("b"), Value::Int(2)]];
        // Rows in another order, columns swapped, a float for an int.
        let pred = vec![vec![Value::Float(2.0), t("b")], vec![Value::Float(1.0000000001), t("a")]];
        assert!(same_rows(&gold, &pred, false));
        // Order matters when the gold query orders.
        assert!(!same_rows(&gold, &pred, true));
        let pred_in_order = vec![vec![Value::Int(1), t("a")], vec![Value::Int(2), t("b")]];
        assert!(same_rows(&gold, &pred_in_order, true));
        // Beyond the tolerance.
        let off = vec![vec![t("a"), Value::Float(1.001)], vec![t("b"), Value::Int(2)]];
        assert!(!same_rows(&gold, &off, false));
    }

    #[test]
    fn pairing_across_rows_matters() {
        // Same column values, paired differently.
        let gold = vec![vec![t("a"), Value::Int(1)], vec![t("b"), Value::Int(2)]];
        let pred = vec![vec![t("a"), Value::Int(2)], vec![t("b"), Value::Int(1)]];
        assert!(!same_rows(&gold, &pred, false));
        // Duplicates count: a multiset, not a set.
        assert!(!same_rows(&[vec![t("a")], vec![t("a")]], &[vec![t("a")]], false));
        assert!(!same_rows(&[vec![t("a")], vec![t("a")]], &[vec![t("a")], vec![t("b")]], false));
        // Extra column.
        assert!(!same_rows(&[vec![t("a")]], &[vec![t("a"), t("a")]], false));
        // Identical columns: any assignment.
        let gold = vec![vec![t("x"), t("x")]];
        assert!(same_rows(&gold, &gold.clone(), true));
    }

    /// The cases where `bench gold` (exact values, column order kept, rows sorted by their debug text) and `eval`
    /// (tolerant, column order ignored) used to disagree, and the empty-result case where `eval` compared widths.
    #[test]
    fn cases_the_two_comparisons_disagreed_on() {
        // An integer read back as a float (a driver's or a cast's doing): equal.
        assert!(same_rows(&[vec![Value::Int(3)]], &[vec![Value::Float(3.0)]], true));
        assert!(same_rows(
            &[vec![Value::Int(3)], vec![Value::Int(4)]],
            &[vec![Value::Float(4.0)], vec![Value::Float(3.0)]],
            false
        ));
        // A decimal with trailing zeros and a float; a boolean and 1.
        assert!(same_rows(&[vec![Value::Decimal("2.50".into())]], &[vec![Value::Float(2.5)]], false));
        assert!(same_rows(&[vec![Value::Bool(true)]], &[vec![Value::Int(1)]], false));
        // Floats summed in another order differ in the last bits: equal within 1e-6.
        assert!(same_rows(&[vec![Value::Float(0.1 + 0.2)]], &[vec![Value::Float(0.3)]], true));
        // The same columns in another order, with the gold ordered: equal.
        let gold = vec![vec![t("a"), Value::Int(1)], vec![t("b"), Value::Int(2)]];
        let swapped = vec![vec![Value::Int(1), t("a")], vec![Value::Int(2), t("b")]];
        assert!(same_rows(&gold, &swapped, true));
        // Sorting by debug text put "10" before "9" and Int before Float; the multiset comparison does not care.
        let gold = vec![vec![Value::Int(9)], vec![Value::Int(10)], vec![Value::Float(9.5)]];
        let pred = vec![vec![Value::Float(9.5)], vec![Value::Int(9)], vec![Value::Int(10)]];
        assert!(same_rows(&gold, &pred, false));
        // Two empty results are equal whatever their columns.
        assert!(same_rows(&[], &[], true));
        // A number is never text, and NULL is only NULL.
        assert!(!same_rows(&[vec![Value::Int(1)]], &[vec![t("1")]], false));
        assert!(!same_rows(&[vec![Value::Null]], &[vec![Value::Int(0)]], false));
        assert!(same_rows(&[vec![Value::Null]], &[vec![Value::Null]], false));
    }

    #[test]
    fn top_level_order_by_is_parsed() {
        assert!(orders_at_top_level("SELECT a FROM t ORDER BY a", Dialect::Sqlite));
        assert!(!orders_at_top_level("SELECT a FROM (SELECT a FROM t ORDER BY a) AS s", Dialect::Sqlite));
        assert!(!orders_at_top_level("SELECT 'ORDER BY' FROM t", Dialect::Sqlite));
        assert!(orders_at_top_level("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1", Dialect::Sqlite));
        assert!(orders_at_top_level("SELECT a FROM t ORDER BY a", Dialect::Postgres));
        assert!(!orders_at_top_level("not sql", Dialect::Sqlite));
    }
}
