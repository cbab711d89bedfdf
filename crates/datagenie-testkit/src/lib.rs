//! The harness of DataGenie's integration-test binaries that hold tests needing a database server
//! (`datagenie-connectors/tests/conformance`, `datagenie-connectors/tests/mysql.rs`, `datagenie/tests/it`).
//!
//! Rust's built-in harness cannot skip a test at run time: a test that finds no server can only return early, and
//! then it counts as passed. These binaries are built with `harness = false` and run through [`run`], which decides
//! before running anything what can run. Tests that need a server whose variable (`DATAGENIE_TEST_POSTGRES_URL`,
//! `DATAGENIE_TEST_MYSQL_URL`) is unset do not run; in their place each group shows ONE line, counted as ignored in
//! the summary:
//!
//! ```text
//! test postgres conformance: 20 tests skipped — DATAGENIE_TEST_POSTGRES_URL is not set ... ignored (…)
//! test result: ok. 12 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 1.02s
//! ```
//!
//! With the variable set, the tests run under their own names (`postgres::introspection`, as libtest names them),
//! and a server that cannot be reached fails them.
//!
//! Output, filters (`cargo test NAME`, `--exact`, `--skip`), `--list`, `--test-threads` (or `RUST_TEST_THREADS`)
//! and the summary are libtest's (through libtest-mimic). Tests run in parallel, each on a thread named after it; an
//! async test gets its own tokio runtime, as under `#[tokio::test]`. Unlike libtest, the output of a passing test is
//! not captured.
//!
//! # Registering tests
//!
//! A test is a plain `fn name()` or an `async fn name()`, without attributes. Each module lists its tests in one
//! function that returns a [`Group`]:
//!
//! ```ignore
//! use datagenie_testkit::{Group, POSTGRES, tests};
//!
//! pub fn tests() -> Group {
//!     Group::new("doctor")
//!         .tests(tests![a_sqlite_file_is_safe_and_left_untouched, errors_exit_2_with_a_stable_code])
//!         .needs(POSTGRES, tests![postgres_admin_login_is_reported_unsafe])
//! }
//! ```
//!
//! and the binary's `main` hands every module's group to [`run`]. A test that is written but not listed is dead code,
//! which the compiler reports (CI's `clippy -D warnings` refuses it); a name listed twice stops the binary.
//! A gated test reads its server's URL with [`Server::admin_url`].

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Something some tests need that a fresh machine lacks — a database server (the variable holds an admin login URL)
/// or a browser (the chromedriver executable) — switched on by an environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Server {
    /// The variable, e.g. `DATAGENIE_TEST_POSTGRES_URL`.
    pub var: &'static str,
    /// For messages: `PostgreSQL`.
    pub name: &'static str,
    /// A value for the variable, as `.ci/run` sets it.
    pub example: &'static str,
}

/// PostgreSQL, named by `DATAGENIE_TEST_POSTGRES_URL`.
pub const POSTGRES: Server = Server {
    var: "DATAGENIE_TEST_POSTGRES_URL",
    name: "PostgreSQL",
    example: "postgres://postgres@127.0.0.1:5432/postgres",
};

/// Redis, named by `DATAGENIE_TEST_REDIS_URL`. Tests that stop and restart Redis start their own `redis-server`
/// (from `PATH`) beside it; its presence is what the variable promises.
pub const REDIS: Server = Server { var: "DATAGENIE_TEST_REDIS_URL", name: "Redis", example: "redis://127.0.0.1:6379" };

/// MySQL or MariaDB, named by `DATAGENIE_TEST_MYSQL_URL`.
pub const MYSQL: Server =
    Server { var: "DATAGENIE_TEST_MYSQL_URL", name: "MySQL/MariaDB", example: "mysql://root@127.0.0.1:3306/mysql" };

impl Server {
    /// The admin URL when the variable is set and not blank.
    pub fn url(&self) -> Option<String> {
        std::env::var(self.var).ok().map(|u| u.trim().to_string()).filter(|u| !u.is_empty())
    }

    /// The admin URL, in a test registered with [`Group::needs`] (which runs only when it is set).
    pub fn admin_url(&self) -> String {
        self.url().unwrap_or_else(|| {
            panic!("{} is not set: a test that needs {} must be registered with Group::needs", self.var, self.name)
        })
    }
}

type AsyncBody = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

enum Body {
    Sync(Box<dyn FnOnce() + Send>),
    Async(AsyncBody),
}

/// One test: a name and a function to run.
pub struct Test {
    name: String,
    body: Body,
}

/// Marks a plain `fn()` for [`TestFn`].
pub struct SyncFn;
/// Marks an `async fn()` for [`TestFn`].
pub struct AsyncFn;

/// What can be a test: `fn()` and `async fn()` (anything `FnOnce() -> impl Future<Output = ()>`). `Kind` tells the
/// two apart; it is inferred.
pub trait TestFn<Kind>: Send + 'static {
    fn into_test(self, name: String) -> Test;
}

impl<F> TestFn<SyncFn> for F
where
    F: FnOnce() + Send + 'static,
{
    fn into_test(self, name: String) -> Test {
        Test { name, body: Body::Sync(Box::new(self)) }
    }
}

impl<F, Fut> TestFn<AsyncFn> for F
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn into_test(self, name: String) -> Test {
        Test { name, body: Body::Async(Box::new(move || Box::pin(self()))) }
    }
}

impl Test {
    /// A test named `name` (usually built by [`tests!`], which names it `module::function`).
    pub fn new<Kind>(name: impl Into<String>, f: impl TestFn<Kind>) -> Test {
        f.into_test(name.into())
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// `tests![a, b, c]`: the functions `a`, `b` and `c` of the current module as a `Vec<Test>`, each named
/// `module::function` as libtest would name it (the test binary's own name left out).
#[macro_export]
macro_rules! tests {
    ($($test:ident),* $(,)?) => {
        ::std::vec![$(
            $crate::Test::new($crate::qualified_name(::std::module_path!(), ::std::stringify!($test)), $test)
        ),*]
    };
}

/// `it::doctor` and `check` → `doctor::check`: libtest's name, which leaves out the crate (here the test binary).
#[doc(hidden)]
pub fn qualified_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_string(),
    }
}

/// The tests of one module, and what each needs. When tests are skipped, the group's label names the one line that
/// says so (`postgres conformance: 20 tests skipped — …`).
pub struct Group {
    label: String,
    tests: Vec<(Needs, Test)>,
}

/// The servers a test needs: at least one of them (`Any`; none at all: always runs), or every one (`All`).
enum Needs {
    Any(Vec<Server>),
    All(Vec<Server>),
}

impl Group {
    pub fn new(label: impl Into<String>) -> Group {
        Group { label: label.into(), tests: Vec::new() }
    }

    /// Tests that need nothing beyond the machine: they always run.
    pub fn tests(mut self, tests: Vec<Test>) -> Group {
        self.tests.extend(tests.into_iter().map(|t| (Needs::Any(Vec::new()), t)));
        self
    }

    /// Tests that run only when `server`'s variable is set.
    pub fn needs(self, server: Server, tests: Vec<Test>) -> Group {
        self.needs_any(&[server], tests)
    }

    /// Tests that run when the variable of at least one of `servers` is set (they use those that are).
    pub fn needs_any(mut self, servers: &[Server], tests: Vec<Test>) -> Group {
        self.tests.extend(tests.into_iter().map(|t| (Needs::Any(servers.to_vec()), t)));
        self
    }

    /// Tests that run only when the variables of all of `servers` are set.
    pub fn needs_all(mut self, servers: &[Server], tests: Vec<Test>) -> Group {
        self.tests.extend(tests.into_iter().map(|t| (Needs::All(servers.to_vec()), t)));
        self
    }
}

/// How async tests run: on a runtime of their own, like `#[tokio::test]` (`CurrentThread`) or
/// `#[tokio::test(flavor = "multi_thread", worker_threads = N)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    CurrentThread,
    MultiThread { workers: usize },
}

impl Runtime {
    fn build(self) -> std::io::Result<tokio::runtime::Runtime> {
        match self {
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread().enable_all().build(),
            Runtime::MultiThread { workers } => {
                tokio::runtime::Builder::new_multi_thread().worker_threads(workers.max(1)).enable_all().build()
            }
        }
    }
}

/// The test binary's `main`: runs `groups` as libtest would, with the command line's options, and returns the exit
/// status (101 when a test failed, as libtest).
pub fn run(runtime: Runtime, groups: Vec<Group>) -> ExitCode {
    let mut args = Arguments::from_args();
    // libtest also takes the thread count from the environment; libtest-mimic reads only `--test-threads`.
    if args.test_threads.is_none() {
        args.test_threads = std::env::var("RUST_TEST_THREADS").ok().and_then(|n| n.parse().ok()).filter(|&n| n > 0);
    }
    let trials = match plan(groups, &|s: &Server| s.url().is_some()) {
        Ok(planned) => planned.into_iter().map(|p| p.into_trial(runtime)).collect(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(101);
        }
    };
    libtest_mimic::run(&args, trials).exit_code()
}

/// One entry of the run: a test to run, or the line standing for a group's skipped tests.
enum Planned {
    Run(Test),
    Skipped { name: String, reason: String },
}

impl Planned {
    fn name(&self) -> &str {
        match self {
            Planned::Run(t) => &t.name,
            Planned::Skipped { name, .. } => name,
        }
    }

    fn into_trial(self, runtime: Runtime) -> Trial {
        match self {
            Planned::Skipped { name, reason } => {
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
            }
            Planned::Run(Test { name, body }) => {
                let thread_name = name.clone();
                Trial::test(name, move || run_test(thread_name, body, runtime))
            }
        }
    }
}

/// Orders the run: each group's runnable tests, then one line for its skipped ones (if any). `available` says
/// whether a server's variable is set. Fails on a name that two tests share.
fn plan(groups: Vec<Group>, available: &dyn Fn(&Server) -> bool) -> Result<Vec<Planned>, String> {
    let mut planned = Vec::new();
    for group in groups {
        let mut skipped = 0usize;
        let mut missing: Vec<Server> = Vec::new();
        for (needs, test) in group.tests {
            let (runs, lacking) = match needs {
                Needs::Any(servers) => (servers.is_empty() || servers.iter().any(available), servers),
                Needs::All(servers) => {
                    let lacking: Vec<Server> = servers.into_iter().filter(|s| !available(s)).collect();
                    (lacking.is_empty(), lacking)
                }
            };
            if runs {
                planned.push(Planned::Run(test));
            } else {
                skipped += 1;
                for server in lacking {
                    if !missing.contains(&server) {
                        missing.push(server);
                    }
                }
            }
        }
        if skipped > 0 {
            planned.push(skipped_line(&group.label, skipped, &missing));
        }
    }
    let mut seen = HashSet::new();
    for p in &planned {
        if !seen.insert(p.name()) {
            return Err(format!("two tests are named {:?}: register each test once, under its own name", p.name()));
        }
    }
    Ok(planned)
}

/// `postgres conformance: 20 tests skipped — DATAGENIE_TEST_POSTGRES_URL is not set`, with how to run them.
fn skipped_line(label: &str, skipped: usize, missing: &[Server]) -> Planned {
    let vars: Vec<&str> = missing.iter().map(|s| s.var).collect();
    let (vars, verb) = match vars.as_slice() {
        [one] => (one.to_string(), "is"),
        [init @ .., last] => (format!("{} and {last}", init.join(", ")), "are"),
        [] => (String::new(), "is"),
    };
    let tests = if skipped == 1 { "test" } else { "tests" };
    let settings: Vec<String> = missing.iter().map(|s| format!("{}={}", s.var, s.example)).collect();
    Planned::Skipped {
        name: format!("{label}: {skipped} {tests} skipped — {vars} {verb} not set"),
        reason: if missing.len() == 1 {
            format!("setting it runs them, e.g. {}; .ci/run sets it", settings.join(" "))
        } else {
            format!("setting them runs them, e.g. {}; .ci/run sets them", settings.join(" "))
        },
    }
}

/// Runs one test on a thread named after it (so a panic message names the test), an async one on a runtime of its
/// own. A panic fails the test with its message.
fn run_test(name: String, body: Body, runtime: Runtime) -> Result<(), Failed> {
    let thread = std::thread::Builder::new().name(name).spawn(move || match body {
        Body::Sync(f) => f(),
        Body::Async(f) => match runtime.build() {
            Ok(rt) => rt.block_on(f()),
            Err(e) => panic!("cannot start a tokio runtime: {e}"),
        },
    });
    let thread = thread.map_err(|e| Failed::from(format!("cannot start the test's thread: {e}")))?;
    thread.join().map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(a panic without a message)");
        Failed::from(format!("test panicked: {message}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync_test() {}

    async fn async_test() {
        tokio::task::yield_now().await;
    }

    fn panics() {
        panic!("plain");
    }

    async fn panics_later() {
        tokio::task::yield_now().await;
        panic!("boom {}", 7);
    }

    fn names(planned: &[Planned]) -> Vec<String> {
        planned.iter().map(|p| p.name().to_string()).collect()
    }

    fn group() -> Group {
        Group::new("servers")
            .tests(tests![sync_test])
            .needs(POSTGRES, vec![Test::new("servers::pg", || {})])
            .needs(MYSQL, vec![Test::new("servers::my", async_test)])
            .needs_any(&[POSTGRES, MYSQL], vec![Test::new("servers::either", || {})])
    }

    #[test]
    fn names_leave_out_the_binary() {
        assert_eq!(qualified_name("it::doctor", "check"), "doctor::check");
        assert_eq!(qualified_name("conformance::postgres::inner", "x"), "postgres::inner::x");
        assert_eq!(qualified_name("it", "top"), "top");
        assert_eq!(
            tests![sync_test, async_test].iter().map(Test::name).collect::<Vec<_>>(),
            ["tests::sync_test", "tests::async_test"]
        );
    }

    #[test]
    fn without_servers_a_group_shows_one_skipped_line() {
        let planned = plan(vec![group()], &|_| false).expect("plan");
        assert_eq!(
            names(&planned),
            [
                "tests::sync_test",
                "servers: 3 tests skipped — DATAGENIE_TEST_POSTGRES_URL and DATAGENIE_TEST_MYSQL_URL are not set"
            ]
        );
        let Some(Planned::Skipped { reason, .. }) = planned.last() else { panic!("no skipped line") };
        assert!(reason.contains("DATAGENIE_TEST_POSTGRES_URL=postgres://"), "{reason}");
    }

    #[test]
    fn a_set_variable_runs_its_tests_under_their_own_names() {
        let planned = plan(vec![group()], &|s| *s == POSTGRES).expect("plan");
        assert_eq!(
            names(&planned),
            [
                "tests::sync_test",
                "servers::pg",
                "servers::either",
                "servers: 1 test skipped — DATAGENIE_TEST_MYSQL_URL is not set"
            ]
        );
        let planned = plan(vec![group()], &|_| true).expect("plan");
        assert_eq!(planned.len(), 4);
        assert!(planned.iter().all(|p| matches!(p, Planned::Run(_))));
    }

    #[test]
    fn a_test_that_needs_all_runs_only_with_all_and_names_what_is_missing() {
        let both = || Group::new("both").needs_all(&[POSTGRES, REDIS], vec![Test::new("both::t", || {})]);
        let planned = plan(vec![both()], &|s| *s == POSTGRES).expect("plan");
        assert_eq!(names(&planned), ["both: 1 test skipped — DATAGENIE_TEST_REDIS_URL is not set"]);
        let planned = plan(vec![both()], &|s| *s == POSTGRES || *s == REDIS).expect("plan");
        assert_eq!(names(&planned), ["both::t"]);
    }

    #[test]
    fn a_name_registered_twice_is_refused() {
        let twice = Group::new("x").tests(tests![sync_test]).tests(tests![sync_test]);
        let e = plan(vec![twice], &|_| true).err().expect("refused");
        assert!(e.contains("tests::sync_test"), "{e}");
    }

    #[test]
    fn sync_and_async_tests_run_and_panics_fail_them() {
        assert!(run_test("ok".into(), Test::new("t", sync_test).body, Runtime::CurrentThread).is_ok());
        let rt = Runtime::MultiThread { workers: 2 };
        assert!(run_test("ok".into(), Test::new("t", async_test).body, rt).is_ok());
        let failing = Test::new("t", panics_later);
        let e = run_test("failing".into(), failing.body, Runtime::CurrentThread).expect_err("fails");
        assert_eq!(e.message(), Some("test panicked: boom 7"));
        let failing = Test::new("t", panics);
        let e = run_test("failing".into(), failing.body, Runtime::CurrentThread).expect_err("fails");
        assert_eq!(e.message(), Some("test panicked: plain"));
    }
}
