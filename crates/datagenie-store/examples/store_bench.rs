//! The server's per-question work on the system database, timed: load the user and their permission, read the
//! hourly, daily and monthly token usage, record the question (history, analysis, rows, usage, two chat messages)
//! and append the audit row — first one question at a time, then with 100 concurrent tasks.
//!
//! ```text
//! cargo run --release -p datagenie-store --example store_bench [QUESTIONS]   # default 2000
//! ```
//!
//! The file lives in a temporary directory on the machine's disk. Before timing, the user gets a month of history
//! (one question per hour for 31 days), so the monthly window reads a full month of hour buckets. Figures are per
//! question, the seven calls together; p50 and p99 of all questions of a phase. Not a test: nothing is asserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datagenie_store::model::*;
use datagenie_store::{MasterKey, SYSTEM_DB_FILE, SecretBox, SqliteStore, Store};
use serde_json::json;
use time::OffsetDateTime;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Ids {
    user: String,
    connection: String,
    session: String,
}

fn starts(now: OffsetDateTime) -> [Timestamp; 3] {
    let hour = now.replace_minute(0).and_then(|t| t.replace_second(0)).and_then(|t| t.replace_nanosecond(0));
    let hour = hour.unwrap_or(now);
    let day = hour.replace_hour(0).unwrap_or(hour);
    let month = day.replace_day(1).unwrap_or(day);
    [Timestamp(hour), Timestamp(day), Timestamp(month)]
}

fn record(ids: &Ids, at: Timestamp, i: usize) -> QuestionRecord {
    let rows: Vec<serde_json::Value> =
        (0..20).map(|r| json!([format!("2025-{:02}", r % 12 + 1), r * 7, 1.5])).collect();
    QuestionRecord {
        entry: HistoryEntry {
            id: new_id(),
            user_id: ids.user.clone(),
            connection_id: Some(ids.connection.clone()),
            session_id: Some(ids.session.clone()),
            question: format!("monthly revenue by region, question {i}"),
            sql: Some(
                "SELECT region, strftime('%Y-%m', ordered_at) AS month, sum(amount) FROM orders GROUP BY 1, 2".into(),
            ),
            query_type: QueryType::Database,
            status: QueryStatus::Success,
            error_code: None,
            error_message: None,
            row_count: Some(20),
            execution_ms: Some(4),
            total_ms: 850,
            prompt_tokens: 900,
            completion_tokens: 120,
            model: Some("gpt-4o-mini".into()),
            cost_usd: 0.000_207,
            source: Some(json!({"kind": "llm", "provider": "openai"})),
            result_hash: Some("ab".repeat(32)),
            api_key_id: None,
            channel: None,
            file_info: None,
            created_at: at,
            verified_by: None,
            verified_at: None,
        },
        analysis: Some(Analysis {
            chart_type: Some("bar".into()),
            chart_spec: Some(json!({"mark": "bar", "encoding": {"x": {"field": "month"}, "y": {"field": "sum"}}})),
            summary: Some("Revenue peaks in March in every region.".into()),
            insights: Some(json!(["March is the peak"])),
        }),
        result: Some(StoredResult {
            columns: vec!["region".into(), "month".into(), "sum".into()],
            rows: json!(rows),
            truncated: false,
        }),
        answer_text: Some("Revenue peaks in March in every region.".into()),
        result_sketch: Some(json!({"columns": ["region", "month", "sum"], "row_count": 20})),
        audit: None,
    }
}

/// The calls of a question, in order: user, permission, the three usage windows, record_question, append_audit.
const STEPS: [&str; 5] = ["user", "permission", "usage_since x3", "record_question", "append_audit"];

/// The seven calls of one question; the time each step took.
async fn one_question(store: &dyn Store, ids: &Ids, i: usize) -> Result<[Duration; 5]> {
    let mut steps = [Duration::ZERO; 5];
    let mut lap = Instant::now();
    let mut step = |n: usize| {
        steps[n] = lap.elapsed();
        lap = Instant::now();
    };
    let user = store.user(&ids.user).await?.ok_or("the user vanished")?;
    step(0);
    let permission = store.permission(&ids.user, &ids.connection).await?.ok_or("the permission vanished")?;
    step(1);
    let now = OffsetDateTime::now_utc();
    let mut used = Vec::with_capacity(3);
    for since in starts(now) {
        used.push(store.usage_since(&user.id, since).await?.tokens());
    }
    std::hint::black_box((&permission, &used));
    step(2);
    let recorded = store.record_question(record(ids, Timestamp(now), i)).await?;
    step(3);
    store
        .append_audit(NewAuditEntry {
            user_id: Some(user.id.clone()),
            action: "question.ask".into(),
            resource_type: "connection".into(),
            resource_id: Some(ids.connection.clone()),
            new_values: Some(json!({"history_id": recorded.history_id})),
            ip_address: Some("127.0.0.1".into()),
            request_id: Some(new_id()),
            success: true,
            ..NewAuditEntry::default()
        })
        .await?;
    step(4);
    Ok(steps)
}

fn quantile(times: &mut [Duration], q: f64) -> f64 {
    times.sort_unstable();
    let i = ((times.len() as f64 - 1.0) * q).round() as usize;
    times[i.min(times.len() - 1)].as_secs_f64() * 1000.0
}

/// One line for the questions' totals, one per step.
fn report(phase: &str, questions: Vec<[Duration; 5]>, wall: Duration) {
    let mut totals: Vec<Duration> = questions.iter().map(|q| q.iter().sum()).collect();
    println!(
        "{phase:<22} {:>6} questions  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  {:>6.0} questions/s",
        totals.len(),
        quantile(&mut totals, 0.50),
        quantile(&mut totals, 0.99),
        quantile(&mut totals, 1.0),
        totals.len() as f64 / wall.as_secs_f64()
    );
    for (n, name) in STEPS.iter().enumerate() {
        let mut times: Vec<Duration> = questions.iter().map(|q| q[n]).collect();
        println!(
            "  {name:<20}                    p50 {:>7.3} ms  p99 {:>7.3} ms",
            quantile(&mut times, 0.50),
            quantile(&mut times, 0.99)
        );
    }
}

async fn run(questions: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(SYSTEM_DB_FILE);
    let store = Arc::new(SqliteStore::open(&path, SecretBox::for_connections(&MasterKey::generate()?))?);
    let user = store
        .create_user(NewUser {
            username: "bench".into(),
            email: "bench@example.com".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            full_name: None,
            role: Role::User,
            limits: TokenLimits { hourly: Some(1_000_000), daily: Some(10_000_000), monthly: Some(100_000_000) },
        })
        .await?;
    let connection = store
        .create_connection(NewConnection {
            file: None,
            name: "sales".into(),
            display_name: "Sales".into(),
            description: None,
            engine: Engine::Postgres,
            url: datagenie_core::SecretUrl::new("postgres://reader:pw@127.0.0.1:5432/sales"),
            display_url: "postgres://reader@127.0.0.1:5432/sales".into(),
            pool_size: 5,
            created_by: None,
        })
        .await?;
    store
        .put_permission(Permission {
            user_id: user.id.clone(),
            connection_id: connection.id.clone(),
            can_query: true,
            allowed_schemas: None,
            allowed_tables: Some(vec!["orders".into(), "customers(id,region)".into()]),
            row_filters: vec![RowFilter { table: "orders".into(), condition: "region = {user.region}".into() }],
            attributes: [("region".to_string(), json!("EU"))].into_iter().collect(),
            max_rows: Some(1000),
            max_seconds: Some(30),
            can_unmask: false,
            updated_at: Timestamp::now(),
        })
        .await?;
    let session = store.create_chat_session(&user.id, Some(&connection.id), Some("bench")).await?;
    let ids = Arc::new(Ids { user: user.id, connection: connection.id, session: session.id });

    // a month of history: one question per hour for 31 days
    let now = OffsetDateTime::now_utc();
    for h in 1..=31 * 24 {
        let mut r = record(&ids, Timestamp(now - time::Duration::hours(h)), h as usize);
        r.entry.session_id = None;
        store.record_question(r).await?;
    }
    println!("system database: {} (WAL; {} questions of history)", path.display(), 31 * 24);

    for i in 0..200 {
        one_question(store.as_ref(), &ids, i).await?;
    }

    let started = Instant::now();
    let mut times = Vec::with_capacity(questions);
    for i in 0..questions {
        times.push(one_question(store.as_ref(), &ids, i).await?);
    }
    report("sequential", times, started.elapsed());

    let tasks = 100;
    let per_task = questions.div_ceil(tasks);
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (store, ids) = (Arc::clone(&store), Arc::clone(&ids));
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(per_task);
                for i in 0..per_task {
                    times.push(one_question(store.as_ref(), &ids, t * per_task + i).await?);
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(times)
            })
        })
        .collect();
    let mut times = Vec::with_capacity(tasks * per_task);
    for h in handles {
        times.extend(h.await??);
    }
    report("100 concurrent tasks", times, started.elapsed());
    match store.verify_audit().await? {
        Ok(rows) => println!("audit chain intact: {rows} rows"),
        Err(b) => println!("audit chain broken at {}: {}", b.seq, b.reason),
    }
    Ok(())
}

fn main() -> Result<()> {
    let questions = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(2000usize).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(questions))
}
