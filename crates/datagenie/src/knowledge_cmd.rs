//! `datagenie knowledge add|list|remove|search`: what people teach DataGenie about one database — glossary terms,
//! table and column descriptions, documents — kept in the system database (`<data_dir>/datagenie.db`) under the
//! database's key, beside the knowledge folder's files (`knowledge/` beside the configuration, `knowledge.dir`, or
//! `--knowledge DIR`). The database is chosen as for `ask`: `--db`, else the configured one, else the demo.
//!
//! Exit status: 0 done; 2 for every error (`invalid_knowledge` for knowledge that fails validation or a malformed
//! folder file, `not_found` for an item that is not there, `invalid_argument` for a file that cannot be read).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use datagenie_app::Session;
use datagenie_app::config::Config;
use datagenie_app::database::DatabaseChoice;
use datagenie_app::knowledge::{configured_folder, read_folder};
use datagenie_app::values::ValueCache;
use datagenie_core::knowledge::{
    DEFAULT_CHUNK_TOKENS, Description, Document, GlossaryEntry, KnowledgeBase, MAX_DOCUMENT_BYTES, RetrieveLimits,
    Retrieved, chunk_document, validate_description, validate_document, validate_entry,
};
use datagenie_core::linking::SchemaIndex;
use datagenie_core::prompt::{SqlPromptInput, sql_request};
use datagenie_core::schema::Schema;
use datagenie_core::values::ValueMatch;
use datagenie_core::{Error, ErrorCode, Question, SecretUrl};
use datagenie_store::{KnowledgeItem, KnowledgeKind, KnowledgeStore, NewKnowledgeItem};
use serde::Serialize;
use serde_json::{Value, json};

use crate::output::{self, Listed};

#[derive(Subcommand)]
pub enum KnowledgeCommand {
    /// Add a glossary term, a table or column description, or a document (one of the same name is replaced).
    #[command(subcommand)]
    Add(AddCommand),
    /// Everything the prompt may draw on for the database: stored items and the knowledge folder's, each marked by
    /// its source (stored, folder), and the verified templates used as examples.
    List(ListArgs),
    /// Remove a stored item by id, or by --kind and --name.
    Remove(RemoveArgs),
    /// What the LLM would be given for a question: matched values, glossary terms, documentation chunks and verified
    /// examples, each with its score and how it was found.
    Search(SearchArgs),
}

impl KnowledgeCommand {
    /// The output format asked for, which errors are printed in too.
    pub fn format(&self) -> KnowledgeFormat {
        match self {
            KnowledgeCommand::Add(AddCommand::Glossary(a)) => a.common.format,
            KnowledgeCommand::Add(AddCommand::Description(a)) => a.common.format,
            KnowledgeCommand::Add(AddCommand::Document(a)) => a.common.format,
            KnowledgeCommand::List(a) => a.common.format,
            KnowledgeCommand::Remove(a) => a.common.format,
            KnowledgeCommand::Search(a) => a.common.format,
        }
    }

    /// `--knowledge DIR`, where the command takes it.
    pub fn knowledge_dir(&self) -> Option<&Path> {
        match self {
            KnowledgeCommand::List(a) => a.knowledge.as_deref(),
            KnowledgeCommand::Search(a) => a.knowledge.as_deref(),
            _ => None,
        }
    }
}

#[derive(Subcommand)]
pub enum AddCommand {
    /// A business term: what it means, and optionally the SQL expression it stands for.
    Glossary(GlossaryArgs),
    /// What a table (or, with --column, one of its columns) holds; shown to the LLM as its comment.
    Description(DescriptionArgs),
    /// A document (Markdown or plain text, UTF-8, at most 1 MiB), cut into chunks by its headings.
    Document(DocumentArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KnowledgeFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Glossary,
    Description,
    Document,
}

impl From<KindArg> for KnowledgeKind {
    fn from(k: KindArg) -> KnowledgeKind {
        match k {
            KindArg::Glossary => KnowledgeKind::Glossary,
            KindArg::Description => KnowledgeKind::Description,
            KindArg::Document => KnowledgeKind::Document,
        }
    }
}

#[derive(Args)]
pub struct Common {
    /// Database: a SQLite path or sqlite://, postgres://, mysql:// URL. Default: the configured database, else the
    /// demo database.
    #[arg(long, value_name = "URL")]
    db: Option<SecretUrl>,
    #[arg(long, value_enum, default_value = "table")]
    format: KnowledgeFormat,
}

#[derive(Args)]
pub struct GlossaryArgs {
    /// The term, e.g. 'active customer' or '활성 고객'.
    #[arg(long)]
    term: String,
    /// Another way to say it (another language, a plural, an abbreviation). Repeatable.
    #[arg(long = "synonym", value_name = "SYNONYM")]
    synonyms: Vec<String>,
    /// What it means.
    #[arg(long, default_value = "")]
    definition: String,
    /// The SQL expression it stands for, e.g. "last_order_date >= date('now','-90 day')".
    #[arg(long, value_name = "EXPR")]
    sql: Option<String>,
    /// The table the expression applies to.
    #[arg(long)]
    table: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct DescriptionArgs {
    #[arg(long)]
    table: String,
    /// A column of the table (without it, the table itself is described).
    #[arg(long)]
    column: Option<String>,
    #[arg(long)]
    text: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct DocumentArgs {
    /// The file: Markdown or plain text, UTF-8.
    file: PathBuf,
    /// The document's title (default: the file's name). A document of the same title is replaced.
    #[arg(long)]
    title: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only this kind.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// The knowledge folder (overrides knowledge.dir and `knowledge/` beside the configuration).
    #[arg(long, value_name = "DIR")]
    knowledge: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct RemoveArgs {
    /// The stored item's id (from `knowledge list`).
    #[arg(value_name = "ID", required_unless_present = "name", conflicts_with_all = ["kind", "name"])]
    id: Option<String>,
    /// With --name: the item's kind.
    #[arg(long, value_enum, requires = "name")]
    kind: Option<KindArg>,
    /// With --kind: the term, `table` or `table.column`, or the document's title.
    #[arg(long, requires = "kind")]
    name: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct SearchArgs {
    /// The question, in Korean or English.
    question: String,
    /// The knowledge folder (overrides knowledge.dir and `knowledge/` beside the configuration).
    #[arg(long, value_name = "DIR")]
    knowledge: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

pub async fn run(config_path: Option<PathBuf>, command: KnowledgeCommand) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    match command {
        KnowledgeCommand::Add(AddCommand::Glossary(args)) => add_glossary(&config, args).await,
        KnowledgeCommand::Add(AddCommand::Description(args)) => add_description(&config, args).await,
        KnowledgeCommand::Add(AddCommand::Document(args)) => add_document(&config, args).await,
        KnowledgeCommand::List(args) => list(&config, args).await,
        KnowledgeCommand::Remove(args) => remove(&config, args).await,
        KnowledgeCommand::Search(args) => search(&config, args).await,
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidKnowledge, message)
}

fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()))
}

fn print_json(value: &impl Serialize) -> Result<(), Error> {
    let text = serde_json::to_string(value).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
    print(&(text + "\n"))
}

/// The chosen database's key (what its knowledge is filed under), without connecting to it.
fn database_key(config: &Config, db: Option<&SecretUrl>) -> Result<String, Error> {
    DatabaseChoice::resolve(config, db)?.key()
}

/// The configured system database's knowledge items (the servers' too).
async fn open_store(config: &Config) -> Result<KnowledgeStore, Error> {
    Ok(datagenie_app::system::open_catalog(config).await?.knowledge)
}

async fn add_glossary(config: &Config, args: GlossaryArgs) -> Result<u8, Error> {
    let term = args.term.trim().to_string();
    let entry = GlossaryEntry {
        synonyms: datagenie_core::knowledge::tidy_synonyms(&term, args.synonyms),
        term,
        definition: args.definition.trim().to_string(),
        sql: args.sql.map(|s| s.trim().to_string()),
        table: args.table.map(|t| t.trim().to_string()),
    };
    validate_entry(&entry)?;
    let name = entry.term.clone();
    store_item(config, &args.common, KnowledgeKind::Glossary, name, body_of(&entry)?).await
}

async fn add_description(config: &Config, args: DescriptionArgs) -> Result<u8, Error> {
    let description = Description {
        table: args.table.trim().to_string(),
        column: args.column.map(|c| c.trim().to_string()),
        text: args.text.trim().to_string(),
    };
    validate_description(&description)?;
    let name = match &description.column {
        Some(c) => format!("{}.{c}", description.table),
        None => description.table.clone(),
    };
    store_item(config, &args.common, KnowledgeKind::Description, name, body_of(&description)?).await
}

async fn add_document(config: &Config, args: DocumentArgs) -> Result<u8, Error> {
    let text = read_document(&args.file)?;
    let title = match args.title {
        Some(t) => t.trim().to_string(),
        None => args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let document = Document { title, text };
    validate_document(&document)?;
    let name = document.title.clone();
    store_item(config, &args.common, KnowledgeKind::Document, name, body_of(&document)?).await
}

/// A document file's text: at most [`MAX_DOCUMENT_BYTES`] of UTF-8 (read no further than one byte past the limit).
fn read_document(path: &Path) -> Result<String, Error> {
    let unreadable = |e: std::io::Error| {
        Error::new(ErrorCode::InvalidArgument, format!("cannot read the document {}: {e}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(invalid(format!(
            "the document {} is over {MAX_DOCUMENT_BYTES} bytes, the most a document may hold",
            path.display()
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "the document {} is not UTF-8 text (an invalid byte at offset {}); save it as UTF-8 Markdown or text",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// What an item of `kind` is called in messages.
fn noun(kind: KnowledgeKind) -> &'static str {
    match kind {
        KnowledgeKind::Glossary => "glossary term",
        KnowledgeKind::Description => "description",
        KnowledgeKind::Document => "document",
    }
}

fn body_of(item: &impl Serialize) -> Result<Value, Error> {
    serde_json::to_value(item).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
}

async fn store_item(
    config: &Config,
    common: &Common,
    kind: KnowledgeKind,
    name: String,
    body: Value,
) -> Result<u8, Error> {
    let connection = database_key(config, common.db.as_ref())?;
    let store = open_store(config).await?;
    let (item, created) = store.upsert(NewKnowledgeItem { connection, kind, name, body, created_by: None }).await?;
    let entry = Entry::stored(&item);
    match common.format {
        KnowledgeFormat::Json => {
            let mut value = body_of(&entry)?;
            if let Value::Object(map) = &mut value {
                map.insert("created".into(), Value::Bool(created));
            }
            print_json(&value)?;
        }
        KnowledgeFormat::Table => {
            let verb = if created { "added" } else { "replaced" };
            print(&format!("{verb} {} '{}' ({})\n{}", noun(kind), item.name, item.id, entry.details("  ")))?;
        }
    }
    Ok(0)
}

/// One item of a listing, from the system database (`stored`) or the knowledge folder (`folder`).
#[derive(Debug, Serialize)]
struct Entry {
    source: &'static str,
    /// The stored item's id; `null` for a folder's item.
    id: Option<String>,
    kind: KnowledgeKind,
    name: String,
    /// The glossary entry or description; for a document its title, size in bytes and number of chunks (the text
    /// is left out of listings).
    body: Value,
    /// The folder's file it is in; `null` for a stored item.
    file: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

impl Entry {
    fn stored(item: &KnowledgeItem) -> Entry {
        let body = match item.kind {
            KnowledgeKind::Document => match serde_json::from_value::<Document>(item.body.clone()) {
                Ok(doc) => document_summary(&doc),
                Err(_) => item.body.clone(),
            },
            _ => item.body.clone(),
        };
        Entry {
            source: "stored",
            id: Some(item.id.clone()),
            kind: item.kind,
            name: item.name.clone(),
            body,
            file: None,
            created_at: Some(item.created_at.clone()),
            updated_at: item.updated_at.clone(),
        }
    }

    fn folder(kind: KnowledgeKind, name: String, body: Value, file: &str) -> Entry {
        Entry {
            source: "folder",
            id: None,
            kind,
            name,
            body,
            file: Some(file.to_string()),
            created_at: None,
            updated_at: None,
        }
    }

    /// The heading line of the table format: `GMV  (stored, id …)` or `활성 고객  (folder, glossary.toml)`.
    fn heading(&self) -> String {
        match (&self.id, &self.file) {
            (Some(id), _) => format!("{}  (stored, id {id})", self.name),
            (None, Some(file)) => format!("{}  (folder, {file})", self.name),
            (None, None) => format!("{}  ({})", self.name, self.source),
        }
    }

    /// The item's contents for people, each line indented by `indent`.
    fn details(&self, indent: &str) -> String {
        let text = |key: &str| self.body.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let line = |s: &str| datagenie_core::schema_text::one_line(s, 160);
        let mut out = String::new();
        match self.kind {
            KnowledgeKind::Glossary => {
                let definition = text("definition");
                if !definition.is_empty() {
                    out.push_str(&format!("{indent}{}\n", line(&definition)));
                }
                let synonyms: Vec<&str> = self
                    .body
                    .get("synonyms")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if !synonyms.is_empty() {
                    out.push_str(&format!("{indent}also: {}\n", synonyms.join(", ")));
                }
                let sql = text("sql");
                if !sql.is_empty() {
                    let table = text("table");
                    let on = if table.is_empty() { String::new() } else { format!(" on {table}") };
                    out.push_str(&format!("{indent}SQL{on}: {}\n", line(&sql)));
                }
            }
            KnowledgeKind::Description => out.push_str(&format!("{indent}{}\n", line(&text("text")))),
            KnowledgeKind::Document => {
                let number = |key: &str| self.body.get(key).and_then(Value::as_u64).unwrap_or(0);
                let chunks = number("chunks");
                out.push_str(&format!(
                    "{indent}{} bytes, {chunks} chunk{}\n",
                    number("bytes"),
                    if chunks == 1 { "" } else { "s" }
                ));
            }
        }
        out
    }
}

/// A document in a listing: its title, size and chunk count.
fn document_summary(doc: &Document) -> Value {
    json!({
        "title": doc.title,
        "bytes": doc.text.len(),
        "chunks": chunk_document(doc, DEFAULT_CHUNK_TOKENS).len(),
    })
}

/// The folder's items as listing entries, of `kind` or all.
fn folder_entries(base: &KnowledgeBase, kind: Option<KnowledgeKind>) -> Result<Vec<Entry>, Error> {
    let wanted = |k: KnowledgeKind| kind.is_none_or(|w| w == k);
    let mut out = Vec::new();
    if wanted(KnowledgeKind::Glossary) {
        for g in &base.glossary {
            out.push(Entry::folder(KnowledgeKind::Glossary, g.term.clone(), body_of(g)?, "glossary.toml"));
        }
    }
    if wanted(KnowledgeKind::Description) {
        for d in &base.descriptions {
            let name = match &d.column {
                Some(c) => format!("{}.{c}", d.table),
                None => d.table.clone(),
            };
            out.push(Entry::folder(KnowledgeKind::Description, name, body_of(d)?, "descriptions.toml"));
        }
    }
    if wanted(KnowledgeKind::Document) {
        for doc in &base.documents {
            out.push(Entry::folder(KnowledgeKind::Document, doc.title.clone(), document_summary(doc), &doc.title));
        }
    }
    Ok(out)
}

/// The knowledge folder in force, and its contents; a malformed file is an error naming the folder and the file.
fn folder_of(config: &Config) -> Result<Option<(PathBuf, KnowledgeBase)>, Error> {
    let Some(dir) = configured_folder(&config.knowledge.dir, config.file.as_deref()) else { return Ok(None) };
    let base = read_folder(&dir).map_err(|e| e.context(format!("the knowledge folder {}", dir.display())))?;
    Ok(Some((dir, base)))
}

/// A verified template, as an example the prompt may draw on.
#[derive(Debug, Serialize)]
struct TemplateExample {
    id: String,
    name: String,
    questions: Vec<String>,
}

async fn list(config: &Config, args: ListArgs) -> Result<u8, Error> {
    let key = database_key(config, args.common.db.as_ref())?;
    let kind = args.kind.map(KnowledgeKind::from);
    let folder = folder_of(config)?;
    let catalog = datagenie_app::system::open_catalog(config).await?;
    let stored = catalog.knowledge.list(&key, kind).await?;
    // Verified templates are examples too; they belong to no kind of item, so a --kind leaves them out.
    let examples: Vec<TemplateExample> = match kind {
        Some(_) => Vec::new(),
        None => catalog
            .templates
            .list(Some(&key))
            .await?
            .into_iter()
            .filter(|t| t.verified)
            .map(|t| TemplateExample { id: t.id, name: t.name, questions: t.questions })
            .collect(),
    };
    let mut entries: Vec<Entry> = stored.iter().map(Entry::stored).collect();
    if let Some((_, base)) = &folder {
        entries.extend(folder_entries(base, kind)?);
    }
    // By kind (glossary, description, document), then name; stored before folder on equal names.
    let rank = |k: KnowledgeKind| KnowledgeKind::ALL.iter().position(|x| *x == k).unwrap_or(usize::MAX);
    entries.sort_by(|a, b| rank(a.kind).cmp(&rank(b.kind)).then_with(|| a.name.cmp(&b.name)));
    let folder_dir =
        folder.as_ref().map(|(dir, _)| std::fs::canonicalize(dir).unwrap_or(dir.clone()).display().to_string());
    match args.common.format {
        KnowledgeFormat::Json => {
            print_json(&json!({"database": key, "folder": folder_dir, "items": entries, "examples": examples}))?
        }
        KnowledgeFormat::Table => {
            let mut text = format!("knowledge of {key}\nfolder: {}\n", folder_dir.as_deref().unwrap_or("(none)"));
            if entries.is_empty() && examples.is_empty() {
                text.push_str(
                    "no knowledge yet: add some with `datagenie knowledge add`, or put glossary.toml, \
                     descriptions.toml and documents in a knowledge folder\n",
                );
            }
            for k in KnowledgeKind::ALL {
                let of_kind: Vec<&Entry> = entries.iter().filter(|e| e.kind == *k).collect();
                if of_kind.is_empty() {
                    continue;
                }
                let title = match k {
                    KnowledgeKind::Glossary => "glossary",
                    KnowledgeKind::Description => "descriptions",
                    KnowledgeKind::Document => "documents",
                };
                text.push_str(&format!("\n{title}\n"));
                for e in of_kind {
                    text.push_str(&format!("  {}\n{}", e.heading(), e.details("    ")));
                }
            }
            if !examples.is_empty() {
                text.push_str("\nexamples (verified templates; see `datagenie template list`)\n");
                for t in &examples {
                    text.push_str(&format!("  {}: {}\n", t.name, t.questions.join(" | ")));
                }
            }
            print(&text)?;
        }
    }
    Ok(0)
}

async fn remove(config: &Config, args: RemoveArgs) -> Result<u8, Error> {
    let key = database_key(config, args.common.db.as_ref())?;
    let store = open_store(config).await?;
    let item = match (&args.id, args.kind, &args.name) {
        (Some(id), _, _) => {
            let id = id.trim();
            match store.get(id).await? {
                Some(item) if item.connection == key => item,
                Some(item) => {
                    return Err(Error::new(
                        ErrorCode::NotFound,
                        format!(
                            "the knowledge item {id} belongs to another database ({}); choose it with --db",
                            item.connection
                        ),
                    ));
                }
                None => {
                    return Err(Error::new(
                        ErrorCode::NotFound,
                        format!("no knowledge item with the id '{id}' (see `datagenie knowledge list`)"),
                    ));
                }
            }
        }
        (None, Some(kind), Some(name)) => {
            let kind = KnowledgeKind::from(kind);
            let name = name.trim();
            match store.list(&key, Some(kind)).await?.into_iter().find(|i| i.name == name) {
                Some(item) => item,
                None => return Err(not_stored(config, kind, name)),
            }
        }
        _ => {
            return Err(Error::new(ErrorCode::InvalidArgument, "give an ID, or --kind and --name"));
        }
    };
    if !store.remove(&item.id).await? {
        return Err(Error::new(ErrorCode::NotFound, format!("the knowledge item {} was already removed", item.id)));
    }
    match args.common.format {
        KnowledgeFormat::Json => print_json(&json!({"removed": Entry::stored(&item)}))?,
        KnowledgeFormat::Table => print(&format!("removed {} '{}' ({})\n", noun(item.kind), item.name, item.id))?,
    }
    Ok(0)
}

/// `not_found` for an item not stored; when the knowledge folder holds one of that kind and name, the message says
/// it is edited there.
fn not_stored(config: &Config, kind: KnowledgeKind, name: &str) -> Error {
    let in_folder = folder_of(config).ok().flatten().and_then(|(dir, base)| {
        folder_entries(&base, Some(kind))
            .ok()?
            .into_iter()
            .find(|e| e.name == name)
            .map(|e| dir.join(e.file.unwrap_or_default()))
    });
    let message = match in_folder {
        Some(file) => format!(
            "{} '{name}' is not stored: it comes from {}; edit that file to remove it",
            noun(kind),
            file.display()
        ),
        None => format!("no stored {} named '{name}' for this database (see `datagenie knowledge list`)", noun(kind)),
    };
    Error::new(ErrorCode::NotFound, message)
}

/// What `search` found of one kind, with whether the prompt would show it (or why not).
#[derive(Debug, Serialize)]
struct Found<T: Serialize> {
    #[serde(flatten)]
    item: T,
    in_prompt: bool,
}

async fn search(config: &Config, args: SearchArgs) -> Result<u8, Error> {
    let question = Question::parse(&args.question)?;
    let session = Session::open(config, args.common.db.as_ref()).await?;
    let context = &session.context;
    let key = session.connection.key.clone();
    let (schema, _) = context.schema(&session.connection).await?;
    let q = question.as_str();

    // As the pipeline retrieves it (`ask::by_llm`), for the local user: no policy hides anything.
    let mut spend = Vec::new();
    let (retrieved, described) = match &context.library {
        Some(library) => {
            let index = library.index_for(&key, None, &mut spend).await;
            let vector =
                if index.vector_count() > 0 { library.embed_question(q, &index, &mut spend).await } else { None };
            (index.retrieve(q, vector.as_deref(), &RetrieveLimits::default()), library.described(&key, &schema, &index))
        }
        None => (Retrieved::default(), schema.clone()),
    };
    let mut retrieved = retrieved;
    let policy = datagenie_core::guard::Policy::default();
    retrieved.examples.retain(|e| datagenie_app::ask::example_allowed(&e.item.sql, schema.dialect, &policy));
    let embedding_tokens: u64 = spend.iter().map(|s| s.usage.prompt_tokens).sum();
    let values = linked_values(&session, &schema, q).await;

    // The prompt itself decides what fits: its schema (samples masked as the LLM sees them), and the knowledge
    // sections within knowledge.budget_tokens.
    let mut prompt_schema = Schema::clone(&described);
    if context.privacy.mask {
        context.privacy.redact_samples(&mut prompt_schema);
    }
    let index = SchemaIndex::new(&prompt_schema);
    let knowledge = datagenie_app::ask::prompt_knowledge(&retrieved, values, context.knowledge.budget_tokens);
    let today = datagenie_app::today();
    let prompt = sql_request(&SqlPromptInput {
        question: &question,
        schema: &prompt_schema,
        index: &index,
        today: &today,
        schema_budget_tokens: config.ask.schema_budget_tokens,
        earlier: &[],
        knowledge: &knowledge,
    });
    let shown = &prompt.shown;
    let budget = context.knowledge.budget_tokens;
    let values = knowledge.values;

    match args.common.format {
        KnowledgeFormat::Json => {
            let found = |i: usize, n: usize| i < n;
            print_json(&json!({
                "question": q,
                "database": key,
                "llm_configured": context.llm.is_some(),
                "budget_tokens": budget,
                "tables": prompt.tables,
                "values": values.iter().enumerate()
                    .map(|(i, v)| Found { item: v, in_prompt: shown.values.contains(&i) }).collect::<Vec<_>>(),
                "terms": retrieved.glossary.iter().enumerate()
                    .map(|(i, t)| Found { item: t, in_prompt: found(i, shown.terms) }).collect::<Vec<_>>(),
                "chunks": retrieved.chunks.iter().enumerate()
                    .map(|(i, c)| Found { item: c, in_prompt: found(i, shown.excerpts) }).collect::<Vec<_>>(),
                "examples": retrieved.examples.iter().enumerate()
                    .map(|(i, e)| Found { item: e, in_prompt: found(i, shown.examples) }).collect::<Vec<_>>(),
                "embedding_tokens": embedding_tokens,
            }))?;
        }
        KnowledgeFormat::Table => {
            let mut out: Vec<u8> = Vec::new();
            let nothing = values.is_empty() && retrieved.is_empty();
            let written = (|| {
                writeln!(out, "For \"{q}\" the prompt would show (knowledge.budget_tokens = {budget}):")?;
                writeln!(out, "  tables: {}", prompt.tables.join(", "))?;
                if nothing {
                    writeln!(out, "  nothing beyond the schema: no matched values, terms, documentation or examples")?;
                }
                let over = "left out: over the token budget";
                let note = |at: Listed| -> Option<String> {
                    match at {
                        Listed::Value(i) if !shown.values.contains(&i) => {
                            values.get(i).map(|m| value_left_out(m, q, &prompt.tables, &prompt_schema).into())
                        }
                        Listed::Term(i) if i >= shown.terms => Some(over.into()),
                        Listed::Chunk(i) if i >= shown.excerpts => Some(over.into()),
                        Listed::Example(i) if i >= shown.examples => Some(over.into()),
                        _ => None,
                    }
                };
                output::knowledge_lines(
                    &mut out,
                    "  ",
                    &values,
                    &retrieved.glossary,
                    &retrieved.chunks,
                    &retrieved.examples,
                    &note,
                )?;
                if context.llm.is_none() {
                    writeln!(
                        out,
                        "(no LLM is configured: questions are answered by templates and the built-in engine, and no \
                         prompt is sent)"
                    )?;
                }
                if embedding_tokens > 0 {
                    writeln!(out, "(embedding the question and new items took {embedding_tokens} tokens)")?;
                }
                Ok::<_, std::io::Error>(())
            })();
            written.map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()))?;
            print(&String::from_utf8_lossy(&out))?;
        }
    }
    Ok(0)
}

/// Why the prompt leaves a matched value out (the rule of the prompt's values section).
fn value_left_out(m: &ValueMatch, question: &str, tables: &[String], schema: &Schema) -> &'static str {
    let shown = |t: &String| t == &m.table || t.rsplit_once('.').is_some_and(|(_, name)| name == m.table);
    let sample = schema
        .tables
        .iter()
        .filter(|t| t.name == m.table)
        .flat_map(|t| t.columns.iter().filter(|c| c.name == m.column))
        .any(|c| c.samples.contains(&m.value));
    if question.contains(&m.value) {
        "left out: the question spells it"
    } else if !tables.iter().any(shown) {
        "left out: its table is not in the prompt"
    } else if sample {
        "left out: the schema shows it as a sample"
    } else {
        "left out: over the token budget or the values shown at most"
    }
}

/// The cell values the question's words link to, from the value snapshot the pipeline reads (personal-data
/// columns left out while masking is on); none when value linking is off or the values cannot be read.
async fn linked_values(session: &Session, schema: &Schema, question: &str) -> Vec<ValueMatch> {
    let context = &session.context;
    let per_column = context.knowledge.values_per_column;
    if per_column == 0 {
        return Vec::new();
    }
    let cache = ValueCache::new(context.cache.dir(), context.cache.max_age());
    let connector = session.connection.connector.as_ref();
    match cache.load(connector, schema, &context.privacy, per_column).await {
        Ok(shared) => shared.index.lookup(question),
        Err(e) => {
            tracing::warn!(code = %e.code, error = %e.message, "value linking unavailable");
            Vec::new()
        }
    }
}
