//! `intent send`: posts NDJSON history (files, gzip or stdin) to a running server's `/v1/batch`,
//! the way an SDK or a CRM export job would: batches of up to 100 messages (and under Segment's
//! 500 KB), several in flight, each retried on a 5xx or a dropped connection.

use crate::input;
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct SendArgs {
    /// The server.
    #[arg(long, env = "INTENT_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A write key (`intent keys create`).
    #[arg(long, env = "INTENT_WRITE_KEY")]
    write_key: String,
    /// Messages per request (Segment's SDKs send up to 100; the limit is 2,500 and 500 KB).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// NDJSON files, plain or gzip; `-` or nothing reads stdin.
    files: Vec<PathBuf>,
}

#[derive(Default)]
struct Totals {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
}

const MAX_BODY: usize = 480 * 1024;

pub fn run(a: SendArgs) -> Result<()> {
    let started = Instant::now();
    let files = if a.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        a.files.clone()
    };
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", a.write_key))
    );
    let url = format!("{}/v1/batch", a.url.trim_end_matches('/'));
    let totals = Arc::new(Totals::default());
    let first_reject = Arc::new(Mutex::new(None::<String>));
    let (tx, rx) = mpsc::sync_channel::<String>(a.concurrency * 2);
    let rx = Arc::new(Mutex::new(rx));
    let bar = crate::progress::bar(0, "messages");
    let workers: Vec<_> = (0..a.concurrency.max(1))
        .map(|_| {
            let (rx, url, auth, totals, first_reject, bar) = (
                rx.clone(),
                url.clone(),
                auth.clone(),
                totals.clone(),
                first_reject.clone(),
                bar.clone(),
            );
            std::thread::spawn(move || -> Result<()> {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(60)))
                    .build()
                    .into();
                loop {
                    let body = match rx.lock().expect("queue").recv() {
                        Ok(b) => b,
                        Err(_) => return Ok(()),
                    };
                    let reply = post(&agent, &url, &auth, &body)?;
                    let n = |k: &str| reply.get(k).and_then(Value::as_u64).unwrap_or(0);
                    totals.accepted.fetch_add(n("accepted"), Ordering::Relaxed);
                    totals
                        .duplicates
                        .fetch_add(n("duplicates"), Ordering::Relaxed);
                    if let Some(Value::Array(r)) = reply.get("rejected") {
                        totals.rejected.fetch_add(r.len() as u64, Ordering::Relaxed);
                        if let Some(first) = r.first() {
                            first_reject
                                .lock()
                                .expect("first reject")
                                .get_or_insert_with(|| first.to_string());
                        }
                    }
                    bar.inc(n("accepted") + n("duplicates"));
                }
            })
        })
        .collect();
    let read = Arc::new(AtomicU64::new(0));
    let mut batch: Vec<String> = Vec::with_capacity(a.batch);
    let mut size = 0;
    let flush = |batch: &mut Vec<String>, size: &mut usize| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let body = format!("{{\"batch\":[{}]}}", batch.join(","));
        batch.clear();
        *size = 0;
        tx.send(body).context("every sender stopped")
    };
    for f in &files {
        let reader = BufReader::new(input::open(f, read.clone())?);
        for line in reader.lines() {
            let line = line.with_context(|| format!("reading {}", input::display(f)))?;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if batch.len() == a.batch || size + line.len() > MAX_BODY {
                flush(&mut batch, &mut size)?;
            }
            size += line.len() + 1;
            batch.push(line.to_string());
        }
    }
    flush(&mut batch, &mut size)?;
    drop(tx);
    for w in workers {
        w.join().expect("sender thread")?;
    }
    bar.finish_and_clear();
    let (acc, dup, rej) = (
        totals.accepted.load(Ordering::Relaxed),
        totals.duplicates.load(Ordering::Relaxed),
        totals.rejected.load(Ordering::Relaxed),
    );
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "sent to {}: {acc} accepted, {dup} repeats, {rej} rejected (kept in the quarantine) in {secs:.1} s ({:.0} messages/s)",
        a.url,
        (acc + dup + rej) as f64 / secs.max(1e-9)
    );
    if let Some(r) = first_reject.lock().expect("first reject").as_ref() {
        eprintln!("first reject: {r}");
    }
    Ok(())
}

/// Posts one batch; retries 5xx and connection failures with backoff, fails on other 4xx.
fn post(agent: &ureq::Agent, url: &str, auth: &str, body: &str) -> Result<Value> {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=8 {
        let res = agent
            .post(url)
            .header("Authorization", auth)
            .header("Content-Type", "application/json")
            .send(body);
        match res {
            Ok(mut res) => {
                let status = res.status().as_u16();
                let text = res.body_mut().read_to_string().unwrap_or_default();
                if status == 200 {
                    return serde_json::from_str(&text)
                        .with_context(|| format!("reply from {url} is not JSON: {text}"));
                }
                if status < 500 && status != 429 {
                    bail!("{url} answered {status}: {text}");
                }
                if attempt == 8 {
                    bail!("{url} answered {status} {attempt} times: {text}");
                }
            }
            Err(e) if attempt == 8 => {
                return Err(e).with_context(|| format!("sending to {url}"));
            }
            Err(_) => {}
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    unreachable!("the loop returns on its last attempt")
}
