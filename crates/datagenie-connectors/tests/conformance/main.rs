//! The connector conformance suite: the same checks, run against every engine DataGenie connects to.
//!
//! `suite.rs` holds the generic checks and the two traits an engine implements to take part ([`suite::Engine`],
//! [`suite::Fixture`]); each engine module (`sqlite.rs`, `postgres.rs`, `mysql.rs`) implements them and expands
//! [`suite::conformance_tests!`], which turns every check into one `#[tokio::test]` named after it.
//!
//! Server engines are switched on by an environment variable holding an admin login URL:
//! `DATAGENIE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) and
//! `DATAGENIE_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306/mysql`). `.ci/run` sets both, so in CI a missing
//! server fails these tests; where a variable is unset, each of that engine's tests prints one line saying why it
//! skips and passes. Every fixture is a uniquely named database with its own least-privilege login, so the tests run
//! in parallel, and is dropped at the end (best effort).

mod access;
mod mysql;
mod postgres;
mod sqlite;
mod suite;
