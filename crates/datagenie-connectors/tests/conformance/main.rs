//! The connector conformance suite: the same checks, run against every engine DataGenie connects to.
//!
//! `suite.rs` holds the generic checks and the two traits an engine implements to take part ([`suite::Engine`],
//! [`suite::Fixture`]); each engine module (`sqlite.rs`, `postgres.rs`, `mysql.rs`) implements them and expands
//! [`suite::conformance_tests!`], which turns every check into one async test named after it
//! (`postgres::introspection`) and lists them in `suite_tests()`.
//!
//! Server engines are switched on by an environment variable holding an admin login URL:
//! `DATAGENIE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) and
//! `DATAGENIE_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306/mysql`). `.ci/run` sets both, so in CI a missing
//! server fails these tests. Where a variable is unset, the engine's tests do not run and one line says so,
//! counted as ignored: `postgres conformance: 20 tests skipped — DATAGENIE_TEST_POSTGRES_URL is not set`. That is
//! why this binary runs on DataGenie's own harness (`harness = false`; `datagenie_testkit`): libtest cannot skip at
//! run time. Every fixture is a uniquely named database with its own least-privilege login, so the tests run in
//! parallel, and is dropped at the end (best effort).
//!
//! # Adding a test
//!
//! A check for every engine: a function in `suite.rs` (see its documentation) whose name is added to the list in
//! `conformance_tests!`. A test for one engine: a plain `async fn` (no `#[tokio::test]`) in that engine's module,
//! added to the `tests![…]` list in the module's `pub fn tests() -> Group` at the end of the file. A new engine: a
//! module declared below whose `tests()` is added to the list in `main`, its tests registered with
//! `.needs(SERVER, …)` when they need a server. Each async test runs on its own 2-worker tokio runtime.

mod access;
mod mysql;
mod postgres;
mod sqlite;
mod suite;

use std::process::ExitCode;

use datagenie_testkit::Runtime;

fn main() -> ExitCode {
    datagenie_testkit::run(
        Runtime::MultiThread { workers: 2 },
        vec![sqlite::tests(), postgres::tests(), mysql::tests()],
    )
}
