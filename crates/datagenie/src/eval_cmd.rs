//! `datagenie eval`: execution accuracy over a question set in Spider's format, as a benchmark or as a regression
//! gate (`--min-accuracy`). Parsing and printing only; the work is `datagenie_app::eval`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use datagenie_app::config::{Origin, ProviderKind};
use datagenie_app::database::DatabaseChoice;
use datagenie_app::eval::{self, CalibrationReport, EvalOptions, EvalReport, Predictor, QuestionSet, Split};
use datagenie_core::builtin::calibrate;
use datagenie_core::{Error, ErrorCode, SecretUrl};

#[derive(Args)]
pub struct EvalArgs {
    /// Questions: a JSON array of {db_id, question, query}.
    #[arg(long, value_name = "FILE.json", required_unless_present = "templates", requires = "db_dir")]
    questions: Option<PathBuf>,
    /// Databases: DIR/<db_id>/<db_id>.sqlite.
    #[arg(long, value_name = "DIR", requires = "questions")]
    db_dir: Option<PathBuf>,
    /// Score the provider on this database's verified templates instead of a question file: every phrasing, with
    /// example slot values, is asked (templates set aside) and compared with the template's own SQL.
    #[arg(long, conflicts_with_all = ["questions", "db_dir", "db_id"])]
    templates: bool,
    /// The database of --templates (default: the configured database, else the demo database).
    #[arg(long, value_name = "URL", requires = "templates")]
    db: Option<SecretUrl>,
    /// Who answers: the built-in engine (no LLM) or an LLM provider through the ask pipeline (endpoint, model and
    /// key from configuration). Default: the configured provider.
    #[arg(long, value_enum)]
    provider: Option<ProviderArg>,
    /// Write the per-question report (JSON) to this file (with --calibrate: every reading before the threshold).
    #[arg(long, value_name = "OUT.json")]
    report: Option<PathBuf>,
    /// Exit 1 (accuracy_below_threshold) when the accuracy is below this ratio, e.g. 0.4.
    #[arg(long, value_name = "RATIO")]
    min_accuracy: Option<f64>,
    /// Only the first N questions (after --db-id).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Only the questions on this database.
    #[arg(long, value_name = "DB_ID")]
    db_id: Option<String>,
    /// Time limit per query, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// The date relative dates are read from ("last month"), YYYY-MM-DD. Default: today. Fix it for a gate.
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: EvalFormat,
    /// Only the questions on one part of Spider's training databases: `tune` (what the built-in engine's confidence
    /// is fitted on) or `validation` (held out). The part of a database is fixed by its db_id (see
    /// docs/builtin-engine-spider.md). Default: every database.
    #[arg(long, value_enum, conflicts_with = "templates")]
    split: Option<SplitArg>,
    /// Fit the built-in engine's confidence factors and threshold on the selected questions (use with
    /// `--split tune`) and print the table to paste into crates/datagenie-core/src/builtin/doubt.rs; nothing is scored.
    #[arg(long, requires = "questions", conflicts_with = "min_accuracy")]
    calibrate: bool,
    /// With --calibrate: the wrong rate the fitted threshold may reach on the selected questions.
    #[arg(long, value_name = "RATIO", default_value_t = 0.05, requires = "calibrate")]
    max_wrong_rate: f64,
    /// Record the built-in engine's reading of each question in the report (for debugging the engine).
    #[arg(long, hide = true)]
    explain: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SplitArg {
    Tune,
    Validation,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProviderArg {
    Builtin,
    Openai,
    Anthropic,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EvalFormat {
    Text,
    Json,
}

pub async fn run(config_path: Option<PathBuf>, args: EvalArgs) -> Result<u8, Error> {
    if let Some(min) = args.min_accuracy
        && !(0.0..=1.0).contains(&min)
    {
        return Err(Error::new(ErrorCode::InvalidArgument, "--min-accuracy must be a ratio between 0 and 1"));
    }
    if !(0.0..=1.0).contains(&args.max_wrong_rate) {
        return Err(Error::new(ErrorCode::InvalidArgument, "--max-wrong-rate must be a ratio between 0 and 1"));
    }
    if args.calibrate && args.split == Some(SplitArg::Validation) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "--calibrate never fits on the validation databases: they measure the fitted table (use --split tune)",
        ));
    }
    if args.calibrate && args.provider.is_some_and(|p| p != ProviderArg::Builtin) {
        return Err(Error::new(ErrorCode::InvalidArgument, "--calibrate fits the built-in engine: --provider builtin"));
    }
    if args.timeout == 0 {
        return Err(Error::new(ErrorCode::InvalidArgument, "--timeout must be at least 1 second"));
    }
    let today = match &args.today {
        Some(t) => {
            if !is_date(t) {
                return Err(Error::new(ErrorCode::InvalidArgument, format!("--today '{t}' is not YYYY-MM-DD")));
            }
            t.clone()
        }
        None => datagenie_app::today(),
    };
    let mut config = crate::load_config(config_path)?;
    if let Some(p) = args.provider {
        config.llm.provider = match p {
            ProviderArg::Builtin => ProviderKind::Builtin,
            ProviderArg::Openai => ProviderKind::Openai,
            ProviderArg::Anthropic => ProviderKind::Anthropic,
        };
        config.llm_origin = Origin::Flag("--provider".into());
    }
    let set = match (args.questions, args.db_dir) {
        (Some(questions), Some(db_dir)) => QuestionSet::Spider { questions, db_dir },
        _ => {
            let database = DatabaseChoice::resolve(&config, args.db.as_ref())?;
            QuestionSet::Templates { store: datagenie_app::system::open_catalog(&config).await?.templates, database }
        }
    };
    let cache_dir = config.cache_dir()?;
    let predictor = match config.llm.provider {
        _ if args.calibrate => Predictor::Builtin,
        ProviderKind::Builtin => Predictor::Builtin,
        _ => Predictor::Ask(Box::new(config)),
    };
    let options = EvalOptions {
        set,
        predictor,
        limit: args.limit,
        db_id: args.db_id,
        today,
        timeout: Duration::from_secs(args.timeout),
        explain: args.explain,
        cache_dir,
        split: args.split.map(|s| match s {
            SplitArg::Tune => Split::Tune,
            SplitArg::Validation => Split::Validation,
        }),
    };
    if args.calibrate {
        let fit_options = calibrate::Options { max_wrong_rate: args.max_wrong_rate, ..calibrate::Options::default() };
        let report = eval::calibrate(&options, &fit_options).await?;
        if let Some(path) = &args.report {
            let text = serde_json::to_string_pretty(&report.readings)
                .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
            std::fs::write(path, text + "\n")
                .map_err(|e| Error::new(ErrorCode::OutputFailed, format!("cannot write {}: {e}", path.display())))?;
        }
        let mut out = std::io::stdout().lock();
        return print_calibration(&mut out, &report, &fit_options)
            .and_then(|_| out.flush())
            .map(|_| 0)
            .map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()));
    }
    let report = eval::run(&options).await?;
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| Error::new(ErrorCode::OutputFailed, format!("cannot write {}: {e}", path.display())))?;
    }
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        EvalFormat::Json => {
            let v = serde_json::json!({
                "provider": report.provider,
                "overall": report.overall,
                "per_database": report.per_database,
            });
            writeln!(out, "{v}")
        }
        EvalFormat::Text => print_text(&mut out, &report, args.report.as_ref()),
    };
    written.and_then(|_| out.flush()).map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()))?;
    if let Some(min) = args.min_accuracy
        && report.overall.accuracy < min
    {
        return Err(Error::new(
            ErrorCode::AccuracyBelowThreshold,
            format!("accuracy {:.4} is below the required {min:.4}", report.overall.accuracy),
        ));
    }
    Ok(0)
}

fn print_text(out: &mut impl Write, r: &EvalReport, report: Option<&PathBuf>) -> std::io::Result<()> {
    let o = &r.overall;
    let scored = o.questions - o.gold_errors;
    writeln!(out, "eval: {} questions on {} databases, provider {}", o.questions, r.per_database.len(), r.provider)?;
    writeln!(out, "  accuracy   {:5.1}%  ({} right of {scored} scored)", o.accuracy * 100.0, o.right)?;
    writeln!(
        out,
        "  wrong      {:5.1}%  ({} answered wrong, {} of them failed to run)",
        o.wrong_rate * 100.0,
        o.wrong,
        o.errors
    )?;
    writeln!(out, "  abstained  {:5.1}%  ({})", pct(o.abstained, scored), o.abstained)?;
    if o.gold_errors > 0 {
        writeln!(out, "  gold errors: {} (not scored)", o.gold_errors)?;
    }
    writeln!(out, "  time per question: mean {:.1} ms, p50 {:.1} ms, p95 {:.1} ms", o.mean_ms, o.p50_ms, o.p95_ms)?;
    if o.engine_p95_ms > 0.0 {
        writeln!(
            out,
            "  engine reading alone (no query run): p50 {:.2} ms, p95 {:.2} ms",
            o.engine_p50_ms, o.engine_p95_ms
        )?;
    }
    if r.per_database.len() > 1 {
        let mut dbs: Vec<_> = r.per_database.iter().filter(|d| d.summary.questions > d.summary.gold_errors).collect();
        dbs.sort_by(|a, b| a.summary.accuracy.total_cmp(&b.summary.accuracy).then(a.db_id.cmp(&b.db_id)));
        let shown: Vec<String> =
            dbs.iter().take(5).map(|d| format!("{} {:.0}%", d.db_id, d.summary.accuracy * 100.0)).collect();
        writeln!(out, "  lowest accuracy: {}", shown.join(", "))?;
    } else if let Some(d) = r.per_database.first() {
        writeln!(out, "  database {}: {:.1}%", d.db_id, d.summary.accuracy * 100.0)?;
    }
    if let Some(p) = report {
        writeln!(out, "  report: {}", p.display())?;
    }
    Ok(())
}

fn print_calibration(out: &mut impl Write, r: &CalibrationReport, options: &calibrate::Options) -> std::io::Result<()> {
    let c = &r.calibration;
    let part = r.split.map(Split::as_str).unwrap_or("all");
    let scored = r.questions - r.gold_errors;
    writeln!(
        out,
        "calibration on {} questions on {} databases (split: {part}); {} gold errors not scored; {:.0} s",
        r.questions, r.databases, r.gold_errors, r.seconds
    )?;
    writeln!(
        out,
        "  readings: {} of {scored} scored questions ({} right ungated); {} with no reading",
        scored - r.unreadable,
        r.readings_right,
        r.unreadable
    )?;
    writeln!(
        out,
        "  fit: logistic, L2 {} on the feature weights, {} sweeps; threshold: most right with wrong <= {:.1} %",
        options.l2,
        c.sweeps,
        options.max_wrong_rate * 100.0
    )?;
    for (name, s) in [("current table", &c.before), ("fitted table", &c.score)] {
        writeln!(
            out,
            "  {name:<14} right {:5.1} %  wrong {:5.1} %  abstained {:5.1} %  ({} right, {} wrong of {})",
            s.right_rate() * 100.0,
            s.wrong_rate() * 100.0,
            100.0 - (s.right_rate() + s.wrong_rate()) * 100.0,
            s.right,
            s.wrong,
            s.questions
        )?;
    }
    writeln!(out, "\n  feature                     readings  right   before  after")?;
    for f in &c.features {
        writeln!(
            out,
            "  {:<27} {:>8} {:>6}   {:>6.3}  {:>6.3}{}",
            f.name,
            f.samples,
            f.right,
            f.before,
            f.after,
            if f.fitted { "" } else { "  kept (no reading has it)" }
        )?;
    }
    writeln!(out, "\n// Paste into crates/datagenie-core/src/builtin/doubt.rs:")?;
    write!(out, "{}", c.table.to_rust())
}

/// `YYYY-MM-DD` with a real month and day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit())).and_then(|p| p.parse::<u32>().ok())
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else { return false };
    i32::try_from(y).is_ok_and(|y| datagenie_core::calendar::is_valid_date(y, m, d))
}

fn pct(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 * 100.0 / of as f64 }
}
