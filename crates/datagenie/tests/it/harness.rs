//! Runs the real `datagenie` binary in an isolated environment: its own HOME, config, data and cache directories,
//! and no inherited LLM settings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!("stdout is not one JSON value ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().to_path_buf();
        let vars = vec![
            ("HOME".into(), p.join("home").display().to_string()),
            ("XDG_CONFIG_HOME".into(), p.join("config").display().to_string()),
            ("DATAGENIE_PATHS__DATA_DIR".into(), p.join("data").display().to_string()),
            ("DATAGENIE_PATHS__CACHE_DIR".into(), p.join("cache").display().to_string()),
        ];
        Env { dir, vars }
    }

    /// An environment whose LLM is the scripted OpenAI-compatible server at `base_url`.
    pub fn with_openai(base_url: &str) -> Env {
        let mut env = Env::new();
        env.set("DATAGENIE_LLM__PROVIDER", "openai");
        env.set("DATAGENIE_LLM__BASE_URL", base_url);
        env.set("DATAGENIE_LLM__MODEL", "gpt-4o-mini");
        env.set("DATAGENIE_LLM__API_KEY", "sk-test-SECRET-123");
        env.set("DATAGENIE_LLM__MAX_RETRIES", "0");
        env
    }

    pub fn has(&self, k: &str) -> bool {
        self.vars.iter().any(|(n, _)| n == k)
    }

    pub fn set(&mut self, k: &str, v: &str) {
        self.vars.retain(|(n, _)| n != k);
        self.vars.push((k.to_string(), v.to_string()));
    }

    pub fn unset(&mut self, k: &str) {
        self.vars.retain(|(n, _)| n != k);
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with `args` in this environment (nothing else inherited but `PATH`), killed when dropped.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_datagenie"));
        cmd.args(args).env_clear().kill_on_drop(true);
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the binary with `args`; the run must end within `limit` (a hang is a failure, not a wait).
    pub async fn run_within(&self, args: &[&str], limit: Duration) -> Output {
        let mut cmd = self.command(args);
        let out = tokio::time::timeout(limit, cmd.output())
            .await
            .unwrap_or_else(|_| panic!("datagenie {args:?} did not finish within {limit:?}"))
            .expect("run datagenie");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_within(args, Duration::from_secs(120)).await
    }
}

/// A small shop database: customers, products, orders with typed columns, Korean text, a blob and nulls.
pub fn shop_db(path: &Path) {
    let c = rusqlite::Connection::open(path).expect("create fixture");
    c.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, signup_date TEXT);
         CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT, price REAL, photo BLOB);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                              product_id INTEGER REFERENCES products(id), quantity INTEGER, order_date TEXT);
         INSERT INTO customers VALUES (1,'김민준','서울','2023-01-05'),(2,'Alice Park','Busan','2023-03-10'),
                                      (3,'이서연','서울','2024-02-01'),(4,'Bob Lee',NULL,'2024-06-30');
         INSERT INTO products VALUES (1,'노트북','Electronics',1200.5,X'00FF10'),(2,'Mouse','Electronics',25.0,NULL),
                                     (3,'커피','Food',4.5,NULL);
         INSERT INTO orders VALUES (1,1,1,1,'2024-01-03'),(2,1,2,2,'2024-01-15'),(3,2,3,10,'2024-02-01'),
                                   (4,3,1,1,'2024-02-20'),(5,4,3,3,'2024-03-05'),(6,2,2,1,'2024-03-09');",
    )
    .expect("fill fixture");
}

pub fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read file")
}
