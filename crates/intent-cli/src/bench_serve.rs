//! `intent bench serve`: the whole ingestion service, measured from outside, on loopback.
//!
//! # Method
//!
//! One run measures, in order:
//!
//! 1. **Disk**: 200 appends of 4 KiB, each followed by `fdatasync` (`File::sync_data`), in the
//!    benchmark's data folder: the floor under every durable commit.
//! 2. **Payloads** (not timed): `intent gen` traffic for `--pool-profiles` profiles, re-sent
//!    duplicates dropped, cut into `/v1/batch` bodies of `--batch-size` messages
//!    (`{"batch":[...]}`), in arrival order. The `track` messages among them, sliced out of the
//!    batch bodies without copying, are the single-message bodies for `/v1/track`. Every message
//!    id is distinct. A phase that needs more bodies than the pool holds goes round again with
//!    `~b<round>` appended to every message id and every user, anonymous and previous id
//!    (`~t<round>` for single messages, always), so the intent server never sees a repeated id
//!    (repeats would be acknowledged as duplicates, which is cheaper than storing) nor old events
//!    of people it knows (late events, which it rescores from their whole history): each round is
//!    new people. The same bodies go to both servers.
//! 3. **Two servers**, each a separate process of this binary on `127.0.0.1:0`, with a
//!    multi-thread tokio runtime: `intent serve` on a fresh data folder (durable: every
//!    acknowledged batch is committed to SQLite in WAL mode with `synchronous=FULL`), and a
//!    do-nothing comparator (`intent bench null-server`, hidden) whose `/v1/batch` and
//!    `/v1/track` parse the body with `serde_json` into a `Value` and answer `{"success":true}`.
//!    The ratio of the two is what durability, validation, normalization and scoring cost over
//!    the HTTP and JSON floor of the same stack.
//! 4. **Maximum throughput**, closed loop: `--connections` keep-alive HTTP/1.1 connections (64
//!    by default for single messages), each sending its next request as soon as the previous
//!    one is answered, for `--warmup` seconds (not counted) and then `--seconds` seconds.
//!    Acknowledged (HTTP 200) events or requests completed inside the window are counted; any
//!    other status is an error, reported with its count and the first body. The intent server's
//!    acknowledgements are read too: how many messages it stored, found duplicate or rejected.
//! 5. **Latency at a fixed load**, open loop: batches offered at `--load` (70%) of the intent
//!    server's measured maximum, on a fixed schedule kept by a pacing thread (an OS timer, finer
//!    than tokio's 1 ms wheel). Any free connection takes the next scheduled batch; latency is
//!    measured from the *scheduled* send time to the acknowledgement, so a stall delays every
//!    batch behind it and shows in the percentiles (no coordinated omission).
//! 6. **Webhook delivery**, event to `tier.changed` at a subscriber (issue #4: p99 at most 50 ms
//!    under the batch load of this benchmark). A receiver in this process (a loopback
//!    `TcpListener`, a thread per keep-alive HTTP/1.1 connection, `200` with an empty body at
//!    once) is subscribed to `tier.changed` only (`POST /v1/webhooks` with an admin token). A
//!    probe thread with its own runtime and connection sends, every 50 ms, one `/v1/track` of
//!    `CTA Tapped` with `properties.cta: ask_person` for a user never seen before
//!    (`probe-<n>`): the showroom plan's override makes that profile hot at once, so each probe
//!    makes exactly one `tier.changed` whose `data.profile` is `user:probe-<n>`. Its latency runs
//!    from just before the request is sent to the moment the receiver has read the delivery's
//!    body (at least once delivery: the first one counts); a probe not delivered within 5 s is
//!    lost and counts as slower than any delivered one. Three phases of `--seconds` each: no
//!    other load; the latency phase's paced batch load (`--load` of the maximum, open loop, as in
//!    step 5), the load the target is judged at, since a latency target only means something at
//!    a load the server sustains; and the maximum-throughput batch load (closed loop, as in step
//!    4), for comparison: there every request waits in a queue that the number of connections
//!    keeps full. Before each phase one probe is sent and its delivery awaited, so work left
//!    over from earlier phases is done. Where the time went: send to acknowledgement (the event
//!    committed and scored, its profile queued for the follow-up desk), send to the desk's look
//!    (the announcement's `timestamp`, in whole milliseconds) and from there to the receiver
//!    (the outbox commit, the dispatcher and the POST), by the wall clock, which the server
//!    shares.
//! 7. **Restart**: a fresh data folder holding the log of `--restart-profiles` generated
//!    profiles, written straight into the store (`SqliteStore` + `EventLog::append`, 50,000
//!    messages per transaction), then `intent serve` on it, timed from process spawn until
//!    `/readyz` answers 200 (the rebuild of live state from the log). The log was just written,
//!    so it is read from the page cache.
//!
//! Peak RSS is each process's `VmHWM` from `/proc/<pid>/status`. CPU is `utime + stime` from
//! `/proc/<pid>/stat` over the measured window, in cores (1.0 = one core busy throughout): the
//! server's, its busiest thread's (a single thread near 1.0 is a serial bottleneck however many
//! cores there are), the load generator's, and every other process's (from `/proc/stat`): a
//! figure taken while something else keeps the machine busy says little.
//!
//! # The load generator and the two cores
//!
//! The load generator runs in this process on a **current-thread** tokio runtime: it can use at
//! most one core, and it needs much less than the server per request (it never parses a request
//! body, only the small acknowledgements), so on a two-core machine the server always has at
//! least one core to itself and can take both while the client waits. A multi-thread client
//! would compete with the server for the same two cores. The CPU each side used is printed next
//! to every figure, so a phase limited by the client shows as a load generator near 1.0 core.
//! All of it is loopback: no network, but also no second machine, so the figures are a lower
//! bound of what the server does with the whole machine to itself.

use anyhow::{Context, Result, bail, ensure};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use intent_store::{EventLog, NewEvent, SqliteStore};
use rustc_hash::FxHashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Options of `intent bench serve`.
#[derive(clap::Args)]
pub struct ServeBenchArgs {
    /// The plan the intent server scores with.
    #[arg(long, default_value = "plans/showroom.yaml")]
    plan: PathBuf,
    /// Measured seconds of each phase (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of load before each maximum-throughput phase, not counted.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Concurrent keep-alive connections for `/v1/batch` (and the latency phase).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Concurrent keep-alive connections for `/v1/track`.
    #[arg(long, default_value_t = 64)]
    track_connections: usize,
    /// Messages in one `/v1/batch` body.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Offered load of the latency phase, as a share of the intent server's maximum batch rate.
    #[arg(long, default_value_t = 0.7)]
    load: f64,
    /// Profiles generated for the request bodies (about 10 messages each).
    #[arg(long, default_value_t = 200_000)]
    pool_profiles: u64,
    /// Days of generated history for the request bodies.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Profiles in the log the restart phase starts from (0 skips the phase).
    #[arg(long, default_value_t = 1_000_000)]
    restart_profiles: u64,
    /// Days of generated history in the restart log.
    #[arg(long, default_value_t = 30)]
    restart_days: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Folder to make the benchmark's data folder in (default: the system's temporary folder);
    /// it decides which disk the fsync figures are about.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the data folder afterwards.
    #[arg(long)]
    keep: bool,
}

/// Options of the hidden `intent bench null-server`.
#[derive(clap::Args)]
pub struct NullServerArgs {
    /// Address to listen on (`:0` picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
}

/// Runs the benchmark and prints its report on stdout.
pub fn run(a: ServeBenchArgs) -> Result<()> {
    ensure!(
        a.seconds > 0.0 && a.warmup >= 0.0,
        "--seconds must be positive and --warmup not negative"
    );
    ensure!(
        a.connections > 0 && a.track_connections > 0,
        "--connections and --track-connections must be positive"
    );
    ensure!(
        (1..=intent_server::ingest::MAX_BATCH_MESSAGES).contains(&a.batch_size),
        "--batch-size must be between 1 and {}",
        intent_server::ingest::MAX_BATCH_MESSAGES
    );
    ensure!(
        a.load > 0.0 && a.load <= 1.0,
        "--load is a share of the maximum: above 0, at most 1"
    );
    crate::load_plan(&a.plan)?;
    let exe = std::env::current_exe().context("finding the intent executable")?;
    let work = WorkDir::create(a.dir.as_deref(), a.keep)?;
    let duration = Duration::from_secs_f64(a.seconds);
    let warmup = Duration::from_secs_f64(a.warmup);
    let mut out = std::io::stdout().lock();

    // 1. The disk.
    let mut fsync = fsync_latency(&work.path, 200)?;
    writeln!(
        out,
        "disk fsync latency (data dir {}): median {:.2} ms, p99 {:.2} ms (200 x 4 KiB write+fsync)",
        work.path.display(),
        percentile(&mut fsync, 0.5) as f64 / 1000.0,
        percentile(&mut fsync, 0.99) as f64 / 1000.0,
    )?;
    out.flush()?;

    // 2. Payloads.
    let began = Instant::now();
    let (batches, tracks) = build_pools(&a)?;
    note(format_args!(
        "payloads: {} batch bodies of {} messages ({:.0} MB), {} single track messages, made in {:.1} s",
        thousands(batches.bodies.len() as u64),
        a.batch_size,
        batches.bytes() as f64 / 1e6,
        thousands(tracks.bodies.len() as u64),
        began.elapsed().as_secs_f64()
    ));
    let (batches, tracks) = (Arc::new(batches), Arc::new(tracks));

    // 3. The servers.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the load generator's runtime")?;
    let serve_dir = work.path.join("serve");
    let key = create_key(&exe, &serve_dir, "write")?;
    let admin = create_key(&exe, &serve_dir, "admin")?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    );
    let mut null = Server::spawn(
        "the do-nothing server",
        &exe,
        &["bench", "null-server", "--listen", "127.0.0.1:0"],
    )?;
    rt.block_on(wait_ready(&mut null, Duration::from_secs(60)))?;
    let mut intent = Server::spawn("intent serve", &exe, &serve_args(&serve_dir, &a.plan))?;
    rt.block_on(wait_ready(&mut intent, Duration::from_secs(600)))?;
    let null_batch = Load::new(&null, &auth, "/v1/batch", &batches)?;
    let intent_batch = Load::new(&intent, &auth, "/v1/batch", &batches)?;
    let null_track = Load::new(&null, &auth, "/v1/track", &tracks)?;
    let intent_track = Load::new(&intent, &auth, "/v1/track", &tracks)?;

    // 4. Maximum throughput.
    let batch_label = format!("/v1/batch x{}:", a.batch_size);
    note(format_args!(
        "do-nothing server, /v1/batch, {} connections...",
        a.connections
    ));
    let m = rt.block_on(closed_loop(&null_batch, a.connections, warmup, duration))?;
    let null_rate = m.rate();
    rate_line(&mut out, NULL_NAME, &batch_label, "events/s", None, &m)?;
    note(format_args!(
        "intent serve, /v1/batch, {} connections...",
        a.connections
    ));
    let m = rt.block_on(closed_loop(&intent_batch, a.connections, warmup, duration))?;
    let intent_rate = m.rate();
    let name = "intent serve (durable, SQLite WAL)";
    rate_line(
        &mut out,
        name,
        &batch_label,
        "events/s",
        Some(null_rate),
        &m,
    )?;
    note(format_args!(
        "do-nothing server, /v1/track, {} connections...",
        a.track_connections
    ));
    let m = rt.block_on(closed_loop(
        &null_track,
        a.track_connections,
        warmup,
        duration,
    ))?;
    let null_track_rate = m.rate();
    rate_line(&mut out, NULL_NAME, "/v1/track:", "requests/s", None, &m)?;
    drop(null);
    note(format_args!(
        "intent serve, /v1/track, {} connections...",
        a.track_connections
    ));
    let m = rt.block_on(closed_loop(
        &intent_track,
        a.track_connections,
        warmup,
        duration,
    ))?;
    let versus = Some(null_track_rate);
    rate_line(
        &mut out,
        "intent serve",
        "/v1/track:",
        "requests/s",
        versus,
        &m,
    )?;

    // 5. Latency at a fixed share of the maximum.
    let offered = intent_rate * a.load;
    if offered < 1.0 {
        writeln!(
            out,
            "ack latency: skipped (the intent server acknowledged no batches)"
        )?;
    } else {
        note(format_args!(
            "intent serve, {} events/s offered...",
            thousands(offered as u64)
        ));
        let batches_per_s = offered / a.batch_size as f64;
        let mut m = rt.block_on(open_loop(
            &intent_batch,
            a.connections,
            batches_per_s,
            duration,
        ))?;
        let mut lat = std::mem::take(&mut m.tally.latencies);
        let ms = |us: u32| us as f64 / 1000.0;
        writeln!(
            out,
            "ack latency at {:.0}% of max batch load ({} events/s offered): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} batches){}",
            a.load * 100.0,
            thousands(offered as u64),
            ms(percentile(&mut lat, 0.5)),
            ms(percentile(&mut lat, 0.99)),
            ms(percentile(&mut lat, 1.0)),
            thousands(lat.len() as u64),
            m.notes()
        )?;
    }
    writeln!(
        out,
        "peak RSS of intent serve after the throughput and latency phases: {}",
        mb(peak_rss_kb(intent.pid()))
    )?;
    out.flush()?;

    // 6. Webhook delivery.
    let keys = Keys {
        write: &auth,
        admin: &admin,
    };
    webhook_phases(&mut out, &rt, &a, &intent, keys, &intent_batch, intent_rate)?;
    drop(intent);

    // 7. Restart.
    if a.restart_profiles > 0 {
        let dir = work.path.join("restart");
        let began = Instant::now();
        let events = populate(&dir, a.restart_profiles, a.restart_days, a.seed)?;
        note(format_args!(
            "wrote {} events for {} profiles into {} in {:.1} s; restarting...",
            thousands(events),
            thousands(a.restart_profiles),
            dir.display(),
            began.elapsed().as_secs_f64()
        ));
        let began = Instant::now();
        let mut server = Server::spawn("intent serve (restart)", &exe, &serve_args(&dir, &a.plan))?;
        let seq = rt.block_on(wait_ready(&mut server, Duration::from_secs(3600)))?;
        let secs = began.elapsed().as_secs_f64();
        let rss = peak_rss_kb(server.pid());
        drop(server);
        let check = match seq {
            Some(s) if s as u64 == events => String::new(),
            Some(s) => format!(" [/readyz reports seq {s}, not {events}]"),
            None => " [/readyz reported no seq]".into(),
        };
        writeln!(
            out,
            "restart with {} profiles ({} events): ready in {:.1} s (log in the page cache), peak RSS {}{check}",
            thousands(a.restart_profiles),
            thousands(events),
            secs,
            mb(rss)
        )?;
        out.flush()?;
    }
    Ok(())
}

/// The do-nothing server's name in the report.
const NULL_NAME: &str = "do-nothing axum + serde_json server";

/// Prints one maximum-throughput line of the report, with the ratio to the do-nothing server's
/// rate when given.
fn rate_line(
    out: &mut impl Write,
    server: &str,
    route: &str,
    unit: &str,
    versus: Option<f64>,
    m: &Measured,
) -> Result<()> {
    let ratio = versus.map_or_else(String::new, |v| {
        format!(
            "  ({:.2}x the do-nothing server)",
            m.rate() / v.max(f64::MIN_POSITIVE)
        )
    });
    writeln!(
        out,
        "{server:<38} {route:<16} {:>9} {unit}{ratio}{}",
        thousands(m.rate() as u64),
        m.notes()
    )?;
    out.flush()?;
    Ok(())
}

/// Runs the do-nothing comparator: `/v1/batch` and `/v1/track` parse the body as JSON and answer
/// `{"success":true}`; `/readyz` answers 200. Prints `listening on http://ADDR` first.
pub fn null_server(a: NullServerArgs) -> Result<()> {
    use axum::Router;
    use axum::routing::{get, post};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let app = Router::new()
            .route("/v1/batch", post(null_ingest))
            .route("/v1/track", post(null_ingest))
            .route("/readyz", get(|| async { "ok\n" }));
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("listening on {}", a.listen))?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{}", listener.local_addr()?)?;
            out.flush()?;
        }
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// The do-nothing handler: the JSON parse every ingestion server does, and nothing else.
async fn null_ingest(body: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(_) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            r#"{"success":true}"#,
        )
            .into_response(),
        Err(_) => (axum::http::StatusCode::BAD_REQUEST, r#"{"success":false}"#).into_response(),
    }
}

/// A progress note on stderr, on a terminal only.
fn note(text: std::fmt::Arguments<'_>) {
    if crate::progress::enabled() {
        eprintln!("{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// The data folder, the disk and the server processes

/// The benchmark's data folder; removed when dropped (unless kept).
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn create(parent: Option<&Path>, keep: bool) -> Result<WorkDir> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let path = parent.join(format!("intent-bench-serve-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing the old {}", path.display()))?;
        }
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir { path, keep })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept {}", self.path.display());
        } else if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!("could not remove {}: {e}", self.path.display());
        }
    }
}

/// Times `n` appends of 4 KiB each followed by `fdatasync`; microseconds each.
fn fsync_latency(dir: &Path, n: usize) -> Result<Vec<u32>> {
    let path = dir.join("fsync-probe");
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let block = [0x5au8; 4096];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        file.write_all(&block)
            .with_context(|| format!("writing {}", path.display()))?;
        file.sync_data()
            .with_context(|| format!("syncing {}", path.display()))?;
        out.push(micros(t.elapsed()));
    }
    drop(file);
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    Ok(out)
}

/// The arguments of `intent serve` on a data folder, on a free loopback port.
fn serve_args(data: &Path, plan: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["serve".into(), "--data".into()];
    args.push(data.into());
    args.extend(["--listen".into(), "127.0.0.1:0".into(), "--plan".into()]);
    args.push(plan.into());
    args
}

/// Makes a key of `kind` (`write` or `admin`) in the store at `dir` with `intent keys create`;
/// returns its secret.
fn create_key(exe: &Path, dir: &Path, kind: &str) -> Result<String> {
    let out = Command::new(exe)
        .args(["keys", "create", "--data"])
        .arg(dir)
        .args(["--kind", kind, "--name", "bench"])
        .stdin(Stdio::null())
        .output()
        .context("running intent keys create")?;
    if !out.status.success() {
        bail!(
            "intent keys create failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let key = String::from_utf8(out.stdout)
        .context("intent keys create printed a key that is not UTF-8")?
        .trim()
        .to_string();
    ensure!(!key.is_empty(), "intent keys create printed no key");
    Ok(key)
}

/// A server process of this binary; killed (and reaped) when dropped, errors included.
struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `exe args` with `INTENT_LOG=warn` and reads the `listening on http://ADDR` line it
    /// prints first; the rest of its stdout is drained in the background, stderr is ours.
    fn spawn<S: AsRef<std::ffi::OsStr>>(
        name: &'static str,
        exe: &Path,
        args: &[S],
    ) -> Result<Self> {
        let mut child = Command::new(exe)
            .args(args)
            .env("INTENT_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{name}: no stdout");
        };
        // From here on, the guard kills the child on every error.
        let mut server = Server {
            name,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .with_context(|| format!("reading the address {name} listens on"))?;
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let status = server.child.wait().ok();
            bail!(
                "{name} did not print `listening on http://...` (printed {:?}; exit status {status:?})",
                line.trim()
            );
        };
        server.addr = addr
            .parse()
            .with_context(|| format!("{name} printed an address that does not parse: {addr}"))?;
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `GET /readyz` every 10 ms until it answers 200; returns the `seq` it reports, if any.
async fn wait_ready(server: &mut Server, limit: Duration) -> Result<Option<i64>> {
    let began = Instant::now();
    let target = Target::new(server.addr, "")?;
    let mut conn: Option<Conn> = None;
    loop {
        if let Some(status) = server.child.try_wait()? {
            bail!("{} exited ({status}) before it was ready", server.name);
        }
        if conn.is_none() {
            conn = target.connect().await.ok();
        }
        if let Some(c) = conn.as_mut() {
            match exchange(c, target.request(Method::GET, "/readyz", Bytes::new())).await {
                Ok((StatusCode::OK, body)) => {
                    let seq = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v.get("seq").and_then(serde_json::Value::as_i64));
                    return Ok(seq);
                }
                Ok(_) => {}
                Err(_) => conn = None,
            }
        }
        if began.elapsed() > limit {
            bail!("{} was not ready after {} s", server.name, limit.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Clock ticks a second in `/proc` times (`USER_HZ`: 100 on Linux).
const TICKS: f64 = 100.0;

/// The command name and CPU time (user + system, seconds) in a `/proc/.../stat` line: of the
/// whole process (all threads) for `/proc/<pid>/stat`, of one thread for `.../task/<tid>/stat`.
fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    // The name is in parentheses and may hold spaces; utime and stime are fields 14 and 15,
    // the 12th and 13th after the name.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let mut fields = stat[close + 1..].split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((&stat[open + 1..close], (utime + stime) / TICKS))
}

/// CPU time of a process, all threads, in seconds (`None`: this process).
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".into(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    parse_stat(&stat).map(|(_, secs)| secs)
}

/// CPU time of each thread of a process: `(thread id, name, seconds)`.
fn thread_seconds(pid: u32) -> Vec<(u32, String, f64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let tid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        let (name, secs) = parse_stat(&stat)?;
        Some((tid, name.to_string(), secs))
    })
    .collect()
}

/// CPU time of the whole machine, every core, in seconds: `/proc/stat`'s `cpu` line (user,
/// nice, system, irq and softirq; idle, I/O wait and time stolen by the hypervisor left out).
fn machine_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    (f.len() >= 7).then(|| (f[0] + f[1] + f[2] + f[5] + f[6]) / TICKS)
}

/// Peak resident memory (`VmHWM`) of a process, in KiB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(
        || "unknown".into(),
        |kb| format!("{:.0} MB", kb as f64 / 1024.0),
    )
}

// ---------------------------------------------------------------------------------------------
// Payloads

/// Splits a byte stream into lines (without the newline) for a closure.
struct Lines<F: FnMut(&[u8]) -> Result<()>> {
    carry: Vec<u8>,
    each: F,
}

impl<F: FnMut(&[u8]) -> Result<()>> Lines<F> {
    fn new(each: F) -> Self {
        Lines {
            carry: Vec::new(),
            each,
        }
    }

    /// Hands over the last line when it had no newline.
    fn finish(mut self) -> Result<()> {
        if !self.carry.is_empty() {
            let last = std::mem::take(&mut self.carry);
            (self.each)(&last)?;
        }
        Ok(())
    }
}

impl<F: FnMut(&[u8]) -> Result<()>> Write for Lines<F> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut rest = data;
        if !self.carry.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                self.carry.extend_from_slice(rest);
                return Ok(data.len());
            };
            self.carry.extend_from_slice(&rest[..nl]);
            let line = std::mem::take(&mut self.carry);
            (self.each)(&line).map_err(std::io::Error::other)?;
            self.carry = line;
            self.carry.clear();
            rest = &rest[nl + 1..];
        }
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            if nl > 0 {
                (self.each)(&rest[..nl]).map_err(std::io::Error::other)?;
            }
            rest = &rest[nl + 1..];
        }
        self.carry.extend_from_slice(rest);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The span of the string value of the first `"key":"` in a line of `intent gen` output. The
/// generator writes `type` first and `messageId` second, ids without escapes, so the first match
/// is the top-level field.
fn string_field(line: &[u8], key: &[u8]) -> Option<Range<usize>> {
    let start = memchr::memmem::find(line, key)? + key.len();
    let len = memchr::memchr(b'"', &line[start..])?;
    let span = start..start + len;
    (!line[span.clone()].contains(&b'\\')).then_some(span)
}

const MESSAGE_ID: &[u8] = br#""messageId":""#;
const USER_ID: &[u8] = br#""userId":""#;
const ANONYMOUS_ID: &[u8] = br#""anonymousId":""#;
const PREVIOUS_ID: &[u8] = br#""previousId":""#;
const TYPE: &[u8] = br#""type":""#;

/// Request bodies, and where the message ids in them end, so that a later round can make every
/// id new again by appending a suffix.
struct Pool {
    bodies: Vec<Bytes>,
    /// Offsets just past each message id's last character, every body's in turn.
    id_ends: Vec<u32>,
    /// Body `k`'s ids are `id_ends[id_index[k]..id_index[k + 1]]`.
    id_index: Vec<u32>,
    /// Messages in one body.
    events: u64,
    /// The suffix's letter: round `r` appends `~<tag><r>` to every id.
    tag: char,
    /// Whether round 0 is sent as generated (the batch pool) or suffixed too (single messages,
    /// which the batch bodies already carry verbatim).
    verbatim_first_round: bool,
}

impl Pool {
    fn new(events: u64, tag: char, verbatim_first_round: bool) -> Self {
        Pool {
            bodies: Vec::new(),
            id_ends: Vec::new(),
            id_index: vec![0],
            events,
            tag,
            verbatim_first_round,
        }
    }

    fn push(&mut self, body: Bytes, id_ends: &[u32]) {
        self.bodies.push(body);
        self.id_ends.extend_from_slice(id_ends);
        self.id_index.push(self.id_ends.len() as u32);
    }

    fn bytes(&self) -> usize {
        self.bodies.iter().map(Bytes::len).sum()
    }

    /// The `i`-th body of an endless sequence: the pool in order, again and again, each round's
    /// message ids made distinct by a suffix.
    fn body(&self, i: u64) -> Bytes {
        let n = self.bodies.len() as u64;
        let (k, round) = ((i % n) as usize, i / n);
        let body = &self.bodies[k];
        if round == 0 && self.verbatim_first_round {
            return body.clone();
        }
        let ends = &self.id_ends[self.id_index[k] as usize..self.id_index[k + 1] as usize];
        let suffix = format!("~{}{round}", self.tag);
        let mut out = Vec::with_capacity(body.len() + ends.len() * suffix.len());
        let mut at = 0;
        for &end in ends {
            out.extend_from_slice(&body[at..end as usize]);
            out.extend_from_slice(suffix.as_bytes());
            at = end as usize;
        }
        out.extend_from_slice(&body[at..]);
        Bytes::from(out)
    }
}

/// Cuts generated messages into batch bodies and collects the `track` ones as single bodies.
struct PoolBuilder {
    batch_size: usize,
    batches: Pool,
    tracks: Pool,
    seen: FxHashSet<u64>,
    hasher: RandomState,
    body: Vec<u8>,
    in_body: usize,
    ids: Vec<u32>,
    /// `(start, end, id ends)` of the current body's track messages.
    track_spans: Vec<(usize, usize, Vec<u32>)>,
}

impl PoolBuilder {
    fn add(&mut self, line: &[u8]) -> Result<()> {
        let id = string_field(line, MESSAGE_ID).with_context(|| {
            format!(
                "a generated message without a plain messageId: {}",
                String::from_utf8_lossy(line)
            )
        })?;
        if !self.seen.insert(self.hasher.hash_one(&line[id.clone()])) {
            return Ok(()); // a re-sent duplicate
        }
        let is_track = string_field(line, TYPE).is_some_and(|t| &line[t] == b"track");
        if self.in_body == 0 {
            self.body = Vec::with_capacity(self.batch_size * (line.len() + 16) + 16);
            self.body.extend_from_slice(br#"{"batch":["#);
        } else {
            self.body.push(b',');
        }
        let start = self.body.len();
        self.body.extend_from_slice(line);
        // Every id a round must make new: the message's and the person's, so that a later round
        // is new people doing new things, not late events of people seen before (which the
        // engine would rightly rescore from their whole history).
        let mut ends: Vec<u32> = [MESSAGE_ID, USER_ID, ANONYMOUS_ID, PREVIOUS_ID]
            .iter()
            .filter_map(|k| string_field(line, k))
            .map(|r| r.end as u32)
            .collect();
        ends.sort_unstable();
        self.ids.extend(ends.iter().map(|e| start as u32 + e));
        if is_track {
            self.track_spans.push((start, self.body.len(), ends));
        }
        self.in_body += 1;
        if self.in_body == self.batch_size {
            self.body.extend_from_slice(b"]}");
            let body = Bytes::from(std::mem::take(&mut self.body));
            for (s, e, ends) in self.track_spans.drain(..) {
                self.tracks.push(body.slice(s..e), &ends);
            }
            self.batches.push(body, &self.ids);
            self.ids.clear();
            self.in_body = 0;
        }
        Ok(())
    }
}

/// Generates the request bodies: batches (a partial last one is dropped) and single `track`
/// messages.
fn build_pools(a: &ServeBenchArgs) -> Result<(Pool, Pool)> {
    let mut builder = PoolBuilder {
        batch_size: a.batch_size,
        batches: Pool::new(a.batch_size as u64, 'b', true),
        tracks: Pool::new(1, 't', false),
        seen: FxHashSet::default(),
        hasher: RandomState::new(),
        body: Vec::new(),
        in_body: 0,
        ids: Vec::new(),
        track_spans: Vec::new(),
    };
    let cfg = gen_config(a.pool_profiles, a.days, a.seed)?;
    let bar = crate::progress::bar(a.pool_profiles, "profiles (request bodies)");
    let mut lines = Lines::new(|line: &[u8]| builder.add(line));
    intent_gen::generate(&cfg, &mut lines, &mut |done| bar.set_position(done))
        .context("generating request bodies")?;
    lines.finish()?;
    bar.finish_and_clear();
    ensure!(
        !builder.batches.bodies.is_empty() && !builder.tracks.bodies.is_empty(),
        "--pool-profiles {} makes too few messages for one batch of {} and a track message",
        a.pool_profiles,
        a.batch_size
    );
    Ok((builder.batches, builder.tracks))
}

fn gen_config(profiles: u64, days: u32, seed: u64) -> Result<intent_gen::GenConfig> {
    Ok(intent_gen::GenConfig {
        profiles,
        days,
        seed,
        start: intent_core::time::parse_timestamp("2026-01-01T00:00:00Z")
            .map_err(|e| anyhow::anyhow!("the generator's start: {e}"))?,
    })
}

/// Writes the generated log of `profiles` profiles into a new store at `dir`, 50,000 messages
/// per transaction (re-sent duplicates dropped), generating on a second thread meanwhile.
/// Returns the number of messages stored.
fn populate(dir: &Path, profiles: u64, days: u32, seed: u64) -> Result<u64> {
    /// Hands the generator's blocks to the writing thread.
    struct ToChannel(std::sync::mpsc::SyncSender<Vec<u8>>);
    impl Write for ToChannel {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0
                .send(data.to_vec())
                .map_err(|_| std::io::Error::other("the store writer stopped"))?;
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    const CHUNK: usize = 50_000;
    let mut store =
        SqliteStore::open(dir).with_context(|| format!("opening a store at {}", dir.display()))?;
    let cfg = gen_config(profiles, days, seed)?;
    let bar = crate::progress::bar(profiles, "profiles (restart log)");
    let received_at = intent_server::now_ms();
    let hasher = RandomState::new();
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    let mut text = String::new();
    let mut spans: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(CHUNK);
    let mut stored = 0u64;
    let mut flush =
        |text: &mut String, spans: &mut Vec<(Range<usize>, Range<usize>)>| -> Result<()> {
            let events: Vec<NewEvent<'_>> = spans
                .iter()
                .map(|(id, body)| NewEvent {
                    message_id: &text[id.clone()],
                    received_at,
                    body: &text[body.clone()],
                })
                .collect();
            store
                .append(&events, &[])
                .context("appending to the restart log")?;
            stored += events.len() as u64;
            text.clear();
            spans.clear();
            Ok(())
        };
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let gen_bar = bar.clone();
        let generator = scope.spawn(move || {
            intent_gen::generate(&cfg, &mut ToChannel(tx), &mut |done| {
                gen_bar.set_position(done)
            })
        });
        let mut lines = Lines::new(|line: &[u8]| {
            let id = string_field(line, MESSAGE_ID).with_context(|| {
                format!(
                    "a generated message without a plain messageId: {}",
                    String::from_utf8_lossy(line)
                )
            })?;
            if !seen.insert(hasher.hash_one(&line[id.clone()])) {
                return Ok(()); // a re-sent duplicate
            }
            let line = std::str::from_utf8(line).context("a generated line is not UTF-8")?;
            let base = text.len();
            text.push_str(line);
            spans.push((base + id.start..base + id.end, base..base + line.len()));
            if spans.len() >= CHUNK {
                flush(&mut text, &mut spans)?;
            }
            Ok(())
        });
        for block in rx {
            lines.write_all(&block)?;
        }
        lines.finish()?;
        generator
            .join()
            .map_err(|_| anyhow::anyhow!("the generator panicked"))?
            .context("generating the restart log")?;
        Ok(())
    })?;
    if !spans.is_empty() {
        flush(&mut text, &mut spans)?;
    }
    bar.finish_and_clear();
    Ok(stored)
}

// ---------------------------------------------------------------------------------------------
// The load generator

/// One keep-alive HTTP/1.1 connection.
type Conn = SendRequest<Full<Bytes>>;

/// A server's address and the headers every request carries.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    host: HeaderValue,
    auth: HeaderValue,
}

impl Target {
    fn new(addr: SocketAddr, auth: &str) -> Result<Self> {
        Ok(Target {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            auth: HeaderValue::from_str(auth).context("the write key is not a header value")?,
        })
    }

    /// Opens a connection; its driver runs as a task of the current runtime.
    async fn connect(&self) -> Result<Conn> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn request(&self, method: Method, path: &'static str, body: Bytes) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = Uri::from_static(path);
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        if !self.auth.is_empty() {
            h.insert(AUTHORIZATION, self.auth.clone());
        }
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        req
    }
}

/// Sends a request on a connection and reads the whole response.
/// After a failed exchange: counts the error and connects again; false when that fails too.
async fn recover(conn: &mut Conn, load: &Load, t: &mut Tally, e: anyhow::Error) -> bool {
    t.error(format!("{e:#}"));
    match load.target.connect().await {
        Ok(c) => {
            *conn = c;
            true
        }
        Err(e) => {
            t.error(format!("{e:#}"));
            false
        }
    }
}

async fn exchange(conn: &mut Conn, req: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes)> {
    conn.ready().await?;
    let res = conn.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// What to send where: one server, one route, one pool, and the position in the pool's endless
/// sequence (shared by every phase against that server and route, so ids never repeat).
struct Load {
    target: Target,
    server_pid: u32,
    path: &'static str,
    pool: Arc<Pool>,
    cursor: AtomicU64,
}

impl Load {
    fn new(server: &Server, auth: &str, path: &'static str, pool: &Arc<Pool>) -> Result<Arc<Self>> {
        Ok(Arc::new(Load {
            target: Target::new(server.addr, auth)?,
            server_pid: server.pid(),
            path,
            pool: pool.clone(),
            cursor: AtomicU64::new(0),
        }))
    }

    fn next_request(&self) -> Request<Full<Bytes>> {
        let i = self.cursor.fetch_add(1, Ordering::Relaxed);
        self.target
            .request(Method::POST, self.path, self.pool.body(i))
    }
}

/// The intent server's acknowledgement (the do-nothing server's has only `success`).
#[derive(serde::Deserialize)]
struct Ack {
    accepted: Option<u64>,
    duplicates: Option<u64>,
    rejected: Option<Vec<serde::de::IgnoredAny>>,
}

/// What one or more connections saw.
#[derive(Default)]
struct Tally {
    /// Requests acknowledged with 200 (inside the measured window).
    requests: u64,
    /// Messages in those requests.
    events: u64,
    /// From the acknowledgements: messages stored, found duplicate, rejected.
    stored: u64,
    duplicates: u64,
    rejected: u64,
    /// Non-200 answers and transport failures (at any time).
    errors: u64,
    first_error: Option<String>,
    /// Open loop: microseconds from the scheduled send to the acknowledgement.
    latencies: Vec<u32>,
    /// Open loop: scheduled batches not sent because the run was far behind schedule.
    dropped: u64,
}

impl Tally {
    /// Counts an answer; `counted` says whether a 200 falls in the measured window.
    fn answer(&mut self, status: StatusCode, body: &[u8], events: u64, counted: bool) -> bool {
        if status != StatusCode::OK {
            self.error(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ));
            return false;
        }
        if counted {
            self.requests += 1;
            self.events += events;
            if let Ok(ack) = serde_json::from_slice::<Ack>(body) {
                self.stored += ack.accepted.unwrap_or(0);
                self.duplicates += ack.duplicates.unwrap_or(0);
                self.rejected += ack.rejected.map_or(0, |r| r.len() as u64);
            }
        }
        true
    }

    fn error(&mut self, text: String) {
        self.errors += 1;
        self.first_error.get_or_insert(text);
    }

    fn merge(&mut self, o: Tally) {
        self.requests += o.requests;
        self.events += o.events;
        self.stored += o.stored;
        self.duplicates += o.duplicates;
        self.rejected += o.rejected;
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.latencies.extend(o.latencies);
        self.dropped += o.dropped;
    }
}

/// A phase's outcome.
struct Measured {
    tally: Tally,
    /// Length of the measured window.
    secs: f64,
    /// Where the machine's CPU went over the window.
    cpu: CpuUse,
}

impl Measured {
    /// Acknowledged events (or requests, for single messages) per second.
    fn rate(&self) -> f64 {
        self.tally.events as f64 / self.secs
    }

    /// CPU, and whatever went wrong or differs from "every message stored".
    fn notes(&self) -> String {
        let t = &self.tally;
        let mut s = String::new();
        s.push_str(&format!("  [{}]", self.cpu));
        if t.duplicates > 0 || t.rejected > 0 {
            s.push_str(&format!(
                " [acknowledged: {} stored, {} duplicates, {} rejected]",
                thousands(t.stored),
                thousands(t.duplicates),
                thousands(t.rejected)
            ));
        }
        if t.errors > 0 {
            s.push_str(&format!(
                " [{} errors; first: {}]",
                thousands(t.errors),
                t.first_error.as_deref().unwrap_or("?")
            ));
        }
        if t.dropped > 0 {
            s.push_str(&format!(
                " [{} scheduled batches not sent: far behind schedule]",
                thousands(t.dropped)
            ));
        }
        s
    }
}

/// CPU times at one moment: the server's (whole and by thread), this process's, the machine's.
struct CpuSample {
    at: Instant,
    server: Option<f64>,
    threads: Vec<(u32, String, f64)>,
    client: Option<f64>,
    machine: Option<f64>,
}

impl CpuSample {
    fn take(server_pid: u32) -> Self {
        CpuSample {
            at: Instant::now(),
            server: cpu_seconds(Some(server_pid)),
            threads: thread_seconds(server_pid),
            client: cpu_seconds(None),
            machine: machine_seconds(),
        }
    }

    /// Where the CPU went between `before` and this sample, in cores.
    fn since(&self, before: &CpuSample) -> CpuUse {
        let secs = self.at.duration_since(before.at).as_secs_f64();
        let d = |a: Option<f64>, b: Option<f64>| Some((a? - b?) / secs);
        let server = d(self.server, before.server);
        let client = d(self.client, before.client);
        let busiest = self
            .threads
            .iter()
            .map(|(tid, name, t)| {
                let earlier = before
                    .threads
                    .iter()
                    .find(|b| b.0 == *tid)
                    .map_or(0.0, |b| b.2);
                (name.clone(), (t - earlier) / secs)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let others = (|| Some((d(self.machine, before.machine)? - server? - client?).max(0.0)))();
        CpuUse {
            server,
            busiest,
            client,
            others,
        }
    }
}

/// CPU used over a phase, in cores (1.0 = one core busy throughout).
struct CpuUse {
    server: Option<f64>,
    /// The server's busiest thread: its name and use.
    busiest: Option<(String, f64)>,
    /// This process: the load generator.
    client: Option<f64>,
    /// Everything else on the machine (a busy machine makes the figures unreliable).
    others: Option<f64>,
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = |x: Option<f64>| x.map_or_else(|| "?".into(), |x| format!("{x:.2}"));
        write!(f, "CPU cores: server {}", c(self.server))?;
        if let Some((name, x)) = &self.busiest {
            write!(f, " (busiest thread {name} {x:.2})")?;
        }
        write!(
            f,
            ", load generator {}, other processes {}",
            c(self.client),
            c(self.others)
        )
    }
}

/// Maximum throughput: `conns` connections, each sending again as soon as it is answered;
/// counts what is acknowledged between `warmup` and `warmup + duration`.
async fn closed_loop(
    load: &Arc<Load>,
    conns: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Measured> {
    let mut senders = Vec::with_capacity(conns);
    for _ in 0..conns {
        senders.push(load.target.connect().await?);
    }
    let from = Instant::now() + warmup;
    let end = from + duration;
    let mut workers = JoinSet::new();
    for mut conn in senders {
        let load = load.clone();
        workers.spawn(async move {
            let mut t = Tally::default();
            while Instant::now() < end {
                match exchange(&mut conn, load.next_request()).await {
                    Ok((status, body)) => {
                        let done = Instant::now();
                        let counted = done >= from && done < end;
                        t.answer(status, &body, load.pool.events, counted);
                    }
                    Err(e) => {
                        if !recover(&mut conn, &load, &mut t, e).await {
                            break;
                        }
                    }
                }
            }
            t
        });
    }
    window(load, workers, from, end).await
}

/// Fixed load: `per_second` requests on a fixed schedule for `duration`, over at most `conns`
/// connections; latency from each request's scheduled time to its acknowledgement.
async fn open_loop(
    load: &Arc<Load>,
    conns: usize,
    per_second: f64,
    duration: Duration,
) -> Result<Measured> {
    let mut senders = Vec::with_capacity(conns);
    for _ in 0..conns {
        senders.push(load.target.connect().await?);
    }
    let start = Instant::now() + Duration::from_millis(20);
    let end = start + duration;
    // Far behind schedule (the server has stalled for good): stop sending.
    let give_up = end + duration.max(Duration::from_secs(5));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    // The schedule, kept by an OS thread: `thread::sleep` wakes within tens of microseconds,
    // where tokio's timer wheel has 1 ms ticks.
    let pacer = std::thread::spawn(move || {
        for k in 0u64.. {
            let at = start + Duration::from_secs_f64(k as f64 / per_second);
            if at >= end {
                break;
            }
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if tx.send(at).is_err() {
                break;
            }
        }
    });
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut workers = JoinSet::new();
    for mut conn in senders {
        let (load, rx) = (load.clone(), rx.clone());
        workers.spawn(async move {
            let mut t = Tally::default();
            loop {
                let Some(scheduled) = rx.lock().await.recv().await else {
                    break;
                };
                if Instant::now() > give_up {
                    t.dropped += 1;
                    continue;
                }
                match exchange(&mut conn, load.next_request()).await {
                    Ok((status, body)) => {
                        let latency = micros(scheduled.elapsed());
                        if t.answer(status, &body, load.pool.events, true) {
                            t.latencies.push(latency);
                        }
                    }
                    Err(e) => {
                        if !recover(&mut conn, &load, &mut t, e).await {
                            break;
                        }
                    }
                }
            }
            t
        });
    }
    let measured = window(load, workers, start, end).await?;
    pacer
        .join()
        .map_err(|_| anyhow::anyhow!("the pacing thread panicked"))?;
    Ok(measured)
}

/// Samples the CPU over the measured window `from..end`, then gathers the workers' tallies.
async fn window(
    load: &Load,
    mut workers: JoinSet<Tally>,
    from: Instant,
    end: Instant,
) -> Result<Measured> {
    tokio::time::sleep_until(from.into()).await;
    let before = CpuSample::take(load.server_pid);
    tokio::time::sleep_until(end.into()).await;
    let after = CpuSample::take(load.server_pid);
    let mut tally = Tally::default();
    while let Some(t) = workers.join_next().await {
        tally.merge(t.context("a load generator task failed")?);
    }
    Ok(Measured {
        tally,
        secs: (end - from).as_secs_f64(),
        cpu: after.since(&before),
    })
}

// ---------------------------------------------------------------------------------------------
// Webhook delivery

/// How often a probe is sent while a webhook phase runs.
const PROBE_EVERY: Duration = Duration::from_millis(50);
/// A probe whose `tier.changed` has not arrived this long after it was sent is lost.
const LOST_AFTER: Duration = Duration::from_secs(5);
/// Issue #4's target: p99 of event → `tier.changed` delivery, under the benchmark's batch load.
const DELIVERY_TARGET: Duration = Duration::from_millis(50);
/// The longest the pipeline may take to deliver the probe sent before each webhook phase.
const SETTLE_LIMIT: Duration = Duration::from_secs(120);
/// The `userId` of every probe starts with this.
const PROBE_PREFIX: &str = "probe-";

/// The intent server's secrets: `Authorization` values for sending events and for managing.
struct Keys<'a> {
    /// `Basic ...` with the write key.
    write: &'a str,
    /// The admin token, bare.
    admin: &'a str,
}

/// Step 6: a loopback receiver subscribed to `tier.changed`, then event → delivery measured idle,
/// under the latency phase's batch load (the target's phase) and under maximum batch load.
fn webhook_phases(
    out: &mut impl Write,
    rt: &tokio::runtime::Runtime,
    a: &ServeBenchArgs,
    intent: &Server,
    keys: Keys<'_>,
    batch: &Arc<Load>,
    max_rate: f64,
) -> Result<()> {
    let duration = Duration::from_secs_f64(a.seconds);
    let warmup = Duration::from_secs_f64(a.warmup);
    let hooks = Hooks::start()?;
    rt.block_on(subscribe(intent.addr, keys.admin, &hooks.url))?;
    let probes = Arc::new(Probes {
        target: Target::new(intent.addr, keys.write)?,
        next: AtomicU64::new(0),
    });
    let pid = intent.pid();

    note(format_args!(
        "intent serve, webhook delivery with no other load..."
    ));
    if !settle(out, rt, &probes, &hooks)? {
        return Ok(());
    }
    let start = Instant::now() + Duration::from_millis(20);
    let idle = hook_phase(&probes, &hooks, start, duration, || {
        rt.block_on(idle_window(pid, start, start + duration))
    })?;
    hook_lines(out, "idle", &idle, false)?;

    let offered = max_rate * a.load;
    if offered < 1.0 {
        writeln!(
            out,
            "webhook delivery under batch load: skipped (the intent server acknowledged no batches)"
        )?;
        return Ok(());
    }
    note(format_args!(
        "intent serve, webhook delivery with {} events/s offered...",
        thousands(offered as u64)
    ));
    if !settle(out, rt, &probes, &hooks)? {
        return Ok(());
    }
    // `open_loop` starts its schedule 20 ms after it is called.
    let start = Instant::now() + Duration::from_millis(20);
    let batches_per_s = offered / a.batch_size as f64;
    let paced = hook_phase(&probes, &hooks, start, duration, || {
        rt.block_on(open_loop(batch, a.connections, batches_per_s, duration))
    })?;
    let label = format!(
        "at {:.0}% of max batch load ({} events/s offered, {} acknowledged)",
        a.load * 100.0,
        thousands(offered as u64),
        thousands(paced.load.rate() as u64)
    );
    hook_lines(out, &label, &paced, true)?;

    note(format_args!(
        "intent serve, webhook delivery at max batch load, {} connections...",
        a.connections
    ));
    if !settle(out, rt, &probes, &hooks)? {
        return Ok(());
    }
    let start = Instant::now() + warmup;
    let closed = hook_phase(&probes, &hooks, start, duration, || {
        rt.block_on(closed_loop(batch, a.connections, warmup, duration))
    })?;
    let label = format!(
        "at max batch load ({} connections, {} events/s acknowledged)",
        a.connections,
        thousands(closed.load.rate() as u64)
    );
    hook_lines(out, &label, &closed, false)?;
    Ok(())
}

/// Subscribes `url` to `tier.changed` with the admin token.
async fn subscribe(addr: SocketAddr, admin: &str, url: &str) -> Result<()> {
    let target = Target::new(addr, &format!("Bearer {admin}"))?;
    let mut conn = target.connect().await?;
    let body = serde_json::json!({ "url": url, "events": ["tier.changed"] }).to_string();
    let request = target.request(Method::POST, "/v1/webhooks", Bytes::from(body));
    let (status, answer) = exchange(&mut conn, request)
        .await
        .context("subscribing the receiver")?;
    ensure!(
        status == StatusCode::CREATED,
        "subscribing the receiver: HTTP {status}: {}",
        String::from_utf8_lossy(&answer[..answer.len().min(300)])
    );
    Ok(())
}

/// Sends one probe and waits for its delivery: the follow-up queue is first in, first out, so
/// whatever the server still had to look at from earlier phases is done by then, and the
/// dispatcher's connection to the receiver is open. False (with a line in the report) when the
/// delivery did not come.
fn settle(
    out: &mut impl Write,
    rt: &tokio::runtime::Runtime,
    probes: &Probes,
    hooks: &Hooks,
) -> Result<bool> {
    let probe = rt.block_on(async {
        let mut conn = probes.target.connect().await?;
        Ok::<_, anyhow::Error>(probes.send(&mut conn).await)
    })?;
    if let Some(e) = &probe.error {
        writeln!(
            out,
            "webhook delivery: skipped (the intent server refused a probe: {e})"
        )?;
        return Ok(false);
    }
    while hooks.arrival(&probe.profile).is_none() {
        if probe.sent.elapsed() > SETTLE_LIMIT {
            writeln!(
                out,
                "webhook delivery: skipped (a probe's tier.changed did not arrive within {} s)",
                SETTLE_LIMIT.as_secs()
            )?;
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(true)
}

/// Sends probes from `start` for `duration` on a thread of their own while `load` runs here,
/// then waits for their deliveries ([`LOST_AFTER`] at most after the last one was sent).
fn hook_phase(
    probes: &Arc<Probes>,
    hooks: &Hooks,
    start: Instant,
    duration: Duration,
    load: impl FnOnce() -> Result<Measured>,
) -> Result<HookPhase> {
    let others = hooks.log().others;
    let prober = {
        let probes = probes.clone();
        std::thread::Builder::new()
            .name("bench-probe".into())
            .spawn(move || probes.run(start, start + duration))
            .context("starting the probe thread")?
    };
    let load = load();
    let sent = prober
        .join()
        .map_err(|_| anyhow::anyhow!("the probe thread panicked"))??;
    let load = load?;
    let deadline = sent
        .iter()
        .map(|p| p.sent + LOST_AFTER)
        .max()
        .unwrap_or_else(Instant::now);
    loop {
        let done = {
            let log = hooks.log();
            sent.iter()
                .all(|p| p.error.is_some() || log.first.contains_key(&p.profile))
        };
        if done || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = hooks.log();
    let probes = sent
        .into_iter()
        .map(|p| {
            let arrival = log.first.get(&p.profile).copied();
            (p, arrival)
        })
        .collect();
    Ok(HookPhase {
        probes,
        others: log.others - others,
        load,
    })
}

/// The CPU over an idle window.
async fn idle_window(server_pid: u32, from: Instant, end: Instant) -> Result<Measured> {
    tokio::time::sleep_until(from.into()).await;
    let before = CpuSample::take(server_pid);
    tokio::time::sleep_until(end.into()).await;
    let after = CpuSample::take(server_pid);
    Ok(Measured {
        tally: Tally::default(),
        secs: (end - from).as_secs_f64(),
        cpu: after.since(&before),
    })
}

/// One webhook phase's outcome.
struct HookPhase {
    /// Every probe sent, with its delivery if one came.
    probes: Vec<(Probe, Option<Arrival>)>,
    /// `tier.changed` deliveries of other profiles (the load's own) that arrived meanwhile.
    others: u64,
    /// The load that ran meanwhile (none when idle: an empty tally).
    load: Measured,
}

/// Prints a webhook phase's lines: event → delivery, and where the time went.
fn hook_lines(out: &mut impl Write, label: &str, phase: &HookPhase, judged: bool) -> Result<()> {
    let (mut total, mut ack, mut to_desk, mut from_desk) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut lost, mut failed) = (0u64, 0u64);
    let mut first_failure = None;
    for (p, arrival) in &phase.probes {
        if let Some(e) = &p.error {
            failed += 1;
            first_failure.get_or_insert(e.clone());
        }
        let arrival = arrival.filter(|a| a.at.saturating_duration_since(p.sent) <= LOST_AFTER);
        let Some(arrival) = arrival else {
            lost += 1;
            total.push(u32::MAX);
            continue;
        };
        total.push(micros(arrival.at.saturating_duration_since(p.sent)));
        if let Some(d) = p.ack {
            ack.push(micros(d));
        }
        if let Some(ms) = arrival.observed_ms {
            let observed_us = ms.saturating_mul(1000);
            let span = |from: i64, to: i64| (to - from).clamp(0, i64::from(u32::MAX - 1)) as u32;
            to_desk.push(span(p.sent_wall_us, observed_us));
            from_desk.push(span(observed_us, arrival.wall_us));
        }
    }
    let ms = |us: u32| {
        if us == u32::MAX {
            format!("> {} s (lost)", LOST_AFTER.as_secs())
        } else {
            format!("{:.1} ms", us as f64 / 1000.0)
        }
    };
    let p99 = percentile(&mut total, 0.99);
    let met = !total.is_empty() && Duration::from_micros(u64::from(p99)) <= DELIVERY_TARGET;
    let verdict = match (judged, met) {
        (true, true) => "target p99 <= 50 ms: met",
        (true, false) => "target p99 <= 50 ms: NOT met",
        (false, true) => "p99 <= 50 ms here too (for comparison)",
        (false, false) => "p99 above 50 ms here (for comparison)",
    };
    let mut notes = phase.load.notes();
    if phase.others > 0 {
        notes.push_str(&format!(
            " [{} tier.changed of the load's own profiles delivered meanwhile]",
            thousands(phase.others)
        ));
    }
    if failed > 0 {
        notes.push_str(&format!(
            " [{failed} probes not acknowledged; first: {}]",
            first_failure.as_deref().unwrap_or("?")
        ));
    }
    writeln!(
        out,
        "event to tier.changed webhook delivery {label}: p50 {}, p90 {}, p99 {}, max {} ({} probes, {lost} lost); {verdict}{notes}",
        ms(percentile(&mut total, 0.5)),
        ms(percentile(&mut total, 0.9)),
        ms(p99),
        ms(percentile(&mut total, 1.0)),
        phase.probes.len(),
    )?;
    let pair = |v: &mut Vec<u32>| {
        if v.is_empty() {
            return "(none)".to_string();
        }
        format!(
            "{:.1} / {:.1} ms",
            percentile(v, 0.5) as f64 / 1000.0,
            percentile(v, 0.99) as f64 / 1000.0
        )
    };
    writeln!(
        out,
        "  where it went (p50 / p99 of delivered probes): send to ack {}; send to the desk's look {}; the desk's look to the receiver {}",
        pair(&mut ack),
        pair(&mut to_desk),
        pair(&mut from_desk),
    )?;
    out.flush()?;
    Ok(())
}

/// Microseconds since the epoch, by the wall clock (the server's announcement times are wall
/// clock too: same machine, same clock).
fn wall_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// One probe: an `ask_person` tap by a new user, which makes exactly one `tier.changed`.
struct Probe {
    /// `user:probe-<n>`, as in the announcement's `data.profile`.
    profile: String,
    /// Just before the request was handed to the connection.
    sent: Instant,
    sent_wall_us: i64,
    /// From `sent` to the acknowledgement.
    ack: Option<Duration>,
    /// Why it was not acknowledged.
    error: Option<String>,
}

/// Sends probes to the intent server, each for a user never seen before.
struct Probes {
    target: Target,
    next: AtomicU64,
}

impl Probes {
    async fn send(&self, conn: &mut Conn) -> Probe {
        let user = format!(
            "{PROBE_PREFIX}{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let body = format!(
            r#"{{"type":"track","messageId":"{user}","userId":"{user}","event":"CTA Tapped","properties":{{"cta":"ask_person"}}}}"#
        );
        let request = self
            .target
            .request(Method::POST, "/v1/track", Bytes::from(body));
        let sent_wall_us = wall_us();
        let sent = Instant::now();
        let answer = exchange(conn, request).await;
        let took = sent.elapsed();
        let (ack, error) = match answer {
            Ok((StatusCode::OK, _)) => (Some(took), None),
            Ok((status, body)) => (
                None,
                Some(format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                )),
            ),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        Probe {
            profile: format!("user:{user}"),
            sent,
            sent_wall_us,
            ack,
            error,
        }
    }

    /// Sends a probe every [`PROBE_EVERY`] from `start` until `end` (one at a time: a probe
    /// answered late delays the next), on a runtime of this thread's own, so that the load
    /// generator's runtime, busy with its connections, does not delay them.
    fn run(&self, start: Instant, end: Instant) -> Result<Vec<Probe>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the probe runtime")?;
        rt.block_on(async {
            let mut conn = self.target.connect().await?;
            let mut sent = Vec::new();
            for k in 0u32.. {
                let at = start + PROBE_EVERY * k;
                if at >= end {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                let probe = self.send(&mut conn).await;
                if probe.error.is_some() {
                    conn = self.target.connect().await?;
                }
                sent.push(probe);
            }
            Ok(sent)
        })
    }
}

/// What the receiver saw of one `tier.changed`.
#[derive(Clone, Copy)]
struct Arrival {
    /// When its body had been read, before the answer.
    at: Instant,
    wall_us: i64,
    /// The announcement's `timestamp`: when the desk looked at the profile (the follow-up
    /// thread's clock read before it looks at a slice of changed profiles), in milliseconds.
    observed_ms: Option<i64>,
}

/// What the receiver has seen.
#[derive(Default)]
struct HookLog {
    /// The first `tier.changed` of each probe, by profile (delivery is at least once).
    first: std::collections::HashMap<String, Arrival>,
    /// `tier.changed` of other profiles.
    others: u64,
}

/// A webhook receiver on a loopback port: keep-alive HTTP/1.1 with a thread per connection,
/// answering every request `200` with an empty body at once.
struct Hooks {
    url: String,
    log: Arc<std::sync::Mutex<HookLog>>,
}

impl Hooks {
    fn start() -> Result<Hooks> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .context("listening for webhook deliveries")?;
        let url = format!("http://{}/hooks", listener.local_addr()?);
        let log = Arc::new(std::sync::Mutex::new(HookLog::default()));
        let shared = log.clone();
        std::thread::Builder::new()
            .name("bench-hooks".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let log = shared.clone();
                    // A connection that breaks or speaks something else loses its deliveries,
                    // which then show as lost probes.
                    let _ = std::thread::Builder::new()
                        .name("bench-hook".into())
                        .spawn(move || receive(stream, &log));
                }
            })
            .context("starting the webhook receiver")?;
        Ok(Hooks { url, log })
    }

    fn log(&self) -> std::sync::MutexGuard<'_, HookLog> {
        self.log.lock().expect("the webhook log")
    }

    fn arrival(&self, profile: &str) -> Option<Arrival> {
        self.log().first.get(profile).copied()
    }
}

/// Serves one connection of the receiver until it closes.
fn receive(stream: std::net::TcpStream, log: &std::sync::Mutex<HookLog>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut answer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let (mut line, mut body) = (String::new(), Vec::new());
    loop {
        let (mut length, mut head) = (0usize, false);
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let text = line.trim_end();
            if !head {
                // The request line (blank lines before it are allowed).
                head = !text.is_empty();
                continue;
            }
            if text.is_empty() {
                break;
            }
            let Some((name, value)) = text.split_once(':') else {
                continue;
            };
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .trim()
                    .parse()
                    .map_err(|_| std::io::Error::other("a content-length that is not a number"))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(std::io::Error::other("chunked bodies are not supported"));
            }
        }
        body.resize(length, 0);
        std::io::Read::read_exact(&mut reader, &mut body)?;
        let (at, wall_us) = (Instant::now(), wall_us());
        answer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")?;
        if let Some((profile, observed_ms)) = tier_change(&body) {
            let mut log = log.lock().expect("the webhook log");
            if profile.starts_with(&format!("user:{PROBE_PREFIX}")) {
                log.first.entry(profile).or_insert(Arrival {
                    at,
                    wall_us,
                    observed_ms,
                });
            } else {
                log.others += 1;
            }
        }
    }
}

/// The profile and announcement time (ms) of a `tier.changed` body; `None` for anything else.
fn tier_change(body: &[u8]) -> Option<(String, Option<i64>)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v.get("type")?.as_str()? != "tier.changed" {
        return None;
    }
    let profile = v.get("data")?.get("profile")?.as_str()?.to_string();
    let at = v
        .get("timestamp")
        .and_then(serde_json::Value::as_str)
        .and_then(|t| intent_core::time::parse_timestamp(t).ok());
    Some((profile, at))
}

// ---------------------------------------------------------------------------------------------
// Numbers

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

/// The `q` quantile (nearest rank) of `v`, which it sorts; 0 when empty.
fn percentile(v: &mut [u32], q: f64) -> u32 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixed_rounds_make_every_id_new() {
        let mut pool = Pool::new(2, 'b', true);
        let body = br#"{"batch":[{"messageId":"m-1","x":1},{"messageId":"m-2"}]}"#;
        let ends: Vec<u32> = [b"m-1", b"m-2"]
            .iter()
            .map(|id| (memchr::memmem::find(body, *id).unwrap() + 3) as u32)
            .collect();
        pool.push(Bytes::from_static(body), &ends);
        assert_eq!(&pool.body(0)[..], &body[..]);
        assert_eq!(
            &pool.body(3)[..],
            br#"{"batch":[{"messageId":"m-1~b3","x":1},{"messageId":"m-2~b3"}]}"#
        );
    }

    #[test]
    fn later_rounds_are_new_people() {
        let mut b = PoolBuilder {
            batch_size: 1,
            batches: Pool::new(1, 'b', true),
            tracks: Pool::new(1, 't', false),
            seen: FxHashSet::default(),
            hasher: RandomState::new(),
            body: Vec::new(),
            in_body: 0,
            ids: Vec::new(),
            track_spans: Vec::new(),
        };
        b.add(br#"{"type":"track","messageId":"m","userId":"u","anonymousId":"a","event":"E"}"#)
            .unwrap();
        assert_eq!(
            &b.batches.body(1)[..],
            br#"{"batch":[{"type":"track","messageId":"m~b1","userId":"u~b1","anonymousId":"a~b1","event":"E"}]}"#
        );
        assert_eq!(
            &b.tracks.body(0)[..],
            br#"{"type":"track","messageId":"m~t0","userId":"u~t0","anonymousId":"a~t0","event":"E"}"#
        );
    }

    #[test]
    fn lines_across_writes() {
        let mut got = Vec::new();
        let mut lines = Lines::new(|l: &[u8]| {
            got.push(String::from_utf8_lossy(l).into_owned());
            Ok(())
        });
        lines.write_all(b"ab\ncd").unwrap();
        lines.write_all(b"ef\n\ngh").unwrap();
        lines.finish().unwrap();
        assert_eq!(got, ["ab", "cdef", "gh"]);
    }

    #[test]
    fn proc_stat() {
        let line = "42 (tokio-runtime w) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(parse_stat(line), Some(("tokio-runtime w", 3.0)));
    }

    #[test]
    fn tier_changes_are_read_from_webhook_bodies() {
        let body = br#"{"type":"tier.changed","timestamp":"2026-11-27T10:00:00.250Z","data":{"profile":"user:probe-3","from":"cold","to":"hot"}}"#;
        let at = intent_core::time::parse_timestamp("2026-11-27T10:00:00.250Z").unwrap();
        assert_eq!(
            tier_change(body),
            Some(("user:probe-3".to_string(), Some(at)))
        );
        let other = br#"{"type":"task.created","timestamp":"2026-11-27T10:00:00Z","data":{"profile":"user:probe-3"}}"#;
        assert_eq!(tier_change(other), None);
        assert_eq!(tier_change(b"not json"), None);
    }

    #[test]
    fn the_receiver_answers_keep_alive_requests_and_logs_probes() {
        use std::io::Read;
        let hooks = Hooks::start().unwrap();
        let addr = hooks
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/hooks");
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        let post = |profile: &str| {
            let body = format!(
                r#"{{"type":"tier.changed","timestamp":"2026-11-27T10:00:00Z","data":{{"profile":"{profile}"}}}}"#
            );
            format!(
                "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        // Three requests on one connection: a probe, someone else, the probe again.
        for profile in ["user:probe-1", "user:u-9", "user:probe-1"] {
            conn.write_all(post(profile).as_bytes()).unwrap();
            let mut got = vec![0; answer.len()];
            conn.read_exact(&mut got).unwrap();
            assert_eq!(got, answer);
        }
        let log = hooks.log();
        assert_eq!(log.first.len(), 1);
        assert_eq!(log.others, 1);
        assert!(log.first["user:probe-1"].observed_ms.is_some());
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let mut v: Vec<u32> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 0.5), 50);
        assert_eq!(percentile(&mut v, 0.99), 99);
        assert_eq!(percentile(&mut v, 1.0), 100);
    }
}
