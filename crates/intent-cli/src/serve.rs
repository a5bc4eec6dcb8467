//! `intent serve` and `intent keys`: the composition root of the service.

use anyhow::{Context, Result};
use intent_server::auth::{hash_secret, new_secret};
use intent_server::{AppState, Config};
use intent_store::{KeyKind, Keys, SqliteStore, Store};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The store folder (SQLite, created when missing).
    #[arg(long, env = "INTENT_DATA", default_value = "intent-data")]
    pub data: PathBuf,
    /// The plan file; stored as a new version when it differs from the live one.
    #[arg(long, env = "INTENT_PLAN", default_value = "plans/showroom.yaml")]
    pub plan: PathBuf,
    /// Address to listen on (`:0` picks a free port; the chosen address is printed).
    #[arg(long, env = "INTENT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Watch the plan file: a valid change becomes a new version, rescored in the background.
    #[arg(long)]
    pub watch: bool,
    /// Feed the server a simulated showroom day (sped up: a day a minute) so leads arrive and
    /// turn hot within a minute.
    #[arg(long)]
    pub demo: bool,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
    /// Webhook attempts before a delivery goes to the dead-letter list.
    #[arg(long, env = "INTENT_WEBHOOK_ATTEMPTS", default_value_t = 8)]
    pub webhook_attempts: u32,
    /// The first webhook retry's delay in milliseconds; it doubles per attempt (with jitter),
    /// up to an hour.
    #[arg(long, env = "INTENT_WEBHOOK_RETRY_MS", default_value_t = 5_000)]
    pub webhook_retry_ms: u64,
    /// How long a webhook receiver may take to answer, in milliseconds.
    #[arg(long, env = "INTENT_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
}

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Make a key and print its secret once (only its hash is stored).
    Create {
        /// The store folder.
        #[arg(long, env = "INTENT_DATA", default_value = "intent-data")]
        data: PathBuf,
        /// `write` (ingest only) or `admin` (read and manage).
        #[arg(long, default_value = "write")]
        kind: String,
        /// The source it stands for (website, kiosk-fleet, crm-import) or the admin's name.
        #[arg(long)]
        name: String,
    },
    /// List keys (ids, kinds, names; never secrets).
    List {
        /// The store folder.
        #[arg(long, env = "INTENT_DATA", default_value = "intent-data")]
        data: PathBuf,
    },
    /// Refuse a key from now on.
    Revoke {
        /// The store folder.
        #[arg(long, env = "INTENT_DATA", default_value = "intent-data")]
        data: PathBuf,
        /// The key's id (from `intent keys list`).
        id: i64,
    },
}

fn open(data: &std::path::Path) -> Result<SqliteStore> {
    SqliteStore::open(data).with_context(|| format!("opening store at {}", data.display()))
}

pub fn keys(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Create { data, kind, name } => {
            let kind = KeyKind::parse(&kind)
                .with_context(|| format!("--kind `{kind}`: use `write` or `admin`"))?;
            let mut store = open(&data)?;
            let secret = new_secret(kind);
            store.add_key(kind, &name, &hash_secret(&secret), intent_server::now_ms())?;
            println!("{secret}");
            eprintln!(
                "{} key for `{name}` stored in {} (shown once: keep it)",
                kind.as_str(),
                data.display()
            );
        }
        KeysCommand::List { data } => {
            let store = open(&data)?;
            for k in store.keys()? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    k.id,
                    k.kind.as_str(),
                    k.name,
                    intent_core::time::format_timestamp(k.created_at),
                    if k.revoked { "\trevoked" } else { "" }
                );
            }
        }
        KeysCommand::Revoke { data, id } => {
            open(&data)?.revoke_key(id)?;
            eprintln!("key {id} revoked");
        }
    }
    Ok(())
}

pub fn serve(a: ServeArgs) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INTENT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if a.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    let text = std::fs::read_to_string(&a.plan)
        .with_context(|| format!("reading plan {}", a.plan.display()))?;
    let plan = crate::load_plan(&a.plan)?;
    let data = a.data.clone();
    let mut first = open(&data)?;
    let fresh_keys = if first.keys()?.is_empty() {
        let w = new_secret(KeyKind::Write);
        let ad = new_secret(KeyKind::Admin);
        let now = intent_server::now_ms();
        first.add_key(KeyKind::Write, "default", &hash_secret(&w), now)?;
        first.add_key(KeyKind::Admin, "admin", &hash_secret(&ad), now)?;
        Some((w, ad))
    } else {
        None
    };
    drop(first);
    let opener: intent_server::live::Opener = Arc::new(move || {
        SqliteStore::open(&data)
            .map(|s| Box::new(s) as Box<dyn Store>)
            .map_err(|e| e.to_string())
    });
    let analyst_opener = opener.clone();
    let analyst: intent_server::dashboard::Analyst =
        Arc::new(move |req| analyse(&analyst_opener, req).map_err(|e| format!("{e:#}")));
    let config = Config {
        opener,
        plan: (plan, text, a.plan.display().to_string()),
        watch: a.watch.then(|| a.plan.clone()),
        webhooks: intent_server::webhook::WebhookConfig {
            attempts: a.webhook_attempts.max(1),
            backoff: std::time::Duration::from_millis(a.webhook_retry_ms),
            timeout: std::time::Duration::from_millis(a.webhook_timeout_ms),
            ..Default::default()
        },
        analyst: Some(analyst),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let service = intent_server::start(config)?;
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("listening on {}", a.listen))?;
        let addr = listener.local_addr()?;
        {
            // One write: a caller that reads only the first line and closes the pipe must not
            // make the later lines fail (and the service stop).
            use std::fmt::Write as _;
            let mut text = String::new();
            let _ = writeln!(text, "listening on http://{addr}");
            let _ = writeln!(text, "dashboard: http://{addr}/ (log in with an admin token)");
            if let Some((w, ad)) = &fresh_keys {
                let _ = writeln!(text, "first start: made a write key and an admin token (shown once)");
                let _ = writeln!(text, "  write key   {w}");
                let _ = writeln!(text, "  admin token {ad}");
                let _ = writeln!(
                    text,
                    "  try: curl -u {w}: http://{addr}/v1/track -d '{{\"userId\":\"u1\",\"event\":\"CTA Tapped\",\"properties\":{{\"cta\":\"ask_person\"}}}}'"
                );
                let _ = writeln!(
                    text,
                    "       curl -H 'Authorization: Bearer {ad}' 'http://{addr}/v1/queue?tier=hot'"
                );
            }
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                tracing::warn!(error = %e, "writing the start-up lines to stdout");
            }
        }
        if a.demo {
            tokio::spawn(demo(service.state.clone()));
        }
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("signal handler");
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
            tracing::info!("shutting down");
        };
        intent_server::serve(service.state, listener, shutdown).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}

/// A simulated showroom day, a day a minute: `intent gen` traffic with its times mapped onto
/// the next minutes, fed in batches as the clock reaches them.
async fn demo(state: AppState) {
    use intent_core::time::{DAY, format_timestamp};
    let now = intent_server::now_ms();
    let start = now - now.rem_euclid(DAY) - DAY;
    let cfg = intent_gen::GenConfig {
        profiles: 3000,
        days: 1,
        seed: now as u64,
        start,
    };
    let mut out = Vec::new();
    if let Err(e) = intent_gen::generate(&cfg, &mut out, &mut |_| {}) {
        tracing::warn!(error = %e, "demo: generating traffic");
        return;
    }
    let mut lines: Vec<Value> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    let ts = |v: &Value| {
        v.get("timestamp")
            .and_then(Value::as_str)
            .and_then(|s| intent_core::time::parse_timestamp(s).ok())
            .unwrap_or(start)
    };
    lines.sort_by_key(ts);
    let speed = 1440; // a day a minute
    tracing::info!(events = lines.len(), "demo: a showroom day, a day a minute");
    let mut i = 0;
    while i < lines.len() {
        let elapsed = (intent_server::now_ms() - now) * speed;
        let mut batch = Vec::new();
        while i < lines.len() && ts(&lines[i]) - start <= elapsed && batch.len() < 500 {
            let mut m = std::mem::take(&mut lines[i]);
            let at = now + (ts(&m) - start) / speed;
            m["timestamp"] = Value::String(format_timestamp(at));
            batch.push(m.to_string());
            i += 1;
        }
        if !batch.is_empty() {
            if let Err(e) = intent_server::api::ingest_lines(&state, &batch, "demo").await {
                tracing::warn!(error = e.message, "demo feed");
            }
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    tracing::info!("demo: the day is over");
}

/// The dashboard's analysis: the weekly review and the recommended plan, from the store's log
/// scored with the live plan (the batch reader and the learner, as `intent report weekly` and
/// `intent learn` run them on files).
fn analyse(
    opener: &intent_server::live::Opener,
    req: &intent_server::dashboard::AnalysisRequest,
) -> Result<intent_server::dashboard::Analysis> {
    let plan = intent_core::plan::Plan::parse(&req.plan_text, "live plan")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let scorer = intent_core::score::Scorer::new(plan);
    let store = opener().map_err(anyhow::Error::msg)?;
    let mut loaded = crate::batch::load_store(&scorer, &*store)?;
    if loaded.decoded() == 0 {
        anyhow::bail!("the event log is empty");
    }
    // Learning needs two horizons of history before the last one (train, then validate): a
    // young store learns from a shorter horizon (a third of its history, whole days, at least
    // one) rather than from nothing.
    let mut window = crate::learn::Window::default();
    let span_days = (loaded.max_ts - loaded.min_ts) / intent_core::time::DAY;
    if span_days < 90 {
        window.horizon = format!("{}d", (span_days / 3).max(1));
    }
    let weekly = crate::learn::weekly(
        &scorer,
        &mut loaded,
        &req.plan_text,
        &window,
        Some(Ok(req.sla.clone())),
    )?;
    Ok(intent_server::dashboard::Analysis {
        en: weekly.en,
        pl: weekly.pl,
        recommended: weekly.recommended,
        events: loaded.unique() as u64,
        profiles: loaded.profiles() as u64,
    })
}
