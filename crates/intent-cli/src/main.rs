//! `intent`: generate traffic, check plans, replay history into scores, explain a score, measure
//! the scoring core, and run the service.

mod batch;
mod bench;
mod bench_serve;
mod desk;
mod history;
mod import;
mod input;
mod learn;
mod output;
mod progress;
mod send;
mod serve;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use intent_core::plan::Plan;
use intent_core::time::{DAY, format_timestamp, parse_timestamp};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "intent",
    version,
    about = "Intent Engine: behavioural intent and lead scoring"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write seeded, realistic dealership traffic as Segment NDJSON to stdout.
    Gen(GenArgs),
    /// Work with plan files.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Score every profile in NDJSON history (plain or gzip) as of a moment; print the hot list.
    Replay(ReplayArgs),
    /// Explain one profile's score as a ledger: which event, which rule, how much is left.
    Explain(ExplainArgs),
    /// Measure the scoring core: events per second, allocations, bytes of state per profile.
    Bench(bench::BenchArgs),
    /// Run the service: Segment-compatible ingestion, live scores, the queue, plan versions.
    Serve(serve::ServeArgs),
    /// Post NDJSON history to a running server's `/v1/batch` (e.g. `intent gen | intent send`).
    Send(send::SendArgs),
    /// Turn a CSV export (CRM, shop, data set) into Segment NDJSON with a YAML column mapping.
    Import(import::ImportArgs),
    /// Make, list and revoke write keys and admin tokens.
    Keys {
        #[command(subcommand)]
        command: serve::KeysCommand,
    },
    /// The follow-up queue on a running server: list, show, claim, snooze, reassign, complete.
    Tasks(desk::TasksArgs),
    /// Webhook subscriptions on a running server, and their deliveries.
    Webhooks {
        #[command(subcommand)]
        command: desk::WebhooksCommand,
    },
    /// Score everyone as of a cutoff and compare with what happened next: ROC and PR AUC,
    /// lift, precision at k, conversion per tier, and tier changes between two plans.
    Backtest(learn::BacktestArgs),
    /// Fit weights to outcomes and write a plan with learned points and a calibrated model.
    Learn(learn::LearnArgs),
    /// Reports: SLA (from a running server), funnel, signals, paths, journeys and the weekly
    /// review (from history files).
    Report {
        #[command(subcommand)]
        command: desk::ReportCommand,
    },
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Validate plan files; errors name the file, line and column.
    Check {
        /// Plan files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct GenArgs {
    /// Number of people (profiles) to simulate.
    #[arg(long, default_value_t = 10_000)]
    profiles: u64,
    /// Days of history.
    #[arg(long, default_value_t = 60)]
    days: u32,
    /// Random seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First day (UTC date or timestamp).
    #[arg(long, default_value = "2026-01-01")]
    start: String,
    /// Write to this file instead of stdout (`.gz` compresses).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Output format of tables.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON lines for machines.
    Json,
    /// CSV with a header.
    Csv,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The plan file.
    #[arg(long, default_value = "plans/showroom.yaml")]
    plan: PathBuf,
    /// Score as of this moment (default: the latest event time in the input).
    #[arg(long)]
    at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Which tiers to list: a tier name, or `all` (default: the top tier).
    #[arg(long)]
    tier: Option<String>,
    /// At most this many rows (default: 25 in a table, all otherwise).
    #[arg(long)]
    limit: Option<usize>,
    /// NDJSON files, plain or gzip; `-` or nothing reads stdin.
    files: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ExplainArgs {
    /// The plan file.
    #[arg(long, default_value = "plans/showroom.yaml")]
    plan: PathBuf,
    /// Any id of the profile: `user:<id>`, `anon:<id>`, or a bare user or anonymous id.
    #[arg(long)]
    profile: String,
    /// Explain as of this moment (default: the latest event time in the input).
    #[arg(long)]
    at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// NDJSON files, plain or gzip (read twice, so not stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Gen(a) => gen_cmd(a),
        Command::Plan {
            command: PlanCommand::Check { files },
        } => plan_check(&files),
        Command::Replay(a) => replay(a),
        Command::Explain(a) => explain(a),
        Command::Bench(a) => bench::run(a),
        Command::Serve(a) => serve::serve(a),
        Command::Send(a) => send::run(a),
        Command::Import(a) => import::run(a),
        Command::Keys { command } => serve::keys(command),
        Command::Tasks(a) => desk::tasks(a),
        Command::Webhooks { command } => desk::webhooks(command),
        Command::Backtest(a) => learn::backtest(a),
        Command::Learn(a) => learn::learn(a),
        Command::Report { command } => desk::report(command),
    };
    if let Err(e) = result {
        // A closed pipe (`intent replay ... | head`) is not an error.
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        {
            std::process::exit(0);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Reads and validates a plan file.
pub fn load_plan(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading plan {}", path.display()))?;
    Plan::parse(&text, &path.display().to_string()).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn parse_moment(text: &str) -> Result<i64> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    parse_timestamp(&full).map_err(|e| anyhow::anyhow!("--at/--start `{text}`: {e}"))
}

fn plan_check(files: &[PathBuf]) -> Result<()> {
    let mut failed = 0;
    for f in files {
        match load_plan(f) {
            Ok(plan) => println!(
                "{}: ok — {} signals, {} fit rules, {} sequences, {} tiers, {} overrides, {} disqualifiers",
                f.display(),
                plan.signals.len(),
                plan.fit_rules.len(),
                plan.sequences.len(),
                plan.levels.len(),
                plan.overrides.len(),
                plan.disqualifiers.len()
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} plan files have errors", files.len());
    }
    Ok(())
}

fn gen_cmd(a: GenArgs) -> Result<()> {
    let start = parse_moment(&a.start)?;
    let cfg = intent_gen::GenConfig {
        profiles: a.profiles,
        days: a.days,
        seed: a.seed,
        start: start - start.rem_euclid(DAY),
    };
    let bar = progress::bar(a.profiles, "profiles");
    let mut tick = |done: u64| bar.set_position(done);
    let began = Instant::now();
    let stats = match &a.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            if path.extension().is_some_and(|e| e == "gz") {
                let mut gz = flate2::write::GzEncoder::new(
                    BufWriter::with_capacity(1 << 20, file),
                    flate2::Compression::fast(),
                );
                let s = intent_gen::generate(&cfg, &mut gz, &mut tick)?;
                gz.finish()?.flush()?;
                s
            } else {
                let mut w = BufWriter::with_capacity(1 << 20, file);
                let s = intent_gen::generate(&cfg, &mut w, &mut tick)?;
                w.flush()?;
                s
            }
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut w = BufWriter::with_capacity(1 << 20, stdout);
            let s = intent_gen::generate(&cfg, &mut w, &mut tick)?;
            w.flush()?;
            s
        }
    };
    bar.finish_and_clear();
    if std::io::stderr().is_terminal() || a.output.is_some() {
        let secs = began.elapsed().as_secs_f64();
        eprintln!(
            "generated {} events for {} profiles ({} identified; {} appointments, {} test drives, {} sales, {} lost; {} retried duplicates) in {:.1} s",
            stats.events,
            stats.profiles,
            stats.identified,
            stats.appointments,
            stats.test_drives,
            stats.sales,
            stats.lost,
            stats.duplicates,
            secs
        );
    }
    Ok(())
}

fn replay(a: ReplayArgs) -> Result<()> {
    let plan = load_plan(&a.plan)?;
    let at = a.at.as_deref().map(parse_moment).transpose()?;
    let tier = match a.tier.as_deref() {
        None => Some(0u8),
        Some("all") => None,
        Some(name) => Some(tier_index(&plan, name)?),
    };
    let began = Instant::now();
    let scorer = intent_core::score::Scorer::new(plan);
    let mut loaded = batch::load(&scorer, &a.files)?;
    if at.is_none() && loaded.decoded() == 0 {
        loaded.report_problems();
        bail!(
            "no events in the input ({} lines read, {} rejected)",
            loaded.lines,
            loaded.rejected
        );
    }
    let now = at.unwrap_or(loaded.max_ts);
    loaded.resolve(now);
    let result = batch::score(&scorer, &loaded, now);
    let secs = began.elapsed().as_secs_f64();
    let limit = a.limit.or((a.format == Format::Table).then_some(25));
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    output::profiles(&mut out, a.format, &scorer, &loaded, &result, tier, limit)?;
    out.flush()?;
    loaded.report_problems();
    eprintln!("{}", batch::summary(&scorer, &loaded, &result, now, secs));
    Ok(())
}

fn tier_index(plan: &Plan, name: &str) -> Result<u8> {
    if name == "disqualified" {
        return Ok(intent_core::score::DISQUALIFIED);
    }
    plan.levels
        .iter()
        .position(|l| l.name == name)
        .map(|i| i as u8)
        .with_context(|| {
            let names: Vec<&str> = plan.levels.iter().map(|l| l.name.as_str()).collect();
            format!(
                "no tier `{name}`; the plan has {}, disqualified, or use `all`",
                names.join(", ")
            )
        })
}

fn explain(a: ExplainArgs) -> Result<()> {
    if a.files.iter().any(|f| f.as_os_str() == "-") {
        bail!("explain reads its input twice: give files, not stdin");
    }
    let plan = load_plan(&a.plan)?;
    let scorer = intent_core::score::Scorer::new(plan);
    let mut loaded = batch::load(&scorer, &a.files)?;
    let now = match a.at.as_deref() {
        Some(t) => parse_moment(t)?,
        None => loaded.max_ts,
    };
    loaded.resolve(now);
    let Some(profile) = loaded.find_profile(&a.profile) else {
        bail!("no profile has the id `{}` in the input", a.profile);
    };
    let events = batch::profile_events(&loaded, profile, &a.files)?;
    let mut classes = Vec::with_capacity(events.len());
    for e in &events {
        let mut c = intent_core::score::Classified::default();
        scorer.classify(e, &mut c);
        classes.push(c);
    }
    // `resolve(now)` left only the events at or before `now`.
    let pairs: Vec<_> = events.iter().zip(&classes).collect();
    let (x, _) = intent_core::explain::explain(&scorer, &pairs, now);
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let name = loaded.profile_name(profile);
    let members = loaded.member_names(profile);
    output::explanation(&mut out, a.format, &name, &members, &x, now)?;
    out.flush()?;
    if a.format == Format::Table {
        eprintln!("as of {}", format_timestamp(now));
    }
    Ok(())
}
