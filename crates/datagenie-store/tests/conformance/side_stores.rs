//! The side stores on every engine: the template store and the knowledge store, which are not behind `Store` but sit
//! on the same system database. Each check takes a store on a fresh, empty system database; an engine module calls
//! them from its own tests (`sqlite::side_templates`, …).

use std::sync::Arc;

use datagenie_core::{Dialect, ErrorCode, Question};
use datagenie_store::knowledge::content_key;
use datagenie_store::{KnowledgeKind, KnowledgeStore, NewKnowledgeItem, NewTemplate, TemplateStore};
use serde_json::json;

const A: &str = "sqlite:///side-a.db";
const B: &str = "postgres://reader@db:5432/side-b";
const C: &str = "sqlite:///side-c.db";

fn monthly(connection: &str, name: &str) -> NewTemplate {
    NewTemplate {
        name: name.into(),
        description: Some("Revenue per month of one year".into()),
        questions: vec!["monthly revenue in {year:int}".into(), "{year:int}년 월별 매출".into()],
        sql: "SELECT strftime('%m', order_date) AS month, sum(amount) FROM orders \
              WHERE strftime('%Y', order_date) = CAST({year} AS TEXT) GROUP BY 1"
            .into(),
        category: Some("sales".into()),
        public: true,
        verified: true,
        connection: connection.into(),
        dialect: Dialect::Sqlite,
        owner: None,
    }
}

fn plain(connection: &str, name: &str, question: &str) -> NewTemplate {
    NewTemplate {
        name: name.into(),
        description: None,
        questions: vec![question.into()],
        sql: "SELECT count(*) FROM orders".into(),
        category: None,
        public: false,
        verified: true,
        connection: connection.into(),
        dialect: Dialect::Sqlite,
        owner: Some("00000000-0000-4000-8000-000000000001".into()),
    }
}

fn q(text: &str) -> Question {
    Question::parse(text).expect("question")
}

/// A time as the stores render it: RFC 3339, UTC, milliseconds (`2025-06-24T01:30:59.123Z`).
fn assert_time(t: &str) {
    assert_eq!(t.len(), 24, "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.', "{t}");
    datagenie_store::model::Timestamp::parse(t).expect("a time");
}

/// Add, list (byte-wise order), find_match (specificity, use, age), set_verified, record_use under 50 concurrent
/// uses, remove (by id, by name, ambiguous), and a name taken — also by concurrent adds.
pub async fn templates_behave(t: TemplateStore) {
    let t = Arc::new(t);
    let added = t.add(monthly(A, " monthly revenue ")).await.expect("add");
    assert_eq!(added.id.len(), 36);
    assert_eq!(&added.id[14..15], "4", "a v4 UUID: {}", added.id);
    assert_eq!((added.name.as_str(), added.connection.as_str()), ("monthly revenue", A), "trimmed");
    assert_eq!(added.questions, vec!["monthly revenue in {year:int}", "{year:int}년 월별 매출"]);
    assert_eq!((added.usage_count, added.verified, added.public), (0, true, true));
    assert_eq!(
        (added.category.as_deref(), added.owner.as_deref(), added.updated_at.as_deref()),
        (Some("sales"), None, None)
    );
    assert_eq!(added.dialect, Dialect::Sqlite);
    assert_time(&added.created_at);
    assert_eq!(t.get(&added.id).await.expect("get"), Some(added.clone()));
    assert_eq!(t.get("00000000-0000-4000-8000-00000000dead").await.expect("get"), None);

    // the same name on another database is another template; on the same one it is refused
    let on_b = t.add(monthly(B, "monthly revenue")).await.expect("add on b");
    let dup = t.add(monthly(A, "monthly revenue")).await.expect_err("a taken name");
    assert_eq!(dup.code, ErrorCode::AlreadyExists);
    assert_eq!(dup.message, "a template named 'monthly revenue' already exists for this database");
    // concurrent adds of one new name: one wins, the others find it taken (never a system error)
    let racers: Vec<_> = (0..10)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.add(plain(A, "race", "how many orders raced")).await })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        match r.await.expect("task") {
            Ok(_) => won += 1,
            Err(e) => {
                assert_eq!(e.code, ErrorCode::AlreadyExists, "{}", e.message);
                assert_eq!(e.message, "a template named 'race' already exists for this database");
            }
        }
    }
    assert_eq!(won, 1);

    // names sort byte-wise (upper case before lower case, non-ASCII last), databases first
    for name in ["b", "B", "é", "Z", "a"] {
        t.add(plain(C, name, &format!("how many orders named {name}"))).await.expect("add");
    }
    let names = |list: Vec<datagenie_store::Template>| list.into_iter().map(|x| x.name).collect::<Vec<_>>();
    assert_eq!(names(t.list(Some(C)).await.expect("list c")), vec!["B", "Z", "a", "b", "é"]);
    assert_eq!(names(t.list(Some(A)).await.expect("list a")), vec!["monthly revenue", "race"]);
    let all = t.list(None).await.expect("list");
    let keys: Vec<(String, String)> = all.iter().map(|x| (x.connection.clone(), x.name.clone())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "by database, then name, byte-wise");
    assert_eq!(all.len(), 8);
    assert!(t.list(Some("sqlite:///none.db")).await.expect("list none").is_empty());
    assert_eq!(all.iter().find(|x| x.id == on_b.id), Some(&on_b));

    // find_match: the phrasing that matched, the values, the bound SQL; nothing for another database or dialect
    let m = t.find_match(A, Dialect::Sqlite, &q("2023년 월별 매출")).await.expect("find").expect("a match");
    assert_eq!(m.template.id, added.id);
    assert_eq!(m.phrasing, "monthly revenue in {year:int}");
    assert_eq!(m.values.len(), 1);
    assert!(m.sql.contains("CAST(2023 AS TEXT)"), "{}", m.sql);
    assert!(t.find_match(C, Dialect::Sqlite, &q("2023년 월별 매출")).await.expect("find").is_none());
    assert!(t.find_match(A, Dialect::Postgres, &q("2023년 월별 매출")).await.expect("find").is_none());

    // unverified templates answer only when asked to include them
    let off = t.set_verified(&added.id, false).await.expect("unverify");
    assert!(!off.verified);
    assert_time(off.updated_at.as_deref().expect("updated_at"));
    assert!(t.find_match(A, Dialect::Sqlite, &q("monthly revenue in 2024")).await.expect("find").is_none());
    assert_eq!(t.matches(A, Dialect::Sqlite, &q("monthly revenue in 2024"), true).await.expect("m").len(), 1);
    assert!(t.set_verified(&added.id, true).await.expect("verify").verified);
    let e = t.set_verified("00000000-0000-4000-8000-00000000dead", true).await.expect_err("unknown");
    assert_eq!(e.code, ErrorCode::TemplateNotFound);

    // the most specific wins; then the most used; then the oldest (the order of adding)
    let mut specific = plain(A, "specific 2024", "monthly revenue in 2024");
    specific.sql = "SELECT 1 AS revenue".into();
    let specific = t.add(specific).await.expect("specific");
    let twin = t.add(monthly(A, "twin")).await.expect("twin");
    let first = |text: &'static str| {
        let t = t.clone();
        async move { t.find_match(A, Dialect::Sqlite, &q(text)).await.expect("find").expect("match").template.id }
    };
    assert_eq!(first("monthly revenue in 2024").await, specific.id);
    assert_eq!(first("monthly revenue in 2023").await, added.id, "the older wins a tie");
    assert_eq!(t.matches(A, Dialect::Sqlite, &q("monthly revenue in 2023"), false).await.expect("m").len(), 2);

    // 50 concurrent uses all count
    let uses: Vec<_> = (0..50)
        .map(|_| {
            let (t, id) = (t.clone(), twin.id.clone());
            tokio::spawn(async move { t.record_use(&id).await })
        })
        .collect();
    let mut counts = Vec::new();
    for u in uses {
        counts.push(u.await.expect("task").expect("use"));
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<u64>>(), "each use saw its own count");
    assert_eq!(t.get(&twin.id).await.expect("get").map(|x| x.usage_count), Some(50));
    assert_eq!(t.record_use(&twin.id).await.expect("use"), 51);
    let e = t.record_use("no-such-id").await.expect_err("unknown");
    assert_eq!(e.code, ErrorCode::TemplateNotFound);
    assert_eq!(first("monthly revenue in 2023").await, twin.id, "the more used wins");

    // remove: a name two databases use is ambiguous without the database; the id is not
    let e = t.remove("monthly revenue", None).await.expect_err("ambiguous");
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    let removed = t.remove(" monthly revenue ", Some(B)).await.expect("remove by name");
    assert_eq!(removed, on_b);
    let removed = t.remove(&added.id, None).await.expect("remove by id");
    assert_eq!(removed.id, added.id);
    let e = t.remove(&added.id, None).await.expect_err("gone");
    assert_eq!(e.code, ErrorCode::TemplateNotFound);
    assert_eq!(t.get(&added.id).await.expect("get"), None);
    assert_eq!(first("monthly revenue in 2023").await, twin.id);
    // the removed name is free again
    t.add(monthly(A, "monthly revenue")).await.expect("add again");
    assert_eq!(t.list(None).await.expect("list").len(), 9);
}

fn item(connection: &str, kind: KnowledgeKind, name: &str, body: serde_json::Value) -> NewKnowledgeItem {
    NewKnowledgeItem { connection: connection.into(), kind, name: name.into(), body, created_by: None }
}

/// Upsert (create, replace, an equal body changing nothing, concurrent upserts of one item), the version moving
/// with every change of one database only, the list order, removal, `created_by` naming no user, and embeddings
/// round-tripping bit-exact (a refused batch writes nothing).
pub async fn knowledge_behaves(k: KnowledgeStore) {
    assert_eq!(k.version(A).await.expect("version"), "0");
    let mut seen = vec!["0".to_string()];
    async fn moved(k: &KnowledgeStore, seen: &mut Vec<String>, what: &str) {
        let v = k.version(A).await.expect("version");
        assert!(!seen.contains(&v), "{what}: the version {v} was seen before ({seen:?})");
        seen.push(v);
    }

    let body = json!({"definition": "sum of paid orders", "aliases": ["매출", "sales"], "n": 1.25, "big": u64::MAX});
    let (revenue, created) = k.upsert(item(A, KnowledgeKind::Glossary, " revenue ", body.clone())).await.expect("add");
    assert!(created);
    assert_eq!(revenue.id.len(), 36);
    assert_eq!(
        (revenue.connection.as_str(), revenue.name.as_str(), revenue.kind),
        (A, "revenue", KnowledgeKind::Glossary)
    );
    assert_eq!(revenue.body, body);
    let text = |v: &serde_json::Value| serde_json::to_string(v).expect("json");
    assert_eq!(text(&revenue.body), text(&body), "the body reads back as written, its keys in their order");
    assert_eq!((revenue.created_by.as_deref(), revenue.updated_at.as_deref()), (None, None));
    assert_time(&revenue.created_at);
    assert_eq!(k.get(&revenue.id).await.expect("get"), Some(revenue.clone()));
    moved(&k, &mut seen, "add").await;

    // an equal body changes nothing
    let (same, created) = k.upsert(item(A, KnowledgeKind::Glossary, "revenue", body.clone())).await.expect("same");
    assert!(!created);
    assert_eq!(same, revenue);
    assert_eq!(k.version(A).await.expect("version"), *seen.last().expect("seen"));

    // another body replaces it: the id and creation stay
    let (replaced, created) = k
        .upsert(item(A, KnowledgeKind::Glossary, "revenue", json!({"definition": "paid minus refunds"})))
        .await
        .expect("replace");
    assert!(!created);
    assert_eq!(
        (replaced.id.as_str(), replaced.created_at.as_str()),
        (revenue.id.as_str(), revenue.created_at.as_str())
    );
    assert_eq!(replaced.body, json!({"definition": "paid minus refunds"}));
    assert_time(replaced.updated_at.as_deref().expect("updated_at"));
    moved(&k, &mut seen, "replace").await;

    // another database's change leaves this one's version
    let before = k.version(A).await.expect("version");
    k.upsert(item(B, KnowledgeKind::Glossary, "revenue", json!({"definition": "other db"}))).await.expect("b");
    assert_eq!(k.version(A).await.expect("version"), before);
    assert_eq!(k.version(B).await.expect("version b"), "1");

    // created_by must name a user
    let mut by = item(A, KnowledgeKind::Glossary, "owned", json!(1));
    by.created_by = Some("00000000-0000-4000-8000-00000000dead".into());
    let e = k.upsert(by).await.expect_err("no such user");
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(e.message, "no user with the id '00000000-0000-4000-8000-00000000dead'");
    let e = k.upsert(item(" ", KnowledgeKind::Glossary, "x", json!(1))).await.expect_err("no database");
    assert_eq!(e.code, ErrorCode::InvalidArgument);

    // list: by kind, then name byte-wise
    k.upsert(item(A, KnowledgeKind::Document, "revenue", json!({"text": "how we count"}))).await.expect("doc");
    k.upsert(item(A, KnowledgeKind::Description, "orders.amount", json!({"text": "KRW"}))).await.expect("col");
    k.upsert(item(A, KnowledgeKind::Description, "orders", json!({"text": "one per order"}))).await.expect("table");
    for name in ["AOV", "Zeta", "éclair", "aov"] {
        k.upsert(item(A, KnowledgeKind::Glossary, name, json!({"definition": name}))).await.expect("glossary");
    }
    moved(&k, &mut seen, "more items").await;
    let listed: Vec<(KnowledgeKind, String)> =
        k.list(A, None).await.expect("list").into_iter().map(|i| (i.kind, i.name)).collect();
    let g = |n: &str| (KnowledgeKind::Glossary, n.to_string());
    assert_eq!(
        listed,
        vec![
            g("AOV"),
            g("Zeta"),
            g("aov"),
            g("revenue"),
            g("éclair"),
            (KnowledgeKind::Description, "orders".to_string()),
            (KnowledgeKind::Description, "orders.amount".to_string()),
            (KnowledgeKind::Document, "revenue".to_string()),
        ]
    );
    let glossary = k.list(A, Some(KnowledgeKind::Glossary)).await.expect("glossary");
    assert_eq!(glossary.len(), 5);
    assert_eq!(glossary[3], replaced);
    assert_eq!(k.list(&format!(" {B} "), None).await.expect("list b").len(), 1, "the key is trimmed");
    assert!(k.list("sqlite:///none.db", None).await.expect("none").is_empty());

    // concurrent upserts of one new item: all succeed, one creates it
    let k2 = Arc::new(k.clone());
    let writers: Vec<_> = (0..20)
        .map(|i| {
            let k = k2.clone();
            tokio::spawn(async move { k.upsert(item(A, KnowledgeKind::Document, "raced", json!({"text": i}))).await })
        })
        .collect();
    let mut created = 0;
    let mut ids = Vec::new();
    for w in writers {
        let (stored, c) = w.await.expect("task").expect("a concurrent upsert failed instead of waiting");
        created += usize::from(c);
        ids.push(stored.id);
    }
    assert_eq!(created, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1, "one item");
    moved(&k, &mut seen, "raced").await;

    // removal
    assert!(k.remove(&revenue.id).await.expect("remove"));
    moved(&k, &mut seen, "remove").await;
    assert!(!k.remove(&revenue.id).await.expect("remove again"));
    assert_eq!(k.get(&revenue.id).await.expect("get"), None);
    assert!(k.remove_by_name(A, KnowledgeKind::Description, " orders.amount ").await.expect("by name"));
    moved(&k, &mut seen, "remove by name").await;
    assert!(!k.remove_by_name(A, KnowledgeKind::Description, "orders.amount").await.expect("again"));
    assert!(!k.remove_by_name(A, KnowledgeKind::Glossary, "orders").await.expect("another kind"));
    assert_eq!(k.list(A, None).await.expect("list").len(), 7);
    assert_eq!(k.list(B, None).await.expect("list b").len(), 1, "another database keeps its items");

    // embeddings: bit-exact, by model, replaced by a second put
    let (k1, k2, k3) = (content_key("revenue"), content_key("매출"), content_key("unknown"));
    let v1 = vec![0.1_f32, -0.0, f32::MIN_POSITIVE, f32::MAX, -1.5e-42, 1.0 / 3.0];
    let v2: Vec<f32> = (0..1536).map(|i| (i as f32).sin() / 7.0).collect();
    k.put_vectors("text-embedding-3-small", &[(k1.clone(), v1.clone()), (k2.clone(), v2.clone())]).await.expect("put");
    let got =
        k.vectors("text-embedding-3-small", &[k1.clone(), k2.clone(), k3.clone(), k1.clone()]).await.expect("get");
    assert_eq!(got.len(), 2, "the unknown key is absent");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got[&k1]), bits(&v1));
    assert_eq!(bits(&got[&k2]), bits(&v2));
    assert!(k.vectors("other-model", std::slice::from_ref(&k1)).await.expect("get").is_empty());
    assert!(k.vectors("text-embedding-3-small", &[]).await.expect("none").is_empty());
    // a batch naming one key twice keeps the last
    k.put_vectors(
        "text-embedding-3-small",
        &[(k2.clone(), vec![9.0]), (k1.clone(), vec![2.0, 3.0]), (k2.clone(), vec![4.0])],
    )
    .await
    .expect("replace");
    let got = k.vectors("text-embedding-3-small", &[k1.clone(), k2.clone()]).await.expect("get");
    assert_eq!((got[&k1].as_slice(), got[&k2].as_slice()), (&[2.0_f32, 3.0][..], &[4.0_f32][..]));
    // a refused batch writes nothing
    let e = k.put_vectors("m", &[(k3.clone(), vec![1.0]), (k2.clone(), vec![f32::NAN])]).await.expect_err("NaN");
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    let e = k.put_vectors("m", &[(k3.clone(), vec![1.0]), ("abc".into(), vec![1.0])]).await.expect_err("a bad key");
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(k.vectors("m", std::slice::from_ref(&k3)).await.expect("get").is_empty());
    k.put_vectors("m", &[]).await.expect("nothing to store");
}
