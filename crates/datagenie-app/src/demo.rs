//! The demo database: a Korean–English retail shop in SQLite, built deterministically, so people can try DataGenie
//! before connecting their own data.
//!
//! Invariants:
//! - The data depends on nothing but this file: a hand-written seeded PRNG and integer arithmetic only (no clock,
//!   no environment, no floating point), so every build holds the same rows, on every machine.
//! - A build writes a temporary file in the target's directory and renames it into place: a crash never leaves a
//!   half-built database at the target path. A finished database carries [`DEMO_APPLICATION_ID`] and
//!   [`DEMO_SCHEMA_VERSION`] (`PRAGMA application_id` / `user_version`), set as the build's last step.
//! - [`ensure_demo_database`] never overwrites a file it does not recognise as a demo database (or an empty one).
//! - Money is whole Korean won (`INTEGER`). For every order, `orders.total_amount` = Σ `quantity × unit_price −
//!   discount` over its lines = Σ `payments.amount` over its payments.
//! - Each `CREATE TABLE` carries `--` comments that SQLite keeps in `sqlite_master.sql`: the comment on the
//!   `CREATE TABLE … (` line describes the table, the comment ending a column's line describes that column.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datagenie_core::Dialect;
use datagenie_core::error::{Error, ErrorCode, Result};
use rusqlite::{Connection, OpenFlags, params};

use datagenie_store::{NewTemplate, TemplateStore};
use time::macros::date;
use time::{Date, Month, Weekday};

/// File name of the demo database inside the data directory.
pub const DEMO_DB_FILE: &str = "demo-retail.sqlite";

/// `PRAGMA application_id` of a finished demo database ("DGNI").
pub const DEMO_APPLICATION_ID: i32 = 0x4447_4E49;
/// `PRAGMA user_version` of a finished demo database. Bump it whenever the schema or the generated data change, so
/// existing copies are rebuilt.
pub const DEMO_SCHEMA_VERSION: i32 = 1;

/// Questions that show what DataGenie does on the demo database: trends, shares, top-N and KPIs, in both languages.
pub const EXAMPLE_QUESTIONS: &[&str] = &[
    "2024년 월별 매출 추이를 보여줘",
    "Top 5 products by revenue in 2025",
    "카테고리별 매출 비중은?",
    "How many customers signed up each year?",
    "2025년 결제 수단별 결제 건수와 금액",
    "Average order value by channel (web, app, store) per year",
    "반품률이 가장 높은 카테고리 5개는?",
    "Which regions had the most orders in November 2025?",
];

/// Verified query templates installed with the demo database: they answer their questions (in either language, with
/// any year or count) from a person's SQL, without an LLM. Revenue follows the schema's own definition: delivered and
/// shipped orders, line amounts after discounts.
pub const DEMO_TEMPLATES: &[DemoTemplate] = &[
    DemoTemplate {
        name: "monthly revenue",
        description: "Revenue per month of one year (delivered and shipped orders)",
        questions: &["monthly revenue in {year:year}", "{year:year}년 월별 매출", "{year:year}년 월별 매출 추이"],
        sql: "SELECT strftime('%Y-%m', order_date) AS month, SUM(total_amount) AS revenue \
              FROM orders \
              WHERE status IN ('delivered', 'shipped') AND CAST(strftime('%Y', order_date) AS INTEGER) = {year} \
              GROUP BY month ORDER BY month",
    },
    DemoTemplate {
        name: "top products by revenue",
        description: "The best-selling products of one year by revenue after discounts",
        questions: &["top {n:int} products by revenue in {year:year}", "{year:year}년 매출 상위 {n:int}개 상품"],
        sql: "SELECT p.name_en AS product, p.name_ko AS product_ko, \
              SUM(oi.quantity * oi.unit_price - oi.discount) AS revenue \
              FROM order_items oi JOIN orders o ON o.order_id = oi.order_id \
              JOIN products p ON p.product_id = oi.product_id \
              WHERE o.status IN ('delivered', 'shipped') AND CAST(strftime('%Y', o.order_date) AS INTEGER) = {year} \
              GROUP BY p.product_id ORDER BY revenue DESC LIMIT {n}",
    },
];

/// One of [`DEMO_TEMPLATES`].
#[derive(Debug, Clone, Copy)]
pub struct DemoTemplate {
    pub name: &'static str,
    pub description: &'static str,
    pub questions: &'static [&'static str],
    pub sql: &'static str,
}

/// Questions `datagenie demo` answers with no LLM configured: two from the demo's verified templates, the others
/// by the built-in engine — Korean and English both.
pub const OFFLINE_QUESTIONS: &[&str] = &[
    "2024년 월별 매출",
    "Top 5 products by revenue in 2025",
    "채널별 주문 수",
    "How many customers are in each segment?",
];

/// Files the demo templates under `connection` in `store`, verified, unless a template of that name is there already
/// (a person may have edited it). Returns how many were added.
pub async fn install_demo_templates(store: &TemplateStore, connection: &str) -> Result<usize, Error> {
    let existing = store.list(Some(connection)).await?;
    let mut added = 0;
    for t in DEMO_TEMPLATES {
        if existing.iter().any(|e| e.name == t.name) {
            continue;
        }
        store
            .add(NewTemplate {
                name: t.name.to_string(),
                description: Some(t.description.to_string()),
                questions: t.questions.iter().map(|q| q.to_string()).collect(),
                sql: t.sql.to_string(),
                category: Some("demo".to_string()),
                public: true,
                verified: true,
                connection: connection.to_string(),
                dialect: Dialect::Sqlite,
                owner: None,
            })
            .await?;
        added += 1;
    }
    Ok(added)
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoStats {
    pub regions: u64,
    pub categories: u64,
    pub products: u64,
    pub customers: u64,
    pub orders: u64,
    pub order_items: u64,
    pub payments: u64,
    /// Σ `total_amount` of delivered and shipped orders, in won.
    pub revenue: i64,
    /// Wall time of the build (not part of the data).
    pub elapsed: Duration,
}

/// Builds the demo database at `path`, replacing whatever is there, atomically. Creates the parent directory.
pub fn build_demo_database(path: &Path) -> Result<DemoStats> {
    let started = Instant::now();
    let dir = parent_dir(path);
    fs::create_dir_all(&dir).map_err(|e| io_err(path, "creating its directory", e))?;
    let tmp = temp_path(path);
    let built = build_into(&tmp);
    let stats = match built {
        Ok(stats) => stats,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, "moving the finished database into place", e));
    }
    // Make the rename itself durable; some platforms cannot sync a directory, which is not an error here.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(DemoStats { elapsed: started.elapsed(), ..stats })
}

/// Returns `path` holding a current demo database, building it first when the file is missing, empty, or an older
/// demo database. A file that is something else is left alone and reported as `not_a_database`.
pub fn ensure_demo_database(path: &Path) -> Result<PathBuf> {
    match inspect(path) {
        Found::Current => {}
        Found::Missing | Found::Empty | Found::Stale => {
            build_demo_database(path)?;
        }
        Found::Foreign => {
            return Err(Error::new(
                ErrorCode::NotADatabase,
                format!(
                    "{} exists and is not a DataGenie demo database; move it away or choose another demo path",
                    path.display()
                ),
            ));
        }
    }
    Ok(path.to_path_buf())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Missing,
    /// A zero-length file, or a SQLite database with no schema at all.
    Empty,
    /// A demo database of another version.
    Stale,
    Current,
    /// Anything else: never overwritten.
    Foreign,
}

fn inspect(path: &Path) -> Found {
    let Ok(meta) = fs::metadata(path) else { return Found::Missing };
    if !meta.is_file() {
        return Found::Foreign;
    }
    if meta.len() == 0 {
        return Found::Empty;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = Connection::open_with_flags(path, flags) else { return Found::Foreign };
    let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i32>(0));
    match (pragma("application_id"), pragma("user_version")) {
        (Ok(DEMO_APPLICATION_ID), Ok(DEMO_SCHEMA_VERSION)) => Found::Current,
        (Ok(DEMO_APPLICATION_ID), Ok(_)) => Found::Stale,
        (Ok(_), Ok(_)) => match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
            Ok(0) => Found::Empty,
            _ => Found::Foreign,
        },
        _ => Found::Foreign,
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary name beside `path`, unique per process and per build, so concurrent builders never share one.
fn temp_path(path: &Path) -> PathBuf {
    static BUILDS: AtomicU64 = AtomicU64::new(0);
    let n = BUILDS.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "demo.sqlite".into());
    parent_dir(path).join(format!(".{name}.building-{}-{n}", std::process::id()))
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorCode::OutputFailed, format!("building the demo database {}: {what}: {e}", path.display()))
}

fn db_err(e: rusqlite::Error) -> Error {
    Error::new(ErrorCode::OutputFailed, format!("building the demo database: {e}"))
}

fn build_into(tmp: &Path) -> Result<DemoStats> {
    let _ = fs::remove_file(tmp);
    let mut conn = Connection::open(tmp).map_err(db_err)?;
    // The file is private until renamed, and discarded on any error: no journal needed while building.
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;")
        .map_err(db_err)?;
    let tx = conn.transaction().map_err(db_err)?;
    tx.execute_batch(SCHEMA).map_err(db_err)?;
    let stats = generate(&tx).map_err(db_err)?;
    tx.execute_batch(INDEXES).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    conn.execute_batch(&format!(
        "ANALYZE; PRAGMA application_id = {DEMO_APPLICATION_ID}; PRAGMA user_version = {DEMO_SCHEMA_VERSION};"
    ))
    .map_err(db_err)?;
    conn.close().map_err(|(_, e)| db_err(e))?;
    fs::File::open(tmp).and_then(|f| f.sync_all()).map_err(|e| io_err(tmp, "syncing", e))?;
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------------------------
// Schema

const SCHEMA: &str = "
CREATE TABLE regions ( -- 지역(광역시·도) / Regions of Korea: provinces and metropolitan cities
    region_id INTEGER PRIMARY KEY, -- 지역 ID / region id
    name_ko TEXT NOT NULL UNIQUE, -- 지역명(한국어), 예: 서울, 부산, 경기 / region name in Korean
    name_en TEXT NOT NULL UNIQUE, -- 지역명(영어), e.g. Seoul, Busan, Gyeonggi / region name in English
    area_ko TEXT NOT NULL, -- 권역: 수도권, 충청권, 호남권, 영남권, 강원권, 제주권 / wider area in Korean
    area_en TEXT NOT NULL -- 권역(영어): Capital Area, Chungcheong, Honam, Yeongnam, Gangwon, Jeju / wider area in English
);

CREATE TABLE customers ( -- 고객 / Customers: one row per registered account
    customer_id INTEGER PRIMARY KEY, -- 고객 ID (가입 순) / customer id, in sign-up order
    name TEXT NOT NULL, -- 고객 이름(한국어) / full name in Korean
    email TEXT NOT NULL UNIQUE, -- 이메일 / email address
    phone TEXT NOT NULL UNIQUE, -- 휴대전화 번호 010-xxxx-xxxx / mobile phone number
    gender TEXT NOT NULL CHECK (gender IN ('F', 'M')), -- 성별: F=여성, M=남성 / gender: F = female, M = male
    birth_year INTEGER NOT NULL, -- 출생 연도 / year of birth
    city TEXT NOT NULL, -- 거주 도시(한국어), 예: 서울, 수원, 창원 / home city in Korean
    region_id INTEGER NOT NULL REFERENCES regions (region_id), -- 거주 지역 / home region
    segment TEXT NOT NULL CHECK (segment IN ('general', 'vip', 'business')), -- 고객 등급: general=일반, vip=VIP, business=기업 / customer segment
    signup_date DATE NOT NULL, -- 가입일 YYYY-MM-DD / sign-up date
    marketing_opt_in INTEGER NOT NULL CHECK (marketing_opt_in IN (0, 1)) -- 마케팅 수신 동의: 1=동의, 0=거부 / 1 = agreed to marketing messages
);

CREATE TABLE categories ( -- 상품 카테고리(2단계: 대분류와 하위 분류) / Product categories in two levels: top categories and subcategories
    category_id INTEGER PRIMARY KEY, -- 카테고리 ID / category id
    parent_id INTEGER REFERENCES categories (category_id), -- 상위 카테고리, 대분류면 NULL / parent category; NULL for a top category
    name_ko TEXT NOT NULL, -- 카테고리명(한국어), 예: 전자제품, 음향기기 / category name in Korean
    name_en TEXT NOT NULL -- 카테고리명(영어), e.g. Electronics, Audio / category name in English
);

CREATE TABLE products ( -- 상품 / Products; each belongs to a subcategory
    product_id INTEGER PRIMARY KEY, -- 상품 ID / product id
    sku TEXT NOT NULL UNIQUE, -- 상품 코드 / stock-keeping unit
    name_ko TEXT NOT NULL, -- 상품명(한국어) / product name in Korean
    name_en TEXT NOT NULL, -- 상품명(영어) / product name in English
    category_id INTEGER NOT NULL REFERENCES categories (category_id), -- 하위 카테고리 / subcategory (its parent_id is the top category)
    price INTEGER NOT NULL CHECK (price > 0), -- 현재 판매가(원) / current list price in won (KRW)
    cost INTEGER NOT NULL CHECK (cost > 0), -- 매입 원가(원) / unit cost in won
    launched_on DATE NOT NULL, -- 출시일 YYYY-MM-DD / launch date
    active INTEGER NOT NULL CHECK (active IN (0, 1)) -- 판매 여부: 1=판매 중, 0=단종 / 1 = on sale, 0 = discontinued
);

CREATE TABLE orders ( -- 주문 / Orders, 2022-01-01..2025-12-31. 매출 = status IN ('delivered', 'shipped') 주문의 total_amount 합계 / revenue = SUM(total_amount) over delivered and shipped orders
    order_id INTEGER PRIMARY KEY, -- 주문 ID (시간 순) / order id, in time order
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id), -- 주문 고객 / ordering customer
    order_date DATE NOT NULL, -- 주문일 YYYY-MM-DD / order date
    status TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'delivered', 'cancelled', 'returned')), -- 주문 상태: pending=입금 대기, shipped=배송 중, delivered=배송 완료, cancelled=취소, returned=반품 / order status
    channel TEXT NOT NULL CHECK (channel IN ('web', 'app', 'store')), -- 주문 채널: web=웹사이트, app=모바일 앱, store=오프라인 매장 / sales channel
    ship_region_id INTEGER NOT NULL REFERENCES regions (region_id), -- 배송 지역(매장 주문은 매장 지역) / shipping region; the store's region for store orders
    total_amount INTEGER NOT NULL CHECK (total_amount > 0) -- 주문 금액(원, 할인 후) = SUM(order_items.quantity * unit_price - discount) / order total in won after discounts
);

CREATE TABLE order_items ( -- 주문 상품(주문 라인) / Order lines: the products of each order
    order_item_id INTEGER PRIMARY KEY, -- 주문 라인 ID / order line id
    order_id INTEGER NOT NULL REFERENCES orders (order_id), -- 주문 / the order
    product_id INTEGER NOT NULL REFERENCES products (product_id), -- 상품 / the product
    quantity INTEGER NOT NULL CHECK (quantity > 0), -- 수량 / quantity
    unit_price INTEGER NOT NULL CHECK (unit_price > 0), -- 주문 당시 단가(원) / unit price when ordered, in won
    discount INTEGER NOT NULL DEFAULT 0 CHECK (discount >= 0) -- 라인 전체 할인액(원); 라인 금액 = quantity * unit_price - discount / discount on the whole line, in won
);

CREATE TABLE payments ( -- 결제 / Payments: one per order, or two when points pay part; SUM(amount) per order = orders.total_amount
    payment_id INTEGER PRIMARY KEY, -- 결제 ID / payment id
    order_id INTEGER NOT NULL REFERENCES orders (order_id), -- 주문 / the order
    method TEXT NOT NULL CHECK (method IN ('card', 'bank_transfer', 'kakao_pay', 'naver_pay', 'toss_pay', 'mobile', 'cash', 'points')), -- 결제 수단: card=카드, bank_transfer=무통장입금, kakao_pay=카카오페이, naver_pay=네이버페이, toss_pay=토스페이, mobile=휴대폰 결제, cash=현금(매장), points=적립금 / payment method
    amount INTEGER NOT NULL CHECK (amount > 0), -- 결제 금액(원) / amount in won
    status TEXT NOT NULL CHECK (status IN ('paid', 'pending', 'cancelled', 'refunded')), -- 결제 상태: paid=결제 완료, pending=입금 대기, cancelled=결제 취소, refunded=환불(반품) / payment status
    paid_at DATETIME, -- 결제 시각 YYYY-MM-DD HH:MM:SS, 입금 전이면 NULL / when it was paid; NULL while unpaid
    refunded_at DATETIME -- 취소·환불 시각, 해당 없으면 NULL / when it was cancelled or refunded; NULL otherwise
);
";

const INDEXES: &str = "
CREATE INDEX idx_customers_region_id ON customers (region_id);
CREATE INDEX idx_customers_signup_date ON customers (signup_date);
CREATE INDEX idx_products_category_id ON products (category_id);
CREATE INDEX idx_orders_order_date ON orders (order_date);
CREATE INDEX idx_orders_customer_id ON orders (customer_id);
CREATE INDEX idx_order_items_order_id ON order_items (order_id);
CREATE INDEX idx_order_items_product_id ON order_items (product_id);
CREATE INDEX idx_payments_order_id ON payments (order_id);
";

// ---------------------------------------------------------------------------------------------------------------
// The PRNG: SplitMix64 (Steele, Lea & Flood 2014), a few lines, ours.

struct Rng(u64);

impl Rng {
    /// A stream per purpose, so changing how one table is generated does not reshuffle the others.
    fn stream(purpose: u64) -> Rng {
        Rng(0x5EED_DA7A_6E1E_0001 ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One of `items` with probability proportional to its weight. `items` is a non-empty constant table.
    fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total);
        for &(item, w) in items {
            if r < w {
                return item;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }
}

/// Sampling by cumulative weights over a prefix of a list.
struct Cumulative(Vec<u64>);

impl Cumulative {
    fn from_weights(weights: impl IntoIterator<Item = u64>) -> Cumulative {
        let mut sum = 0;
        Cumulative(
            weights
                .into_iter()
                .map(|w| {
                    sum += w;
                    sum
                })
                .collect(),
        )
    }

    /// An index in `0..len` drawn by weight, or `None` when the prefix weighs nothing.
    fn sample(&self, rng: &mut Rng, len: usize) -> Option<usize> {
        let total = *self.0.get(len.checked_sub(1)?)?;
        if total == 0 {
            return None;
        }
        let r = rng.below(total);
        Some(self.0[..len].partition_point(|&c| c <= r))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reference data

struct Region {
    ko: &'static str,
    en: &'static str,
    area_ko: &'static str,
    area_en: &'static str,
    /// Population in ten-thousands, as the weight for customers' homes.
    weight: u64,
    cities: &'static [&'static str],
}

const REGIONS: &[Region] = &[
    Region {
        ko: "서울", en: "Seoul", area_ko: "수도권", area_en: "Capital Area", weight: 940, cities: &["서울"]
    },
    Region { ko: "부산", en: "Busan", area_ko: "영남권", area_en: "Yeongnam", weight: 330, cities: &["부산"] },
    Region { ko: "대구", en: "Daegu", area_ko: "영남권", area_en: "Yeongnam", weight: 237, cities: &["대구"] },
    Region {
        ko: "인천", en: "Incheon", area_ko: "수도권", area_en: "Capital Area", weight: 300, cities: &["인천"]
    },
    Region { ko: "광주", en: "Gwangju", area_ko: "호남권", area_en: "Honam", weight: 143, cities: &["광주"] },
    Region {
        ko: "대전", en: "Daejeon", area_ko: "충청권", area_en: "Chungcheong", weight: 145, cities: &["대전"]
    },
    Region { ko: "울산", en: "Ulsan", area_ko: "영남권", area_en: "Yeongnam", weight: 111, cities: &["울산"] },
    Region {
        ko: "세종", en: "Sejong", area_ko: "충청권", area_en: "Chungcheong", weight: 39, cities: &["세종"]
    },
    Region {
        ko: "경기",
        en: "Gyeonggi",
        area_ko: "수도권",
        area_en: "Capital Area",
        weight: 1360,
        cities: &[
            "수원",
            "성남",
            "고양",
            "용인",
            "부천",
            "안산",
            "화성",
            "남양주",
            "안양",
            "평택",
            "의정부",
            "파주",
            "김포",
            "하남",
        ],
    },
    Region {
        ko: "강원",
        en: "Gangwon",
        area_ko: "강원권",
        area_en: "Gangwon",
        weight: 153,
        cities: &["춘천", "원주", "강릉", "속초"],
    },
    Region {
        ko: "충북",
        en: "Chungbuk",
        area_ko: "충청권",
        area_en: "Chungcheong",
        weight: 160,
        cities: &["청주", "충주", "제천"],
    },
    Region {
        ko: "충남",
        en: "Chungnam",
        area_ko: "충청권",
        area_en: "Chungcheong",
        weight: 213,
        cities: &["천안", "아산", "서산", "당진", "공주"],
    },
    Region {
        ko: "전북",
        en: "Jeonbuk",
        area_ko: "호남권",
        area_en: "Honam",
        weight: 176,
        cities: &["전주", "익산", "군산"],
    },
    Region {
        ko: "전남",
        en: "Jeonnam",
        area_ko: "호남권",
        area_en: "Honam",
        weight: 181,
        cities: &["여수", "순천", "목포", "광양"],
    },
    Region {
        ko: "경북",
        en: "Gyeongbuk",
        area_ko: "영남권",
        area_en: "Yeongnam",
        weight: 260,
        cities: &["포항", "구미", "경산", "경주", "안동"],
    },
    Region {
        ko: "경남",
        en: "Gyeongnam",
        area_ko: "영남권",
        area_en: "Yeongnam",
        weight: 325,
        cities: &["창원", "김해", "진주", "양산", "거제"],
    },
    Region {
        ko: "제주", en: "Jeju", area_ko: "제주권", area_en: "Jeju", weight: 67, cities: &["제주", "서귀포"]
    },
];

/// Surnames with their usual romanisation and frequency per mille.
const SURNAMES: &[(&str, &str, u64)] = &[
    ("김", "kim", 214),
    ("이", "lee", 147),
    ("박", "park", 84),
    ("최", "choi", 47),
    ("정", "jung", 43),
    ("강", "kang", 23),
    ("조", "cho", 21),
    ("윤", "yoon", 20),
    ("장", "jang", 20),
    ("임", "lim", 18),
    ("한", "han", 15),
    ("오", "oh", 15),
    ("서", "seo", 15),
    ("신", "shin", 14),
    ("권", "kwon", 14),
    ("황", "hwang", 14),
    ("안", "ahn", 13),
    ("송", "song", 13),
    ("류", "ryu", 12),
    ("전", "jeon", 11),
    ("홍", "hong", 11),
    ("고", "ko", 9),
    ("문", "moon", 9),
    ("양", "yang", 9),
    ("손", "son", 9),
    ("배", "bae", 8),
    ("백", "baek", 8),
    ("허", "heo", 6),
    ("남", "nam", 5),
    ("노", "noh", 5),
    ("하", "ha", 5),
    ("곽", "kwak", 4),
    ("성", "sung", 4),
    ("차", "cha", 4),
];

const FEMALE_NAMES: &[(&str, &str)] = &[
    ("서연", "seoyeon"),
    ("지우", "jiwoo"),
    ("서윤", "seoyun"),
    ("하은", "haeun"),
    ("민서", "minseo"),
    ("지민", "jimin"),
    ("수아", "sua"),
    ("지아", "jia"),
    ("채원", "chaewon"),
    ("윤서", "yunseo"),
    ("예은", "yeeun"),
    ("다은", "daeun"),
    ("수빈", "subin"),
    ("지현", "jihyun"),
    ("은지", "eunji"),
    ("혜진", "hyejin"),
    ("미영", "miyoung"),
    ("수진", "sujin"),
    ("정은", "jungeun"),
    ("민지", "minji"),
    ("유진", "yujin"),
    ("소연", "soyeon"),
    ("하윤", "hayun"),
    ("경희", "kyunghee"),
];

const MALE_NAMES: &[(&str, &str)] = &[
    ("민준", "minjun"),
    ("서준", "seojun"),
    ("도윤", "doyun"),
    ("예준", "yejun"),
    ("시우", "siwoo"),
    ("주원", "juwon"),
    ("하준", "hajun"),
    ("지호", "jiho"),
    ("준서", "junseo"),
    ("건우", "geonwoo"),
    ("현우", "hyunwoo"),
    ("지훈", "jihoon"),
    ("성민", "sungmin"),
    ("동현", "donghyun"),
    ("영수", "youngsoo"),
    ("정호", "jungho"),
    ("상훈", "sanghoon"),
    ("재현", "jaehyun"),
    ("태민", "taemin"),
    ("우진", "woojin"),
    ("승현", "seunghyun"),
    ("민재", "minjae"),
    ("준영", "junyoung"),
    ("성호", "sungho"),
];

const EMAIL_DOMAINS: &[(&str, u64)] =
    &[("naver.com", 40), ("gmail.com", 30), ("daum.net", 12), ("kakao.com", 8), ("hanmail.net", 6), ("nate.com", 4)];

/// Fictional brands (Korean, English).
const BRANDS: &[(&str, &str)] = &[
    ("누리", "Nuri"),
    ("한결", "Hangyeol"),
    ("다온", "Daon"),
    ("가람", "Garam"),
    ("별빛", "Byeolbit"),
    ("새봄", "Saebom"),
    ("마루", "Maru"),
    ("아라", "Ara"),
    ("이음", "Ieum"),
    ("도담", "Dodam"),
    ("해솔", "Haesol"),
    ("온유", "Onyu"),
];

/// Product variants: Korean suffix, English suffix, price in percent of the base item.
const VARIANTS: &[(&str, &str, u64)] =
    &[("프로", "Pro", 150), ("미니", "Mini", 70), ("대용량", "Large", 160), ("프리미엄", "Premium", 140)];

/// When a subcategory sells more or less, through the year and around the holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Season {
    Flat,
    Gadget,
    Computer,
    Apparel,
    Summer,
    GiftSet,
    Fresh,
    Health,
    Camping,
    Fitness,
    Golf,
    School,
}

struct Leaf {
    ko: &'static str,
    en: &'static str,
    season: Season,
    /// Bought several at a time.
    consumable: bool,
    /// Product names carry a brand; unbranded leaves (books) use the item name alone.
    branded: bool,
    /// Extra return rate in percent (clothes and shoes come back more often).
    returns: u64,
    /// Items: Korean name, English name, base price in won.
    items: &'static [(&'static str, &'static str, u64)],
}

struct Top {
    ko: &'static str,
    en: &'static str,
    /// Unit cost as a percent range of the price.
    cost_pct: (u64, u64),
    leaves: &'static [Leaf],
}

const CATALOG: &[Top] = &[
    Top {
        ko: "전자제품",
        en: "Electronics",
        cost_pct: (68, 80),
        leaves: &[
            Leaf {
                ko: "휴대폰 액세서리",
                en: "Phone Accessories",
                season: Season::Gadget,
                consumable: false,
                branded: true,
                returns: 1,
                items: &[
                    ("고속 충전기", "Fast Charger", 19_900),
                    ("무선 충전 패드", "Wireless Charging Pad", 29_900),
                    ("보조배터리 10000mAh", "Power Bank 10000mAh", 32_900),
                    ("강화유리 보호필름", "Tempered Glass Screen Protector", 9_900),
                    ("실리콘 케이스", "Silicone Case", 15_900),
                    ("USB-C 케이블", "USB-C Cable", 8_900),
                ],
            },
            Leaf {
                ko: "음향기기",
                en: "Audio",
                season: Season::Gadget,
                consumable: false,
                branded: true,
                returns: 2,
                items: &[
                    ("무선 이어폰", "Wireless Earbuds", 129_000),
                    ("노이즈캔슬링 헤드폰", "Noise-Cancelling Headphones", 289_000),
                    ("블루투스 스피커", "Bluetooth Speaker", 79_000),
                    ("사운드바", "Soundbar", 249_000),
                    ("유선 이어폰", "Wired Earphones", 19_900),
                ],
            },
            Leaf {
                ko: "컴퓨터·태블릿",
                en: "Computers & Tablets",
                season: Season::Computer,
                consumable: false,
                branded: true,
                returns: 2,
                items: &[
                    ("14인치 노트북", "14-inch Laptop", 1_290_000),
                    ("10인치 태블릿", "10-inch Tablet", 459_000),
                    ("무선 마우스", "Wireless Mouse", 29_900),
                    ("기계식 키보드", "Mechanical Keyboard", 119_000),
                    ("27인치 모니터", "27-inch Monitor", 329_000),
                    ("외장 SSD 1TB", "External SSD 1TB", 139_000),
                ],
            },
            Leaf {
                ko: "생활가전",
                en: "Small Appliances",
                season: Season::Summer,
                consumable: false,
                branded: true,
                returns: 2,
                items: &[
                    ("에어프라이어", "Air Fryer", 119_000),
                    ("무선 청소기", "Cordless Vacuum", 359_000),
                    ("공기청정기", "Air Purifier", 249_000),
                    ("전기포트", "Electric Kettle", 39_900),
                    ("제습기", "Dehumidifier", 279_000),
                    ("선풍기", "Electric Fan", 69_000),
                ],
            },
        ],
    },
    Top {
        ko: "패션",
        en: "Fashion",
        cost_pct: (38, 50),
        leaves: &[
            Leaf {
                ko: "여성의류",
                en: "Women's Clothing",
                season: Season::Apparel,
                consumable: false,
                branded: true,
                returns: 7,
                items: &[
                    ("니트 가디건", "Knit Cardigan", 59_000),
                    ("린넨 원피스", "Linen Dress", 79_000),
                    ("와이드 슬랙스", "Wide Slacks", 49_000),
                    ("롱 패딩", "Long Padded Coat", 219_000),
                    ("트렌치코트", "Trench Coat", 169_000),
                    ("기본 티셔츠", "Basic T-shirt", 19_900),
                ],
            },
            Leaf {
                ko: "남성의류",
                en: "Men's Clothing",
                season: Season::Apparel,
                consumable: false,
                branded: true,
                returns: 6,
                items: &[
                    ("옥스퍼드 셔츠", "Oxford Shirt", 45_000),
                    ("경량 패딩", "Lightweight Down Jacket", 129_000),
                    ("치노 팬츠", "Chino Pants", 49_000),
                    ("맨투맨", "Sweatshirt", 39_000),
                    ("울 코트", "Wool Coat", 259_000),
                    ("반팔 티셔츠", "Short-sleeve T-shirt", 19_900),
                ],
            },
            Leaf {
                ko: "신발",
                en: "Shoes",
                season: Season::Apparel,
                consumable: false,
                branded: true,
                returns: 8,
                items: &[
                    ("러닝화", "Running Shoes", 109_000),
                    ("스니커즈", "Sneakers", 89_000),
                    ("로퍼", "Loafers", 99_000),
                    ("슬리퍼", "Slippers", 19_900),
                    ("방한 부츠", "Winter Boots", 129_000),
                ],
            },
            Leaf {
                ko: "가방·잡화",
                en: "Bags & Accessories",
                season: Season::Apparel,
                consumable: false,
                branded: true,
                returns: 4,
                items: &[
                    ("백팩", "Backpack", 69_000),
                    ("토트백", "Tote Bag", 89_000),
                    ("가죽 지갑", "Leather Wallet", 59_000),
                    ("캡 모자", "Baseball Cap", 25_000),
                    ("울 머플러", "Wool Muffler", 39_000),
                ],
            },
        ],
    },
    Top {
        ko: "뷰티",
        en: "Beauty",
        cost_pct: (28, 40),
        leaves: &[
            Leaf {
                ko: "스킨케어",
                en: "Skincare",
                season: Season::Flat,
                consumable: true,
                branded: true,
                returns: 1,
                items: &[
                    ("수분 크림", "Moisturizing Cream", 32_000),
                    ("비타민C 세럼", "Vitamin C Serum", 38_000),
                    ("선크림 SPF50+", "Sunscreen SPF50+", 19_800),
                    ("시트 마스크 10매", "Sheet Masks (10 pack)", 15_000),
                    ("토너", "Toner", 22_000),
                    ("클렌징 폼", "Cleansing Foam", 12_900),
                ],
            },
            Leaf {
                ko: "메이크업",
                en: "Makeup",
                season: Season::Flat,
                consumable: false,
                branded: true,
                returns: 1,
                items: &[
                    ("쿠션 파운데이션", "Cushion Foundation", 36_000),
                    ("립 틴트", "Lip Tint", 14_000),
                    ("아이섀도 팔레트", "Eyeshadow Palette", 29_000),
                    ("마스카라", "Mascara", 17_000),
                    ("컨실러", "Concealer", 19_000),
                ],
            },
            Leaf {
                ko: "헤어·바디",
                en: "Hair & Body",
                season: Season::Flat,
                consumable: true,
                branded: true,
                returns: 1,
                items: &[
                    ("샴푸", "Shampoo", 16_900),
                    ("헤어 트리트먼트", "Hair Treatment", 18_900),
                    ("바디로션", "Body Lotion", 14_900),
                    ("핸드크림 세트", "Hand Cream Set", 19_900),
                    ("향수 50ml", "Eau de Parfum 50ml", 89_000),
                ],
            },
        ],
    },
    Top {
        ko: "식품",
        en: "Food",
        cost_pct: (62, 75),
        leaves: &[
            Leaf {
                ko: "신선식품",
                en: "Fresh Food",
                season: Season::Fresh,
                consumable: true,
                branded: true,
                returns: 1,
                items: &[
                    ("한우 등심 500g", "Hanwoo Sirloin 500g", 69_000),
                    ("제주 감귤 5kg", "Jeju Tangerines 5kg", 24_900),
                    ("유기농 계란 30구", "Organic Eggs (30)", 12_900),
                    ("고창 수박", "Gochang Watermelon", 22_900),
                    ("손질 고등어", "Prepared Mackerel", 15_900),
                    ("샤인머스캣 2kg", "Shine Muscat Grapes 2kg", 29_900),
                ],
            },
            Leaf {
                ko: "가공식품",
                en: "Packaged Food",
                season: Season::Flat,
                consumable: true,
                branded: true,
                returns: 0,
                items: &[
                    ("즉석밥 24개입", "Instant Rice (24 pack)", 23_900),
                    ("라면 멀티팩", "Ramyeon Multipack", 7_900),
                    ("포기김치 3kg", "Napa Cabbage Kimchi 3kg", 27_900),
                    ("냉동 만두", "Frozen Dumplings", 12_900),
                    ("참치캔 10개입", "Canned Tuna (10 cans)", 21_900),
                    ("원두 커피 1kg", "Coffee Beans 1kg", 32_000),
                ],
            },
            Leaf {
                ko: "건강식품",
                en: "Health Food",
                season: Season::Health,
                consumable: true,
                branded: true,
                returns: 0,
                items: &[
                    ("홍삼 스틱", "Red Ginseng Sticks", 89_000),
                    ("종합비타민", "Multivitamin", 29_900),
                    ("유산균", "Probiotics", 35_900),
                    ("오메가3", "Omega-3", 27_900),
                    ("단백질 쉐이크", "Protein Shake", 39_900),
                ],
            },
            Leaf {
                ko: "명절 선물세트",
                en: "Holiday Gift Sets",
                season: Season::GiftSet,
                consumable: false,
                branded: true,
                returns: 0,
                items: &[
                    ("한우 선물세트", "Hanwoo Gift Set", 189_000),
                    ("과일 선물세트", "Fruit Gift Set", 79_000),
                    ("참치 선물세트", "Canned Tuna Gift Set", 39_900),
                    ("홍삼 선물세트", "Red Ginseng Gift Set", 129_000),
                    ("올리브유 선물세트", "Olive Oil Gift Set", 45_000),
                    ("생활용품 선물세트", "Toiletries Gift Set", 29_900),
                ],
            },
        ],
    },
    Top {
        ko: "생활·주방",
        en: "Home & Kitchen",
        cost_pct: (52, 65),
        leaves: &[
            Leaf {
                ko: "주방용품",
                en: "Kitchenware",
                season: Season::Flat,
                consumable: false,
                branded: true,
                returns: 2,
                items: &[
                    ("스테인리스 냄비 세트", "Stainless Pot Set", 129_000),
                    ("프라이팬 28cm", "Frying Pan 28cm", 45_900),
                    ("밀폐용기 세트", "Food Container Set", 32_900),
                    ("주방 칼 세트", "Kitchen Knife Set", 79_000),
                    ("텀블러", "Tumbler", 24_900),
                ],
            },
            Leaf {
                ko: "생활용품",
                en: "Household Supplies",
                season: Season::Flat,
                consumable: true,
                branded: true,
                returns: 0,
                items: &[
                    ("화장지 30롤", "Toilet Paper (30 rolls)", 21_900),
                    ("세탁세제", "Laundry Detergent", 18_900),
                    ("물티슈 10팩", "Wet Wipes (10 packs)", 14_900),
                    ("주방세제", "Dish Soap", 7_900),
                    ("섬유유연제", "Fabric Softener", 12_900),
                ],
            },
            Leaf {
                ko: "침구·인테리어",
                en: "Bedding & Decor",
                season: Season::Flat,
                consumable: false,
                branded: true,
                returns: 3,
                items: &[
                    ("극세사 이불", "Microfiber Duvet", 89_000),
                    ("메모리폼 베개", "Memory Foam Pillow", 39_000),
                    ("암막 커튼", "Blackout Curtains", 59_000),
                    ("LED 스탠드", "LED Desk Lamp", 45_000),
                    ("거실 러그", "Living Room Rug", 99_000),
                ],
            },
        ],
    },
    Top {
        ko: "스포츠·레저",
        en: "Sports & Outdoors",
        cost_pct: (52, 65),
        leaves: &[
            Leaf {
                ko: "캠핑",
                en: "Camping",
                season: Season::Camping,
                consumable: false,
                branded: true,
                returns: 2,
                items: &[
                    ("캠핑 텐트", "Camping Tent", 329_000),
                    ("캠핑 의자", "Camping Chair", 59_000),
                    ("침낭", "Sleeping Bag", 119_000),
                    ("아이스박스", "Cooler Box", 79_000),
                    ("캠핑 랜턴", "Camping Lantern", 39_000),
                ],
            },
            Leaf {
                ko: "피트니스",
                en: "Fitness",
                season: Season::Fitness,
                consumable: false,
                branded: true,
                returns: 2,
                items: &[
                    ("요가 매트", "Yoga Mat", 29_900),
                    ("덤벨 세트", "Dumbbell Set", 69_000),
                    ("폼롤러", "Foam Roller", 19_900),
                    ("스마트 워치", "Smart Watch", 249_000),
                    ("실내 사이클", "Indoor Cycle", 399_000),
                ],
            },
            Leaf {
                ko: "골프",
                en: "Golf",
                season: Season::Golf,
                consumable: false,
                branded: true,
                returns: 3,
                items: &[
                    ("골프공 12구", "Golf Balls (12)", 45_000),
                    ("골프 장갑", "Golf Glove", 24_000),
                    ("드라이버", "Driver", 590_000),
                    ("골프화", "Golf Shoes", 189_000),
                    ("거리측정기", "Rangefinder", 299_000),
                ],
            },
        ],
    },
    Top {
        ko: "도서·문구",
        en: "Books & Stationery",
        cost_pct: (58, 70),
        leaves: &[
            Leaf {
                ko: "도서",
                en: "Books",
                season: Season::School,
                consumable: false,
                branded: false,
                returns: 1,
                items: &[
                    ("달빛 아래 정원", "The Garden Under the Moon", 16_800),
                    ("돈의 흐름", "How Money Flows", 19_800),
                    ("꼬마 곰의 하루", "A Day of the Little Bear", 13_500),
                    ("하루 10분 영어", "English in Ten Minutes a Day", 22_000),
                    ("집밥 레시피", "Home-Cooking Recipes", 24_000),
                    ("데이터로 말하기", "Speaking with Data", 25_000),
                    ("서울의 골목", "Alleys of Seoul", 18_000),
                ],
            },
            Leaf {
                ko: "문구",
                en: "Stationery",
                season: Season::School,
                consumable: true,
                branded: true,
                returns: 1,
                items: &[
                    ("만년필", "Fountain Pen", 59_000),
                    ("다이어리", "Planner", 18_000),
                    ("볼펜 세트", "Ballpoint Pen Set", 9_900),
                    ("노트 5권", "Notebooks (5 pack)", 8_900),
                    ("데스크 정리함", "Desk Organizer", 22_900),
                ],
            },
        ],
    },
];

/// Seollal and Chuseok (the main day of each), 2022–2025.
const HOLIDAYS: &[Date] = &[
    date!(2022 - 02 - 01),
    date!(2022 - 09 - 10),
    date!(2023 - 01 - 22),
    date!(2023 - 09 - 29),
    date!(2024 - 02 - 10),
    date!(2024 - 09 - 17),
    date!(2025 - 01 - 29),
    date!(2025 - 10 - 06),
];

const FIRST_DAY: Date = date!(2022 - 01 - 01);
const LAST_DAY: Date = date!(2025 - 12 - 31);

/// Business growth: the relative order volume on 1 January of each year (linear in between).
const GROWTH: &[(i32, u64)] = &[(2022, 100), (2023, 145), (2024, 190), (2025, 225), (2026, 250)];
/// Relative order volume by month, January first.
const MONTH_FACTOR: [u64; 12] = [95, 88, 100, 98, 104, 98, 96, 97, 102, 104, 135, 128];
/// Orders per day at growth 100 and every factor 100, in thousandths.
const BASE_ORDERS_MILLI: u64 = 12_500;
/// New customers per day at growth 100, in thousandths.
const BASE_SIGNUPS_MILLI: u64 = 3_300;

// ---------------------------------------------------------------------------------------------------------------
// The calendar

/// One calendar day and what it means for the shop.
struct Day {
    date: Date,
    text: String,
    month: u8,
    /// Two to fourteen days before Seollal or Chuseok: gift shopping.
    pre_holiday: bool,
    /// The day before, of, and after the holiday: couriers rest.
    holiday: bool,
    /// A sale day: 11 November, the Black Friday weekend, the pre-holiday weeks.
    sale: bool,
    /// Position in the four years, 0..=1000.
    progress: u64,
    /// Days before the last day of data (0 on 2025-12-31).
    days_left: i64,
}

impl Day {
    fn new(date: Date) -> Day {
        let jd = date.to_julian_day();
        let to_holiday = |h: &Date| i64::from(h.to_julian_day() - jd);
        let pre_holiday = HOLIDAYS.iter().any(|h| (2..=14).contains(&to_holiday(h)));
        let holiday = HOLIDAYS.iter().any(|h| (-1..=1).contains(&to_holiday(h)));
        let span = i64::from(LAST_DAY.to_julian_day() - FIRST_DAY.to_julian_day());
        let done = i64::from(jd - FIRST_DAY.to_julian_day());
        Day {
            date,
            text: ymd(date),
            month: date.month() as u8,
            pre_holiday,
            holiday,
            sale: pre_holiday || is_singles_day(date) || black_friday_weekend(date),
            progress: (done * 1000 / span.max(1)) as u64,
            days_left: span - done,
        }
    }

    /// Relative volume (100 = an ordinary day of the base year), from growth, month, weekday and special days.
    fn volume(&self) -> u64 {
        let weekday = match self.date.weekday() {
            Weekday::Monday => 100,
            Weekday::Tuesday => 96,
            Weekday::Wednesday => 95,
            Weekday::Thursday => 98,
            Weekday::Friday => 104,
            Weekday::Saturday => 112,
            Weekday::Sunday => 116,
        };
        let special = if is_singles_day(self.date) {
            250
        } else if black_friday_weekend(self.date) {
            180
        } else if self.holiday {
            55
        } else if self.pre_holiday || (self.date.month() == Month::December && (20..=24).contains(&self.date.day())) {
            125
        } else if self.date.month() == Month::January && self.date.day() == 1 {
            70
        } else {
            100
        };
        let month = MONTH_FACTOR[usize::from(self.month - 1)];
        growth(self.date) * month * weekday * special / 1_000_000
    }

    fn season(&self, s: Season) -> u64 {
        let m = self.month;
        match s {
            Season::Flat => 100,
            Season::Gadget => match m {
                11 => 170,
                12 => 130,
                _ => 100,
            },
            Season::Computer => match m {
                2 | 3 => 135,
                11 => 170,
                12 => 120,
                _ => 100,
            },
            Season::Apparel => match m {
                3 | 4 => 120,
                9 | 10 => 130,
                11 | 12 => 140,
                7 | 8 => 85,
                _ => 100,
            },
            Season::Summer => match m {
                6..=8 => 160,
                12 | 1 | 2 => 85,
                _ => 100,
            },
            Season::GiftSet if self.pre_holiday => 1200,
            Season::GiftSet => {
                if m == 12 {
                    150
                } else {
                    20
                }
            }
            Season::Fresh => {
                if self.pre_holiday {
                    220
                } else {
                    100
                }
            }
            Season::Health if self.pre_holiday => 200,
            Season::Health => {
                if m == 1 {
                    130
                } else {
                    100
                }
            }
            Season::Camping => match m {
                4..=6 => 150,
                9 | 10 => 160,
                12 | 1 | 2 => 50,
                _ => 100,
            },
            Season::Fitness => match m {
                1 => 180,
                2 => 130,
                3 => 120,
                _ => 100,
            },
            Season::Golf => match m {
                4 | 5 | 9 | 10 => 150,
                12 | 1 | 2 => 40,
                _ => 100,
            },
            Season::School => match m {
                2 => 180,
                3 => 170,
                8 => 120,
                12 => 130,
                _ => 100,
            },
        }
    }
}

fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

fn is_singles_day(d: Date) -> bool {
    d.month() == Month::November && d.day() == 11
}

/// Black Friday (the day after the fourth Thursday of November, so always on the 23rd–29th) and its weekend.
fn black_friday_weekend(d: Date) -> bool {
    let days_after_friday = match d.weekday() {
        Weekday::Friday => 0,
        Weekday::Saturday => 1,
        Weekday::Sunday => 2,
        _ => return false,
    };
    let friday = i32::from(d.day()) - days_after_friday;
    d.month() == Month::November && (23..=29).contains(&friday)
}

fn growth(d: Date) -> u64 {
    let year = d.year();
    let at = |y: i32| GROWTH.iter().find(|(gy, _)| *gy == y).map(|(_, g)| *g);
    let (Some(a), Some(b)) = (at(year), at(year + 1)) else { return 100 };
    let days = u64::from(time::util::days_in_year(year));
    let elapsed = u64::from(d.ordinal() - 1);
    if b >= a { a + (b - a) * elapsed / days } else { a - (a - b) * elapsed / days }
}

/// Interpolates linearly from `a` (progress 0) to `b` (progress 1000).
fn lerp(a: u64, b: u64, progress: u64) -> u64 {
    if b >= a { a + (b - a) * progress / 1000 } else { a - (a - b) * progress / 1000 }
}

/// Shop prices: whole hundreds of won, and `…,900` from 10,000 won up.
fn shop_price(raw: u64) -> u64 {
    if raw >= 10_000 { (raw / 1000).max(1) * 1000 - 100 } else { (raw / 100).max(1) * 100 }
}

fn days_after(d: Date, days: i64) -> Date {
    d.checked_add(time::Duration::days(days)).unwrap_or(d)
}

// ---------------------------------------------------------------------------------------------------------------
// Generation

struct Product {
    id: i64,
    price: u64,
    season: Season,
    consumable: bool,
    returns: u64,
    launched: Date,
    /// The first day it no longer sells (discontinued products only).
    stopped: Option<Date>,
    /// Base popularity: a Zipf-like weight over a shuffled rank, damped for expensive items.
    popularity: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    General,
    Vip,
    Business,
}

struct Customer {
    region: usize,
    segment: Segment,
    signup: Date,
    /// How often this customer orders, relative to others (a few buy a lot).
    activity: u64,
}

fn generate(conn: &Connection) -> rusqlite::Result<DemoStats> {
    let regions = insert_regions(conn)?;
    let (categories, leaf_ids) = insert_categories(conn)?;
    let products = insert_products(conn, &leaf_ids)?;
    let customers = insert_customers(conn)?;
    let sales = insert_orders(conn, &products, &customers)?;
    Ok(DemoStats {
        regions,
        categories,
        products: products.len() as u64,
        customers: customers.len() as u64,
        orders: sales.orders,
        order_items: sales.items,
        payments: sales.payments,
        revenue: sales.revenue,
        elapsed: Duration::ZERO,
    })
}

fn insert_regions(conn: &Connection) -> rusqlite::Result<u64> {
    let mut st = conn.prepare("INSERT INTO regions VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for (i, r) in REGIONS.iter().enumerate() {
        st.execute(params![i as i64 + 1, r.ko, r.en, r.area_ko, r.area_en])?;
    }
    Ok(REGIONS.len() as u64)
}

/// Inserts top categories and their subcategories; returns the count and each leaf's id, in catalog order.
fn insert_categories(conn: &Connection) -> rusqlite::Result<(u64, Vec<i64>)> {
    let mut st = conn.prepare("INSERT INTO categories VALUES (?1, ?2, ?3, ?4)")?;
    let mut id = 0i64;
    let mut leaves = Vec::new();
    for top in CATALOG {
        id += 1;
        let top_id = id;
        st.execute(params![top_id, None::<i64>, top.ko, top.en])?;
        for leaf in top.leaves {
            id += 1;
            st.execute(params![id, top_id, leaf.ko, leaf.en])?;
            leaves.push(id);
        }
    }
    Ok((id as u64, leaves))
}

fn insert_products(conn: &Connection, leaf_ids: &[i64]) -> rusqlite::Result<Vec<Product>> {
    let mut rng = Rng::stream(1);
    let mut st = conn.prepare("INSERT INTO products VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
    let mut products = Vec::new();
    let leaves = CATALOG.iter().flat_map(|top| top.leaves.iter().map(move |leaf| (top, leaf)));
    for ((top, leaf), &category_id) in leaves.zip(leaf_ids) {
        for &(item_ko, item_en, base) in leaf.items {
            let mut versions = vec![(None, base)];
            if leaf.branded && rng.percent(40) {
                let v = *rng.pick(VARIANTS);
                versions.push((Some(v), shop_price(base * v.2 / 100)));
            }
            for (variant, price) in versions {
                let id = products.len() as i64 + 1;
                let (mut ko, mut en) = (item_ko.to_string(), item_en.to_string());
                if leaf.branded {
                    let (bko, ben) = rng.pick(BRANDS);
                    ko = format!("{bko} {ko}");
                    en = format!("{ben} {en}");
                }
                if let Some((vko, ven, _)) = variant {
                    ko = format!("{ko} {vko}");
                    en = format!("{en} {ven}");
                }
                let cost = price * rng.range(top.cost_pct.0, top.cost_pct.1) / 100 / 10 * 10;
                let launched = if rng.percent(70) {
                    days_after(date!(2019 - 01 - 01), rng.below(3 * 365) as i64)
                } else {
                    days_after(date!(2022 - 02 - 01), rng.below(1340) as i64)
                };
                let stopped = (launched < date!(2024 - 01 - 01) && rng.percent(8))
                    .then(|| days_after(date!(2023 - 06 - 01), rng.below(730) as i64).max(days_after(launched, 180)));
                st.execute(params![
                    id,
                    format!("DG-{category_id:02}-{id:04}"),
                    ko,
                    en,
                    category_id,
                    price as i64,
                    cost.max(10) as i64,
                    ymd(launched),
                    i64::from(stopped.is_none())
                ])?;
                products.push(Product {
                    id,
                    price,

                    season: leaf.season,
                    consumable: leaf.consumable,
                    returns: leaf.returns,
                    launched,
                    stopped,
                    popularity: 0,
                });
            }
        }
    }
    // Pareto: a shuffled rank gives a few products most of the sales.
    let mut ranks: Vec<u64> = (0..products.len() as u64).collect();
    for i in (1..ranks.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        ranks.swap(i, j);
    }
    for (p, rank) in products.iter_mut().zip(ranks) {
        p.popularity = 10_000_000_000 / ((rank + 1) * (p.price / 1000 + 30));
    }
    Ok(products)
}

fn insert_customers(conn: &Connection) -> rusqlite::Result<Vec<Customer>> {
    let mut rng = Rng::stream(2);
    let mut st = conn.prepare("INSERT INTO customers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?;
    let region_weights: Vec<(usize, u64)> = REGIONS.iter().enumerate().map(|(i, r)| (i, r.weight)).collect();
    let surnames: Vec<((&str, &str), u64)> = SURNAMES.iter().map(|&(k, r, w)| ((k, r), w)).collect();
    let (mut emails, mut phones) = (HashSet::new(), HashSet::new());
    let mut customers = Vec::new();
    let mut date = FIRST_DAY;
    while date <= LAST_DAY {
        let day = Day::new(date);
        // A launch campaign fills the first ten days; afterwards sign-ups follow the shop's growth.
        let launch = if date.year() == 2022 && date.month() == Month::January && date.day() <= 10 { 40_000 } else { 0 };
        let expected =
            BASE_SIGNUPS_MILLI * growth(date) / 100 * MONTH_FACTOR[usize::from(day.month - 1)] / 100 + launch;
        let n = (expected * rng.range(800, 1200) / 1000 + rng.below(1000)) / 1000;
        for _ in 0..n {
            let id = customers.len() as i64 + 1;
            let region = rng.weighted(&region_weights);
            let (sur_ko, sur_rom) = rng.weighted(&surnames);
            let female = rng.percent(52);
            let (given_ko, given_rom) = *rng.pick(if female { FEMALE_NAMES } else { MALE_NAMES });
            let birth_year = 1958 + rng.below(24) + rng.below(24);
            let segment = match rng.below(100) {
                0..=2 => Segment::Vip,
                3..=7 => Segment::Business,
                _ => Segment::General,
            };
            let email = unique_email(&mut rng, &mut emails, given_rom, sur_rom, birth_year, id);
            let phone = unique_phone(&mut rng, &mut phones);
            let r = &REGIONS[region];
            st.execute(params![
                id,
                format!("{sur_ko}{given_ko}"),
                email,
                phone,
                if female { "F" } else { "M" },
                birth_year as i64,
                *rng.pick(r.cities),
                region as i64 + 1,
                match segment {
                    Segment::General => "general",
                    Segment::Vip => "vip",
                    Segment::Business => "business",
                },
                day.text,
                i64::from(rng.percent(63)),
            ])?;
            let activity = match segment {
                Segment::Vip => 40,
                Segment::Business => 12,
                Segment::General => rng.weighted(&[(1, 50), (2, 25), (4, 15), (8, 10)]),
            };
            customers.push(Customer { region, segment, signup: date, activity });
        }
        if date == LAST_DAY {
            break;
        }
        date = days_after(date, 1);
    }
    Ok(customers)
}

fn unique_email(
    rng: &mut Rng,
    seen: &mut HashSet<String>,
    given: &str,
    surname: &str,
    birth_year: u64,
    id: i64,
) -> String {
    let domain = rng.weighted(EMAIL_DOMAINS);
    let local = match rng.below(4) {
        0 => format!("{given}.{surname}"),
        1 => format!("{given}{}", birth_year % 100),
        2 => format!("{surname}{given}{}", rng.range(1, 999)),
        _ => format!("{given}_{surname}{}", rng.range(10, 99)),
    };
    let mut email = format!("{local}@{domain}");
    if !seen.insert(email.clone()) {
        email = format!("{local}{id}@{domain}");
        seen.insert(email.clone());
    }
    email
}

fn unique_phone(rng: &mut Rng, seen: &mut HashSet<u64>) -> String {
    loop {
        let n = rng.range(2000_0000, 9999_9999);
        if seen.insert(n) {
            return format!("010-{:04}-{:04}", n / 10_000, n % 10_000);
        }
    }
}

struct Sales {
    orders: u64,
    items: u64,
    payments: u64,
    revenue: i64,
}

/// One order line before it is written.
struct Line {
    product: i64,
    quantity: u64,
    unit_price: u64,
    discount: u64,
    /// The product's extra return rate, in percent.
    returns: u64,
}

/// One order before it is written.
struct NewOrder<'a> {
    customer_id: i64,
    channel: &'static str,
    region: usize,
    lines: &'a [Line],
}

struct Statements<'c> {
    order: rusqlite::Statement<'c>,
    item: rusqlite::Statement<'c>,
    payment: rusqlite::Statement<'c>,
}

fn insert_orders(conn: &Connection, products: &[Product], customers: &[Customer]) -> rusqlite::Result<Sales> {
    let mut rng = Rng::stream(3);
    let mut st = Statements {
        order: conn.prepare("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?,
        item: conn.prepare("INSERT INTO order_items VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
        payment: conn.prepare("INSERT INTO payments VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?,
    };
    let customer_weights = Cumulative::from_weights(customers.iter().map(|c| c.activity));
    let region_weights: Vec<(usize, u64)> = REGIONS.iter().enumerate().map(|(i, r)| (i, r.weight)).collect();
    let mut sales = Sales { orders: 0, items: 0, payments: 0, revenue: 0 };
    let mut signed_up = 0;
    let mut date = FIRST_DAY;
    while date <= LAST_DAY {
        let day = Day::new(date);
        while signed_up < customers.len() && customers[signed_up].signup <= date {
            signed_up += 1;
        }
        let catalog = Cumulative::from_weights(products.iter().map(|p| {
            let on_sale = p.launched <= date && p.stopped.is_none_or(|s| date < s);
            if on_sale { p.popularity * day.season(p.season) / 100 } else { 0 }
        }));
        let expected = BASE_ORDERS_MILLI * day.volume() / 100;
        let n = (expected * rng.range(850, 1150) / 1000 + rng.below(1000)) / 1000;
        for _ in 0..n {
            let Some(c) = customer_weights.sample(&mut rng, signed_up) else { continue };
            let customer = &customers[c];
            let lines = order_lines(&mut rng, &day, &catalog, products, customer.segment);
            if lines.is_empty() {
                continue;
            }
            let channel = pick_channel(&mut rng, &day, customer.segment);
            let region =
                if channel == "store" || rng.percent(92) { customer.region } else { rng.weighted(&region_weights) };
            let order = NewOrder { customer_id: c as i64 + 1, channel, region, lines: &lines };
            write_order(&mut st, &mut rng, &mut sales, &day, &order)?;
        }
        if date == LAST_DAY {
            break;
        }
        date = days_after(date, 1);
    }
    Ok(sales)
}

fn order_lines(rng: &mut Rng, day: &Day, catalog: &Cumulative, products: &[Product], segment: Segment) -> Vec<Line> {
    let mut count = rng.weighted(&[(1, 52), (2, 26), (3, 12), (4, 6), (5, 3), (6, 1)]);
    if segment == Segment::Business {
        count += rng.below(3);
    }
    let mut lines: Vec<Line> = Vec::new();
    for _ in 0..count {
        let Some(p) = catalog.sample(rng, products.len()) else { break };
        let product = &products[p];
        if lines.iter().any(|l| l.product == product.id) {
            continue;
        }
        let mut quantity = if product.consumable {
            rng.weighted(&[(1, 55), (2, 28), (3, 10), (4, 5), (5, 2)])
        } else {
            rng.weighted(&[(1, 80), (2, 14), (3, 4), (4, 2)])
        };
        if segment == Segment::Business {
            quantity += rng.below(4);
        }
        // Prices rise about 3% a year towards today's list price.
        let years_back = (2025 - i64::from(day.date.year())).clamp(0, 10) as u64;
        let unit_price =
            if years_back == 0 { product.price } else { shop_price(product.price * (100 - 3 * years_back) / 100) };
        let discount_chance = if day.sale { 45 } else { 18 } + if segment == Segment::Vip { 10 } else { 0 };
        let discount = if rng.percent(discount_chance) {
            let rate = *rng.pick(&[5, 10, 10, 15, 20, 30]);
            unit_price * quantity * rate / 100 / 100 * 100
        } else {
            0
        };
        lines.push(Line { product: product.id, quantity, unit_price, discount, returns: product.returns });
    }
    lines
}

fn pick_channel(rng: &mut Rng, day: &Day, segment: Segment) -> &'static str {
    if segment == Segment::Business {
        return rng.weighted(&[("web", 80), ("app", 15), ("store", 5)]);
    }
    let weekend = matches!(day.date.weekday(), Weekday::Saturday | Weekday::Sunday);
    let store = if weekend { 20 } else { 13 };
    let app = lerp(35, 62, day.progress);
    // app ≤ 62 and store ≤ 20, so web keeps at least 18.
    rng.weighted(&[("store", store), ("app", app), ("web", 100 - store - app)])
}

fn write_order(
    st: &mut Statements,
    rng: &mut Rng,
    sales: &mut Sales,
    day: &Day,
    order: &NewOrder,
) -> rusqlite::Result<()> {
    let total: u64 = order.lines.iter().map(|l| l.quantity * l.unit_price - l.discount).sum();
    let method = pick_method(rng, day, order.channel);
    let returns = order.lines.iter().map(|l| l.returns).max().unwrap_or(0);
    let status = pick_status(rng, day, order.channel, method, returns);
    let order_id = sales.orders as i64 + 1;
    st.order.execute(params![
        order_id,
        order.customer_id,
        day.text,
        status,
        order.channel,
        order.region as i64 + 1,
        total as i64
    ])?;
    for l in order.lines {
        sales.items += 1;
        st.item.execute(params![
            sales.items as i64,
            order_id,
            l.product,
            l.quantity as i64,
            l.unit_price as i64,
            l.discount as i64
        ])?;
    }
    let paid_at = payment_time(rng, day, order.channel, method);
    let (pay_status, paid, refunded) = match status {
        "pending" => ("pending", None, None),
        "cancelled" if method == "bank_transfer" => ("cancelled", None, None),
        "cancelled" => ("cancelled", Some(paid_at), Some(paid_at.later(rng, 0, 1))),
        "returned" => ("refunded", Some(paid_at), Some(paid_at.later(rng, 5, 15))),
        _ => ("paid", Some(paid_at), None),
    };
    let (paid, refunded) = (paid.map(Stamp::text), refunded.map(Stamp::text));
    // Points pay part of some online orders.
    let points = if order.channel != "store" && total >= 20_000 && rng.percent(6) {
        (rng.range(1, 5) * 1000).min(total / 10 / 100 * 100)
    } else {
        0
    };
    let mut pay = |method: &str, amount: u64| {
        sales.payments += 1;
        st.payment.execute(params![sales.payments as i64, order_id, method, amount as i64, pay_status, paid, refunded])
    };
    if points > 0 {
        pay("points", points)?;
    }
    pay(method, total - points)?;
    sales.orders += 1;
    if matches!(status, "delivered" | "shipped") {
        sales.revenue += total as i64;
    }
    Ok(())
}

fn pick_method(rng: &mut Rng, day: &Day, channel: &str) -> &'static str {
    if channel == "store" {
        return rng.weighted(&[("card", 72), ("cash", 12), ("kakao_pay", 10), ("toss_pay", 6)]);
    }
    let t = day.progress;
    rng.weighted(&[
        ("card", lerp(480, 380, t)),
        ("kakao_pay", lerp(150, 220, t)),
        ("naver_pay", lerp(120, 180, t)),
        ("toss_pay", lerp(40, 100, t)),
        ("bank_transfer", lerp(120, 70, t)),
        ("mobile", lerp(90, 50, t)),
    ])
}

/// The order's status as of the last day of data.
fn pick_status(rng: &mut Rng, day: &Day, channel: &str, method: &str, returns: u64) -> &'static str {
    if channel == "store" {
        return match rng.below(1000) {
            0..=4 => "cancelled",
            5..=19 if day.days_left > 7 => "returned",
            _ => "delivered",
        };
    }
    if method == "bank_transfer" && day.days_left <= 3 && rng.percent(80) {
        return "pending";
    }
    let cancel = 35 + if method == "bank_transfer" { 30 } else { 0 };
    let roll = rng.below(1000);
    if roll < cancel {
        "cancelled"
    } else if roll < cancel + 25 + returns * 10 && day.days_left > 7 {
        "returned"
    } else if day.days_left <= 3 {
        "shipped"
    } else {
        "delivered"
    }
}

/// A moment in the data: a day and the seconds since its midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    date: Date,
    seconds: u64,
}

impl Stamp {
    /// `min..=max` days later (within the hour after, on the same day), never after the last day of data.
    fn later(self, rng: &mut Rng, min: u64, max: u64) -> Stamp {
        let date = days_after(self.date, rng.range(min, max) as i64).min(LAST_DAY);
        if date <= self.date {
            return Stamp { date: self.date, seconds: (self.seconds + rng.range(60, 3600)).min(86_399) };
        }
        Stamp { date, seconds: rng.range(9 * 3600, 19 * 3600) }
    }

    /// `YYYY-MM-DD HH:MM:SS`.
    fn text(self) -> String {
        let s = self.seconds;
        format!("{} {:02}:{:02}:{:02}", ymd(self.date), s / 3600, s / 60 % 60, s % 60)
    }
}

/// When the order was paid: online orders through the day with an evening peak, store orders in opening hours;
/// some bank transfers arrive the next day.
fn payment_time(rng: &mut Rng, day: &Day, channel: &str, method: &str) -> Stamp {
    const ONLINE_HOURS: &[(u64, u64)] = &[
        (0, 30),
        (1, 18),
        (2, 10),
        (3, 6),
        (4, 4),
        (5, 4),
        (6, 6),
        (7, 12),
        (8, 22),
        (9, 32),
        (10, 40),
        (11, 44),
        (12, 50),
        (13, 46),
        (14, 42),
        (15, 42),
        (16, 44),
        (17, 48),
        (18, 52),
        (19, 60),
        (20, 72),
        (21, 84),
        (22, 86),
        (23, 60),
    ];
    let hour = if channel == "store" { rng.range(10, 20) } else { rng.weighted(ONLINE_HOURS) };
    let date = if method == "bank_transfer" && day.days_left > 0 && rng.percent(40) {
        days_after(day.date, 1)
    } else {
        day.date
    };
    Stamp { date, seconds: hour * 3600 + rng.below(3600) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::ValueRef;

    fn open(path: &Path) -> Connection {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the demo database")
    }

    fn one<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> T {
        conn.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut st = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .expect("prepare");
        st.query_map([], |r| r.get(0)).expect("query").collect::<rusqlite::Result<_>>().expect("rows")
    }

    /// FNV-1a over every value of every row of `table`, in primary-key order, with type tags.
    fn checksum(conn: &Connection, table: &str) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        let mut st = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).expect("prepare");
        let cols = st.column_count();
        let mut rows = st.query([]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            for i in 0..cols {
                match row.get_ref(i).expect("cell") {
                    ValueRef::Null => eat(b"N"),
                    ValueRef::Integer(v) => {
                        eat(b"I");
                        eat(&v.to_le_bytes());
                    }
                    ValueRef::Real(v) => {
                        eat(b"R");
                        eat(&v.to_le_bytes());
                    }
                    ValueRef::Text(t) => {
                        eat(b"T");
                        eat(t);
                        eat(&[0]);
                    }
                    ValueRef::Blob(b) => {
                        eat(b"B");
                        eat(b);
                        eat(&[0]);
                    }
                }
            }
        }
        h
    }

    const GOLDEN_CHECKSUM: u64 = 0x9e39_f125_88d8_432e;

    fn checksums(path: &Path) -> Vec<(String, u64)> {
        let conn = open(path);
        tables(&conn).into_iter().map(|t| (t.clone(), checksum(&conn, &t))).collect()
    }

    #[test]
    fn two_builds_hold_identical_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.sqlite"), dir.path().join("b.sqlite"));
        let sa = build_demo_database(&a).expect("build a");
        let sb = build_demo_database(&b).expect("build b");
        assert_eq!(DemoStats { elapsed: Duration::ZERO, ..sa }, DemoStats { elapsed: Duration::ZERO, ..sb });
        let (ca, cb) = (checksums(&a), checksums(&b));
        assert_eq!(ca.len(), 7, "{ca:?}");
        assert_eq!(ca, cb);
        // The same data on every machine: integer-only generation makes this exact. When the data changes on
        // purpose, bump DEMO_SCHEMA_VERSION and update this value.
        let all = ca.iter().fold(0u64, |h, (_, c)| h.rotate_left(7) ^ c);
        assert_eq!(all, GOLDEN_CHECKSUM, "demo data changed: {all:#018x}");
        // No temporary file is left beside the result.
        let names: Vec<String> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn built_database_is_complete_and_consistent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join("demo.sqlite");
        let stats = build_demo_database(&path).expect("build");
        let conn = open(&path);
        let count = |t: &str| one::<i64>(&conn, &format!("SELECT count(*) FROM {t}")) as u64;

        // Row counts, and the stats agree with the file.
        assert_eq!(count("regions"), 17);
        assert_eq!(count("categories"), stats.categories);
        assert_eq!(stats.categories, 30);
        assert_eq!(count("products"), stats.products);
        assert!((150..=250).contains(&stats.products), "{stats:?}");
        assert_eq!(count("customers"), stats.customers);
        assert!((5_000..=15_000).contains(&stats.customers), "{stats:?}");
        assert_eq!(count("orders"), stats.orders);
        assert_eq!(count("order_items"), stats.order_items);
        assert!((50_000..=90_000).contains(&stats.order_items), "{stats:?}");
        assert_eq!(count("payments"), stats.payments);
        assert!(stats.payments > stats.orders);
        assert_eq!(
            one::<i64>(&conn, "SELECT sum(total_amount) FROM orders WHERE status IN ('delivered', 'shipped')"),
            stats.revenue
        );

        // Stamps, integrity, referential integrity.
        assert_eq!(one::<i32>(&conn, "PRAGMA application_id"), DEMO_APPLICATION_ID);
        assert_eq!(one::<i32>(&conn, "PRAGMA user_version"), DEMO_SCHEMA_VERSION);
        assert_eq!(one::<String>(&conn, "PRAGMA integrity_check"), "ok");
        let orphans: i64 = conn
            .prepare("PRAGMA foreign_key_check")
            .and_then(|mut s| s.query_map([], |_| Ok(())).map(|rows| rows.count() as i64))
            .expect("foreign_key_check");
        assert_eq!(orphans, 0);

        // Money adds up: lines = order total = payments, for every order.
        let zero = |sql: &str| assert_eq!(one::<i64>(&conn, sql), 0, "{sql}");
        zero(
            "SELECT count(*) FROM orders o WHERE total_amount IS NOT \
             (SELECT sum(quantity * unit_price - discount) FROM order_items i WHERE i.order_id = o.order_id)",
        );
        zero(
            "SELECT count(*) FROM orders o WHERE total_amount IS NOT (SELECT sum(amount) FROM payments p WHERE p.order_id = o.order_id)",
        );
        zero("SELECT count(*) FROM order_items WHERE discount >= quantity * unit_price OR discount % 100 <> 0");
        zero("SELECT count(*) FROM products WHERE cost >= price OR price % 100 <> 0");
        zero("SELECT count(*) FROM payments WHERE amount <= 0");

        // Dates and ranges.
        zero("SELECT count(*) FROM orders WHERE order_date NOT BETWEEN '2022-01-01' AND '2025-12-31'");
        zero("SELECT count(*) FROM customers WHERE signup_date NOT BETWEEN '2022-01-01' AND '2025-12-31'");
        zero("SELECT count(*) FROM orders o JOIN customers c USING (customer_id) WHERE o.order_date < c.signup_date");
        zero("SELECT count(*) FROM customers WHERE phone NOT GLOB '010-[0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9]'");
        zero("SELECT count(*) FROM customers WHERE email NOT LIKE '%_@_%._%' OR birth_year NOT BETWEEN 1950 AND 2010");
        zero(
            "SELECT count(*) FROM payments WHERE paid_at IS NOT NULL AND substr(paid_at, 1, 10) < (SELECT order_date FROM orders o WHERE o.order_id = payments.order_id)",
        );
        zero("SELECT count(*) FROM payments WHERE refunded_at < paid_at OR refunded_at > '2025-12-31 23:59:59'");
        zero(
            "SELECT count(*) FROM payments WHERE (status = 'pending') <> (paid_at IS NULL AND refunded_at IS NULL AND status <> 'cancelled')",
        );
        zero("SELECT count(*) FROM orders WHERE status IN ('pending', 'shipped') AND order_date < '2025-12-28'");
        for year in 2022..=2025 {
            assert_eq!(
                one::<i64>(
                    &conn,
                    &format!(
                        "SELECT count(DISTINCT substr(order_date, 1, 7)) FROM orders WHERE order_date LIKE '{year}-%'"
                    )
                ),
                12,
                "{year}"
            );
            assert!(
                one::<i64>(&conn, &format!("SELECT count(*) FROM customers WHERE signup_date LIKE '{year}-%'")) > 500,
                "{year}"
            );
        }

        // The shape of a business: growth, a year-end peak, few products dominating, some cancellations and returns.
        let revenue = |filter: &str| {
            one::<i64>(
                &conn,
                &format!("SELECT sum(total_amount) FROM orders WHERE status IN ('delivered', 'shipped') AND {filter}"),
            )
        };
        assert!(revenue("order_date LIKE '2025-%'") > revenue("order_date LIKE '2022-%'") * 17 / 10);
        let nov_dec = revenue("substr(order_date, 6, 2) IN ('11', '12')") / 2;
        let monthly = revenue("1 = 1") / 12;
        assert!(nov_dec > monthly * 12 / 10, "Nov/Dec {nov_dec} vs month {monthly}");
        let top_share: f64 = one(
            &conn,
            "WITH r AS (SELECT product_id, sum(quantity * unit_price - discount) AS v FROM order_items GROUP BY 1), \
             ranked AS (SELECT v, row_number() OVER (ORDER BY v DESC) AS k, count(*) OVER () AS n FROM r) \
             SELECT 1.0 * sum(CASE WHEN k <= n / 5 THEN v END) / sum(v) FROM ranked",
        );
        assert!(top_share > 0.6, "top 20% of products hold {top_share}");
        let status_share = |s: &str| one::<f64>(&conn, &format!("SELECT avg(status = '{s}') FROM orders"));
        assert!((0.02..0.08).contains(&status_share("cancelled")), "{}", status_share("cancelled"));
        assert!((0.01..0.08).contains(&status_share("returned")), "{}", status_share("returned"));
        assert!(status_share("pending") > 0.0);
        for channel in ["web", "app", "store"] {
            assert!(one::<i64>(&conn, &format!("SELECT count(*) FROM orders WHERE channel = '{channel}'")) > 1000);
        }

        // Comments in the DDL, and the indexes.
        let mut st = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .expect("prepare");
        let ddl: Vec<(String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        for (name, sql) in &ddl {
            let columns = one::<i64>(&conn, &format!("SELECT count(*) FROM pragma_table_info('{name}')")) as usize;
            assert_eq!(sql.matches("--").count(), columns + 1, "{name}: a comment for the table and each column");
        }
        for index in [
            "idx_orders_order_date",
            "idx_orders_customer_id",
            "idx_order_items_product_id",
            "idx_order_items_order_id",
        ] {
            assert_eq!(
                one::<i64>(
                    &conn,
                    &format!("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{index}'")
                ),
                1
            );
        }
    }

    #[test]
    fn ensure_builds_once_then_reuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("demo.sqlite");
        assert_eq!(ensure_demo_database(&path).expect("first ensure"), path);
        // Mark the file: a rebuild would lose the mark.
        Connection::open(&path).and_then(|c| c.execute_batch("CREATE TABLE mark (x)")).expect("mark");
        ensure_demo_database(&path).expect("second ensure");
        let has_mark = |p: &Path| one::<i64>(&open(p), "SELECT count(*) FROM sqlite_master WHERE name = 'mark'") == 1;
        assert!(has_mark(&path), "a current demo database is reused");

        // An older demo database is rebuilt.
        Connection::open(&path).and_then(|c| c.execute_batch("PRAGMA user_version = 0")).expect("age it");
        ensure_demo_database(&path).expect("third ensure");
        assert!(!has_mark(&path), "a stale demo database is rebuilt");
        assert_eq!(one::<i32>(&open(&path), "PRAGMA user_version"), DEMO_SCHEMA_VERSION);
    }

    #[test]
    fn ensure_rebuilds_empty_files_and_refuses_foreign_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.sqlite");
        fs::write(&empty, b"").expect("write");
        ensure_demo_database(&empty).expect("an empty file becomes the demo");
        assert_eq!(one::<i32>(&open(&empty), "PRAGMA application_id"), DEMO_APPLICATION_ID);

        let theirs = dir.path().join("theirs.sqlite");
        Connection::open(&theirs)
            .and_then(|c| c.execute_batch("CREATE TABLE precious (x); INSERT INTO precious VALUES (1)"))
            .expect("theirs");
        let err = ensure_demo_database(&theirs).expect_err("someone else's database");
        assert_eq!(err.code, ErrorCode::NotADatabase);
        assert_eq!(one::<i64>(&open(&theirs), "SELECT count(*) FROM precious"), 1, "left untouched");

        let text = dir.path().join("notes.txt");
        let notes = "not a database at all, but long enough to look like a file header ".repeat(10);
        fs::write(&text, &notes).expect("write");
        assert_eq!(ensure_demo_database(&text).map_err(|e| e.code), Err(ErrorCode::NotADatabase));
        assert_eq!(fs::read_to_string(&text).expect("read"), notes, "left untouched");

        assert_eq!(ensure_demo_database(dir.path()).map_err(|e| e.code), Err(ErrorCode::NotADatabase), "a directory");
    }

    #[test]
    fn a_failed_build_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"x").expect("write");
        let err = build_demo_database(&blocker.join("demo.sqlite")).expect_err("parent is a file");
        assert_eq!(err.code, ErrorCode::OutputFailed);
        // Rename onto a directory fails after a full build: the temporary file is removed.
        let target = dir.path().join("occupied");
        fs::create_dir(&target).expect("mkdir");
        fs::write(target.join("keep"), b"x").expect("write");
        assert_eq!(build_demo_database(&target).map_err(|e| e.code), Err(ErrorCode::OutputFailed));
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["file", "occupied"]);
    }

    #[test]
    fn calendar_rules() {
        assert!(black_friday_weekend(date!(2024 - 11 - 29)));
        assert!(!black_friday_weekend(date!(2024 - 12 - 02)), "December is never Black Friday");
        assert!(!black_friday_weekend(date!(2025 - 12 - 01)));
        assert!(black_friday_weekend(date!(2025 - 11 - 28)));
        assert!(!black_friday_weekend(date!(2025 - 11 - 21)), "the third Friday");
        assert_eq!(growth(date!(2022 - 01 - 01)), 100);
        assert_eq!(growth(date!(2025 - 01 - 01)), 225);
        assert!(growth(date!(2025 - 12 - 31)) < 250);
        let chuseok_eve = Day::new(date!(2025 - 10 - 05));
        assert!(chuseok_eve.holiday && !chuseok_eve.pre_holiday);
        assert!(Day::new(date!(2025 - 09 - 25)).pre_holiday);
        assert_eq!(Day::new(LAST_DAY).days_left, 0);
        assert_eq!(Day::new(FIRST_DAY).progress, 0);
        assert_eq!(shop_price(193_500), 192_900);
        assert_eq!(shop_price(6_230), 6_200);
    }

    #[test]
    fn the_prng_is_the_one_we_wrote() {
        // SplitMix64 from seed 0: the published first outputs.
        let mut r = Rng(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let mut r = Rng::stream(9);
        assert!((0..1000).all(|_| r.below(7) < 7));
        assert_eq!(Rng::stream(9).below(0), 0);
    }

    #[test]
    fn example_questions_cover_both_languages() {
        assert!((6..=8).contains(&EXAMPLE_QUESTIONS.len()));
        let korean = EXAMPLE_QUESTIONS.iter().filter(|q| datagenie_core::hangul::contains_hangul(q)).count();
        assert!(korean >= 3 && EXAMPLE_QUESTIONS.len() - korean >= 3);
    }
}
