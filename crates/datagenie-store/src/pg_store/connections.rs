//! Users' database connections (their URLs sealed with the store's [`crate::crypto::SecretBox`], bound to the row's
//! id), their schema snapshots, and the permissions users hold on them.

use datagenie_core::SecretUrl;
use tokio_postgres::Row;

use super::sql::{execute, json, json_opt, now, page_of, query, query_opt, to_i64, to_json};
use super::{Ctx, Fail, R, Tx, invalid, not_found};
use crate::model::*;
use crate::page;

const COLUMNS: &str = "id, name, display_name, description, db_type, display_url, is_readonly, max_connections, \
                       is_active, schema_hash, last_schema_sync, created_by, created_at, updated_at, file_info";

/// The same columns, of the table aliased `c`.
const C_COLUMNS: &str = "c.id, c.name, c.display_name, c.description, c.db_type, c.display_url, c.is_readonly, \
                         c.max_connections, c.is_active, c.schema_hash, c.last_schema_sync, c.created_by, \
                         c.created_at, c.updated_at, c.file_info";

fn row(r: &Row) -> R<Connection> {
    let file: Option<FileInfo> = json_opt::<FileInfo>(r, 14)?;
    // A file connection is stored as the SQLite table it is queried as; its file_info makes it a file.
    let engine: Engine = if file.is_some() { Engine::File } else { r.try_get(4)? };
    Ok(Connection {
        id: r.try_get(0)?,
        file,
        name: r.try_get(1)?,
        display_name: r.try_get(2)?,
        description: r.try_get(3)?,
        engine,
        display_url: r.try_get(5)?,
        read_only: r.try_get(6)?,
        pool_size: r.try_get(7)?,
        active: r.try_get(8)?,
        schema_hash: r.try_get(9)?,
        last_schema_sync: r.try_get(10)?,
        created_by: r.try_get(11)?,
        created_at: r.try_get(12)?,
        updated_at: r.try_get(13)?,
    })
}

fn no_connection(id: &str) -> Fail {
    not_found(format!("no connection with the id '{id}'"))
}

/// The URL sealed for the row `id`: it opens only there.
fn seal(ctx: &Ctx, id: &str, url: &SecretUrl) -> R<Vec<u8>> {
    Ok(ctx.secrets.seal(url.expose().as_bytes(), id.as_bytes())?)
}

async fn by_id(tx: &Tx<'_>, id: &str) -> R<Option<Connection>> {
    let sql = format!("SELECT {COLUMNS} FROM database_connections WHERE id = $1");
    query_opt(tx, &sql, &[&id]).await?.as_ref().map(row).transpose()
}

pub(super) async fn create(tx: &Tx<'_>, ctx: &Ctx, new: NewConnection) -> R<Connection> {
    if (new.engine == Engine::File) != new.file.is_some() {
        return Err(super::invalid("a file connection, and only one, carries the uploaded file's details"));
    }
    let id = new_id();
    let sealed = seal(ctx, &id, &new.url)?;
    let at = now();
    let engine = if new.engine == Engine::File { Engine::Sqlite } else { new.engine };
    let file = new.file.as_ref().map(to_json).transpose()?;
    execute(
        tx,
        "INSERT INTO database_connections (id, name, display_name, description, db_type, connection_config,
             display_url, is_readonly, max_connections, is_active, schema_hash, schema_info, last_schema_sync,
             created_by, created_at, updated_at, file_info)
         VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8, true, NULL, NULL, NULL, $9, $10, $10, $11)",
        &[
            &id,
            &new.name.trim(),
            &new.display_name.trim(),
            &new.description,
            &engine,
            &sealed,
            &new.display_url,
            &new.pool_size,
            &new.created_by,
            &at,
            &file,
        ],
    )
    .await?;
    by_id(tx, &id).await?.ok_or_else(|| no_connection(&id))
}

/// By id first, then by name (a name that looks like another connection's id does not shadow it).
pub(super) async fn get(tx: &Tx<'_>, id_or_name: &str) -> R<Option<Connection>> {
    if let Some(c) = by_id(tx, id_or_name).await? {
        return Ok(Some(c));
    }
    let sql = format!("SELECT {COLUMNS} FROM database_connections WHERE name = $1");
    query_opt(tx, &sql, &[&id_or_name]).await?.as_ref().map(row).transpose()
}

/// By name (byte-wise, as SQLite sorts); with `granted_to`, only those the user holds a permission with
/// `can_query` on.
pub(super) async fn list(tx: &Tx<'_>, granted_to: Option<&str>, req: &PageRequest) -> R<Page<Connection>> {
    let limit = page::limit(req);
    let after = req.cursor.as_deref().map(|c| page::decode("connections", c)).transpose()?.map(|(name, _)| name);
    let n = to_i64(limit + 1);
    let rows = match (granted_to, &after) {
        (None, None) => {
            let sql = format!("SELECT {COLUMNS} FROM database_connections ORDER BY name COLLATE \"C\" LIMIT $1");
            query(tx, &sql, &[&n]).await?
        }
        (None, Some(after)) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM database_connections WHERE name COLLATE \"C\" > $1
                 ORDER BY name COLLATE \"C\" LIMIT $2"
            );
            query(tx, &sql, &[after, &n]).await?
        }
        (Some(user), None) => {
            let sql = format!(
                "SELECT {C_COLUMNS} FROM database_connections c
                 JOIN connection_permissions p ON p.connection_id = c.id AND p.user_id = $1 AND p.can_query
                 ORDER BY c.name COLLATE \"C\" LIMIT $2"
            );
            query(tx, &sql, &[&user, &n]).await?
        }
        (Some(user), Some(after)) => {
            let sql = format!(
                "SELECT {C_COLUMNS} FROM database_connections c
                 JOIN connection_permissions p ON p.connection_id = c.id AND p.user_id = $1 AND p.can_query
                 WHERE c.name COLLATE \"C\" > $2
                 ORDER BY c.name COLLATE \"C\" LIMIT $3"
            );
            query(tx, &sql, &[&user, after, &n]).await?
        }
    };
    let rows = rows.iter().map(row).collect::<R<Vec<_>>>()?;
    Ok(page_of(rows, limit, |c| page::encode("connections", &c.name, &c.id)))
}

/// The row is locked first: concurrent patches of one connection apply one after the other, each on the other's
/// result.
pub(super) async fn update(tx: &Tx<'_>, ctx: &Ctx, id: &str, patch: ConnectionPatch) -> R<Connection> {
    let sql = format!("SELECT {COLUMNS} FROM database_connections WHERE id = $1 FOR UPDATE");
    let mut c = query_opt(tx, &sql, &[&id]).await?.as_ref().map(row).transpose()?.ok_or_else(|| no_connection(id))?;
    let ConnectionPatch { name, display_name, description, url, pool_size, active } = patch;
    if let Some(v) = name {
        c.name = v.trim().to_string();
    }
    if let Some(v) = display_name {
        c.display_name = v.trim().to_string();
    }
    if let Some(v) = description {
        c.description = v;
    }
    if let Some(v) = pool_size {
        c.pool_size = v;
    }
    if let Some(v) = active {
        c.active = v;
    }
    c.updated_at = now();
    if let Some((secret, display)) = url {
        let sealed = seal(ctx, id, &secret)?;
        execute(
            tx,
            "UPDATE database_connections SET connection_config = $2, display_url = $3 WHERE id = $1",
            &[&id, &sealed, &display],
        )
        .await?;
        c.display_url = display;
    }
    execute(
        tx,
        "UPDATE database_connections SET name = $2, display_name = $3, description = $4, max_connections = $5,
             is_active = $6, updated_at = $7
         WHERE id = $1",
        &[&id, &c.name, &c.display_name, &c.description, &c.pool_size, &c.active, &c.updated_at],
    )
    .await?;
    Ok(c)
}

/// Its permissions go with it; chat sessions on it keep their messages without a connection; history keeps the id.
pub(super) async fn delete(tx: &Tx<'_>, id: &str) -> R<()> {
    if execute(tx, "DELETE FROM database_connections WHERE id = $1", &[&id]).await? == 0 {
        return Err(no_connection(id));
    }
    Ok(())
}

pub(super) async fn url(tx: &Tx<'_>, ctx: &Ctx, id: &str) -> R<SecretUrl> {
    let found = query_opt(tx, "SELECT name, connection_config FROM database_connections WHERE id = $1", &[&id])
        .await?
        .ok_or_else(|| no_connection(id))?;
    let name: String = found.try_get(0)?;
    let sealed: Vec<u8> = found.try_get(1)?;
    let context = || format!("the system database {}: the URL of connection '{name}'", ctx.server);
    let plain = ctx.secrets.open(&sealed, id.as_bytes()).map_err(|e| e.context(context()))?;
    let text = String::from_utf8(plain).map_err(|_| {
        datagenie_core::Error::new(datagenie_core::ErrorCode::SystemDatabase, "it is not UTF-8 text").context(context())
    })?;
    Ok(SecretUrl::new(text))
}

/// A sync is not an edit: `updated_at` stays.
pub(super) async fn save_snapshot(tx: &Tx<'_>, id: &str, snapshot: SchemaSnapshot) -> R<()> {
    let n = execute(
        tx,
        "UPDATE database_connections SET schema_hash = $2, schema_info = $3, last_schema_sync = $4 WHERE id = $1",
        &[&id, &snapshot.hash, &snapshot.schema, &snapshot.synced_at],
    )
    .await?;
    if n == 0 {
        return Err(no_connection(id));
    }
    Ok(())
}

/// `None` for an unknown connection or one never synced.
pub(super) async fn snapshot(tx: &Tx<'_>, id: &str) -> R<Option<SchemaSnapshot>> {
    let found = query_opt(
        tx,
        "SELECT schema_hash, schema_info, last_schema_sync FROM database_connections
         WHERE id = $1 AND schema_hash IS NOT NULL AND schema_info IS NOT NULL AND last_schema_sync IS NOT NULL",
        &[&id],
    )
    .await?;
    found
        .map(|r| Ok(SchemaSnapshot { hash: r.try_get(0)?, schema: json(&r, 1)?, synced_at: r.try_get(2)? }))
        .transpose()
}

// --- permissions

const PERMISSION_COLUMNS: &str = "user_id, connection_id, can_query, allowed_schemas, allowed_tables, row_filters, \
                                  attributes, max_rows_per_query, max_execution_time_seconds, can_unmask, updated_at";

fn permission_row(r: &Row) -> R<Permission> {
    Ok(Permission {
        user_id: r.try_get(0)?,
        connection_id: r.try_get(1)?,
        can_query: r.try_get(2)?,
        allowed_schemas: json_opt(r, 3)?,
        allowed_tables: json_opt(r, 4)?,
        row_filters: json(r, 5)?,
        attributes: json(r, 6)?,
        max_rows: r.try_get(7)?,
        max_seconds: r.try_get(8)?,
        can_unmask: r.try_get(9)?,
        updated_at: r.try_get(10)?,
    })
}

/// Creates the permission or replaces every field of the existing one (its id and creation time stay), in one
/// statement: concurrent puts of the same pair wait for each other, the last one wins.
pub(super) async fn put_permission(tx: &Tx<'_>, p: Permission) -> R<Permission> {
    let sql = format!(
        "INSERT INTO connection_permissions (id, user_id, connection_id, can_query, allowed_schemas, allowed_tables,
             row_filters, attributes, max_rows_per_query, max_execution_time_seconds, can_unmask, created_at,
             updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
         ON CONFLICT (user_id, connection_id) DO UPDATE SET
             can_query = excluded.can_query, allowed_schemas = excluded.allowed_schemas,
             allowed_tables = excluded.allowed_tables, row_filters = excluded.row_filters,
             attributes = excluded.attributes, max_rows_per_query = excluded.max_rows_per_query,
             max_execution_time_seconds = excluded.max_execution_time_seconds, can_unmask = excluded.can_unmask,
             updated_at = excluded.updated_at
         RETURNING {PERMISSION_COLUMNS}"
    );
    let allowed_schemas = p.allowed_schemas.as_ref().map(to_json).transpose()?;
    let allowed_tables = p.allowed_tables.as_ref().map(to_json).transpose()?;
    let row_filters = to_json(&p.row_filters)?;
    let attributes = to_json(&p.attributes)?;
    let stored = super::sql::query_one(
        tx,
        &sql,
        &[
            &new_id(),
            &p.user_id,
            &p.connection_id,
            &p.can_query,
            &allowed_schemas,
            &allowed_tables,
            &row_filters,
            &attributes,
            &p.max_rows,
            &p.max_seconds,
            &p.can_unmask,
            &now(),
        ],
    )
    .await?;
    permission_row(&stored)
}

pub(super) async fn permission(tx: &Tx<'_>, user_id: &str, connection_id: &str) -> R<Option<Permission>> {
    let sql =
        format!("SELECT {PERMISSION_COLUMNS} FROM connection_permissions WHERE user_id = $1 AND connection_id = $2");
    query_opt(tx, &sql, &[&user_id, &connection_id]).await?.as_ref().map(permission_row).transpose()
}

/// By user id (byte-wise).
pub(super) async fn list_permissions(tx: &Tx<'_>, connection_id: &str) -> R<Vec<Permission>> {
    let sql = format!(
        "SELECT {PERMISSION_COLUMNS} FROM connection_permissions WHERE connection_id = $1 ORDER BY user_id COLLATE \"C\""
    );
    query(tx, &sql, &[&connection_id]).await?.iter().map(permission_row).collect()
}

pub(super) async fn delete_permission(tx: &Tx<'_>, user_id: &str, connection_id: &str) -> R<()> {
    let n = execute(
        tx,
        "DELETE FROM connection_permissions WHERE user_id = $1 AND connection_id = $2",
        &[&user_id, &connection_id],
    )
    .await?;
    if n == 0 {
        return Err(not_found(format!("user '{user_id}' holds no permission on connection '{connection_id}'")));
    }
    Ok(())
}

// --- uploaded files' bytes

/// Keeps the file's bytes, sealed (replacing any kept before); only the bytes its `file_info` describes. The
/// connection's row is locked so a concurrent delete waits for (or precedes) the insert.
pub(super) async fn put_file_content(tx: &Tx<'_>, ctx: &Ctx, id: &str, content: &[u8]) -> R<()> {
    let row = query_opt(tx, "SELECT file_info FROM database_connections WHERE id = $1 FOR UPDATE", &[&id])
        .await?
        .ok_or_else(|| no_connection(id))?;
    let info: Option<FileInfo> = json_opt(&row, 0)?;
    if let Some(problem) = crate::common::file_content_problem(id, info.as_ref(), content) {
        return Err(invalid(problem));
    }
    let sealed = ctx.secrets.seal(content, &crate::common::file_aad(id))?;
    execute(
        tx,
        "INSERT INTO file_contents (connection_id, content, stored_at) VALUES ($1, $2, $3)
         ON CONFLICT (connection_id) DO UPDATE SET content = excluded.content, stored_at = excluded.stored_at",
        &[&id, &sealed, &now()],
    )
    .await?;
    Ok(())
}

/// The file's bytes, opened; `None` when none are kept.
pub(super) async fn file_content(tx: &Tx<'_>, ctx: &Ctx, id: &str) -> R<Option<Vec<u8>>> {
    let Some(row) = query_opt(tx, "SELECT content FROM file_contents WHERE connection_id = $1", &[&id]).await? else {
        return Ok(None);
    };
    let sealed: Vec<u8> = row.try_get(0)?;
    let context = || format!("the system database {}: the file of connection '{id}'", ctx.server);
    Ok(Some(ctx.secrets.open(&sealed, &crate::common::file_aad(id)).map_err(|e| e.context(context()))?))
}
