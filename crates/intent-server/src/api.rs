//! The routes: Segment ingestion (full and short paths, the browser SDK's settings route), the
//! read API over live profiles and the queue, plan versions, quarantine, health and metrics.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ingest::{self, Envelope, MAX_BATCH_MESSAGES, Prepared};
use crate::live::{Job, Live};
use crate::metrics::{RequestLabels, TierLabels};
use crate::now_ms;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use intent_core::engine::Engine;
use intent_core::event::{Event, EventType, Fields};
use intent_core::plan::Plan;
use intent_core::score::{DISQUALIFIED, Snapshot, text_hash, tier_name};
use intent_core::time::{Ts, format_timestamp, parse_timestamp};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::oneshot;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The router.
pub fn router(state: AppState) -> Router {
    let ingest_routes = Router::new()
        .route("/v1/batch", post(batch))
        .route("/v1/import", post(batch))
        .route("/v1/b", post(batch))
        .route("/v1/track", post(track))
        .route("/v1/t", post(track))
        .route("/v1/identify", post(identify))
        .route("/v1/i", post(identify))
        .route("/v1/page", post(page))
        .route("/v1/p", post(page))
        .route("/v1/screen", post(screen))
        .route("/v1/s", post(screen))
        .route("/v1/group", post(group))
        .route("/v1/g", post(group))
        .route("/v1/alias", post(alias))
        .route("/v1/a", post(alias))
        .route("/v1/m", post(sdk_metrics))
        .route("/v1/projects/{key}/settings", get(settings))
        .layer(DefaultBodyLimit::max(1 << 20));
    let read_routes = Router::new()
        .route("/v1/profiles/{id}", get(profile))
        .route("/v1/profiles/{id}/events", get(timeline))
        .route("/v1/queue", get(queue))
        .route("/v1/search", get(search))
        .route("/v1/quarantine", get(quarantine))
        .route("/v1/messages/{id}", get(message))
        .route("/v1/plans", get(plans).post(new_plan))
        .route("/v1/plans/{version}", get(plan_version))
        .layer(DefaultBodyLimit::max(1 << 20));
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::DELETE,
            axum::http::Method::OPTIONS,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(std::time::Duration::from_secs(86_400));
    Router::new()
        .merge(ingest_routes)
        .merge(read_routes)
        .merge(crate::tasks::routes().layer(DefaultBodyLimit::max(1 << 20)))
        .merge(crate::outcomes::routes().layer(DefaultBodyLimit::max(1 << 20)))
        .merge(crate::dashboard::routes().layer(DefaultBodyLimit::max(1 << 20)))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), count))
        .layer(cors)
        .with_state(state)
}

async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let res = next.run(req).await;
    state
        .shared
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

// ---------------------------------------------------------------------------------------------
// Ingestion

async fn track(s: State<AppState>, h: HeaderMap, b: Bytes) -> Response {
    single(s, h, b, EventType::Track).await
}
async fn identify(s: State<AppState>, h: HeaderMap, b: Bytes) -> Response {
    single(s, h, b, EventType::Identify).await
}
async fn page(s: State<AppState>, h: HeaderMap, b: Bytes) -> Response {
    single(s, h, b, EventType::Page).await
}
async fn screen(s: State<AppState>, h: HeaderMap, b: Bytes) -> Response {
    single(s, h, b, EventType::Screen).await
}
async fn group(s: State<AppState>, h: HeaderMap, b: Bytes) -> Response {
    single(s, h, b, EventType::Group).await
}
async fn alias(s: State<AppState>, h: HeaderMap, b: Bytes) -> Response {
    single(s, h, b, EventType::Alias).await
}

/// The browser SDK reports its own telemetry here; accepted and ignored.
async fn sdk_metrics() -> Json<Value> {
    Json(json!({ "success": true }))
}

fn is_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("gzip"))
}

/// A write key in the headers, checked before the body is read (a request with a bad key costs
/// no decoding).
fn header_writer(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Caller>> {
    if headers.contains_key(header::AUTHORIZATION) {
        state.keys.writer(headers, None).map(Some)
    } else {
        Ok(None)
    }
}

/// The sending source: the header's key when there was one, else the body's `writeKey`.
fn source_name(
    state: &AppState,
    headers: &HeaderMap,
    from_header: Option<Caller>,
    body_key: Option<&str>,
) -> ApiResult<String> {
    match from_header {
        Some(c) => Ok(c.name),
        None => Ok(state.keys.writer(headers, body_key)?.name),
    }
}

/// Decodes, parses and authenticates a single call.
fn open_request(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<(Map<String, Value>, String, usize)> {
    let from_header = header_writer(state, headers)?;
    let body = ingest::decode_body(body, is_gzip(headers))?;
    let obj = ingest::parse_object(&body)?;
    let key = obj.get("writeKey").and_then(Value::as_str);
    let source = source_name(state, headers, from_header, key)?;
    Ok((obj, source, body.len()))
}

/// Records the acknowledgement latency of an ingest request and answers it.
fn answered(state: &AppState, started: Instant, res: ApiResult<Json<Value>>) -> Response {
    state
        .shared
        .metrics
        .ack_seconds
        .observe(started.elapsed().as_secs_f64());
    res.into_response()
}

/// Hands prepared messages to the writer; answers once they are durable and applied.
pub(crate) async fn submit(
    state: &AppState,
    prepared: Prepared,
) -> ApiResult<crate::live::Appended> {
    let (tx, rx) = oneshot::channel();
    state
        .writer
        .send(Job::Append {
            prepared,
            reply: tx,
        })
        .await
        .map_err(|_| ApiError::internal("the writer has stopped"))?;
    match rx.await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(ApiError::internal(e)),
        Err(_) => Err(ApiError::internal("the writer dropped a request")),
    }
}

async fn single(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
    kind: EventType,
) -> Response {
    let started = Instant::now();
    let res = async {
        let (obj, source, len) = open_request(&state, &headers, &body)?;
        let envelope = Envelope {
            received_at: now_ms(),
            sent_at: None,
            context: None,
            batch: false,
            source: &source,
        };
        let prepared = ingest::prepare_single(obj, kind, &envelope, len);
        let rejected = prepared
            .rejected
            .first()
            .map(|r| (r.2.field.clone(), r.2.reason.clone()));
        let out = submit(&state, prepared).await?;
        if let Some((field, reason)) = rejected {
            let status = if reason.contains("32 KB") {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return Err(ApiError::new(
                status,
                "invalid_message",
                format!("{reason} (kept in the quarantine)"),
            )
            .field(field));
        }
        Ok(Json(json!({
            "success": true,
            "accepted": out.stored,
            "duplicates": out.duplicates.len(),
        })))
    }
    .await;
    answered(&state, started, res)
}

async fn batch(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let res = async {
        let from_header = header_writer(&state, &headers)?;
        let body = ingest::decode_body(&body, is_gzip(&headers))?;
        let parsed = ingest::parse_batch(&body)?;
        let source = source_name(&state, &headers, from_header, parsed.write_key.as_deref())?;
        let Some(messages) = parsed.batch else {
            return Err(ApiError::bad_request(
                "invalid_batch",
                "missing: a batch carries its messages in `batch`",
            )
            .field("batch"));
        };
        if messages.len() > MAX_BATCH_MESSAGES {
            return Err(ApiError::too_large(format!(
                "the batch has {} messages; the limit is {MAX_BATCH_MESSAGES}",
                messages.len()
            ))
            .field("batch"));
        }
        let sent_at = parsed
            .sent_at
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|s| parse_timestamp(s).ok());
        let context = match &parsed.context {
            Some(Value::Object(c)) => Some(c),
            _ => None,
        };
        let envelope = Envelope {
            received_at: now_ms(),
            sent_at,
            context,
            batch: true,
            source: &source,
        };
        let prepared = ingest::prepare_batch(&messages, &envelope);
        let rejected: Vec<Value> = prepared
            .rejected
            .iter()
            .map(|(i, id, r)| {
                json!({"index": i, "messageId": id, "field": r.field, "reason": r.reason})
            })
            .collect();
        drop(messages);
        let out = submit(&state, prepared).await?;
        Ok(Json(json!({
            "success": true,
            "accepted": out.stored,
            "duplicates": out.duplicates.len(),
            "rejected": rejected,
        })))
    }
    .await;
    answered(&state, started, res)
}

/// The settings route of `@segment/analytics-next`: tells the browser SDK where to send events.
async fn settings(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    if !state.keys.knows(&key) {
        return Err(ApiError::not_found("no source has this write key"));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    Ok(Json(json!({
        "integrations": {
            "Segment.io": {
                "apiKey": key,
                "apiHost": format!("{host}/v1"),
                "protocol": proto,
                "unbundledIntegrations": [],
                "addBundledMetadata": true,
                "maybeBundledConfigIds": {},
                "versionSettings": { "version": "4.4.7", "componentTypes": ["browser"] }
            }
        },
        "plan": {
            "track": { "__default": { "enabled": true, "integrations": {} } },
            "identify": { "__default": { "enabled": true } },
            "group": { "__default": { "enabled": true } }
        },
        "edgeFunction": {},
        "analyticsNextEnabled": true,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": { "sampleRate": 0 },
        "legacyVideoPluginsEnabled": false,
        "remotePlugins": []
    })))
}

/// Ingests NDJSON lines from inside the process (the demo feed) as a batch from `source`.
pub async fn ingest_lines(
    state: &AppState,
    lines: &[String],
    source: &str,
) -> ApiResult<crate::live::Appended> {
    let raws: Vec<&serde_json::value::RawValue> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let envelope = Envelope {
        received_at: now_ms(),
        sent_at: None,
        context: None,
        batch: true,
        source,
    };
    let prepared = ingest::prepare_batch(&raws, &envelope);
    submit(state, prepared).await
}

// ---------------------------------------------------------------------------------------------
// Reads

/// Runs a read on the store's read connection, off the async workers.
pub(crate) async fn read_store<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&dyn intent_store::Store) -> intent_store::Result<T> + Send + 'static,
) -> ApiResult<T> {
    let reader = state.reader.clone();
    tokio::task::spawn_blocking(move || read(&**reader.lock().expect("reader")))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Runs a small write (a subscription, a replay) on the store's second connection, off the
/// async workers; a missing record is 404.
pub(crate) async fn write_store<T: Send + 'static>(
    state: &AppState,
    write: impl FnOnce(&mut dyn intent_store::Store) -> intent_store::Result<T> + Send + 'static,
) -> ApiResult<T> {
    let reader = state.reader.clone();
    tokio::task::spawn_blocking(move || write(&mut **reader.lock().expect("reader")))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            intent_store::Error::NotFound(what) => ApiError::not_found(format!("no {what}")),
            e => ApiError::internal(e),
        })
}

/// A page size: 50 unless asked, between 1 and 1,000.
fn page_limit(limit: Option<usize>) -> usize {
    limit.unwrap_or(50).clamp(1, 1000)
}

fn fields_json(f: &Fields) -> Value {
    Value::Object(f.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn event_json(e: &Event) -> Value {
    json!({
        "messageId": e.message_id,
        "type": e.kind.as_str(),
        "name": e.name,
        "timestamp": format_timestamp(e.timestamp),
        "userId": e.user_id,
        "anonymousId": e.anonymous_id,
        "channel": e.channel(),
        "properties": fields_json(&e.properties),
        "traits": fields_json(&e.traits),
    })
}

fn reason(engine: &Engine, snap: &Snapshot) -> Option<String> {
    let plan = engine.scorer().plan();
    match (snap.disqualifier, snap.override_index) {
        (Some(d), _) => Some(plan.disqualifiers[d].reason.clone()),
        (None, Some(o)) => Some(plan.overrides[o].reason.clone()),
        _ => None,
    }
}

fn row_json(engine: &Engine, id: &str, snap: &Snapshot) -> Value {
    let plan = engine.scorer().plan();
    let facets = engine.facets(id);
    json!({
        "id": id,
        "tier": tier_name(plan, snap.tier),
        "tier_since": snap.tier_since.map(format_timestamp),
        "score": round(snap.score),
        "fit": round(snap.fit),
        "grade": snap.grade.map(|g| plan.grades[g].name.as_str()),
        "override": snap.override_index.map(|o| plan.overrides[o].id.as_str()),
        "disqualifier": snap.disqualifier.map(|d| plan.disqualifiers[d].id.as_str()),
        "reason": reason(engine, snap),
        "location": facets.and_then(|f| f.location).map(|l| engine.label(l)),
        "channels": facets.map(|f| f.channels.iter().map(|&c| engine.label(c)).collect::<Vec<_>>()),
        "events": snap.events,
        "last_event": snap.last_event.map(format_timestamp),
    })
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `now`, but never before the profile's last event (a client clock ahead of ours).
pub(crate) fn at(engine: &Engine, id: &str, now: Ts) -> Ts {
    engine.last_event_time(id).map_or(now, |t| now.max(t))
}

/// The canonical id for `user:<id>`, `anon:<id>` or a bare user or anonymous id.
pub(crate) fn resolve(engine: &Engine, id: &str) -> ApiResult<String> {
    engine
        .canonical(id)
        .or_else(|| {
            ["user:", "anon:"]
                .iter()
                .find_map(|p| engine.canonical(&format!("{p}{id}")))
        })
        .ok_or_else(|| ApiError::not_found(format!("no profile has the id `{id}`")))
}

pub(crate) fn read_live(state: &AppState) -> std::sync::RwLockReadGuard<'_, Live> {
    state.shared.live.read().expect("live state")
}

#[derive(Deserialize)]
struct AtQuery {
    at: Option<String>,
}

/// `?at=` (an ISO-8601 moment) or the clock.
fn moment(text: Option<&str>) -> ApiResult<Ts> {
    Ok(query_time("at", text)?.unwrap_or_else(now_ms))
}

/// An ISO-8601 moment in the query parameter `field`, when given.
pub(crate) fn query_time(field: &'static str, text: Option<&str>) -> ApiResult<Option<Ts>> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => parse_timestamp(t).map(Some).map_err(|e| {
            ApiError::bad_request("invalid_query", format!("`{field}`: {e}")).field(field)
        }),
    }
}

/// A `tier` filter: the index of one of the plan's tiers (`levels`, highest first), or
/// [`DISQUALIFIED`]; `None` when not given.
pub(crate) fn tier_filter(levels: &[&str], text: Option<&str>) -> ApiResult<Option<u8>> {
    match text {
        None | Some("") => Ok(None),
        Some("disqualified") => Ok(Some(DISQUALIFIED)),
        Some(t) => match levels.iter().position(|l| *l == t) {
            Some(i) => Ok(Some(i as u8)),
            None => Err(ApiError::bad_request(
                "invalid_filter",
                format!("no tier `{t}`; the plan's tiers are {}", levels.join(", ")),
            )
            .field("tier")),
        },
    }
}

async fn profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<AtQuery>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let asked = moment(q.at.as_deref())?;
    let live = read_live(&state);
    let engine = &live.engine;
    let plan = engine.scorer().plan();
    let canonical = resolve(engine, &id)?;
    let now = at(engine, &canonical, asked);
    let snap = engine
        .snapshot(&canonical, now)
        .ok_or_else(|| ApiError::not_found("profile"))?;
    let x = engine
        .explain(&canonical, now)
        .ok_or_else(|| ApiError::not_found("profile"))?;
    let traits = engine.traits(&canonical);
    let mut v = row_json(engine, &canonical, &snap);
    let o = v.as_object_mut().expect("object");
    o.insert("ids".into(), json!(engine.members(&canonical)));
    o.insert("traits".into(), Value::Object(traits));
    o.insert("plan_version".into(), json!(live.plan_version));
    o.insert("now".into(), json!(format_timestamp(now)));
    o.insert(
        "groups".into(),
        json!(
            x.groups
                .iter()
                .map(|(g, val, score)| json!({"group": g, "value": val, "score": round(*score)}))
                .collect::<Vec<_>>()
        ),
    );
    o.insert(
        "fit_rules".into(),
        json!(
            x.fit_rules
                .iter()
                .map(|(id, label, pts)| json!({"rule": id, "label": label, "points": pts}))
                .collect::<Vec<_>>()
        ),
    );
    o.insert(
        "prediction".into(),
        crate::outcomes::prediction(plan, &x, now),
    );
    o.insert("explanation".into(), json!(x.contributions));
    o.insert("tier_changes".into(), json!(x.tier_changes));
    o.insert(
        "tiers".into(),
        json!(plan.levels.iter().map(|l| &l.name).collect::<Vec<_>>()),
    );
    let desk = state.follow.desk.read().expect("desk");
    let stage = desk.stage(&canonical, snap.tier, snap.score, snap.grade);
    o.insert(
        "stage".into(),
        json!(stage.map(|s| json!({"id": s.id, "label": s.label}))),
    );
    let tasks: Vec<Value> = desk
        .tasks()
        .iter()
        .filter(|t| t.profile == canonical)
        .map(|t| {
            json!({"id": t.id, "status": t.status, "tier": t.tier, "owner": t.owner,
                   "due_at": format_timestamp(t.due_at), "result": t.result})
        })
        .collect();
    o.insert("tasks".into(), json!(tasks));
    Ok(Json(v))
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn timeline(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let live = read_live(&state);
    let engine = &live.engine;
    let canonical = resolve(engine, &id)?;
    let events = engine.timeline(&canonical);
    let limit = page_limit(page.limit);
    let offset = page.offset.unwrap_or(0);
    let items: Vec<Value> = events
        .iter()
        .rev()
        .skip(offset)
        .take(limit)
        .map(|e| event_json(e))
        .collect();
    Ok(Json(json!({
        "id": canonical,
        "total": events.len(),
        "offset": offset,
        "limit": limit,
        "order": "newest first",
        "items": items,
    })))
}

#[derive(Deserialize)]
struct QueueQuery {
    tier: Option<String>,
    location: Option<String>,
    channel: Option<String>,
    group: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let live = read_live(&state);
    let engine = &live.engine;
    let plan = engine.scorer().plan();
    let names: Vec<&str> = plan.levels.iter().map(|l| l.name.as_str()).collect();
    let tier = tier_filter(&names, q.tier.as_deref())?;
    // A filter on a name no event ever carried matches nothing.
    let label = |text: &Option<String>| -> Option<Option<u16>> {
        text.as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| engine.label_id(t))
    };
    let location = label(&q.location);
    let channel = label(&q.channel);
    let group = match q.group.as_deref().filter(|g| !g.is_empty()) {
        None => None,
        Some(g) => {
            let (gid, value) = match g.split_once(':') {
                Some((gid, v)) => (Some(gid), v),
                None => (None, g),
            };
            let h = text_hash(value);
            let groups: Vec<(u8, u64)> = plan
                .groups
                .iter()
                .enumerate()
                .filter(|(_, gr)| gid.is_none_or(|id| gr.id == id))
                .map(|(i, _)| (i as u8, h))
                .collect();
            Some(groups)
        }
    };
    let now = now_ms();
    let mut rows: Vec<(u8, bool, f64, u32, Snapshot)> = engine
        .profiles_at(now)
        .filter(|p| tier.is_none_or(|t| p.snapshot.tier == t))
        .filter(|p| match location {
            None => true,
            Some(l) => l.is_some() && p.facets.location == l,
        })
        .filter(|p| match channel {
            None => true,
            Some(c) => c.is_some_and(|c| p.facets.channels.contains(&c)),
        })
        .filter(|p| match &group {
            None => true,
            Some(gs) => gs.iter().any(|g| p.facets.groups.binary_search(g).is_ok()),
        })
        .map(|p| {
            let s = p.snapshot;
            (s.tier, s.override_index.is_some(), s.score, p.key, s)
        })
        .collect();
    let total = rows.len();
    rows.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then(b.1.cmp(&a.1))
            .then(b.2.total_cmp(&a.2))
            .then(a.3.cmp(&b.3))
    });
    let limit = page_limit(q.limit);
    let offset = q.offset.unwrap_or(0);
    let items: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            let id = engine.key_name(r.3);
            let mut item = row_json(engine, &id, &r.4);
            // One explanation per listed profile, only when the plan has a model.
            let prediction = match plan.model {
                None => Value::Null,
                Some(_) => {
                    let moment = at(engine, &id, now);
                    engine.explain(&id, moment).map_or(Value::Null, |x| {
                        crate::outcomes::prediction(plan, &x, moment)
                    })
                }
            };
            item["prediction"] = prediction;
            item
        })
        .collect();
    Ok(Json(json!({
        "total": total,
        "offset": offset,
        "limit": limit,
        "plan_version": live.plan_version,
        "items": items,
    })))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let text = q.q.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(
            ApiError::bad_request("invalid_query", "give `q`: an id or a trait value").field("q"),
        );
    }
    let live = read_live(&state);
    let engine = &live.engine;
    let now = now_ms();
    let items: Vec<Value> = engine
        .search(text.trim())
        .iter()
        .take(100)
        .filter_map(|id| {
            let snap = engine.snapshot(id, at(engine, id, now))?;
            Some(row_json(engine, id, &snap))
        })
        .collect();
    Ok(Json(json!({ "q": text, "items": items })))
}

#[derive(Deserialize)]
struct QuarantineQuery {
    limit: Option<usize>,
    before: Option<i64>,
}

async fn quarantine(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QuarantineQuery>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let limit = page_limit(q.limit);
    let (items, total) = read_store(&state, move |store| {
        Ok((store.rejected(limit, q.before)?, store.rejected_count()?))
    })
    .await?;
    Ok(Json(json!({ "total": total, "items": items })))
}

async fn message(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let found = read_store(&state, move |store| store.find(&id)).await?;
    let (seq, body) = found.ok_or_else(|| ApiError::not_found("no stored message has this id"))?;
    let body: Value = serde_json::from_str(&body).map_err(ApiError::internal)?;
    Ok(Json(json!({ "seq": seq, "message": body })))
}

// ---------------------------------------------------------------------------------------------
// Plans

async fn plans(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let active = read_live(&state).plan_version;
    let rescoring = state.shared.rescoring.lock().expect("status").clone();
    let versions = read_store(&state, |store| store.plans()).await?;
    let versions: Vec<Value> = versions
        .iter()
        .map(|p| {
            json!({
                "version": p.version,
                "created_at": format_timestamp(p.created_at),
                "origin": p.origin,
                "live": p.version == active,
            })
        })
        .collect();
    Ok(Json(
        json!({ "live": active, "rescoring": rescoring, "versions": versions }),
    ))
}

async fn plan_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let all = read_store(&state, |store| store.plans()).await?;
    let live = read_live(&state).plan_version;
    let want = if version == "live" {
        live
    } else {
        version.parse().map_err(|_| {
            ApiError::bad_request("invalid_version", "a version is a number or `live`")
                .field("version")
        })?
    };
    let p = all
        .into_iter()
        .find(|p| p.version == want)
        .ok_or_else(|| ApiError::not_found(format!("plan version {want}")))?;
    Ok(Json(json!({
        "version": p.version,
        "created_at": format_timestamp(p.created_at),
        "origin": p.origin,
        "live": p.version == live,
        "text": p.text,
    })))
}

fn plan_rejection(e: &intent_core::plan::PlanError) -> Response {
    let issues: Vec<Value> = e
        .issues
        .iter()
        .map(|i| json!({"line": i.line, "column": i.column, "message": i.message}))
        .collect();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({
            "success": false,
            "error": {
                "code": "invalid_plan",
                "message": e.to_string(),
                "field": "",
                "issues": issues,
            }
        })),
    )
        .into_response()
}

/// Why a plan was not published.
pub(crate) enum Unpublished {
    Invalid(intent_core::plan::PlanError),
    Store(intent_store::Error),
}

impl Unpublished {
    pub(crate) fn into_response(self) -> Response {
        match self {
            Unpublished::Invalid(e) => plan_rejection(&e),
            Unpublished::Store(e) => ApiError::internal(e).into_response(),
        }
    }
}

/// Validates, stores and starts scoring a new plan version.
pub(crate) fn publish(state: &AppState, text: String, origin: &str) -> Result<i64, Unpublished> {
    let plan = Plan::parse(&text, origin).map_err(Unpublished::Invalid)?;
    let version = {
        let mut store = state.reader.lock().expect("reader");
        store
            .add_plan(&text, origin, now_ms())
            .map_err(Unpublished::Store)?
    };
    crate::live::rescore(
        state.opener.clone(),
        state.shared.clone(),
        state.writer.clone(),
        plan,
        version,
        text,
    );
    Ok(version)
}

async fn new_plan(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = state.keys.admin(&headers) {
        return e.into_response();
    }
    let text = match String::from_utf8(body.to_vec()) {
        Ok(t) => t,
        Err(_) => {
            return ApiError::bad_request("invalid_plan", "the plan must be UTF-8 YAML text")
                .into_response();
        }
    };
    let st = state.clone();
    let done = tokio::task::spawn_blocking(move || publish(&st, text, "api")).await;
    match done {
        Ok(Ok(version)) => (
            StatusCode::ACCEPTED,
            Json(json!({
                "success": true,
                "version": version,
                "status": "rescoring: the new version goes live when the log is scored; the old one serves until then",
            })),
        )
            .into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Polls a plan file every second; a valid change becomes a new version, an invalid one is
/// logged with its line and column and changes nothing.
pub fn watch_plan(state: AppState, path: PathBuf) {
    std::thread::spawn(move || {
        let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut last = modified(&path);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            let now = modified(&path);
            if now == last {
                continue;
            }
            last = now;
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if text == read_live(&state).plan_text {
                continue;
            }
            let origin = path.display().to_string();
            match publish(&state, text, &origin) {
                Ok(v) => {
                    tracing::info!(version = v, file = %origin, "plan file changed: rescoring")
                }
                Err(_) => {
                    match Plan::parse(&std::fs::read_to_string(&path).unwrap_or_default(), &origin)
                    {
                        Err(e) => {
                            tracing::warn!(error = %e, "plan file changed but is not valid; the live plan stays")
                        }
                        Ok(_) => {
                            tracing::warn!(file = %origin, "plan file changed but could not be stored")
                        }
                    }
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Health and metrics

async fn readyz(State(state): State<AppState>) -> Response {
    let s = &state.shared;
    if s.ready.load(Ordering::Acquire) {
        let seq = read_live(&state).seq;
        (StatusCode::OK, Json(json!({ "ready": true, "seq": seq }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "ready": false,
                "rebuilt": s.rebuilt.load(Ordering::Relaxed),
                "total": s.rebuild_total.load(Ordering::Relaxed),
            })),
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.shared.metrics;
    {
        let live = read_live(&state);
        let plan = live.engine.scorer().plan();
        let mut counts = vec![0i64; plan.levels.len() + 1];
        for p in live.engine.profiles_at(now_ms()) {
            let t = p.snapshot.tier as usize;
            counts[t.min(plan.levels.len())] += 1;
        }
        for (i, c) in counts.iter().enumerate() {
            let tier = if i < plan.levels.len() {
                plan.levels[i].name.clone()
            } else {
                "disqualified".into()
            };
            m.tiers.get_or_create(&TierLabels { tier }).set(*c);
        }
        m.profiles.set(live.engine.profile_count() as i64);
    }
    {
        let now = now_ms();
        let desk = state.follow.desk.read().expect("desk");
        let open = desk.queue(
            &intent_core::action::TaskFilter {
                snoozed: true,
                ..Default::default()
            },
            now,
        );
        let mut by_tier: std::collections::BTreeMap<&str, i64> =
            desk.plan().levels.iter().map(|l| (l.as_str(), 0)).collect();
        for t in &open {
            *by_tier.entry(t.tier.as_str()).or_default() += 1;
        }
        for (tier, n) in by_tier {
            m.tasks_open
                .get_or_create(&TierLabels { tier: tier.into() })
                .set(n);
        }
        m.tasks_overdue
            .set(open.iter().filter(|t| t.due_at < now).count() as i64);
    }
    if let Ok(store) = state.reader.try_lock() {
        m.store_bytes.set(store.size_bytes() as i64);
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        m.encode(),
    )
        .into_response()
}
