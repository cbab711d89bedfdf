//! The knowledge library: what the LLM is given beyond the schema, per database (by its connection key).
//!
//! Sources, merged into one [`KnowledgeIndex`] per database:
//! - the knowledge folder (the CLI: `knowledge/` beside the configuration, `knowledge.dir`, or `--knowledge DIR`):
//!   `glossary.toml`, `descriptions.toml`, and documents (`*.md`, `*.markdown`, `*.txt`);
//! - the system database's knowledge items of that database (`datagenie knowledge add`, `/api/v1/knowledge`);
//! - the database's verified query templates, and (server) its verified history — as few-shot examples.
//!
//! The index is rebuilt when a source changes (checked at most every [`RECHECK`]); with an embeddings endpoint the
//! items' vectors are read from the system database, the missing ones computed (their tokens counted in the question
//! that needed them) and stored, so each text is embedded once per model.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datagenie_core::knowledge::{
    Description, Document, Example, ExampleOrigin, KnowledgeBase, KnowledgeIndex, parse_descriptions, parse_glossary,
};
use datagenie_core::llm::{EmbeddingProvider, EmbeddingRequest, TokenUsage};
use datagenie_core::schema::{Schema, hex};
use datagenie_core::{Error, ErrorCode};
use datagenie_store::{KnowledgeKind, KnowledgeStore, Store, TemplateStore};
use sha2::{Digest, Sha256};

/// How long a question trusts the sources' state the previous one checked.
pub const RECHECK: Duration = Duration::from_secs(2);
/// Verified history examples read per database at most.
pub const MAX_HISTORY_EXAMPLES: usize = 500;
/// Documents in a knowledge folder read at most (the rest are skipped with a warning).
pub const MAX_FOLDER_DOCUMENTS: usize = 1000;

/// What an index build cost in embedding tokens (counted in the question that needed it).
#[derive(Debug, Clone, Default)]
pub struct EmbeddingSpend {
    pub model: String,
    pub usage: TokenUsage,
}

/// The sources of knowledge, and the built indexes.
pub struct Library {
    pub store: Option<KnowledgeStore>,
    pub folder: Option<PathBuf>,
    pub templates: Option<Arc<TemplateStore>>,
    /// The server's store: verified history, by the stored connection's id.
    pub history: Option<Arc<dyn Store>>,
    pub embedder: Option<Arc<dyn EmbeddingProvider>>,
    memo: Mutex<HashMap<String, Built>>,
}

struct Built {
    checked: Instant,
    version: String,
    index: Arc<KnowledgeIndex>,
    /// The schema the descriptions were applied to, and the result.
    described: Option<(Arc<Schema>, Arc<Schema>)>,
}

impl Library {
    pub fn new(
        store: Option<KnowledgeStore>,
        folder: Option<PathBuf>,
        templates: Option<Arc<TemplateStore>>,
        history: Option<Arc<dyn Store>>,
        embedder: Option<Arc<dyn EmbeddingProvider>>,
    ) -> Library {
        Library { store, folder, templates, history, embedder, memo: Mutex::new(HashMap::new()) }
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, HashMap<String, Built>> {
        self.memo.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The knowledge index of the database keyed `key` (`stored_id`: the server's connection id, for its verified
    /// history), rebuilt when a source changed. A source that fails is logged and left out.
    pub async fn index_for(
        &self,
        key: &str,
        stored_id: Option<&str>,
        spend: &mut Vec<EmbeddingSpend>,
    ) -> Arc<KnowledgeIndex> {
        // Two stored connections to one database share its knowledge but not their verified history.
        let memo_key = format!("{key}\u{0}{}", stored_id.unwrap_or_default());
        if let Some(b) = self.memo().get(&memo_key)
            && b.checked.elapsed() < RECHECK
        {
            return b.index.clone();
        }
        let base = self.gather(key, stored_id).await;
        let version = version_of(&base);
        if let Some(b) = self.memo().get_mut(&memo_key)
            && b.version == version
        {
            b.checked = Instant::now();
            return b.index.clone();
        }
        let mut index = KnowledgeIndex::new(base);
        if let Some(embedder) = &self.embedder {
            match self.attach_vectors(embedder.as_ref(), &mut index).await {
                Ok(Some(s)) => spend.push(s),
                Ok(None) => {}
                Err(e) => tracing::warn!(code = %e.code, "knowledge embeddings unavailable; lexical retrieval only"),
            }
        }
        let index = Arc::new(index);
        let mut memo = self.memo();
        if memo.len() >= 256 {
            memo.clear();
        }
        memo.insert(memo_key, Built { checked: Instant::now(), version, index: index.clone(), described: None });
        index
    }

    /// Drops the index of `key`'s database, so the next question gathers its sources again at once instead of
    /// trusting them for up to [`RECHECK`] (the server calls it after a change it made: knowledge added or removed,
    /// an answer verified).
    pub fn forget(&self, key: &str) {
        self.memo().retain(|k, _| k.split('\u{0}').next() != Some(key));
    }

    /// `schema` with the descriptions of `key`'s knowledge as its comments (a description replaces the database's
    /// comment of that table or column). The same `Arc` while neither changes.
    pub fn described(&self, key: &str, schema: &Arc<Schema>, index: &KnowledgeIndex) -> Arc<Schema> {
        if index.base().descriptions.is_empty() {
            return schema.clone();
        }
        let mut memo = self.memo();
        let built = memo
            .iter_mut()
            .find(|(k, b)| k.split('\u{0}').next() == Some(key) && std::ptr::eq(b.index.as_ref(), index))
            .map(|(_, b)| b);
        let Some(built) = built else { return Arc::new(describe(schema, &index.base().descriptions)) };
        if let Some((raw, described)) = &built.described
            && Arc::ptr_eq(raw, schema)
            && std::ptr::eq(built.index.as_ref(), index)
        {
            return described.clone();
        }
        let described = Arc::new(describe(schema, &index.base().descriptions));
        if std::ptr::eq(built.index.as_ref(), index) {
            built.described = Some((schema.clone(), described.clone()));
        }
        described
    }

    /// The embedding of a question, when an endpoint is configured and the index has vectors of the same size.
    pub async fn embed_question(
        &self,
        question: &str,
        index: &KnowledgeIndex,
        spend: &mut Vec<EmbeddingSpend>,
    ) -> Option<Vec<f32>> {
        let embedder = self.embedder.as_ref()?;
        let dims = index.dimension()?;
        match embedder.embed(&EmbeddingRequest { inputs: vec![question.to_string()] }).await {
            Ok(r) => {
                spend.push(EmbeddingSpend { model: r.model.clone(), usage: r.usage });
                r.vectors.into_iter().next().filter(|v| v.len() == dims)
            }
            Err(e) => {
                tracing::warn!(code = %e.code, "could not embed the question; lexical retrieval only");
                None
            }
        }
    }

    /// Everything known about `key`'s database, from every source.
    pub async fn gather(&self, key: &str, stored_id: Option<&str>) -> KnowledgeBase {
        let mut base = KnowledgeBase::default();
        if let Some(folder) = &self.folder {
            match read_folder(folder) {
                Ok(b) => merge(&mut base, b),
                Err(e) => tracing::warn!(code = %e.code, error = %e.message, "knowledge folder skipped"),
            }
        }
        if let Some(store) = &self.store {
            match store_base(store, key).await {
                Ok(b) => merge(&mut base, b),
                Err(e) => tracing::warn!(code = %e.code, error = %e.message, "stored knowledge skipped"),
            }
        }
        if let Some(templates) = &self.templates {
            match templates.list(Some(key)).await {
                // A template private to its owner is no one else's example: only verified, shared ones are.
                Ok(list) => base.examples.extend(
                    list.into_iter().filter(|t| t.verified && (t.public || t.owner.is_none())).flat_map(|t| {
                        let (id, name, sql) = (t.id, t.name, t.sql);
                        t.questions.into_iter().map(move |q| Example {
                            question: q,
                            sql: sql.clone(),
                            origin: ExampleOrigin::Template { id: id.clone(), name: name.clone() },
                        })
                    }),
                ),
                Err(e) => tracing::warn!(code = %e.code, "templates skipped as examples"),
            }
        }
        if let (Some(store), Some(id)) = (&self.history, stored_id) {
            match store.verified_examples(id, MAX_HISTORY_EXAMPLES).await {
                Ok(list) => base.examples.extend(list.into_iter().map(|v| Example {
                    question: v.question,
                    sql: v.sql,
                    origin: ExampleOrigin::History { id: v.history_id },
                })),
                Err(e) => tracing::warn!(code = %e.code, "verified history skipped as examples"),
            }
        }
        base
    }

    /// Vectors for every item of `index`: stored ones, and the missing ones embedded now and stored.
    async fn attach_vectors(
        &self,
        embedder: &dyn EmbeddingProvider,
        index: &mut KnowledgeIndex,
    ) -> Result<Option<EmbeddingSpend>, Error> {
        let inputs = index.embedding_inputs();
        if inputs.is_empty() {
            return Ok(None);
        }
        let model = embedder.model().to_string();
        let keys: Vec<String> = inputs.iter().map(|(_, _, k)| k.clone()).collect();
        let mut known = match &self.store {
            Some(store) => store.vectors(&model, &keys).await?,
            None => HashMap::new(),
        };
        let missing: Vec<(String, String)> = inputs
            .iter()
            .filter(|(_, _, k)| !known.contains_key(k))
            .map(|(_, text, k)| (k.clone(), text.clone()))
            .collect();
        let mut spend = None;
        if !missing.is_empty() {
            let r =
                embedder.embed(&EmbeddingRequest { inputs: missing.iter().map(|(_, t)| t.clone()).collect() }).await?;
            if r.vectors.len() != missing.len() {
                return Err(Error::new(ErrorCode::LlmBadResponse, "the embeddings endpoint returned too few vectors"));
            }
            let fresh: Vec<(String, Vec<f32>)> = missing.into_iter().map(|(k, _)| k).zip(r.vectors).collect();
            if let Some(store) = &self.store
                && let Err(e) = store.put_vectors(&model, &fresh).await
            {
                tracing::warn!(code = %e.code, "could not store knowledge vectors");
            }
            known.extend(fresh);
            spend = Some(EmbeddingSpend { model: r.model, usage: r.usage });
        }
        let vectors = inputs.into_iter().filter_map(|(item, _, k)| known.get(&k).map(|v| (item, v.clone()))).collect();
        index.set_vectors(vectors);
        Ok(spend)
    }
}

/// `schema` with `descriptions` as comments.
pub fn describe(schema: &Schema, descriptions: &[Description]) -> Schema {
    let mut out = schema.clone();
    for d in descriptions {
        let Some(t) = out.tables.iter_mut().find(|t| t.name.eq_ignore_ascii_case(&d.table)) else { continue };
        match &d.column {
            None => t.comment = Some(d.text.clone()),
            Some(c) => {
                if let Some(col) = t.columns.iter_mut().find(|x| x.name.eq_ignore_ascii_case(c)) {
                    col.comment = Some(d.text.clone());
                }
            }
        }
    }
    out
}

fn merge(into: &mut KnowledgeBase, from: KnowledgeBase) {
    into.glossary.extend(from.glossary);
    into.descriptions.extend(from.descriptions);
    into.documents.extend(from.documents);
    into.examples.extend(from.examples);
}

/// A digest of everything a base holds: equal digests, equal indexes.
fn version_of(base: &KnowledgeBase) -> String {
    let bytes = serde_json::to_vec(base).unwrap_or_default();
    hex(&Sha256::digest(&bytes))
}

/// The stored items of `key`'s database as a knowledge base.
pub async fn store_base(store: &KnowledgeStore, key: &str) -> Result<KnowledgeBase, Error> {
    let mut base = KnowledgeBase::default();
    for item in store.list(key, None).await? {
        let bad = |e: serde_json::Error| {
            Error::new(ErrorCode::InvalidKnowledge, format!("stored knowledge item {} is unreadable: {e}", item.id))
        };
        match item.kind {
            KnowledgeKind::Glossary => base.glossary.push(serde_json::from_value(item.body.clone()).map_err(bad)?),
            KnowledgeKind::Description => {
                base.descriptions.push(serde_json::from_value(item.body.clone()).map_err(bad)?)
            }
            KnowledgeKind::Document => base.documents.push(serde_json::from_value(item.body.clone()).map_err(bad)?),
        }
    }
    Ok(base)
}

/// A knowledge folder: `glossary.toml`, `descriptions.toml`, and documents (`*.md`, `*.markdown`, `*.txt`; other
/// files ignored), in file-name order. A malformed glossary or descriptions file is an error naming the file.
pub fn read_folder(dir: &Path) -> Result<KnowledgeBase, Error> {
    let io = |e: std::io::Error, p: &Path| Error::new(ErrorCode::InvalidKnowledge, format!("{}: {e}", p.display()));
    let mut base = KnowledgeBase::default();
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(|e| io(e, dir))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    let mut documents = 0usize;
    for path in names {
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let in_file = |e: Error| Error::new(e.code, format!("{name}: {}", e.message));
        let lower = name.to_lowercase();
        if lower == "glossary.toml" {
            let text = std::fs::read_to_string(&path).map_err(|e| io(e, &path))?;
            base.glossary.extend(parse_glossary(&text).map_err(in_file)?);
        } else if lower == "descriptions.toml" {
            let text = std::fs::read_to_string(&path).map_err(|e| io(e, &path))?;
            base.descriptions.extend(parse_descriptions(&text).map_err(in_file)?);
        } else if lower.ends_with(".md") || lower.ends_with(".markdown") || lower.ends_with(".txt") {
            if documents >= MAX_FOLDER_DOCUMENTS {
                tracing::warn!(file = %name, "knowledge folder: too many documents; the rest are skipped");
                break;
            }
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len as usize > datagenie_core::knowledge::MAX_DOCUMENT_BYTES {
                tracing::warn!(file = %name, "knowledge folder: document over the size limit skipped");
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| io(e, &path))?;
            let Ok(text) = String::from_utf8(bytes) else {
                tracing::warn!(file = %name, "knowledge folder: a document that is not UTF-8 text skipped");
                continue;
            };
            base.documents.push(Document { title: name, text });
            documents += 1;
        }
    }
    Ok(base)
}

/// The knowledge folder the configuration names: `knowledge.dir`, else `knowledge/` beside the configuration file
/// when it exists.
pub fn configured_folder(dir: &str, config_file: Option<&Path>) -> Option<PathBuf> {
    if !dir.trim().is_empty() {
        return Some(PathBuf::from(dir));
    }
    let beside = config_file?.parent()?.join("knowledge");
    beside.is_dir().then_some(beside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::Question;
    use datagenie_core::guard::Policy;
    use datagenie_core::knowledge::GlossaryEntry;
    use datagenie_store::{NewKnowledgeItem, NewTemplate};

    use crate::ask::{AnswerSource, AskContext, AskOptions, AskRequest, Connection, RequestKind};

    fn folder(dir: &Path) -> PathBuf {
        let k = dir.join("knowledge");
        std::fs::create_dir_all(&k).expect("mkdir");
        std::fs::write(
            k.join("glossary.toml"),
            r#"
[[term]]
term = "활성 고객"
synonyms = ["active customers", "active customer"]
definition = "A customer who ordered in the last 90 days"
sql = "last_order_date >= '2025-10-01'"
table = "customers"
"#,
        )
        .expect("glossary");
        std::fs::write(
            k.join("descriptions.toml"),
            "[tables.customers]\ndescription = \"Everyone who ever bought\"\n[tables.customers.columns]\ntier = \"gold, silver or bronze\"\n",
        )
        .expect("descriptions");
        std::fs::write(
            k.join("refunds.md"),
            "# Sales\n\nRevenue counts paid orders.\n\n## Refunds\n\nA refunded order is subtracted from revenue in the month of the refund.\n",
        )
        .expect("doc");
        std::fs::write(k.join("notes.bin"), [0u8, 159, 146, 150]).expect("ignored file");
        k
    }

    #[test]
    fn a_folder_reads_as_knowledge_and_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = read_folder(&folder(dir.path())).expect("read");
        assert_eq!(base.glossary.len(), 1);
        assert_eq!(base.descriptions.len(), 2, "{:?}", base.descriptions);
        assert_eq!(base.documents.len(), 1, "the .bin file is not a document");
        std::fs::write(dir.path().join("knowledge/glossary.toml"), "[[term]]\nterm = \"x\"\nbogus = 1\n").expect("w");
        let e = read_folder(&dir.path().join("knowledge")).expect_err("bad glossary");
        assert_eq!(e.code, ErrorCode::InvalidKnowledge);
        assert!(e.message.contains("glossary.toml"), "{}", e.message);
        assert!(read_folder(&dir.path().join("missing")).is_err());
        assert_eq!(configured_folder("", None), None);
        assert_eq!(configured_folder("/x/k", None), Some(PathBuf::from("/x/k")));
        assert_eq!(configured_folder("", Some(&dir.path().join("config.toml"))), Some(dir.path().join("knowledge")));
    }

    fn shop(dir: &Path) -> PathBuf {
        let path = dir.join("shop.db");
        let c = rusqlite::Connection::open(&path).expect("create");
        c.execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, tier TEXT, last_order_date TEXT);
             INSERT INTO customers VALUES (1, 'a', 'gold', '2025-12-01'), (2, 'b', 'gold', '2024-01-01'),
                                          (3, 'c', 'silver', '2025-11-15');",
        )
        .expect("fill");
        path
    }

    async fn context(dir: &Path, llm: Option<Arc<crate::bench::FixedReply>>) -> (AskContext, Connection, Arc<Library>) {
        let system = dir.join("system.db");
        let templates = Arc::new(TemplateStore::open(&system).expect("templates"));
        let store = KnowledgeStore::open(&system).expect("knowledge");
        let library = Arc::new(Library::new(Some(store), Some(folder(dir)), Some(templates.clone()), None, None));
        let connector = datagenie_connectors::parse_target(&shop(dir).display().to_string())
            .expect("target")
            .connect()
            .await
            .expect("connect");
        let ctx = AskContext {
            llm: llm.map(|l| l as Arc<dyn datagenie_core::llm::LlmProvider>),
            llm_in_force: crate::config::LlmInForce {
                provider: crate::config::ProviderKind::Openai,
                model: None,
                from: crate::config::Origin::Default,
            },
            prices: Default::default(),
            cache: crate::schema_cache::SchemaCache::new(dir.join("cache"), Duration::from_secs(3600)),
            privacy: Default::default(),
            templates: Some(templates),
            builtin_first: false,
            knowledge: Default::default(),
            library: Some(library.clone()),
        };
        (ctx, Connection::new(connector, "shop"), library)
    }

    fn request<'a>(connection: &'a Connection, q: &str, dry_run: bool) -> AskRequest<'a> {
        AskRequest {
            question: Question::parse(q).expect("question"),
            kind: RequestKind::Question,
            connection,
            policy: Policy::default(),
            user: None,
            session: Default::default(),
            options: AskOptions {
                limits: Default::default(),
                max_attempts: 1,
                summary: false,
                dry_run,
                unmask: false,
                schema_budget_tokens: 6000,
                today: "2026-01-01".into(),
                temperature: 0.0,
                max_tokens: 512,
                token_budget: None,
                cache: None,
                llm_refusal: None,
            },
            progress: None,
        }
    }

    #[tokio::test]
    async fn terms_descriptions_documents_and_examples_reach_the_prompt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let llm = crate::bench::FixedReply::new();
        llm.set("```sql\nSELECT count(*) FROM customers\n```".into());
        let (ctx, connection, library) = context(dir.path(), Some(llm.clone())).await;
        // A verified template and a stored glossary entry of this database; one of another database.
        ctx.templates
            .as_ref()
            .expect("templates")
            .add(NewTemplate {
                name: "gold count".into(),
                description: None,
                questions: vec!["how many gold tier customers".into()],
                sql: "SELECT count(*) FROM customers WHERE tier = 'gold'".into(),
                category: None,
                public: true,
                verified: true,
                connection: "shop".into(),
                dialect: datagenie_core::Dialect::Sqlite,
                owner: None,
            })
            .await
            .expect("template");
        let store = library.store.as_ref().expect("store");
        let entry = |term: &str| GlossaryEntry {
            term: term.into(),
            synonyms: vec![],
            definition: format!("{term} means something"),
            sql: None,
            table: None,
        };
        for (key, term) in [("shop", "churned"), ("elsewhere", "secret plan")] {
            store
                .upsert(NewKnowledgeItem {
                    connection: key.into(),
                    kind: KnowledgeKind::Glossary,
                    name: term.into(),
                    body: serde_json::to_value(entry(term)).expect("json"),
                    created_by: None,
                })
                .await
                .expect("upsert");
        }
        let answer = ctx.ask(&request(&connection, "How many active customers are gold tier?", true)).await.expect("a");
        let p = llm.last_prompt();
        assert!(p.contains("활성 고객: A customer who ordered in the last 90 days"), "{p}");
        assert!(p.contains("as SQL on customers: last_order_date >= '2025-10-01'"), "{p}");
        assert!(p.contains("-- Everyone who ever bought") && p.contains("-- gold, silver or bronze"), "{p}");
        assert!(p.contains("question: how many gold tier customers"), "the verified template as an example: {p}");
        assert_eq!(answer.knowledge.terms.len(), 1, "{:?}", answer.knowledge.terms);
        assert_eq!(answer.knowledge.examples.len(), 1);
        let p2 = {
            ctx.ask(&request(&connection, "How are refunds counted in revenue?", true)).await.expect("b");
            llm.last_prompt()
        };
        assert!(p2.contains("[refunds.md › Sales › Refunds]"), "{p2}");
        assert!(!p2.contains("secret plan"), "another database's knowledge: {p2}");
        let p3 = {
            ctx.ask(&request(&connection, "Is churned a word here?", true)).await.expect("c");
            llm.last_prompt()
        };
        assert!(p3.contains("churned: churned means something"), "{p3}");
    }

    #[tokio::test]
    async fn the_engine_applies_a_terms_condition_without_an_llm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ctx, connection, _) = context(dir.path(), None).await;
        let answer = ctx.ask(&request(&connection, "활성 고객은 몇 명이야?", false)).await.expect("answered");
        assert!(matches!(answer.source, AnswerSource::Builtin { .. }), "{:?}", answer.source);
        assert!(answer.sql.contains("last_order_date >= '2025-10-01'"), "{}", answer.sql);
        assert_eq!(answer.rows, vec![vec![datagenie_core::value::Value::Int(2)]], "{}", answer.sql);
        let plain = ctx.ask(&request(&connection, "고객은 몇 명이야?", false)).await.expect("answered");
        assert_eq!(plain.rows, vec![vec![datagenie_core::value::Value::Int(3)]], "{}", plain.sql);
    }

    #[test]
    fn descriptions_replace_comments_by_name() {
        let schema = Schema {
            dialect: datagenie_core::Dialect::Sqlite,
            server_version: String::new(),
            tables: vec![datagenie_core::schema::Table::new(
                "Orders",
                vec![datagenie_core::schema::Column::new("status", "TEXT")],
            )],
        };
        let d = describe(
            &schema,
            &[
                Description { table: "orders".into(), column: None, text: "one row per order".into() },
                Description { table: "orders".into(), column: Some("STATUS".into()), text: "paid or not".into() },
                Description { table: "ghost".into(), column: None, text: "nothing".into() },
            ],
        );
        assert_eq!(d.tables[0].comment.as_deref(), Some("one row per order"));
        assert_eq!(d.tables[0].columns[0].comment.as_deref(), Some("paid or not"));
    }
}
