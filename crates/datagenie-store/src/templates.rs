//! The template store: verified query templates in the system database.
//!
//! The table follows the system-database specification (`query_templates`: id, user_id — NULL for templates that
//! belong to no user —, name, description, question_template, sql_template, category, is_public, is_verified,
//! usage_count, created_at, updated_at) plus `connection` (the database a template belongs to, as the caller keys
//! it: no secrets) and `dialect`. `question_template` holds the phrasings, one per line.
//!
//! The store runs on either engine of the system database: the SQLite file ([`TemplateStore::new`],
//! [`TemplateStore::open`]; its blocking work runs off the async runtime's threads) or PostgreSQL
//! ([`crate::PgStore::templates`]). What is checked, cached, matched and ordered is here, shared by both; only the
//! row reads and writes differ (below for SQLite, `pg_store/templates.rs` for PostgreSQL).
//!
//! Template ids are UUID v4 strings; the primary key would refuse a duplicate rather than overwrite.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use datagenie_core::template::{NormalizedQuestion, QueryTemplate, SlotBinding};
use datagenie_core::{Dialect, Error, ErrorCode, Question};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::pg_store::{self, PgStore};
use crate::sqlite::{SystemDb, new_uuid};

/// Limits on what a person types when adding a template (the specification's column sizes).
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_CATEGORY_CHARS: usize = 50;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The phrasings, e.g. `monthly revenue in {year:int}`.
    pub questions: Vec<String>,
    /// The SQL with `{slot}` placeholders.
    pub sql: String,
    pub category: Option<String>,
    pub public: bool,
    /// Only verified templates answer questions.
    pub verified: bool,
    pub usage_count: u64,
    /// The database it belongs to ([`connection_key`]).
    pub connection: String,
    pub dialect: Dialect,
    /// UTC, ISO 8601.
    pub created_at: String,
    pub updated_at: Option<String>,
    /// The user who saved it (the server's `users.id`); `None` for templates added at the command line.
    pub owner: Option<String>,
}

/// A template to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemplate {
    pub name: String,
    pub description: Option<String>,
    /// One or more phrasings; a phrasing with line breaks counts as one per line.
    pub questions: Vec<String>,
    pub sql: String,
    pub category: Option<String>,
    pub public: bool,
    pub verified: bool,
    pub connection: String,
    pub dialect: Dialect,
    /// The user saving it (the server); `None` at the command line.
    pub owner: Option<String>,
}

/// A question answered by a template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateMatch {
    pub template: Template,
    /// The phrasing that matched.
    pub phrasing: String,
    /// Slot values taken from the question, in the template's slot order.
    pub values: Vec<SlotBinding>,
    /// The template's SQL with the values bound as literals. Not yet guarded: run it through the guard like any SQL.
    pub sql: String,
}

/// The system database under a side store (templates, knowledge items): the SQLite file or a PostgreSQL server.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(Arc<SystemDb>),
    Postgres(PgStore),
}

impl Backend {
    /// The SQLite file; `None` on PostgreSQL.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Backend::Sqlite(db) => Some(db.path()),
            Backend::Postgres(_) => None,
        }
    }

    /// An error of this system database (`system_database`, naming the file or the server): `what` failed.
    pub(crate) fn error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        match self {
            Backend::Sqlite(db) => crate::sqlite::system_error(db.path(), what, e),
            Backend::Postgres(pg) => pg_store::system_error(pg.server(), what, e),
        }
    }
}

/// Runs blocking work off the async runtime's threads (inline when there is no tokio runtime).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    match tokio::task::spawn_blocking(f).await {
        Ok(out) => out,
        Err(e) => Err(Error::new(ErrorCode::Internal, format!("a system-database task failed: {e}"))),
    }
}

/// Runs `f` on the SQLite file's writable connection (`write`: one caller at a time) or on one of its reading
/// connections (beside writes), off the async runtime's threads; a SQLite error is `system_database` saying `what`
/// failed.
pub(crate) async fn on_sqlite<T, F>(db: &Arc<SystemDb>, what: &'static str, write: bool, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let db = Arc::clone(db);
    blocking(move || if write { db.with(what, f) } else { db.read(what, f) }).await
}

/// The system database's template table. Share it with an `Arc`. The CLI opens it on its own
/// ([`TemplateStore::open`]); the server gets it from its store ([`crate::SqliteStore::templates`],
/// [`crate::PgStore::templates`]), on the same connections.
pub struct TemplateStore {
    backend: Backend,
    /// Templates already read, by id: reading phrasings is most of a lookup's cost. An entry is used only while the
    /// row's phrasings and SQL are unchanged (another process may edit or replace a row).
    parsed: Mutex<HashMap<String, Arc<QueryTemplate>>>,
}

impl std::fmt::Debug for TemplateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateStore").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// A template row to insert, checked.
pub(crate) struct NewRow {
    pub connection: String,
    pub dialect: Dialect,
    pub name: String,
    pub description: Option<String>,
    /// The phrasings, one per line.
    pub questions: String,
    pub sql: String,
    pub category: Option<String>,
    pub public: bool,
    pub verified: bool,
    pub owner: Option<String>,
}

impl TemplateStore {
    /// The template store of an open SQLite system database.
    pub fn new(db: Arc<SystemDb>) -> TemplateStore {
        TemplateStore::on(Backend::Sqlite(db))
    }

    /// The template store of a PostgreSQL system database (see [`crate::PgStore::templates`]).
    pub(crate) fn postgres(store: PgStore) -> TemplateStore {
        TemplateStore::on(Backend::Postgres(store))
    }

    fn on(backend: Backend) -> TemplateStore {
        TemplateStore { backend, parsed: Mutex::new(HashMap::new()) }
    }

    /// Opens the SQLite system database at `path` (see [`SystemDb::open`]) for its templates. Blocks.
    pub fn open(path: &Path) -> Result<TemplateStore, Error> {
        Ok(TemplateStore::new(Arc::new(SystemDb::open(path)?)))
    }

    /// The SQLite file it stores in; `None` on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        self.backend.path()
    }

    /// Validates and stores a template. The phrasings and SQL are checked by [`QueryTemplate::new`] (the SQL, with
    /// sample values bound, must pass the guard in the template's dialect); a name is unique per database.
    /// Errors: [`ErrorCode::InvalidTemplate`], [`ErrorCode::AlreadyExists`] (the name is taken), [`ErrorCode::SystemDatabase`].
    pub async fn add(&self, new: NewTemplate) -> Result<Template, Error> {
        let name = checked_text("name", &new.name, MAX_NAME_CHARS)?
            .ok_or_else(|| Error::new(ErrorCode::InvalidTemplate, "a template needs a name"))?;
        let description = new
            .description
            .as_deref()
            .map(|d| checked_text("description", d, MAX_DESCRIPTION_CHARS))
            .transpose()?
            .flatten();
        let category =
            new.category.as_deref().map(|c| checked_text("category", c, MAX_CATEGORY_CHARS)).transpose()?.flatten();
        let connection = new.connection.trim();
        if connection.is_empty() {
            return Err(Error::new(ErrorCode::InvalidTemplate, "a template needs the database it belongs to"));
        }
        let questions: Vec<String> = new
            .questions
            .iter()
            .flat_map(|q| q.lines())
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_string)
            .collect();
        let parsed = QueryTemplate::new(&questions, &new.sql, new.dialect)?;
        let row = NewRow {
            connection: connection.to_string(),
            dialect: new.dialect,
            name: name.clone(),
            description,
            questions: parsed.phrasings().collect::<Vec<_>>().join("\n"),
            sql: parsed.sql().to_string(),
            category,
            public: new.public,
            verified: new.verified,
            owner: new.owner,
        };
        let inserted = match &self.backend {
            Backend::Sqlite(db) => {
                on_sqlite(db, "cannot add the template", true, move |conn| insert(conn, &row)).await?
            }
            Backend::Postgres(pg) => pg_store::templates::insert(pg, &row).await?,
        };
        let id = inserted.ok_or_else(|| {
            Error::new(ErrorCode::AlreadyExists, format!("a template named '{name}' already exists for this database"))
        })?;
        self.get(&id).await?.ok_or_else(|| Error::new(ErrorCode::Internal, "the template just added is missing"))
    }

    /// The template with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Template>, Error> {
        let row = match &self.backend {
            Backend::Sqlite(db) => {
                let id = id.to_string();
                on_sqlite(db, "cannot read templates", false, move |conn| {
                    conn.query_row(
                        &format!("SELECT {COLUMNS} FROM query_templates WHERE id = ?1"),
                        params![id],
                        RawRow::read,
                    )
                    .optional()
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::templates::get(pg, id).await?,
        };
        row.map(|r| r.into_template(&self.backend)).transpose()
    }

    /// Marks a template verified (it then answers questions) or not. Errors: [`ErrorCode::TemplateNotFound`].
    pub async fn set_verified(&self, id: &str, verified: bool) -> Result<Template, Error> {
        let changed = match &self.backend {
            Backend::Sqlite(db) => {
                let id = id.to_string();
                on_sqlite(db, "cannot verify the template", true, move |conn| {
                    conn.execute(
                        "UPDATE query_templates SET is_verified = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                         WHERE id = ?1",
                        params![id, verified],
                    )
                    .map(|n| n as u64)
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::templates::set_verified(pg, id, verified).await?,
        };
        if changed == 0 {
            return Err(Error::new(ErrorCode::TemplateNotFound, format!("no template with the id '{id}'")));
        }
        self.get(id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::TemplateNotFound, format!("no template with the id '{id}'")))
    }

    /// Templates, all or one database's, by name.
    pub async fn list(&self, connection: Option<&str>) -> Result<Vec<Template>, Error> {
        let rows = match &self.backend {
            Backend::Sqlite(db) => {
                let connection = connection.map(str::to_string);
                on_sqlite(db, "cannot list templates", false, move |conn| {
                    let mut stmt = conn.prepare(&format!(
                        "SELECT {COLUMNS} FROM query_templates WHERE ?1 IS NULL OR connection = ?1
                         ORDER BY connection, name, created_at, rowid"
                    ))?;
                    stmt.query_map(params![connection], RawRow::read)?.collect::<rusqlite::Result<Vec<_>>>()
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::templates::list(pg, connection).await?,
        };
        rows.into_iter().map(|r| r.into_template(&self.backend)).collect()
    }

    /// Removes a template by id or by name (within `connection` when given) and returns it. A name that several
    /// databases use needs the id or the database. Errors: [`ErrorCode::TemplateNotFound`],
    /// [`ErrorCode::InvalidArgument`] (ambiguous), [`ErrorCode::SystemDatabase`].
    pub async fn remove(&self, id_or_name: &str, connection: Option<&str>) -> Result<Template, Error> {
        let key = id_or_name.trim();
        let rows = match &self.backend {
            Backend::Sqlite(db) => {
                let (key, connection) = (key.to_string(), connection.map(str::to_string));
                on_sqlite(db, "cannot remove the template", true, move |conn| {
                    let mut stmt = conn.prepare(&format!(
                        "SELECT {COLUMNS} FROM query_templates
                         WHERE (id = ?1 OR name = ?1) AND (?2 IS NULL OR connection = ?2)
                         ORDER BY created_at, rowid"
                    ))?;
                    stmt.query_map(params![key, connection], RawRow::read)?.collect::<rusqlite::Result<Vec<_>>>()
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::templates::named(pg, key, connection).await?,
        };
        // An exact id wins over a template that happens to be named like one.
        let chosen = match rows.iter().position(|r| r.id == key) {
            Some(i) => i,
            None if rows.len() == 1 => 0,
            None if rows.is_empty() => {
                return Err(Error::new(
                    ErrorCode::TemplateNotFound,
                    format!("no template with the id or name '{key}'"),
                ));
            }
            None => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "{} templates are named '{key}' (for different databases): give its id or the database",
                        rows.len()
                    ),
                ));
            }
        };
        let template = rows.into_iter().nth(chosen).map(|r| r.into_template(&self.backend)).transpose()?;
        let template = template.ok_or_else(|| Error::new(ErrorCode::Internal, "the chosen template vanished"))?;
        let deleted = match &self.backend {
            Backend::Sqlite(db) => {
                let id = template.id.clone();
                on_sqlite(db, "cannot remove the template", true, move |conn| {
                    conn.execute("DELETE FROM query_templates WHERE id = ?1", params![id]).map(|n| n as u64)
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::templates::delete(pg, &template.id).await?,
        };
        if deleted == 0 {
            return Err(Error::new(ErrorCode::TemplateNotFound, format!("no template with the id or name '{key}'")));
        }
        self.parsed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&template.id);
        Ok(template)
    }

    /// Every template of `connection` in `dialect` that answers `question` (verified ones only unless
    /// `include_unverified`), best first: fewest slots (most specific), then most used, then oldest.
    pub async fn matches(
        &self,
        connection: &str,
        dialect: Dialect,
        question: &Question,
        include_unverified: bool,
    ) -> Result<Vec<TemplateMatch>, Error> {
        let rows = match &self.backend {
            Backend::Sqlite(db) => {
                let connection = connection.to_string();
                on_sqlite(db, "cannot read templates", false, move |conn| {
                    let mut stmt = conn.prepare_cached(&format!(
                        "SELECT {COLUMNS}, rowid FROM query_templates
                         WHERE connection = ?1 AND dialect = ?2 AND (is_verified = 1 OR ?3)
                         ORDER BY created_at, rowid"
                    ))?;
                    stmt.query_map(params![connection, dialect.as_str(), include_unverified], |r| {
                        Ok((RawRow::read(r)?, r.get::<_, i64>(COLUMN_COUNT)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .await?
            }
            Backend::Postgres(pg) => {
                pg_store::templates::candidates(pg, connection, dialect, include_unverified).await?
            }
        };
        let normalized = NormalizedQuestion::new(question.as_str());
        let mut found: Vec<(usize, Reverse<u64>, String, i64, TemplateMatch)> = Vec::new();
        for (raw, order) in rows {
            let template = raw.into_template(&self.backend)?;
            let Some(parsed) = self.parsed_template(&template) else { continue };
            let Some(m) = parsed.match_question(&normalized) else { continue };
            let sql = parsed.bind(&m.values)?;
            let phrasing = template.questions.get(m.phrasing).cloned().unwrap_or_default();
            let key = (parsed.slots().len(), Reverse(template.usage_count), template.created_at.clone(), order);
            found.push((key.0, key.1, key.2, key.3, TemplateMatch { template, phrasing, values: m.values, sql }));
        }
        found.sort_by(|a, b| (a.0, a.1, &a.2, a.3).cmp(&(b.0, b.1, &b.2, b.3)));
        Ok(found.into_iter().map(|f| f.4).collect())
    }

    /// The template read from its row, from the cache while the row is unchanged. `None` for a row that no longer
    /// reads (edited by hand, or written under other rules): it answers nothing, and that is not fatal.
    fn parsed_template(&self, template: &Template) -> Option<Arc<QueryTemplate>> {
        let mut cache = self.parsed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(hit) = cache.get(&template.id)
            && hit.sql() == template.sql
            && hit.dialect() == template.dialect
            && hit.phrasings().eq(template.questions.iter().map(String::as_str))
        {
            return Some(Arc::clone(hit));
        }
        match QueryTemplate::from_stored(&template.questions, &template.sql, template.dialect) {
            Ok(parsed) => {
                let parsed = Arc::new(parsed);
                cache.insert(template.id.clone(), Arc::clone(&parsed));
                Some(parsed)
            }
            Err(e) => {
                tracing::warn!(template = %template.id, error = %e, "skipping an unreadable template");
                cache.remove(&template.id);
                None
            }
        }
    }

    /// The verified template that answers `question` on this database, with its slot values and bound SQL (see
    /// [`TemplateStore::matches`] for the order when several do).
    pub async fn find_match(
        &self,
        connection: &str,
        dialect: Dialect,
        question: &Question,
    ) -> Result<Option<TemplateMatch>, Error> {
        Ok(self.matches(connection, dialect, question, false).await?.into_iter().next())
    }

    /// Counts one use of a template, atomically (concurrent uses all count). Returns the new count.
    pub async fn record_use(&self, id: &str) -> Result<u64, Error> {
        let count = match &self.backend {
            Backend::Sqlite(db) => {
                let id = id.to_string();
                on_sqlite(db, "cannot count the template's use", true, move |conn| {
                    conn.query_row(
                        "UPDATE query_templates SET usage_count = usage_count + 1 WHERE id = ?1 RETURNING usage_count",
                        params![id],
                        |r| r.get::<_, i64>(0),
                    )
                    .optional()
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::templates::record_use(pg, id).await?,
        };
        match count {
            Some(n) => Ok(u64::try_from(n).unwrap_or(0)),
            None => Err(Error::new(ErrorCode::TemplateNotFound, format!("no template with the id '{id}'"))),
        }
    }
}

/// Inserts the template unless its database already has one of that name (`None`), on SQLite: the id of the row.
fn insert(conn: &mut Connection, row: &NewRow) -> rusqlite::Result<Option<String>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists: Option<String> = tx
        .query_row(
            "SELECT id FROM query_templates WHERE connection = ?1 AND name = ?2",
            params![row.connection, row.name],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_some() {
        return Ok(None);
    }
    let id = new_uuid(&tx)?;
    tx.execute(
        "INSERT INTO query_templates (id, user_id, connection, dialect, name, description, question_template,
             sql_template, category, is_public, is_verified, usage_count, created_at, updated_at)
         VALUES (?1, ?11, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0,
                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL)",
        params![
            id,
            row.connection,
            row.dialect.as_str(),
            row.name,
            row.description,
            row.questions,
            row.sql,
            row.category,
            row.public,
            row.verified,
            row.owner
        ],
    )?;
    tx.commit()?;
    Ok(Some(id))
}

/// Trimmed text within `max` characters and without control characters (line breaks allowed only in a
/// description); `None` when empty.
fn checked_text(field: &str, value: &str, max: usize) -> Result<Option<String>, Error> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let n = v.chars().count();
    if n > max {
        return Err(Error::new(
            ErrorCode::InvalidTemplate,
            format!("the {field} is {n} characters long; at most {max}"),
        ));
    }
    let allowed = |c: char| !c.is_control() || (field == "description" && matches!(c, '\n' | '\t'));
    if !v.chars().all(allowed) {
        return Err(Error::new(ErrorCode::InvalidTemplate, format!("the {field} contains control characters")));
    }
    Ok(Some(v.to_string()))
}

/// The columns a template is read from, in [`RawRow`]'s order (the same names on both engines).
pub(crate) const COLUMNS: &str = "id, name, description, question_template, sql_template, category, is_public, \
                                  is_verified, usage_count, connection, dialect, created_at, updated_at, user_id";
const COLUMN_COUNT: usize = 14;

/// A row as stored, before its text is interpreted (times as the RFC 3339 millisecond text SQLite holds).
pub(crate) struct RawRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub questions: String,
    pub sql: String,
    pub category: Option<String>,
    pub public: bool,
    pub verified: bool,
    pub usage_count: i64,
    pub connection: String,
    pub dialect: String,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub owner: Option<String>,
}

impl RawRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            id: r.get(0)?,
            name: r.get(1)?,
            description: r.get(2)?,
            questions: r.get(3)?,
            sql: r.get(4)?,
            category: r.get(5)?,
            public: r.get(6)?,
            verified: r.get(7)?,
            usage_count: r.get(8)?,
            connection: r.get(9)?,
            dialect: r.get(10)?,
            created_at: r.get(11)?,
            updated_at: r.get(12)?,
            owner: r.get(13)?,
        })
    }

    fn into_template(self, backend: &Backend) -> Result<Template, Error> {
        let dialect: Dialect =
            self.dialect.parse().map_err(|e: Error| backend.error("a template row is invalid", e.message))?;
        Ok(Template {
            id: self.id,
            name: self.name,
            description: self.description,
            questions: self.questions.lines().map(str::to_string).collect(),
            sql: self.sql,
            category: self.category,
            public: self.public,
            verified: self.verified,
            usage_count: u64::try_from(self.usage_count).unwrap_or(0),
            connection: self.connection,
            dialect,
            created_at: self.created_at,
            updated_at: self.updated_at,
            owner: self.owner,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, TemplateStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = TemplateStore::open(&dir.path().join("sys").join(crate::SYSTEM_DB_FILE)).expect("open");
        (dir, store)
    }

    fn monthly(connection: &str) -> NewTemplate {
        NewTemplate {
            name: "monthly revenue".into(),
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

    fn q(text: &str) -> Question {
        Question::parse(text).expect("question")
    }

    #[tokio::test]
    async fn add_list_find_and_remove() {
        let (_dir, store) = store();
        let added = store.add(monthly("sqlite:///a.db")).await.expect("add");
        assert_eq!(added.id.len(), 36);
        assert_eq!(&added.id[14..15], "4", "a v4 UUID: {}", added.id);
        assert!(matches!(&added.id[19..20], "8" | "9" | "a" | "b"), "{}", added.id);
        assert_eq!(added.questions.len(), 2);
        assert_eq!(added.usage_count, 0);
        assert!(added.verified && added.public);
        assert_eq!(added.category.as_deref(), Some("sales"));

        // The same name on another database is a different template; on the same one it is refused.
        store.add(monthly("sqlite:///b.db")).await.expect("add on b");
        let dup = store.add(monthly("sqlite:///a.db")).await.err().map(|e| e.code);
        assert_eq!(dup, Some(ErrorCode::AlreadyExists));
        assert_eq!(store.list(None).await.expect("list").len(), 2);
        assert_eq!(store.list(Some("sqlite:///a.db")).await.expect("list a").len(), 1);
        assert!(store.list(Some("sqlite:///c.db")).await.expect("list c").is_empty());

        let m = store.find_match("sqlite:///a.db", Dialect::Sqlite, &q("2023년 월별 매출")).await.expect("find");
        let m = m.expect("a match");
        assert_eq!(m.template.id, added.id);
        assert_eq!(m.phrasing, "monthly revenue in {year:int}", "the first phrasing that matches");
        assert_eq!(m.values.len(), 1);
        assert!(m.sql.contains("CAST(2023 AS TEXT)"), "{}", m.sql);
        // another database, another dialect, another question: nothing
        assert!(
            store.find_match("sqlite:///c.db", Dialect::Sqlite, &q("2023년 월별 매출")).await.expect("find").is_none()
        );
        assert!(
            store
                .find_match("sqlite:///a.db", Dialect::Postgres, &q("2023년 월별 매출"))
                .await
                .expect("find")
                .is_none()
        );
        assert!(
            store
                .find_match("sqlite:///a.db", Dialect::Sqlite, &q("monthly orders in 2023"))
                .await
                .expect("f")
                .is_none()
        );

        // A name used by two databases is ambiguous without the database; the id is not.
        let amb = store.remove("monthly revenue", None).await.err().map(|e| e.code);
        assert_eq!(amb, Some(ErrorCode::InvalidArgument));
        let removed = store.remove("monthly revenue", Some("sqlite:///b.db")).await.expect("remove by name");
        assert_eq!(removed.connection, "sqlite:///b.db");
        let removed = store.remove(&added.id, None).await.expect("remove by id");
        assert_eq!(removed.id, added.id);
        assert_eq!(store.remove(&added.id, None).await.err().map(|e| e.code), Some(ErrorCode::TemplateNotFound));
        assert!(store.list(None).await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn only_verified_templates_answer_and_the_most_specific_wins() {
        let (_dir, store) = store();
        let db = "sqlite:///shop.db";
        let mut unverified = monthly(db);
        unverified.name = "draft".into();
        unverified.verified = false;
        store.add(unverified).await.expect("add draft");
        assert!(store.find_match(db, Dialect::Sqlite, &q("monthly revenue in 2024")).await.expect("find").is_none());
        assert_eq!(store.matches(db, Dialect::Sqlite, &q("monthly revenue in 2024"), true).await.expect("m").len(), 1);

        // Two verified templates answer "monthly revenue in 2024": the one without a slot is more specific.
        let general = store.add(monthly(db).tap_name("general")).await.expect("general");
        let mut specific = monthly(db).tap_name("specific 2024");
        specific.questions = vec!["monthly revenue in 2024".into()];
        specific.sql = "SELECT 1 AS revenue".into();
        let specific = store.add(specific).await.expect("specific");
        let m =
            store.find_match(db, Dialect::Sqlite, &q("monthly revenue in 2024")).await.expect("find").expect("match");
        assert_eq!(m.template.id, specific.id);
        assert!(m.values.is_empty());
        // For 2023 only the general one fits.
        let m =
            store.find_match(db, Dialect::Sqlite, &q("monthly revenue in 2023")).await.expect("find").expect("match");
        assert_eq!(m.template.id, general.id);

        // Same specificity: the most used, then the oldest.
        let twin = store.add(monthly(db).tap_name("twin")).await.expect("twin");
        let m =
            store.find_match(db, Dialect::Sqlite, &q("monthly revenue in 2023")).await.expect("find").expect("match");
        assert_eq!(m.template.id, general.id, "older wins a tie");
        store.record_use(&twin.id).await.expect("use");
        let m =
            store.find_match(db, Dialect::Sqlite, &q("monthly revenue in 2023")).await.expect("find").expect("match");
        assert_eq!(m.template.id, twin.id, "more used wins");
    }

    trait TapName {
        fn tap_name(self, name: &str) -> Self;
    }
    impl TapName for NewTemplate {
        fn tap_name(mut self, name: &str) -> Self {
            self.name = name.into();
            self
        }
    }

    #[tokio::test]
    async fn bad_templates_are_refused_with_invalid_template() {
        let (_dir, store) = store();
        let cases = [
            NewTemplate { sql: "DELETE FROM orders WHERE y = {year}".into(), ..monthly("x") },
            NewTemplate { sql: "SELECT * FROM orders".into(), ..monthly("x") },
            NewTemplate { sql: "SELECT * FROM sqlite_master WHERE {year} = 1".into(), ..monthly("x") },
            NewTemplate { questions: vec!["revenue in {year:int}".into(), "매출".into()], ..monthly("x") },
            NewTemplate { name: "  ".into(), ..monthly("x") },
            NewTemplate { name: "n".repeat(MAX_NAME_CHARS + 1), ..monthly("x") },
            NewTemplate { category: Some("c".repeat(MAX_CATEGORY_CHARS + 1)), ..monthly("x") },
            NewTemplate { name: "tab\tname".into(), ..monthly("x") },
            NewTemplate { connection: " ".into(), ..monthly("x") },
            NewTemplate { questions: vec![], ..monthly("x") },
        ];
        for case in cases {
            let shown = format!("{case:?}");
            assert_eq!(store.add(case).await.err().map(|e| e.code), Some(ErrorCode::InvalidTemplate), "{shown}");
        }
        assert!(store.list(None).await.expect("list").is_empty());
        // Phrasings given as one multi-line string are split into lines.
        let multi = NewTemplate {
            questions: vec!["monthly revenue in {year:int}\n{year:int}년 월별 매출".into()],
            ..monthly("x")
        };
        assert_eq!(store.add(multi).await.expect("add").questions.len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn record_use_counts_every_concurrent_use() {
        let (dir, store) = store();
        let id = store.add(monthly("sqlite:///a.db")).await.expect("add").id;
        let path = dir.path().join("sys").join(crate::SYSTEM_DB_FILE);
        let shared = Arc::new(store);
        let mut handles = Vec::new();
        for t in 0..4 {
            let (id, path, shared) = (id.clone(), path.clone(), Arc::clone(&shared));
            handles.push(tokio::spawn(async move {
                // half the tasks share one store, half open their own connection (another process, in effect)
                let own = (t % 2 == 1).then(|| TemplateStore::open(&path).expect("open"));
                let store = own.as_ref().unwrap_or(&shared);
                for _ in 0..25 {
                    store.record_use(&id).await.expect("use");
                }
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
        assert_eq!(shared.get(&id).await.expect("get").map(|t| t.usage_count), Some(100));
        assert_eq!(shared.record_use(&id).await.expect("use"), 101);
        assert_eq!(shared.record_use("no-such-id").await.err().map(|e| e.code), Some(ErrorCode::TemplateNotFound));
    }

    #[tokio::test]
    async fn a_row_changed_elsewhere_is_read_again_and_a_broken_one_is_skipped() {
        let (dir, store) = store();
        let added = store.add(monthly("sqlite:///a.db")).await.expect("add");
        let question = q("monthly revenue in 2023");
        assert!(store.find_match("sqlite:///a.db", Dialect::Sqlite, &question).await.expect("find").is_some());
        // Another process rewrites the phrasing: the cached reading must not be used.
        let raw = Connection::open(dir.path().join("sys").join(crate::SYSTEM_DB_FILE)).expect("raw");
        raw.execute(
            "UPDATE query_templates SET question_template = 'yearly revenue in {year:int}' WHERE id = ?1",
            params![added.id],
        )
        .expect("update");
        assert!(store.find_match("sqlite:///a.db", Dialect::Sqlite, &question).await.expect("find").is_none());
        let yearly = q("yearly revenue in 2023");
        assert!(store.find_match("sqlite:///a.db", Dialect::Sqlite, &yearly).await.expect("find").is_some());
        // A row broken by hand (a placeholder without its slot) answers nothing, and lookups keep working.
        raw.execute("UPDATE query_templates SET sql_template = 'SELECT {nope}' WHERE id = ?1", params![added.id])
            .expect("break");
        assert!(store.find_match("sqlite:///a.db", Dialect::Sqlite, &yearly).await.expect("find").is_none());
    }
}
