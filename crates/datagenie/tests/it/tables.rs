//! The people's table (`--format table`) keeps each row on one line wherever the terminal's width is unknown: on a
//! pipe (`--format table | less`), and on a terminal that reports 0 columns — a pseudo-terminal nobody sized, as
//! under `script -qc "datagenie demo"` and in some CI logs, where the table used to wrap every cell to one character
//! per line. On a terminal of known width the table is still wrapped to fit it.

use datagenie_testkit::{Group, tests};
use unicode_width::UnicodeWidthStr;

use crate::harness::{Env, shop_db};
use crate::scripted_llm::{ScriptedLlm, sql};

const QUERY: &str = "SELECT id, name, city, signup_date FROM customers ORDER BY id";

/// An environment whose LLM always answers [`QUERY`], and the `ask` arguments for a table of its four rows.
async fn setup() -> (ScriptedLlm, Env, Vec<String>) {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql(QUERY))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let args = ["ask", "--db", &db.display().to_string(), "--format", "table", "--no-summary", "--unmask", "who"]
        .map(String::from)
        .to_vec();
    (llm, env, args)
}

/// Every row of the table whole on one line.
fn assert_rows_on_one_line(stdout: &str) {
    let rows = [
        ["1", "김민준", "서울", "2023-01-05"],
        ["2", "Alice Park", "Busan", "2023-03-10"],
        ["3", "이서연", "서울", "2024-02-01"],
        ["4", "Bob Lee", "NULL", "2024-06-30"],
    ];
    for row in rows {
        assert!(
            stdout.lines().any(|line| row.iter().all(|cell| line.contains(cell))),
            "row {row:?} is not on one line:\n{stdout}"
        );
    }
    assert!(stdout.lines().any(|l| ["id", "name", "city", "signup_date"].iter().all(|h| l.contains(h))), "{stdout}");
}

async fn a_table_into_a_pipe_keeps_each_row_on_one_line() {
    let (_llm, env, args) = setup().await;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env.run(&args).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_rows_on_one_line(&out.stdout);
}

#[cfg(unix)]
async fn a_terminal_of_unknown_width_gets_the_table_unwrapped() {
    let out = run_on_terminal(0).await;
    assert_rows_on_one_line(&out);
}

#[cfg(unix)]
async fn a_terminal_of_known_width_gets_the_table_wrapped_to_fit() {
    let out = run_on_terminal(30).await;
    let table: Vec<&str> = out.lines().filter(|l| l.starts_with(['┌', '│', '╞', '├', '└'])).collect();
    assert!(table.len() > 6, "no table:\n{out}");
    for line in &table {
        assert!(line.width() <= 30, "wider than the terminal's 30 columns: {line:?}\n{out}");
    }
    // Wrapped: some row no longer fits on one line.
    assert!(!out.lines().any(|l| l.contains("Alice Park") && l.contains("2023-03-10")), "not wrapped:\n{out}");
}

/// Runs `ask --format table` with stdout on a new pseudo-terminal `columns` wide (0: never sized) and returns what
/// it printed there.
#[cfg(unix)]
async fn run_on_terminal(columns: u16) -> String {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::Duration;

    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    let (_llm, env, args) = setup().await;
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let terminal = rustix::fs::open(name.as_c_str(), OFlags::RDWR | OFlags::NOCTTY, Mode::empty()).expect("open pts");
    let size = rustix::termios::Winsize { ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0 };
    rustix::termios::tcsetwinsize(&terminal, size).expect("set the terminal's size");

    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = env.command(&args);
    cmd.stdin(Stdio::null()).stdout(Stdio::from(terminal)).stderr(Stdio::piped());
    let child = cmd.spawn().expect("run datagenie");
    drop(cmd); // the parent's end of the terminal: the master reads end-of-file once the child exits
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let (mut out, mut chunk) = (Vec::new(), [0u8; 4096]);
        loop {
            match master.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                // Linux answers EIO on the master once every copy of the terminal is closed.
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => break,
                Err(e) => panic!("reading the terminal: {e}"),
            }
        }
        out
    });
    let done = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("datagenie finished within 120 s")
        .expect("datagenie ran");
    let printed = tokio::task::spawn_blocking(move || reader.join().expect("reader")).await.expect("join");
    let printed = String::from_utf8_lossy(&printed).replace("\r\n", "\n");
    assert_eq!(done.status.code(), Some(0), "{printed}\n{}", String::from_utf8_lossy(&done.stderr));
    printed
}

pub fn tests() -> Group {
    let group = Group::new("tables").tests(tests![a_table_into_a_pipe_keeps_each_row_on_one_line]);
    // Pseudo-terminals through rustix.
    #[cfg(unix)]
    let group = group.tests(tests![
        a_terminal_of_unknown_width_gets_the_table_unwrapped,
        a_terminal_of_known_width_gets_the_table_wrapped_to_fit,
    ]);
    group
}
