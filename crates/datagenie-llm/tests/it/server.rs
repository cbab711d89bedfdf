//! A scripted LLM server on 127.0.0.1 port 0: it answers requests with a list of replies in order (repeating the last
//! one forever) and records every request it receives. The listener is bound before `start` returns, so a client can
//! connect at once — no waiting for readiness.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A JSON body with a status and extra headers.
    Json { status: u16, body: Value, headers: Vec<(&'static str, String)> },
    /// A raw body (for malformed JSON, HTML, plain text) with extra headers.
    Raw { status: u16, body: String, headers: Vec<(&'static str, String)> },
    /// Never answers (the server waits on a future that never completes).
    Hang,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply::Json { status: 200, body, headers: Vec::new() }
    }

    pub fn status(status: u16, body: Value) -> Reply {
        Reply::Json { status, body, headers: Vec::new() }
    }

    pub fn raw(status: u16, body: &str) -> Reply {
        Reply::Raw { status, body: body.to_string(), headers: Vec::new() }
    }

    /// This reply with one more response header.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        match &mut self {
            Reply::Json { headers, .. } | Reply::Raw { headers, .. } => headers.push((name, value.to_string())),
            Reply::Hang => {}
        }
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    last: Option<Reply>,
    requests: Vec<Recorded>,
}

/// A running scripted server; it stops when the test's runtime ends.
pub struct Scripted {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    script: Arc<Mutex<Script>>,
}

impl Scripted {
    pub async fn start(replies: Vec<Reply>) -> Scripted {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let script = Arc::new(Mutex::new(Script { replies: replies.into(), ..Script::default() }));
        let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&script));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Scripted { base: format!("http://127.0.0.1:{port}"), script }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.script).requests.clone()
    }

    pub fn count(&self) -> usize {
        lock(&self.script).requests.len()
    }

    /// The only request received; fails the test when there were none or several.
    pub fn single(&self) -> Recorded {
        let mut requests = self.requests();
        assert_eq!(requests.len(), 1, "expected exactly one request");
        requests.remove(0)
    }
}

fn lock(script: &Mutex<Script>) -> MutexGuard<'_, Script> {
    script.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn handle(
    State(script): State<Arc<Mutex<Script>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut s = lock(&script);
        s.requests.push(Recorded {
            method,
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        let next = s.replies.pop_front().or_else(|| s.last.clone());
        s.last.clone_from(&next);
        next
    };
    match reply {
        Some(Reply::Json { status, body, headers }) => respond(status, body.to_string(), "application/json", headers),
        Some(Reply::Raw { status, body, headers }) => respond(status, body, "text/plain", headers),
        Some(Reply::Hang) => std::future::pending::<Response>().await,
        None => (StatusCode::INTERNAL_SERVER_ERROR, "script is empty").into_response(),
    }
}

fn respond(status: u16, body: String, content_type: &str, extra: Vec<(&'static str, String)>) -> Response {
    let status = StatusCode::from_u16(status).expect("valid scripted status");
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", content_type.parse().expect("content type"));
    for (name, value) in extra {
        headers.insert(name, value.parse().expect("scripted header value"));
    }
    response
}
