//! The server's open connections: one pipeline [`Connection`] (connector with a pool of the stored `pool_size`,
//! memos) per stored connection, opened on first use from its decrypted URL and rebuilt when the stored connection
//! changes (its `updated_at` moves) or is invalidated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datagenie_core::Error;
use datagenie_store::Store;
use datagenie_store::model::{Connection as StoredConnection, Timestamp};

use crate::ask::Connection;

/// Open connections by stored connection id.
pub struct Registry {
    store: Arc<dyn Store>,
    open: Mutex<HashMap<String, (Timestamp, Arc<Connection>)>>,
}

impl Registry {
    pub fn new(store: Arc<dyn Store>) -> Registry {
        Registry { store, open: Mutex::new(HashMap::new()) }
    }

    /// The pipeline connection of `stored`, opening it (the server is contacted now) when it is not open or has
    /// changed since. Two requests racing to open one connection may both connect; the later one is kept.
    pub async fn get(&self, stored: &StoredConnection) -> Result<Arc<Connection>, Error> {
        if let Some((at, open)) = self.lock().get(&stored.id)
            && *at == stored.updated_at
        {
            return Ok(open.clone());
        }
        let url = self.store.connection_url(&stored.id).await?;
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
