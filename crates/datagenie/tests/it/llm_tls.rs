//! TLS to the LLM endpoint. An `http://` endpoint needs no certificate store: the client loads none (loading the
//! system's took 2–2.6 ms of every `ask`, and failed outright on a machine without CA certificates). An `https://`
//! endpoint is verified against the platform's roots as before: a certificate from an unknown issuer is refused, and
//! one whose issuer is trusted (here through `SSL_CERT_FILE`, which the platform verifier honours on Linux) answers.
//! The endpoint is a small HTTPS server on 127.0.0.1 with the certificates in `tls/` (see `tls/README.md`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datagenie_testkit::{Group, tests};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Env, shop_db};
use crate::scripted_llm::{ScriptedLlm, sql};

const SERVER_CERT: &[u8] = include_bytes!("tls/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("tls/server-key.pem");
const CA_CERT: &[u8] = include_bytes!("tls/ca.pem");
const QUERY: &str = "SELECT count(*) AS n FROM orders";

/// An OpenAI-compatible endpoint over HTTPS that answers every request with [`QUERY`].
struct HttpsLlm {
    base_url: String,
    /// Connections whose TLS handshake completed.
    handshakes: Arc<AtomicUsize>,
    /// Requests answered.
    answered: Arc<AtomicUsize>,
}

impl HttpsLlm {
    async fn start() -> HttpsLlm {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(SERVER_CERT).collect::<Result<_, _>>().expect("server certificate");
        let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).expect("server key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (handshakes, answered) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (h, a) = (Arc::clone(&handshakes), Arc::clone(&answered));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, h, a) = (acceptor.clone(), Arc::clone(&h), Arc::clone(&a));
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    h.fetch_add(1, Ordering::SeqCst);
                    if answer(&mut tls).await.is_ok() {
                        a.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        HttpsLlm { base_url: format!("https://127.0.0.1:{port}/v1"), handshakes, answered }
    }
}

/// Reads one HTTP/1.1 request (head and `content-length` body) and answers it with a chat completion of [`QUERY`].
async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: &mut S) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    let body_start = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        request.extend_from_slice(&chunk[..n]);
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..body_start]).to_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    while request.len() < body_start + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        request.extend_from_slice(&chunk[..n]);
    }
    let body = json!({
        "id": "chatcmpl-tls", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("```sql\n{QUERY}\n```")},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// `ask` for [`QUERY`]'s question on a fresh shop database, with the LLM at `base_url` and `SSL_CERT_FILE` set to
/// `cert_file` when given (the child inherits nothing else: no system `SSL_CERT_*`).
async fn ask(base_url: &str, cert_file: Option<&[u8]>) -> crate::harness::Output {
    let mut env = Env::with_openai(base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    if let Some(pem) = cert_file {
        let path = env.path("roots.pem");
        std::fs::write(&path, pem).expect("write roots");
        env.set("SSL_CERT_FILE", &path.display().to_string());
    }
    let db = db.display().to_string();
    env.run(&["ask", "--db", &db, "--format", "json", "--no-summary", "how many orders?"]).await
}

/// With an empty certificate store (`SSL_CERT_FILE` an empty file), an `http://` endpoint still answers: the client
/// loads no store for it. (Before, building the client failed: "No CA certificates were loaded from the system".)
async fn an_http_endpoint_needs_no_certificate_store() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql(QUERY))).await;
    let out = ask(&llm.base_url, Some(b"")).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json()["rows"], json!([[6]]), "{}", out.stdout);
}

/// The system's roots do not include the test CA: the handshake fails on the certificate, nothing is sent.
async fn an_https_endpoint_with_an_unknown_issuer_is_refused() {
    let llm = HttpsLlm::start().await;
    let out = ask(&llm.base_url, None).await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.error_code(), "llm_unreachable", "{}", out.stdout);
    let message = out.json()["error"]["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(message.contains("certificate"), "{message}");
    assert_eq!(llm.handshakes.load(Ordering::SeqCst), 0, "a handshake completed with an untrusted certificate");
    assert_eq!(llm.answered.load(Ordering::SeqCst), 0);
}

/// An empty store trusts nothing, over https either: TLS fails closed.
async fn an_https_endpoint_with_an_empty_certificate_store_is_refused() {
    let llm = HttpsLlm::start().await;
    let out = ask(&llm.base_url, Some(b"")).await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(llm.handshakes.load(Ordering::SeqCst) + llm.answered.load(Ordering::SeqCst), 0);
}

/// With the test CA trusted, the same endpoint answers over verified TLS.
async fn an_https_endpoint_whose_issuer_is_trusted_answers() {
    let llm = HttpsLlm::start().await;
    let out = ask(&llm.base_url, Some(CA_CERT)).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let answer = out.json();
    assert_eq!((answer["sql"].as_str(), &answer["rows"]), (Some(QUERY), &json!([[6]])), "{answer}");
    assert_eq!(llm.answered.load(Ordering::SeqCst), 1);
}

pub fn tests() -> Group {
    Group::new("llm_tls").tests(tests![
        an_http_endpoint_needs_no_certificate_store,
        an_https_endpoint_with_an_unknown_issuer_is_refused,
        an_https_endpoint_with_an_empty_certificate_store_is_refused,
        an_https_endpoint_whose_issuer_is_trusted_answers,
    ])
}
