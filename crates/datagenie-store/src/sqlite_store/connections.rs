//! Users' database connections (their URLs sealed with the store's [`crate::crypto::SecretBox`], bound to the row's
//! id), their schema snapshots, and the permissions users hold on them.

use datagenie_core::SecretUrl;
use rusqlite::{OptionalExtension, Row, params};

use super::sql::{Json, json, json_opt, now, page_of, to_i64};
use super::{Ctx, Db, Fail, R, invalid, not_found};
use crate::model::*;
use crate::page;

const COLUMNS: &str = "id, name, display_name, description, db_type, display_url, is_readonly, max_connections, \
                       is_active, schema_hash, last_schema_sync, created_by, created_at, updated_at, file_info";

/// The same columns, of the table aliased `c`.
const C_COLUMNS: &str = "c.id, c.name, c.display_name, c.description, c.db_type, c.display_url, c.is_readonly, \
                         c.max_connections, c.is_active, c.schema_hash, c.last_schema_sync, c.created_by, \
                         c.created_at, c.updated_at, c.file_info";

fn row(r: &Row<'_>) -> rusqlite::Result<Connection> {
    let file: Option<FileInfo> = json_opt::<FileInfo>(r, 14)?;
    // A file connection is stored as the SQLite table it is queried as; its file_info makes it a file.
    let engine: Engine = if file.is_some() { Engine::File } else { r.get(4)? };
    Ok(Connection {
        id: r.get(0)?,
        file,
        name: r.get(1)?,
        display_name: r.get(2)?,
        description: r.get(3)?,
        engine,
        display_url: r.get(5)?,
        read_only: r.get(6)?,
        pool_size: r.get(7)?,
        active: r.get(8)?,
        schema_hash: r.get(9)?,
        last_schema_sync: r.get(10)?,
        created_by: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

fn no_connection(id: &str) -> Fail {
    not_found(format!("no connection with the id '{id}'"))
}

/// The URL sealed for the row `id`: it opens only there.
fn seal(ctx: &Ctx<'_>, id: &str, url: &SecretUrl) -> R<Vec<u8>> {
    Ok(ctx.secrets.seal(url.expose().as_bytes(), id.as_bytes())?)
}

fn by_id(tx: &Db, id: &str) -> R<Option<Connection>> {
    let sql = format!("SELECT {COLUMNS} FROM database_connections WHERE id = ?1");
    Ok(tx.prepare_cached(&sql)?.query_row([id], row).optional()?)
}

pub(super) fn create(tx: &Db, ctx: &Ctx<'_>, new: NewConnection) -> R<Connection> {
    if (new.engine == Engine::File) != new.file.is_some() {
        return Err(super::invalid("a file connection, and only one, carries the uploaded file's details"));
    }
    let id = new_id();
    let sealed = seal(ctx, &id, &new.url)?;
    let at = now();
    tx.prepare_cached(
        "INSERT INTO database_connections (id, name, display_name, description, db_type, connection_config,
             display_url, is_readonly, max_connections, is_active, schema_hash, schema_info, last_schema_sync,
             created_by, created_at, updated_at, file_info)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, 1, NULL, NULL, NULL, ?9, ?10, ?10, ?11)",
    )?
    .execute(params![
        id,
        new.name.trim(),
        new.display_name.trim(),
        new.description,
        if new.engine == Engine::File { Engine::Sqlite } else { new.engine },
        sealed,
        new.display_url,
        new.pool_size,
        new.created_by,
        at,
        new.file.as_ref().map(Json)
    ])?;
    by_id(tx, &id)?.ok_or_else(|| no_connection(&id))
}

/// By id first, then by name (a name that looks like another connection's id does not shadow it).
pub(super) fn get(tx: &Db, id_or_name: &str) -> R<Option<Connection>> {
    if let Some(c) = by_id(tx, id_or_name)? {
        return Ok(Some(c));
    }
    let sql = format!("SELECT {COLUMNS} FROM database_connections WHERE name = ?1");
    Ok(tx.prepare_cached(&sql)?.query_row([id_or_name], row).optional()?)
}

/// By name; with `granted_to`, only those the user holds a permission with `can_query` on.
pub(super) fn list(tx: &Db, granted_to: Option<&str>, req: &PageRequest) -> R<Page<Connection>> {
    let limit = page::limit(req);
    let after = req.cursor.as_deref().map(|c| page::decode("connections", c)).transpose()?.map(|(name, _)| name);
    let rows = match granted_to {
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM database_connections WHERE {} ORDER BY name LIMIT ?2",
                if after.is_some() { "name > ?1" } else { "?1 IS NULL" }
            );
            tx.prepare_cached(&sql)?
                .query_map(params![after, to_i64(limit + 1)], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        }
        Some(user) => {
            let sql = format!(
                "SELECT {C_COLUMNS} FROM database_connections c
                 JOIN connection_permissions p ON p.connection_id = c.id AND p.user_id = ?1 AND p.can_query = 1
                 WHERE {} ORDER BY c.name LIMIT ?3",
                if after.is_some() { "c.name > ?2" } else { "?2 IS NULL" }
            );
            tx.prepare_cached(&sql)?
                .query_map(params![user, after, to_i64(limit + 1)], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        }
    };
    Ok(page_of(rows, limit, |c| page::encode("connections", &c.name, &c.id)))
}

pub(super) fn update(tx: &Db, ctx: &Ctx<'_>, id: &str, patch: ConnectionPatch) -> R<Connection> {
    let mut c = by_id(tx, id)?.ok_or_else(|| no_connection(id))?;
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
        tx.prepare_cached("UPDATE database_connections SET connection_config = ?2, display_url = ?3 WHERE id = ?1")?
            .execute(params![id, sealed, display])?;
        c.display_url = display;
    }
    tx.prepare_cached(
        "UPDATE database_connections SET name = ?2, display_name = ?3, description = ?4, max_connections = ?5,
             is_active = ?6, updated_at = ?7
         WHERE id = ?1",
    )?
    .execute(params![id, c.name, c.display_name, c.description, c.pool_size, c.active, c.updated_at])?;
    Ok(c)
}

/// Its permissions go with it; chat sessions on it keep their messages without a connection; history keeps the id.
pub(super) fn delete(tx: &Db, id: &str) -> R<()> {
    if tx.prepare_cached("DELETE FROM database_connections WHERE id = ?1")?.execute([id])? == 0 {
        return Err(no_connection(id));
    }
    Ok(())
}

pub(super) fn url(tx: &Db, ctx: &Ctx<'_>, id: &str) -> R<SecretUrl> {
    let (name, sealed): (String, Vec<u8>) = tx
        .prepare_cached("SELECT name, connection_config FROM database_connections WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| no_connection(id))?;
    let context = || format!("the system database {}: the URL of connection '{name}'", ctx.path.display());
    let plain = ctx.secrets.open(&sealed, id.as_bytes()).map_err(|e| e.context(context()))?;
    let text = String::from_utf8(plain).map_err(|_| {
        datagenie_core::Error::new(datagenie_core::ErrorCode::SystemDatabase, "it is not UTF-8 text").context(context())
    })?;
    Ok(SecretUrl::new(text))
}

/// A sync is not an edit: `updated_at` stays.
pub(super) fn save_snapshot(tx: &Db, id: &str, snapshot: SchemaSnapshot) -> R<()> {
    let n = tx
        .prepare_cached(
            "UPDATE database_connections SET schema_hash = ?2, schema_info = ?3, last_schema_sync = ?4 WHERE id = ?1",
        )?
        .execute(params![id, snapshot.hash, Json(&snapshot.schema), snapshot.synced_at])?;
    if n == 0 {
        return Err(no_connection(id));
    }
    Ok(())
}

/// `None` for an unknown connection or one never synced.
pub(super) fn snapshot(tx: &Db, id: &str) -> R<Option<SchemaSnapshot>> {
    let found = tx
        .prepare_cached(
            "SELECT schema_hash, schema_info, last_schema_sync FROM database_connections
             WHERE id = ?1 AND schema_hash IS NOT NULL AND schema_info IS NOT NULL AND last_schema_sync IS NOT NULL",
        )?
        .query_row([id], |r| Ok(SchemaSnapshot { hash: r.get(0)?, schema: json(r, 1)?, synced_at: r.get(2)? }))
        .optional()?;
    Ok(found)
}

// --- permissions

const PERMISSION_COLUMNS: &str = "user_id, connection_id, can_query, allowed_schemas, allowed_tables, row_filters, \
                                  attributes, max_rows_per_query, max_execution_time_seconds, can_unmask, updated_at";

fn permission_row(r: &Row<'_>) -> rusqlite::Result<Permission> {
    Ok(Permission {
        user_id: r.get(0)?,
        connection_id: r.get(1)?,
        can_query: r.get(2)?,
        allowed_schemas: json_opt(r, 3)?,
        allowed_tables: json_opt(r, 4)?,
        row_filters: json(r, 5)?,
        attributes: json(r, 6)?,
        max_rows: r.get(7)?,
        max_seconds: r.get(8)?,
        can_unmask: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

/// Creates the permission or replaces every field of the existing one (its id and creation time stay).
pub(super) fn put_permission(tx: &Db, p: Permission) -> R<Permission> {
    let sql = format!(
        "INSERT INTO connection_permissions (id, user_id, connection_id, can_query, allowed_schemas, allowed_tables,
             row_filters, attributes, max_rows_per_query, max_execution_time_seconds, can_unmask, created_at,
             updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
         ON CONFLICT (user_id, connection_id) DO UPDATE SET
             can_query = excluded.can_query, allowed_schemas = excluded.allowed_schemas,
             allowed_tables = excluded.allowed_tables, row_filters = excluded.row_filters,
             attributes = excluded.attributes, max_rows_per_query = excluded.max_rows_per_query,
             max_execution_time_seconds = excluded.max_execution_time_seconds, can_unmask = excluded.can_unmask,
             updated_at = excluded.updated_at
         RETURNING {PERMISSION_COLUMNS}"
    );
    Ok(tx.prepare_cached(&sql)?.query_row(
        params![
            new_id(),
            p.user_id,
            p.connection_id,
            p.can_query,
            p.allowed_schemas.as_ref().map(Json),
            p.allowed_tables.as_ref().map(Json),
            Json(&p.row_filters),
            Json(&p.attributes),
            p.max_rows,
            p.max_seconds,
            p.can_unmask,
            now()
        ],
        permission_row,
    )?)
}

pub(super) fn permission(tx: &Db, user_id: &str, connection_id: &str) -> R<Option<Permission>> {
    let sql =
        format!("SELECT {PERMISSION_COLUMNS} FROM connection_permissions WHERE user_id = ?1 AND connection_id = ?2");
    Ok(tx.prepare_cached(&sql)?.query_row([user_id, connection_id], permission_row).optional()?)
}

/// By user id.
pub(super) fn list_permissions(tx: &Db, connection_id: &str) -> R<Vec<Permission>> {
    let sql =
        format!("SELECT {PERMISSION_COLUMNS} FROM connection_permissions WHERE connection_id = ?1 ORDER BY user_id");
    Ok(tx.prepare_cached(&sql)?.query_map([connection_id], permission_row)?.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn delete_permission(tx: &Db, user_id: &str, connection_id: &str) -> R<()> {
    let n = tx
        .prepare_cached("DELETE FROM connection_permissions WHERE user_id = ?1 AND connection_id = ?2")?
        .execute([user_id, connection_id])?;
    if n == 0 {
        return Err(not_found(format!("user '{user_id}' holds no permission on connection '{connection_id}'")));
    }
    Ok(())
}

// --- uploaded files' bytes

/// Keeps the file's bytes, sealed (replacing any kept before); only the bytes its `file_info` describes.
pub(super) fn put_file_content(tx: &Db, ctx: &Ctx<'_>, id: &str, content: &[u8]) -> R<()> {
    let info: Option<FileInfo> = tx
        .prepare_cached("SELECT file_info FROM database_connections WHERE id = ?1")?
        .query_row([id], |r| json_opt(r, 0))
        .optional()?
        .ok_or_else(|| no_connection(id))?;
    if let Some(problem) = crate::common::file_content_problem(id, info.as_ref(), content) {
        return Err(invalid(problem));
    }
    let sealed = ctx.secrets.seal(content, &crate::common::file_aad(id))?;
    tx.prepare_cached(
        "INSERT INTO file_contents (connection_id, content, stored_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (connection_id) DO UPDATE SET content = excluded.content, stored_at = excluded.stored_at",
    )?
    .execute(params![id, sealed, now()])?;
    Ok(())
}

/// The file's bytes, opened; `None` when none are kept.
pub(super) fn file_content(tx: &Db, ctx: &Ctx<'_>, id: &str) -> R<Option<Vec<u8>>> {
    let sealed: Option<Vec<u8>> = tx
        .prepare_cached("SELECT content FROM file_contents WHERE connection_id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(sealed) = sealed else { return Ok(None) };
    let context = || format!("the system database {}: the file of connection '{id}'", ctx.path.display());
    Ok(Some(ctx.secrets.open(&sealed, &crate::common::file_aad(id)).map_err(|e| e.context(context()))?))
}
