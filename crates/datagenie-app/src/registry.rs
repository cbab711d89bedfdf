//! The server's open connections: one pipeline [`Connection`] (connector with a pool of the stored `pool_size`,
//! memos) per stored connection, opened on first use from its decrypted URL and rebuilt when the stored connection
//! changes (its `updated_at` moves) or is invalidated. Every server reads `updated_at` from the shared system
//! database with each question, so a connection changed through one server is reopened by all on their next use.
//!
//! An uploaded spreadsheet is opened from the file its upload left on the server that received it; any other server
//! first writes the bytes the system database keeps into its own files directory (once, checked against the
//! upload's size and SHA-256).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use datagenie_core::{Error, ErrorCode, SecretUrl};
use datagenie_store::Store;
use datagenie_store::model::{Connection as StoredConnection, Engine, FileInfo, Timestamp};
use sha2::{Digest, Sha256};

use crate::ask::Connection;

/// Open connections by stored connection id.
pub struct Registry {
    store: Arc<dyn Store>,
    open: Mutex<HashMap<String, (Timestamp, Arc<Connection>)>>,
    /// Where this server keeps its copies of uploaded spreadsheets (`None`: it keeps none, e.g. the CLI).
    files_dir: OnceLock<PathBuf>,
}

impl Registry {
    pub fn new(store: Arc<dyn Store>) -> Registry {
        Registry { store, open: Mutex::new(HashMap::new()), files_dir: OnceLock::new() }
    }

    /// Where the server keeps uploaded spreadsheets (set once, at start).
    pub fn set_files_dir(&self, dir: PathBuf) {
        let _ = self.files_dir.set(dir);
    }

    /// The pipeline connection of `stored`, opening it (the server is contacted now) when it is not open or has
    /// changed since. Two requests racing to open one connection may both connect; the later one is kept.
    pub async fn get(&self, stored: &StoredConnection) -> Result<Arc<Connection>, Error> {
        if let Some((at, open)) = self.lock().get(&stored.id)
            && *at == stored.updated_at
        {
            return Ok(open.clone());
        }
        let mut url = self.store.connection_url(&stored.id).await?;
        if stored.engine == Engine::File
            && let Some(info) = &stored.file
        {
            url = self.local_file(&stored.id, info, url).await?;
        }
        let target = datagenie_connectors::parse_target(url.expose())?;
        let key = crate::database::key_of_target(&target)?;
        let pool_size = usize::try_from(stored.pool_size).unwrap_or(datagenie_connectors::DEFAULT_POOL_SIZE);
        let connector =
            target.connect_with(datagenie_connectors::ConnectOptions { pool_size, ..Default::default() }).await?;
        // The stored id: the connection's verified history becomes the LLM's few-shot examples.
        let open = Arc::new(Connection::new(connector, key).with_stored_id(stored.id.clone()));
        self.lock().insert(stored.id.clone(), (stored.updated_at, open.clone()));
        Ok(open)
    }

    /// The path of a file connection's spreadsheet on this server: the stored path when this server holds it (it
    /// received the upload: the file is in this server's files directory), else this server's copy of the bytes the system database keeps — written now when
    /// missing, after checking them against the upload's SHA-256.
    async fn local_file(&self, id: &str, info: &FileInfo, stored: SecretUrl) -> Result<SecretUrl, Error> {
        let held = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == info.size);
        let Some(root) = self.files_dir.get() else { return Ok(stored) };
        // The upload itself when this server received it: in its own files directory. Another server's file, even
        // one this server could read (one machine, or a shared disk), is that server's to remove at any time.
        let own = |p: &Path| match (std::fs::canonicalize(root), std::fs::canonicalize(p)) {
            (Ok(root), Ok(p)) => p.starts_with(root),
            _ => false,
        };
        let path = Path::new(stored.expose());
        if held(path) && own(path) {
            return Ok(stored);
        }
        // the upload's own name (the extension says how to read it), never a path
        let name = Path::new(&info.name).file_name().map_or_else(|| "upload".into(), |n| n.to_os_string());
        let copy = root.join(id).join(name);
        if held(&copy) {
            return Ok(SecretUrl::new(copy.display().to_string()));
        }
        let bytes = self.store.file_content(id).await?.ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!(
                    "{} is kept only on the server that received it (uploaded before uploads were kept in the \
                     system database): upload it again",
                    info.name
                ),
            )
        })?;
        if datagenie_core::schema::hex(&Sha256::digest(&bytes)) != info.sha256 {
            return Err(Error::new(
                ErrorCode::SystemDatabase,
                format!("the bytes the system database keeps for {} are not the file uploaded", info.name),
            ));
        }
        let target = copy.clone();
        tokio::task::spawn_blocking(move || write_new(&target, &bytes))
            .await
            .map_err(|e| Error::new(ErrorCode::Internal, format!("writing the copy stopped: {e}")))?
            .map_err(|e| {
                Error::new(ErrorCode::OutputFailed, format!("cannot keep a copy of {} on this server: {e}", info.name))
            })?;
        Ok(SecretUrl::new(copy.display().to_string()))
    }

    /// Forgets an open connection (changed or deleted): the next question opens it afresh.
    pub fn invalidate(&self, id: &str) {
        self.lock().remove(id);
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Timestamp, Arc<Connection>)>> {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Writes `bytes` to `path` whole or not at all: into a file of its own beside it, then renamed into place (two
/// questions opening the same copy at once each write theirs; the last rename wins, with the same bytes).
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("no folder"))?;
    std::fs::create_dir_all(dir)?;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let part = dir.join(format!(".{}-{n}.part", std::process::id()));
    let written = std::fs::write(&part, bytes).and_then(|()| std::fs::rename(&part, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written
}
