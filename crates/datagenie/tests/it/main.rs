//! The one integration-test binary: it runs the real `datagenie` executable against real SQLite files, real
//! PostgreSQL and MySQL/MariaDB servers, and a scripted LLM server over real HTTP.
//!
//! It runs on DataGenie's own harness (`harness = false` in Cargo.toml; `datagenie_testkit`), so that tests needing a
//! server show as skipped, one line per module, when `DATAGENIE_TEST_POSTGRES_URL` / `DATAGENIE_TEST_MYSQL_URL` are
//! unset, instead of passing without testing anything. Everything else is as under libtest: `cargo test -p datagenie
//! --test it NAME` filters, tests run in parallel, and the summary counts passed, failed and ignored tests.
//!
//! # Adding a test
//!
//! Write a plain `async fn` (no `#[tokio::test]`; or a plain `fn`) in a module, and add its name to the `tests![…]`
//! list of that module's `pub fn tests() -> Group` at the end of the file. Tests that need a server go in
//! `.needs(POSTGRES, tests![…])`, `.needs(MYSQL, tests![…])` or `.needs_any(&[POSTGRES, MYSQL], tests![…])`, and read
//! the admin URL with `POSTGRES.admin_url()`. Each async test gets its own current-thread tokio runtime, as under
//! `#[tokio::test]`. A test that is not listed never runs, and the compiler warns that it is unused (clippy's
//! `-D warnings` in `.ci/run` fails on it).
//!
//! # Adding a module
//!
//! Declare it below (`mod name;`), give it a `pub fn tests() -> Group` (`Group::new("name")`: the label of its
//! "skipped" line), and add `name::tests()` to the list in `main`.

mod harness;
mod scripted_llm;

mod ask;
mod attacks;
mod bench;
mod browser;
mod browser_admin;
mod cluster;
mod commands;
mod deploy;
mod doctor;
mod eval;
mod knowledge_api;
mod knowledge_cli;
mod llm_tls;
mod mcp;
mod promises;
mod retention;
mod server;
mod servers;
mod sheets;
mod sources;
mod tables;
mod templates;

use std::process::ExitCode;

use datagenie_testkit::Runtime;

fn main() -> ExitCode {
    datagenie_testkit::run(
        Runtime::CurrentThread,
        vec![
            ask::tests(),
            attacks::tests(),
            bench::tests(),
            browser::tests(),
            browser_admin::tests(),
            cluster::tests(),
            commands::tests(),
            deploy::tests(),
            doctor::tests(),
            eval::tests(),
            knowledge_api::tests(),
            knowledge_cli::tests(),
            llm_tls::tests(),
            mcp::tests(),
            promises::tests(),
            retention::tests(),
            server::tests(),
            servers::tests(),
            sheets::tests(),
            sources::tests(),
            tables::tests(),
            templates::tests(),
        ],
    )
}
