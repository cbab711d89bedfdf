//! A structured input for the `guard_structured` target: a small SQL grammar derived with `arbitrary`, so the
//! fuzzer spends its time deep inside the walker (CTEs, set operations, joins, LATERAL, subqueries in every position,
//! table functions) instead of on text that does not parse. Attack constructs are first-class choices — writing
//! CTEs, locking and `INTO` suffixes, forbidden functions, system catalogs, stacked statements — and raw token
//! fragments can be dropped into any expression.
//!
//! Invariants: rendering is total and bounded — every value renders, nesting deeper than [`MAX_DEPTH`] renders as
//! a leaf; the first variant of every enum is a leaf, so exhausted fuzz input ends the recursion.

use std::fmt::Write as _;

use arbitrary::Arbitrary;

/// Query nesting rendered at most; deeper parts become leaves.
pub const MAX_DEPTH: usize = 24;

/// One structured test case.
#[derive(Arbitrary, Debug)]
pub struct Input {
    pub dialect: u8,
    pub variant: u8,
    pub separator: Separator,
    pub query: Query,
    pub trailer: Trailer,
}

impl Input {
    /// The SQL text this input stands for.
    pub fn render(&self) -> String {
        let mut r = Renderer { out: String::new(), sep: self.separator.text(), depth: 0 };
        self.query.render(&mut r);
        self.trailer.render(&mut r);
        r.out
    }
}

/// What separates tokens: whitespace and comments of every kind the lexers must handle.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Separator {
    Space,
    Newline,
    Tab,
    BlockComment,
    LineComment,
    HashComment,
    CarriageReturn,
}

impl Separator {
    fn text(self) -> &'static str {
        match self {
            Separator::Space => " ",
            Separator::Newline => "\n",
            Separator::Tab => "\t",
            Separator::BlockComment => "/**/",
            Separator::LineComment => " -- c\n",
            Separator::HashComment => " # c\n",
            Separator::CarriageReturn => "\r\n ",
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum Trailer {
    Nothing,
    Semicolon,
    SemicolonComment,
    Fragment(Fragment),
    /// `; <another query>` — stacked statements.
    Stacked(Box<Query>),
    Write(Write),
}

#[derive(Arbitrary, Debug)]
pub struct Query {
    pub with: Vec<Cte>,
    pub recursive: bool,
    pub body: Body,
    pub order_by: Vec<Expr>,
    pub limit: Option<u8>,
    pub suffix: Option<Suffix>,
}

#[derive(Arbitrary, Debug)]
pub struct Cte {
    pub name: Table,
    pub columns: Vec<Name>,
    pub body: CteBody,
}

#[derive(Arbitrary, Debug)]
pub enum CteBody {
    Query(Box<Query>),
    Write(Write),
}

/// Data-modifying statements, for CTEs and stacked statements.
#[derive(Arbitrary, Debug)]
pub enum Write {
    Delete(Table),
    Update(Table, Name),
    Insert(Table),
    Other(Statement),
}

/// Non-query statements.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Statement {
    Pragma,
    Attach,
    Set,
    Copy,
    Call,
    Do,
    Begin,
    Commit,
    Drop,
    Explain,
    VacuumInto,
    Lock,
}

#[derive(Arbitrary, Debug)]
pub enum Body {
    Select(Box<Select>),
    SetOp(Box<Body>, SetOp, Box<Body>),
    Paren(Box<Query>),
    Values(Vec<Expr>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum SetOp {
    Union,
    UnionAll,
    Intersect,
    Except,
}

#[derive(Arbitrary, Debug)]
pub struct Select {
    pub distinct: bool,
    pub items: Vec<Item>,
    pub from: Vec<FromItem>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
}

#[derive(Arbitrary, Debug)]
pub enum Item {
    Star,
    QualifiedStar(Table),
    Expr(Expr, Option<Name>),
}

#[derive(Arbitrary, Debug)]
pub struct FromItem {
    pub factor: Factor,
    pub joins: Vec<Join>,
}

#[derive(Arbitrary, Debug)]
pub struct Join {
    pub kind: JoinKind,
    pub factor: Factor,
    pub on: Option<Expr>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum JoinKind {
    Inner,
    Left,
    Cross,
    Comma,
    Natural,
}

#[derive(Arbitrary, Debug)]
pub enum Factor {
    Table(Table, Option<Name>),
    Derived { query: Box<Query>, alias: Name, lateral: bool },
    Function(Func, Vec<Expr>, Option<Name>),
    Only(Table),
}

#[derive(Arbitrary, Debug)]
pub enum Expr {
    Column(Option<Table>, Name),
    Literal(Literal),
    Binary(Box<Expr>, BinOp, Box<Expr>),
    Not(Box<Expr>),
    Call(Func, Vec<Expr>),
    Subquery(Box<Query>),
    Exists(Box<Query>),
    In(Box<Expr>, Box<Query>),
    Case(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(Box<Expr>, Type),
    Window(Func, Option<Box<Expr>>),
    Fragment(Fragment),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum BinOp {
    Eq,
    Lt,
    And,
    Or,
    Plus,
    Concat,
    Like,
    Is,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Type {
    Int,
    Text,
    Numeric,
    Date,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Literal {
    Int(u8),
    Negative(u8),
    Float,
    Null,
    True,
    Text(Text),
}

/// String literal contents, quoting and escaping traps included.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Text {
    Plain,
    Quote,
    Backslash,
    BackslashQuote,
    Statement,
    Comment,
    Dollar,
    Hangul,
    Escape,
}

/// Table names: the policies' tables, catalogs, qualified, quoted and re-cased forms.
#[derive(Arbitrary, Debug)]
pub enum Table {
    Orders,
    Customers,
    Users,
    T,
    Items,
    Catalog(Catalog),
    Qualified(Schema, Box<Table>),
    Quoted(Quote, Box<Table>),
    Upper(Box<Table>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Schema {
    Main,
    Public,
    Temp,
    Sales,
    PgCatalog,
    InformationSchema,
    Mysql,
    Sys,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Catalog {
    SqliteMaster,
    PragmaTableInfo,
    PgShadow,
    PgClass,
    MysqlUser,
    Processlist,
    Tables,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Quote {
    Double,
    Backtick,
    Bracket,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Name {
    Id,
    Name,
    CustomerId,
    Region,
    Total,
    Secret,
    X,
    Orders,
    QuotedSelect,
    Rowid,
}

/// Functions: allowed aggregates and scalars, table functions, and forbidden ones.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Func {
    Count,
    Sum,
    Lower,
    Coalesce,
    Abs,
    Substr,
    RowNumber,
    JsonExtract,
    GenerateSeries,
    JsonEach,
    PgSleep,
    Sleep,
    LoadExtension,
    ReadFile,
    PgReadFile,
    Benchmark,
    Nextval,
    QueryToXml,
    QualifiedSleep,
    Randomblob,
    Dblink,
}

/// Raw tokens dropped in as an expression: the pieces attacks are made of.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Fragment(pub u8);

const FRAGMENTS: &[&str] = &[
    "1",
    ";",
    "'",
    "\"",
    "`",
    "\\",
    "--",
    "/*",
    "*/",
    "/*!",
    "/*! 50000 1 */",
    "#",
    "$$",
    "$1",
    "?",
    "@x",
    "@@version",
    ":=",
    "U&\"a\"",
    "E'\\''",
    "X'00'",
    "END",
    "INTO @v",
    "FOR UPDATE",
    "LOCK IN SHARE MODE",
    "RETURNING *",
    "DELETE FROM t",
    "::text",
    "[1]",
    "{fn now()}",
    "\u{a0}",
    "\u{0}",
    "ARRAY[1]",
    "ROW(1, 2)",
    "INTERVAL '1 day'",
    "x -> 'a'",
    "x ->> 'a'",
    "1 OPERATOR(pg_catalog.+) 1",
    "COLLATE \"C\"",
    "(",
    ")",
];

struct Renderer {
    out: String,
    sep: &'static str,
    depth: usize,
}

impl Renderer {
    fn word(&mut self, w: &str) {
        if !self.out.is_empty() {
            self.out.push_str(self.sep);
        }
        self.out.push_str(w);
    }

    fn list<T>(&mut self, items: &[T], mut each: impl FnMut(&T, &mut Renderer)) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.word(",");
            }
            each(item, self);
        }
    }

    /// Runs `f` one level deeper, or renders `leaf` when too deep.
    fn nested(&mut self, leaf: &str, f: impl FnOnce(&mut Renderer)) {
        if self.depth >= MAX_DEPTH {
            self.word(leaf);
            return;
        }
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }
}

impl Trailer {
    fn render(&self, r: &mut Renderer) {
        match self {
            Trailer::Nothing => {}
            Trailer::Semicolon => r.word(";"),
            Trailer::SemicolonComment => r.word("; -- done"),
            Trailer::Fragment(f) => f.render(r),
            Trailer::Stacked(q) => {
                r.word(";");
                q.render(r);
            }
            Trailer::Write(w) => {
                r.word(";");
                w.render(r);
            }
        }
    }
}

impl Query {
    fn render(&self, r: &mut Renderer) {
        r.nested("SELECT 1", |r| {
            if !self.with.is_empty() {
                r.word(if self.recursive { "WITH RECURSIVE" } else { "WITH" });
                r.list(&self.with, |c, r| c.render(r));
            }
            self.body.render(r);
            if !self.order_by.is_empty() {
                r.word("ORDER BY");
                r.list(&self.order_by, |e, r| e.render(r));
            }
            if let Some(n) = self.limit {
                r.word(&format!("LIMIT {n}"));
            }
            if let Some(s) = self.suffix {
                s.render(r);
            }
        });
    }
}

impl Cte {
    fn render(&self, r: &mut Renderer) {
        self.name.render(r);
        if !self.columns.is_empty() {
            r.word("(");
            r.list(&self.columns, |n, r| n.render(r));
            r.word(")");
        }
        r.word("AS (");
        match &self.body {
            CteBody::Query(q) => q.render(r),
            CteBody::Write(w) => w.render(r),
        }
        r.word(")");
    }
}

impl Write {
    fn render(&self, r: &mut Renderer) {
        match self {
            Write::Delete(t) => {
                r.word("DELETE FROM");
                t.render(r);
                r.word("RETURNING *");
            }
            Write::Update(t, n) => {
                r.word("UPDATE");
                t.render(r);
                r.word("SET");
                n.render(r);
                r.word("= 1 RETURNING *");
            }
            Write::Insert(t) => {
                r.word("INSERT INTO");
                t.render(r);
                r.word("VALUES (1) RETURNING *");
            }
            Write::Other(s) => s.render(r),
        }
    }
}

impl Statement {
    fn render(self, r: &mut Renderer) {
        r.word(match self {
            Statement::Pragma => "PRAGMA writable_schema = 1",
            Statement::Attach => "ATTACH DATABASE '/tmp/x.db' AS x",
            Statement::Set => "SET search_path = evil",
            Statement::Copy => "COPY t TO '/tmp/x'",
            Statement::Call => "CALL p()",
            Statement::Do => "DO $$ BEGIN END $$",
            Statement::Begin => "BEGIN",
            Statement::Commit => "COMMIT",
            Statement::Drop => "DROP TABLE t",
            Statement::Explain => "EXPLAIN ANALYZE SELECT 1",
            Statement::VacuumInto => "VACUUM INTO '/tmp/x.db'",
            Statement::Lock => "LOCK TABLE t",
        });
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Suffix {
    ForUpdate,
    ForShare,
    LockInShareMode,
    IntoOutfile,
    IntoVariable,
    ForUpdateSkipLocked,
}

impl Suffix {
    fn render(self, r: &mut Renderer) {
        r.word(match self {
            Suffix::ForUpdate => "FOR UPDATE",
            Suffix::ForShare => "FOR SHARE",
            Suffix::LockInShareMode => "LOCK IN SHARE MODE",
            Suffix::IntoOutfile => "INTO OUTFILE '/tmp/x'",
            Suffix::IntoVariable => "INTO @v",
            Suffix::ForUpdateSkipLocked => "FOR UPDATE SKIP LOCKED",
        });
    }
}

impl Body {
    fn render(&self, r: &mut Renderer) {
        match self {
            Body::Select(s) => s.render(r),
            Body::SetOp(a, op, b) => r.nested("SELECT 1", |r| {
                a.render(r);
                r.word(match op {
                    SetOp::Union => "UNION",
                    SetOp::UnionAll => "UNION ALL",
                    SetOp::Intersect => "INTERSECT",
                    SetOp::Except => "EXCEPT",
                });
                b.render(r);
            }),
            Body::Paren(q) => {
                r.word("(");
                q.render(r);
                r.word(")");
            }
            Body::Values(es) => {
                r.word("VALUES (");
                if es.is_empty() {
                    r.word("1");
                }
                r.list(es, |e, r| e.render(r));
                r.word(")");
            }
        }
    }
}

impl Select {
    fn render(&self, r: &mut Renderer) {
        r.word(if self.distinct { "SELECT DISTINCT" } else { "SELECT" });
        if self.items.is_empty() {
            r.word("*");
        }
        r.list(&self.items, |i, r| i.render(r));
        if !self.from.is_empty() {
            r.word("FROM");
            r.list(&self.from, |f, r| f.render(r));
        }
        if let Some(e) = &self.filter {
            r.word("WHERE");
            e.render(r);
        }
        if !self.group_by.is_empty() {
            r.word("GROUP BY");
            r.list(&self.group_by, |e, r| e.render(r));
        }
        if let Some(e) = &self.having {
            r.word("HAVING");
            e.render(r);
        }
    }
}

impl Item {
    fn render(&self, r: &mut Renderer) {
        match self {
            Item::Star => r.word("*"),
            Item::QualifiedStar(t) => {
                t.render(r);
                r.out.push_str(".*");
            }
            Item::Expr(e, alias) => {
                e.render(r);
                if let Some(a) = alias {
                    r.word("AS");
                    a.render(r);
                }
            }
        }
    }
}

impl FromItem {
    fn render(&self, r: &mut Renderer) {
        self.factor.render(r);
        for j in &self.joins {
            r.word(match j.kind {
                JoinKind::Inner => "JOIN",
                JoinKind::Left => "LEFT JOIN",
                JoinKind::Cross => "CROSS JOIN",
                JoinKind::Comma => ",",
                JoinKind::Natural => "NATURAL JOIN",
            });
            j.factor.render(r);
            if let (Some(on), JoinKind::Inner | JoinKind::Left) = (&j.on, j.kind) {
                r.word("ON");
                on.render(r);
            } else if matches!(j.kind, JoinKind::Inner | JoinKind::Left) {
                r.word("ON 1 = 1");
            }
        }
    }
}

impl Factor {
    fn render(&self, r: &mut Renderer) {
        match self {
            Factor::Table(t, alias) => {
                t.render(r);
                if let Some(a) = alias {
                    a.render(r);
                }
            }
            Factor::Derived { query, alias, lateral } => r.nested("t", |r| {
                r.word(if *lateral { "LATERAL (" } else { "(" });
                query.render(r);
                r.word(") AS");
                alias.render(r);
            }),
            Factor::Function(f, args, alias) => {
                f.render_call(args, r);
                if let Some(a) = alias {
                    r.word("AS");
                    a.render(r);
                }
            }
            Factor::Only(t) => {
                r.word("ONLY");
                t.render(r);
            }
        }
    }
}

impl Expr {
    fn render(&self, r: &mut Renderer) {
        r.nested("1", |r| match self {
            Expr::Column(table, name) => {
                if let Some(t) = table {
                    t.render(r);
                    r.out.push('.');
                    name.render_glued(r);
                } else {
                    name.render(r);
                }
            }
            Expr::Literal(l) => l.render(r),
            Expr::Binary(a, op, b) => {
                r.word("(");
                a.render(r);
                r.word(match op {
                    BinOp::Eq => "=",
                    BinOp::Lt => "<",
                    BinOp::And => "AND",
                    BinOp::Or => "OR",
                    BinOp::Plus => "+",
                    BinOp::Concat => "||",
                    BinOp::Like => "LIKE",
                    BinOp::Is => "IS NOT",
                });
                b.render(r);
                r.word(")");
            }
            Expr::Not(e) => {
                r.word("NOT");
                e.render(r);
            }
            Expr::Call(f, args) => f.render_call(args, r),
            Expr::Subquery(q) => {
                r.word("(");
                q.render(r);
                r.word(")");
            }
            Expr::Exists(q) => {
                r.word("EXISTS (");
                q.render(r);
                r.word(")");
            }
            Expr::In(e, q) => {
                e.render(r);
                r.word("IN (");
                q.render(r);
                r.word(")");
            }
            Expr::Case(c, a, b) => {
                r.word("CASE WHEN");
                c.render(r);
                r.word("THEN");
                a.render(r);
                r.word("ELSE");
                b.render(r);
                r.word("END");
            }
            Expr::Cast(e, t) => {
                r.word("CAST(");
                e.render(r);
                r.word(match t {
                    Type::Int => "AS INTEGER)",
                    Type::Text => "AS TEXT)",
                    Type::Numeric => "AS NUMERIC(10, 2))",
                    Type::Date => "AS DATE)",
                });
            }
            Expr::Window(f, partition) => {
                f.render_call(&[], r);
                r.word("OVER (");
                if let Some(p) = partition {
                    r.word("PARTITION BY");
                    p.render(r);
                }
                r.word(")");
            }
            Expr::Fragment(f) => f.render(r),
        });
    }
}

impl Fragment {
    fn render(self, r: &mut Renderer) {
        r.word(FRAGMENTS[usize::from(self.0) % FRAGMENTS.len()]);
    }
}

impl Literal {
    fn render(self, r: &mut Renderer) {
        match self {
            Literal::Int(n) => r.word(&n.to_string()),
            Literal::Negative(n) => r.word(&format!("-{n}")),
            Literal::Float => r.word("1.5e3"),
            Literal::Null => r.word("NULL"),
            Literal::True => r.word("TRUE"),
            Literal::Text(t) => r.word(match t {
                Text::Plain => "'APAC'",
                Text::Quote => "'it''s'",
                Text::Backslash => "'a\\'",
                Text::BackslashQuote => "'a\\'; DELETE FROM t; --'",
                Text::Statement => "'; DROP TABLE t; --'",
                Text::Comment => "'/* x */ -- y'",
                Text::Dollar => "$$ ; $$",
                Text::Hangul => "'서울'",
                Text::Escape => "E'\\x27'",
            }),
        }
    }
}

impl Table {
    fn render(&self, r: &mut Renderer) {
        let mut text = String::new();
        self.write(&mut text, 0);
        r.word(&text);
    }

    /// Writes the name; nesting of qualifiers and quotes is capped at three levels.
    fn write(&self, out: &mut String, level: usize) {
        if level > 3 {
            out.push('t');
            return;
        }
        match self {
            Table::Orders => out.push_str("orders"),
            Table::Customers => out.push_str("customers"),
            Table::Users => out.push_str("users"),
            Table::T => out.push('t'),
            Table::Items => out.push_str("items"),
            Table::Catalog(c) => out.push_str(match c {
                Catalog::SqliteMaster => "sqlite_master",
                Catalog::PragmaTableInfo => "pragma_table_info('t')",
                Catalog::PgShadow => "pg_shadow",
                Catalog::PgClass => "pg_class",
                Catalog::MysqlUser => "mysql.user",
                Catalog::Processlist => "information_schema.processlist",
                Catalog::Tables => "information_schema.tables",
            }),
            Table::Qualified(s, t) => {
                out.push_str(match s {
                    Schema::Main => "main.",
                    Schema::Public => "public.",
                    Schema::Temp => "temp.",
                    Schema::Sales => "sales.",
                    Schema::PgCatalog => "pg_catalog.",
                    Schema::InformationSchema => "information_schema.",
                    Schema::Mysql => "mysql.",
                    Schema::Sys => "sys.",
                });
                t.write(out, level + 1);
            }
            Table::Quoted(q, t) => {
                let (open, close) = match q {
                    Quote::Double => ('"', '"'),
                    Quote::Backtick => ('`', '`'),
                    Quote::Bracket => ('[', ']'),
                };
                out.push(open);
                t.write(out, level + 1);
                out.push(close);
            }
            Table::Upper(t) => {
                let mut inner = String::new();
                t.write(&mut inner, level + 1);
                out.push_str(&inner.to_uppercase());
            }
        }
    }
}

impl Name {
    fn text(self) -> &'static str {
        match self {
            Name::Id => "id",
            Name::Name => "name",
            Name::CustomerId => "customer_id",
            Name::Region => "region",
            Name::Total => "total",
            Name::Secret => "secret",
            Name::X => "x",
            Name::Orders => "orders",
            Name::QuotedSelect => "\"select\"",
            Name::Rowid => "rowid",
        }
    }

    fn render(self, r: &mut Renderer) {
        r.word(self.text());
    }

    /// Appends without a separator (after a `table.` qualifier).
    fn render_glued(self, r: &mut Renderer) {
        r.out.push_str(self.text());
    }
}

impl Func {
    fn name(self) -> &'static str {
        match self {
            Func::Count => "count",
            Func::Sum => "sum",
            Func::Lower => "lower",
            Func::Coalesce => "coalesce",
            Func::Abs => "abs",
            Func::Substr => "substr",
            Func::RowNumber => "row_number",
            Func::JsonExtract => "json_extract",
            Func::GenerateSeries => "generate_series",
            Func::JsonEach => "json_each",
            Func::PgSleep => "pg_sleep",
            Func::Sleep => "SLEEP",
            Func::LoadExtension => "load_extension",
            Func::ReadFile => "readfile",
            Func::PgReadFile => "pg_read_file",
            Func::Benchmark => "benchmark",
            Func::Nextval => "nextval",
            Func::QueryToXml => "query_to_xml",
            Func::QualifiedSleep => "pg_catalog.pg_sleep",
            Func::Randomblob => "randomblob",
            Func::Dblink => "dblink",
        }
    }

    fn render_call(self, args: &[Expr], r: &mut Renderer) {
        let mut head = String::new();
        let _ = write!(head, "{}(", self.name());
        r.word(&head);
        if args.is_empty() && matches!(self, Func::Count) {
            r.out.push('*');
        }
        r.list(args, |e, r| e.render(r));
        r.word(")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbitrary::Unstructured;

    #[test]
    fn exhausted_input_renders_a_plain_query() {
        let mut u = Unstructured::new(&[]);
        let input = Input::arbitrary(&mut u).map(|i| i.render());
        assert_eq!(input.ok().as_deref(), Some("SELECT *"));
    }

    #[test]
    fn every_byte_string_renders_bounded_text() {
        let mut seed = 0x9e37_79b9_u32;
        for len in [1usize, 8, 64, 512, 4096] {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        seed.to_le_bytes()[0]
                    })
                    .collect();
                let Ok(input) = Input::arbitrary(&mut Unstructured::new(&bytes)) else { continue };
                let sql = input.render();
                assert!(!sql.is_empty());
                assert!(sql.len() < 1 << 20, "{} bytes rendered from {len}", sql.len());
            }
        }
    }

    #[test]
    fn attack_shapes_render_as_written() {
        let query = |body: Body, suffix: Option<Suffix>| Query {
            with: Vec::new(),
            recursive: false,
            body,
            order_by: Vec::new(),
            limit: None,
            suffix,
        };
        let select = Select {
            distinct: false,
            items: Vec::new(),
            from: vec![FromItem { factor: Factor::Table(Table::Orders, None), joins: Vec::new() }],
            filter: None,
            group_by: Vec::new(),
            having: None,
        };
        let input = Input {
            dialect: 0,
            variant: 0,
            separator: Separator::Space,
            query: Query {
                with: vec![Cte {
                    name: Table::T,
                    columns: Vec::new(),
                    body: CteBody::Write(Write::Delete(Table::Users)),
                }],
                ..query(Body::Select(Box::new(select)), Some(Suffix::ForUpdate))
            },
            trailer: Trailer::Write(Write::Other(Statement::Drop)),
        };
        assert_eq!(
            input.render(),
            "WITH t AS ( DELETE FROM users RETURNING * ) SELECT * FROM orders FOR UPDATE ; DROP TABLE t"
        );
    }
}
