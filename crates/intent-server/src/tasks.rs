//! Routes of the follow-up desk: the task queue and task commands, the SLA report, and webhook
//! subscriptions with their deliveries (admin token).

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::follow::{Command, CommandError, FollowMsg};
use crate::now_ms;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use intent_core::action::report::sla_report;
use intent_core::action::{TaskError, TaskFilter, TaskResult, TaskStatus};
use intent_core::time::{Duration, format_timestamp, parse_timestamp};
use intent_store::{DeliveryStatus, Subscription};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The desk's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/tasks", get(list))
        .route("/v1/tasks/{id}", get(show))
        .route("/v1/tasks/{id}/claim", post(claim))
        .route("/v1/tasks/{id}/snooze", post(snooze))
        .route("/v1/tasks/{id}/reassign", post(reassign))
        .route("/v1/tasks/{id}/complete", post(complete))
        .route("/v1/reports/sla", get(sla))
        .route("/v1/webhooks", get(subscriptions).post(subscribe))
        .route("/v1/webhooks/{id}", delete(unsubscribe))
        .route("/v1/webhooks/deliveries", get(deliveries))
        .route("/v1/webhooks/deliveries/{id}/replay", post(replay))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    owner: Option<String>,
    team: Option<String>,
    tier: Option<String>,
    location: Option<String>,
    profile: Option<String>,
    snoozed: Option<bool>,
    limit: Option<usize>,
    offset: Option<usize>,
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let status = match nonempty(q.status) {
        None => None,
        Some(s) => Some(TaskStatus::parse(&s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_filter",
                format!("no status `{s}`; use open, done, expired or merged"),
            )
            .field("status")
        })?),
    };
    let filter = TaskFilter {
        status,
        owner: nonempty(q.owner),
        team: nonempty(q.team),
        tier: nonempty(q.tier),
        location: nonempty(q.location),
        profile: nonempty(q.profile),
        snoozed: q.snoozed.unwrap_or(false),
    };
    let now = now_ms();
    let desk = state.follow.desk.read().expect("desk");
    let levels: Vec<&str> = desk.plan().levels.iter().map(String::as_str).collect();
    crate::api::tier_filter(&levels, filter.tier.as_deref())?;
    let all = desk.queue(&filter, now);
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let offset = q.offset.unwrap_or(0);
    let items: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|t| intent_core::action::task_json(t, now))
        .collect();
    Ok(Json(json!({
        "total": all.len(),
        "offset": offset,
        "limit": limit,
        "tasks": items,
    })))
}

fn task_id(text: &str) -> ApiResult<i64> {
    text.parse().map_err(|_| {
        ApiError::bad_request("invalid_id", format!("`{text}` is not a task id")).field("id")
    })
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let id = task_id(&id)?;
    let desk = state.follow.desk.read().expect("desk");
    let t = desk
        .task(id)
        .ok_or_else(|| ApiError::not_found(format!("no task {id}")))?;
    Ok(Json(intent_core::action::task_json(t, now_ms())))
}

pub(crate) async fn run(
    state: &AppState,
    id: i64,
    command: Command,
    who: String,
) -> ApiResult<Json<Value>> {
    let (reply, rx) = oneshot::channel();
    state
        .follow
        .tx
        .send(FollowMsg::Command {
            id,
            command,
            who,
            reply,
        })
        .map_err(|_| ApiError::internal("the follow-up desk has stopped"))?;
    let done = rx
        .await
        .map_err(|_| ApiError::internal("the follow-up desk has stopped"))?;
    match done {
        Ok(t) => Ok(Json(intent_core::action::task_json(&t, now_ms()))),
        Err(CommandError::Task(TaskError::NotFound(id))) => {
            Err(ApiError::not_found(format!("no task {id}")))
        }
        Err(CommandError::Task(e @ (TaskError::Closed { .. } | TaskError::Claimed { .. }))) => Err(
            ApiError::new(StatusCode::CONFLICT, "task_conflict", e.to_string()),
        ),
        Err(CommandError::Task(TaskError::Invalid(m))) => {
            Err(ApiError::bad_request("invalid_body", m))
        }
        Err(CommandError::Store(e)) => Err(ApiError::internal(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    /// Who acts (default: the admin token's name).
    by: Option<String>,
    owner: Option<String>,
    until: Option<String>,
    #[serde(rename = "for")]
    duration: Option<String>,
    result: Option<String>,
    note: Option<String>,
}

fn body(bytes: &[u8]) -> ApiResult<ActionBody> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionBody::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("the body is not a valid request: {e}"),
        )
    })
}

fn who(caller: &crate::auth::Caller, b: &ActionBody) -> String {
    b.by.clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| caller.name.clone())
}

/// One task command: authenticate, read the body, make the command from it, run it.
async fn act(
    state: AppState,
    headers: HeaderMap,
    id: String,
    bytes: axum::body::Bytes,
    make: fn(&ActionBody) -> ApiResult<Command>,
) -> ApiResult<Json<Value>> {
    let caller = state.keys.admin(&headers)?;
    let b = body(&bytes)?;
    let command = make(&b)?;
    run(&state, task_id(&id)?, command, who(&caller, &b)).await
}

type Action = (State<AppState>, HeaderMap, Path<String>);

async fn claim(
    (State(state), headers, Path(id)): Action,
    bytes: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    act(state, headers, id, bytes, |_| Ok(Command::Claim)).await
}

async fn snooze(
    (State(state), headers, Path(id)): Action,
    bytes: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    act(state, headers, id, bytes, snooze_command).await
}

async fn reassign(
    (State(state), headers, Path(id)): Action,
    bytes: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    act(state, headers, id, bytes, reassign_command).await
}

async fn complete(
    (State(state), headers, Path(id)): Action,
    bytes: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    act(state, headers, id, bytes, complete_command).await
}

fn snooze_command(b: &ActionBody) -> ApiResult<Command> {
    let until = match (&b.until, &b.duration) {
        (Some(u), None) => parse_timestamp(u).map_err(|e| {
            ApiError::bad_request("invalid_body", format!("`until`: {e}")).field("until")
        })?,
        (None, Some(d)) => {
            let d = Duration::parse(d).map_err(|e| {
                ApiError::bad_request("invalid_body", format!("`for`: {e}")).field("for")
            })?;
            now_ms().checked_add(d.millis()).ok_or_else(|| {
                ApiError::bad_request("invalid_body", "`for` is too long").field("for")
            })?
        }
        (Some(_), Some(_)) => {
            return Err(
                ApiError::bad_request("invalid_body", "give `until` or `for`, not both")
                    .field("for"),
            );
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "give `until` (an ISO-8601 time) or `for` (e.g. `2h`)",
            )
            .field("until"));
        }
    };
    if until <= now_ms() {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("`until` {} is not in the future", format_timestamp(until)),
        )
        .field("until"));
    }
    Ok(Command::Snooze(until))
}

fn reassign_command(b: &ActionBody) -> ApiResult<Command> {
    b.owner
        .clone()
        .filter(|o| !o.trim().is_empty())
        .map(Command::Reassign)
        .ok_or_else(|| ApiError::bad_request("invalid_body", "give the new `owner`").field("owner"))
}

fn complete_command(b: &ActionBody) -> ApiResult<Command> {
    let result = b
        .result
        .as_deref()
        .and_then(TaskResult::parse)
        .ok_or_else(|| {
            let names: Vec<&str> = TaskResult::ALL.iter().map(|r| r.as_str()).collect();
            ApiError::bad_request(
                "invalid_body",
                format!("give a `result`: one of {}", names.join(", ")),
            )
            .field("result")
        })?;
    Ok(Command::Complete(result, b.note.clone()))
}

#[derive(Deserialize)]
struct SlaQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn sla(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SlaQuery>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let now = now_ms();
    let from = crate::api::query_time("from", q.from.as_deref())?.unwrap_or(i64::MIN);
    let to = crate::api::query_time("to", q.to.as_deref())?.unwrap_or(i64::MAX);
    let desk = state.follow.desk.read().expect("desk");
    let report = sla_report(desk.tasks(), &desk.plan().follow, from, to, now);
    let mut v = serde_json::to_value(&report).expect("JSON");
    v["from"] = json!((from != i64::MIN).then(|| format_timestamp(from)));
    v["to"] = json!((to != i64::MAX).then(|| format_timestamp(to)));
    v["now"] = json!(format_timestamp(now));
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeBody {
    url: String,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    tiers: Vec<String>,
    #[serde(default)]
    locations: Vec<String>,
}

async fn subscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.keys.admin(&headers)?;
    let b: SubscribeBody = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("the body is not a valid subscription: {e}"),
        )
    })?;
    let url = b.url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("`{url}` is not an http:// or https:// URL"),
        )
        .field("url"));
    }
    for (i, e) in b.events.iter().enumerate() {
        if !intent_core::action::NOTICE_KINDS.contains(&e.as_str()) {
            return Err(ApiError::bad_request(
                "invalid_body",
                format!(
                    "no event `{e}`; events are: {}",
                    intent_core::action::NOTICE_KINDS.join(", ")
                ),
            )
            .field(format!("events[{i}]")));
        }
    }
    {
        let live = state.shared.live.read().expect("live state");
        let plan = live.engine.scorer().plan();
        for (i, t) in b.tiers.iter().enumerate() {
            if t != "disqualified" && !plan.levels.iter().any(|l| l.name == *t) {
                let names: Vec<&str> = plan.levels.iter().map(|l| l.name.as_str()).collect();
                return Err(ApiError::bad_request(
                    "invalid_body",
                    format!("no tier `{t}`; tiers are: {}", names.join(", ")),
                )
                .field(format!("tiers[{i}]")));
            }
        }
    }
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(ApiError::internal)?;
    let sub = Subscription {
        id: format!(
            "sub_{}",
            rnd.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
        url: url.to_string(),
        secret: crate::webhook::new_secret(),
        events: b.events,
        tiers: b.tiers,
        locations: b.locations,
        created_at: now_ms(),
        disabled: false,
    };
    let stored = sub.clone();
    crate::api::write_store(&state, move |s| s.add_subscription(&stored)).await?;
    let mut v = serde_json::to_value(&sub).expect("JSON");
    // The secret is shown once, here.
    v["secret"] = json!(sub.secret);
    v["created_at"] = json!(format_timestamp(sub.created_at));
    Ok((StatusCode::CREATED, Json(v)))
}

async fn subscriptions(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let subs = crate::api::read_store(&state, |s| s.subscriptions()).await?;
    let (pending, delivered, dead) =
        crate::api::read_store(&state, |s| s.delivery_counts()).await?;
    let subs: Vec<Value> = subs
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).expect("JSON");
            v["created_at"] = json!(format_timestamp(s.created_at));
            v
        })
        .collect();
    Ok(Json(json!({
        "subscriptions": subs,
        "deliveries": { "pending": pending, "delivered": delivered, "dead": dead },
    })))
}

async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.keys.admin(&headers)?;
    crate::api::write_store(&state, move |s| s.remove_subscription(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DeliveryQuery {
    status: Option<String>,
    subscription: Option<String>,
    limit: Option<usize>,
    before: Option<i64>,
}

async fn deliveries(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let status = match nonempty(q.status) {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(&s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_filter",
                format!("no status `{s}`; use pending, delivered or dead"),
            )
            .field("status")
        })?),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let sub = nonempty(q.subscription);
    let list = crate::api::read_store(&state, move |s| {
        s.deliveries(status, sub.as_deref(), limit, q.before)
    })
    .await?;
    let items: Vec<Value> = list
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).expect("JSON");
            v["next_at"] = json!(format_timestamp(d.next_at));
            v["created_at"] = json!(format_timestamp(d.created_at));
            v["delivered_at"] = json!(d.delivered_at.map(format_timestamp));
            v["payload"] = serde_json::from_str(&d.payload).unwrap_or(Value::Null);
            v
        })
        .collect();
    Ok(Json(json!({ "deliveries": items })))
}

async fn replay(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.keys.admin(&headers)?;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::bad_request("invalid_id", format!("`{id}` is not a delivery id")).field("id")
    })?;
    let now = now_ms();
    crate::api::write_store(&state, move |s| s.replay(id, now)).await?;
    state.webhooks.wake();
    Ok(StatusCode::ACCEPTED)
}
