//! `POST /api/v1/files`: a spreadsheet (CSV, TSV or workbook) uploaded as `multipart/form-data` — the field `file`, and
//! optionally `name` (the connection's name) — becomes a connection of its own (engine `file`), private to its
//! uploader until they or an admin share it through the usual permissions. The file is kept under
//! `<data_dir>/files/`, checked by loading it (a bad file is refused with its code and nothing is kept), and deleted
//! with its connection. The size limit is the `max_file_size_mb` setting (50 by default), enforced while the upload
//! streams in. Its bytes are also kept (sealed) in the system database, so every server can query it: another server
//! writes its own copy under its own `<data_dir>/files/<connection id>/` on first use (`Registry`), removed when the
//! connection is deleted through it, or at its next start when deleted through another.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use datagenie_core::{ErrorCode, SecretUrl};
use datagenie_store::model::{Connection, Engine, FileInfo, NewConnection, Permission, Timestamp};
use sha2::{Digest, Sha256};

use crate::audit::{Audit, audit};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The upload limit when the setting is missing or unreadable.
const DEFAULT_MAX_FILE_MB: u64 = 50;

async fn max_file_bytes(state: &AppState) -> ApiResult<u64> {
    let mb = state
        .store
        .setting("max_file_size_mb")
        .await?
        .and_then(|s| s.value.as_u64())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_FILE_MB);
    Ok(mb.saturating_mul(1 << 20))
}

/// The uploaded file's name, safe as a file name: its last path component, control characters and separators gone.
fn safe_file_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = last.chars().filter(|c| !c.is_control() && *c != ':').collect::<String>().trim().to_string();
    (!clean.is_empty() && clean != "." && clean != ".." && clean.chars().count() <= 200).then_some(clean)
}

/// A connection name from a file name: lower-case ASCII letters, digits, `-` and `_` (others become `-`).
fn name_from(stem: &str, sha: &str) -> String {
    let mut name: String = stem
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' { c } else { '-' })
        .collect();
    name = name.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    if name.is_empty() {
        name = format!("file-{}", &sha[..8]);
    }
    name.chars().take(80).collect()
}

/// The body's `file` (stored in `dir`) and `name` fields.
async fn receive(mut form: Multipart, dir: &Path, limit: u64) -> ApiResult<(PathBuf, FileInfo, Option<String>)> {
    let mut stored: Option<(PathBuf, FileInfo)> = None;
    let mut name = None;
    let bad =
        |e: axum::extract::multipart::MultipartError| ApiError::bad_request(format!("the upload is malformed: {e}"));
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("name") => name = Some(field.text().await.map_err(bad)?.trim().to_string()),
            Some("file") if stored.is_none() => {
                let file_name = field
                    .file_name()
                    .and_then(safe_file_name)
                    .ok_or_else(|| ApiError::bad_request("the file field needs a file name (e.g. sales.csv)"))?;
                if datagenie_connectors::file::kind_of(Path::new(&file_name)).is_none() {
                    return Err(ApiError::new(
                        ErrorCode::InvalidFile,
                        format!("{file_name} is not a spreadsheet: send .csv, .tsv, .xlsx, .xlsm, .xlsb, .xls or .ods"),
                    ));
                }
                std::fs::create_dir_all(dir)
                    .map_err(|e| ApiError::new(ErrorCode::OutputFailed, format!("cannot store the upload: {e}")))?;
                let path = dir.join(&file_name);
                let mut out = std::fs::File::create(&path)
                    .map_err(|e| ApiError::new(ErrorCode::OutputFailed, format!("cannot store the upload: {e}")))?;
                let (mut size, mut digest) = (0u64, Sha256::new());
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    size += chunk.len() as u64;
                    if size > limit {
                        return Err(ApiError::new(
                            ErrorCode::FileTooLarge,
                            format!("{file_name} is larger than the limit of {} MB", limit >> 20),
                        ));
                    }
                    digest.update(&chunk);
                    out.write_all(&chunk)
                        .map_err(|e| ApiError::new(ErrorCode::OutputFailed, format!("cannot store the upload: {e}")))?;
                }
                let sha256 = datagenie_core::schema::hex(&digest.finalize());
                stored = Some((path, FileInfo { name: file_name, size, sha256 }));
            }
            _ => {}
        }
    }
    let (path, info) = stored.ok_or_else(|| ApiError::bad_request("send the spreadsheet in the form field 'file'"))?;
    Ok((path, info, name.filter(|n| !n.is_empty())))
}

#[utoipa::path(post, path = "/api/v1/files", tag = "connections",
    request_body(content_type = "multipart/form-data", description = "file: the spreadsheet; name: the connection's name (optional)"),
    responses((status = 201, body = Connection), (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody, description = "empty_file, invalid_file, encrypted_file")))]
pub async fn upload(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<(StatusCode, JsonOut<Connection>)> {
    auth.require_user()?;
    let form = form.map_err(|e| {
        ApiError::bad_request(format!("send the spreadsheet as multipart/form-data with a 'file' field ({e})"))
    })?;
    let root = state.files_dir.clone().ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidConfig, "this server keeps no files (it has no data directory)")
    })?;
    let dir = root.join(uuid::Uuid::new_v4().to_string());
    let limit = max_file_bytes(&state).await?;
    let outcome = store_upload(&state, &auth, form, &dir, limit).await;
    if outcome.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome.map(|c| (StatusCode::CREATED, JsonOut(c)))
}

async fn store_upload(state: &AppState, auth: &Auth, form: Multipart, dir: &Path, limit: u64) -> ApiResult<Connection> {
    let (path, info, name) = receive(form, dir, limit).await?;
    // Loaded now: a bad file is refused before it becomes a connection (and the load is then cached).
    let check = path.clone();
    tokio::task::spawn_blocking(move || {
        datagenie_connectors::file::load(&check, &datagenie_connectors::default_cache_dir())
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("checking the upload stopped: {e}")))??;
    let stem = Path::new(&info.name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let base = match name {
        Some(n) => super::connections::valid_name(&n)?,
        None => name_from(&stem, &info.sha256),
    };
    let url = path.display().to_string();
    let mut attempt = 1;
    let created = loop {
        let candidate = if attempt == 1 { base.clone() } else { format!("{base}-{attempt}") };
        let new = NewConnection {
            file: Some(info.clone()),
            name: candidate,
            display_name: info.name.clone(),
            description: Some(format!("uploaded by {}", auth.user().username)),
            engine: Engine::File,
            url: SecretUrl::new(url.clone()),
            display_url: info.name.clone(),
            pool_size: 2,
            created_by: Some(auth.user().id.clone()),
        };
        match state.store.create_connection(new).await {
            Ok(c) => break c,
            Err(e) if e.code == ErrorCode::AlreadyExists && attempt < 50 => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    };
    // Kept in the system database too: any server may be asked about it. Without its bytes there, no connection.
    let kept = async {
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| ApiError::new(ErrorCode::OutputFailed, format!("cannot read the upload back: {e}")))?;
        state.store.put_file_content(&created.id, bytes).await.map_err(ApiError::from)
    }
    .await;
    if let Err(e) = kept {
        if let Err(undo) = state.store.delete_connection(&created.id).await {
            tracing::warn!(error = %undo, "cannot remove the connection of an upload that could not be kept");
        }
        return Err(e);
    }
    // The uploader may query it (admins may anyway).
    if !auth.is_admin() {
        let grant = Permission {
            user_id: auth.user().id.clone(),
            connection_id: created.id.clone(),
            can_query: true,
            allowed_schemas: None,
            allowed_tables: None,
            row_filters: Vec::new(),
            attributes: Default::default(),
            max_rows: None,
            max_seconds: None,
            can_unmask: false,
            updated_at: Timestamp::now(),
        };
        state.store.put_permission(grant).await?;
    }
    audit(
        state,
        Audit::new("file.upload", "connection")
            .caller(auth)
            .resource(&created.id)
            .values(None, serde_json::to_value(&created).ok()),
    )
    .await?;
    Ok(created)
}

/// The uploaded file of file connection `id`, removed with its folder, and this server's copy of it (only inside
/// the files directory).
pub fn remove_file(state: &AppState, id: &str, stored_path: &str) {
    let Some(root) = &state.files_dir else { return };
    let Ok(root) = std::fs::canonicalize(root) else { return };
    let folders = [Path::new(stored_path).parent().map(Path::to_path_buf), Some(root.join(id))];
    for folder in folders.into_iter().flatten() {
        let Ok(folder) = std::fs::canonicalize(folder) else { continue };
        if folder.starts_with(&root)
            && folder != root
            && let Err(e) = std::fs::remove_dir_all(&folder)
        {
            tracing::warn!(error = %e, "cannot remove an uploaded file");
        }
    }
}

/// At start: removes the folders of the files directory that no connection uses any more — copies of files whose
/// connection was deleted through another server while this one was away or running. A folder is kept when it is
/// named by a connection's id (this server's copy) or holds a file connection's stored file (its upload).
pub async fn sweep(state: &AppState) -> Result<usize, datagenie_core::Error> {
    let Some(root) = &state.files_dir else { return Ok(0) };
    let Ok(entries) = std::fs::read_dir(root) else { return Ok(0) };
    let (mut ids, mut held) = (std::collections::HashSet::new(), std::collections::HashSet::new());
    let mut page = datagenie_store::model::PageRequest::first(datagenie_store::model::MAX_PAGE);
    loop {
        let found = state.store.list_connections(None, &page).await?;
        for c in &found.items {
            ids.insert(c.id.clone());
            if c.engine == Engine::File
                && let Some(folder) = Path::new(state.store.connection_url(&c.id).await?.expose()).parent()
                && let Ok(folder) = std::fs::canonicalize(folder)
            {
                held.insert(folder);
            }
        }
        match found.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let used = ids.contains(&name) || std::fs::canonicalize(&path).is_ok_and(|p| held.contains(&p));
        if !used && path.is_dir() {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(error = %e, folder = %path.display(), "cannot remove an unused upload"),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_names_are_made_safe() {
        assert_eq!(safe_file_name("C:\\Users\\kim\\매출.xlsx").as_deref(), Some("매출.xlsx"));
        assert_eq!(safe_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(safe_file_name(".."), None);
        assert_eq!(safe_file_name(" "), None);
        assert_eq!(name_from("Sales Report 2024", "abcdef0123"), "sales-report-2024");
        assert_eq!(name_from("매출", "abcdef0123"), "file-abcdef01");
    }
}
