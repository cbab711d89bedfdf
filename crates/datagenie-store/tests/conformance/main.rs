//! The store conformance suite: the same checks, run against every engine behind [`datagenie_store::Store`].
//!
//! `suite.rs` holds the generic checks, written against `&dyn Store` only, and the two traits an engine implements
//! to take part ([`suite::Engine`], [`suite::Fixture`]: a fresh, empty system database and the few raw operations
//! a check needs around the store — SQL that tampers with rows, a count, the bytes kept at rest, a second store on
//! the same database with another key). Each engine module (`sqlite.rs`, `postgres.rs`) implements
//! them and expands [`suite::conformance_tests!`], which turns every check into one async test named after it
//! (`sqlite::refresh_rotation`) and lists them in `suite_tests()`.
//!
//! # Adding a test
//!
//! A check for every engine: a function in `suite.rs` whose name is added to the list in `conformance_tests!`. A
//! test for one engine: a plain `async fn` in its module, added to the `tests![…]` list of the module's `tests()`.
//! A new engine: a module declared below whose `tests()` joins the list in `main`, registered with
//! `.needs(SERVER, …)` when it needs a server (then it shows as skipped where the server's variable is unset).
//! Each async test runs on its own 2-worker tokio runtime.

mod postgres;
mod side_stores;
mod sqlite;
mod suite;

use std::process::ExitCode;

use datagenie_testkit::Runtime;

fn main() -> ExitCode {
    datagenie_testkit::run(Runtime::MultiThread { workers: 2 }, vec![sqlite::tests(), postgres::tests()])
}
