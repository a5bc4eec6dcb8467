//! Outcomes and what is learned from them (admin token): `POST /v1/outcomes` records what came
//! of a lead; `GET /v1/reports/funnel` counts engaged → call to action → lead → appointment →
//! outcome over live state; [`prediction`] is what the live plan's `model:` says of a profile,
//! for the profile and queue answers.
//!
//! An outcome is an ordinary Segment track event, `Outcome Recorded` with `properties.outcome`,
//! written through the same path as `/v1/track`: an answered request is on disk and applied.
//! Outcomes are labels, never points ([`intent_core::outcome`]).

use crate::AppState;
use crate::api::{query_time, read_live, resolve, submit};
use crate::error::{ApiError, ApiResult};
use crate::ingest::{self, Envelope};
use crate::now_ms;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use intent_core::engine::Engine;
use intent_core::event::{Event, EventType, FieldPath, Projection};
use intent_core::explain::Explanation;
use intent_core::outcome::{OUTCOME_EVENT, OutcomeKind};
use intent_core::plan::Plan;
use intent_core::score::{Award, Sink, TierChange};
use intent_core::time::{Ts, format_timestamp, parse_timestamp};
use intent_learn::funnel::{Builder, Journey, Split, funnel};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/outcomes", post(record))
        .route("/v1/reports/funnel", get(report))
}

// ---------------------------------------------------------------------------------------------
// Recording an outcome

/// The keys an outcome request may have.
const KEYS: [&str; 10] = [
    "userId",
    "anonymousId",
    "profile",
    "outcome",
    "value",
    "currency",
    "reason",
    "status",
    "timestamp",
    "messageId",
];

/// Whose outcome it is.
#[derive(Debug, PartialEq)]
enum Who {
    /// Segment ids, as a track call carries them (both: they are joined, as Segment does).
    Ids {
        user: Option<String>,
        anonymous: Option<String>,
    },
    /// Any id of a profile the service knows (`user:<id>`, `anon:<id>` or a bare id).
    Profile(String),
}

/// A valid outcome request.
#[derive(Debug, PartialEq)]
struct OutcomeRequest {
    who: Who,
    kind: OutcomeKind,
    value: Option<f64>,
    currency: Option<String>,
    reason: Option<String>,
    status: Option<String>,
    timestamp: Option<Ts>,
    message_id: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_body", message).field(field)
}

/// An id field: a non-empty string (or a number, as Segment allows); `null` is absent.
fn id(obj: &Map<String, Value>, field: &str) -> ApiResult<Option<String>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(invalid(field, format!("`{field}` is empty")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(invalid(field, format!("`{field}` must be a string"))),
    }
}

/// A text field; `null` is absent.
fn text(obj: &Map<String, Value>, field: &str) -> ApiResult<Option<String>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(field, format!("`{field}` must be a string"))),
    }
}

impl OutcomeRequest {
    /// Checks a request body; every refusal names its field.
    fn parse(obj: &Map<String, Value>) -> ApiResult<OutcomeRequest> {
        if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(invalid(
                k,
                format!(
                    "unknown field `{k}`; an outcome has {}",
                    KEYS.map(|k| format!("`{k}`")).join(", ")
                ),
            ));
        }
        let user = id(obj, "userId")?;
        let anonymous = id(obj, "anonymousId")?;
        let who = match (id(obj, "profile")?, &user, &anonymous) {
            (Some(p), None, None) => Who::Profile(p),
            (Some(_), _, _) => {
                return Err(invalid(
                    "profile",
                    "give `profile`, or `userId` and/or `anonymousId`, not both",
                ));
            }
            (None, None, None) => {
                return Err(invalid(
                    "userId",
                    "whose outcome is it? give `userId`, `anonymousId` or `profile` (any id of a known profile)",
                ));
            }
            (None, _, _) => Who::Ids { user, anonymous },
        };
        let kind = match obj.get("outcome") {
            None | Some(Value::Null) => {
                return Err(invalid(
                    "outcome",
                    format!("give `outcome`: one of {}", OutcomeKind::names()),
                ));
            }
            Some(Value::String(s)) => OutcomeKind::parse(s).ok_or_else(|| {
                invalid(
                    "outcome",
                    format!("no outcome `{s}`; outcomes are: {}", OutcomeKind::names()),
                )
            })?,
            Some(_) => {
                return Err(invalid(
                    "outcome",
                    format!("`outcome` must be one of {}", OutcomeKind::names()),
                ));
            }
        };
        let value = match obj.get("value") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if v.is_finite() && v >= 0.0 => Some(v),
                _ => {
                    return Err(invalid(
                        "value",
                        format!("`value` must be a finite amount of 0 or more, not {n}"),
                    ));
                }
            },
            Some(_) => {
                return Err(invalid(
                    "value",
                    "`value` must be a number (the deal's amount, e.g. 125000)",
                ));
            }
        };
        let currency = match text(obj, "currency")? {
            None => None,
            Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(c.to_ascii_uppercase())
            }
            Some(c) => {
                return Err(invalid(
                    "currency",
                    format!("`{c}` is not a currency code: three letters, e.g. PLN"),
                ));
            }
        };
        let timestamp = match text(obj, "timestamp")? {
            None => None,
            Some(t) => Some(parse_timestamp(&t).map_err(|e| {
                invalid(
                    "timestamp",
                    format!("`timestamp`: {e}; e.g. 2026-11-24T10:00:00Z"),
                )
            })?),
        };
        Ok(OutcomeRequest {
            who,
            kind,
            value,
            currency,
            reason: text(obj, "reason")?,
            status: text(obj, "status")?,
            timestamp,
            message_id: id(obj, "messageId")?,
        })
    }

    /// The Segment track call that records it.
    fn message(&self, user: Option<&str>, anonymous: Option<&str>, message_id: &str) -> Value {
        let mut props = Map::new();
        props.insert("outcome".into(), json!(self.kind.as_str()));
        if let Some(v) = self.value {
            props.insert("value".into(), json!(v));
        }
        for (k, v) in [
            ("currency", &self.currency),
            ("reason", &self.reason),
            ("status", &self.status),
        ] {
            if let Some(v) = v {
                props.insert(k.into(), json!(v));
            }
        }
        props.insert("source".into(), json!("api"));
        let mut msg = Map::new();
        msg.insert("type".into(), json!("track"));
        msg.insert("event".into(), json!(OUTCOME_EVENT));
        if let Some(u) = user {
            msg.insert("userId".into(), json!(u));
        }
        if let Some(a) = anonymous {
            msg.insert("anonymousId".into(), json!(a));
        }
        msg.insert("messageId".into(), json!(message_id));
        if let Some(t) = self.timestamp {
            msg.insert("timestamp".into(), json!(format_timestamp(t)));
        }
        msg.insert("properties".into(), Value::Object(props));
        Value::Object(msg)
    }
}

/// `user:<id>` → (Some(id), None); `anon:<id>` → (None, Some(id)).
fn split_canonical(canonical: &str) -> (Option<String>, Option<String>) {
    match canonical.split_once(':') {
        Some(("user", id)) => (Some(id.to_string()), None),
        Some((_, id)) => (None, Some(id.to_string())),
        None => (Some(canonical.to_string()), None),
    }
}

async fn record(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let caller = state.keys.admin(&headers)?;
    let asked = OutcomeRequest::parse(&ingest::parse_object(&body)?)?;
    let (user, anonymous) = match &asked.who {
        Who::Ids { user, anonymous } => (user.clone(), anonymous.clone()),
        Who::Profile(p) => {
            let live = read_live(&state);
            let canonical = resolve(&live.engine, p).map_err(|e| e.field("profile"))?;
            split_canonical(&canonical)
        }
    };
    let message_id = asked
        .message_id
        .clone()
        .unwrap_or_else(ingest::new_message_id);
    let msg = asked.message(user.as_deref(), anonymous.as_deref(), &message_id);
    let len = msg.to_string().len();
    let Value::Object(msg) = msg else {
        unreachable!("a message is an object")
    };
    let received_at = now_ms();
    let envelope = Envelope {
        received_at,
        sent_at: None,
        context: None,
        batch: false,
        // The admin token's name, where a write call records its source.
        source: &caller.name,
    };
    let prepared = ingest::prepare_single(msg, EventType::Track, &envelope, len);
    if let Some((_, _, r)) = prepared.rejected.first() {
        // Nothing of a refused outcome is stored (an admin call, not a source to quarantine).
        return Err(ApiError::bad_request("invalid_message", r.reason.clone()).field(&r.field));
    }
    let timestamp = prepared
        .accepted
        .first()
        .map_or(received_at, |a| a.event.timestamp);
    let appended = submit(&state, prepared).await?;
    // Acknowledged means applied: live state knows the profile now.
    let home = match (&user, &anonymous) {
        (Some(u), _) => format!("user:{u}"),
        (None, Some(a)) => format!("anon:{a}"),
        (None, None) => unreachable!("an outcome names someone"),
    };
    let profile = read_live(&state).engine.canonical(&home).unwrap_or(home);
    Ok(Json(json!({
        "success": true,
        "messageId": message_id,
        "profile": profile,
        "outcome": asked.kind.as_str(),
        "timestamp": format_timestamp(timestamp),
        "duplicate": appended.stored == 0,
    })))
}

// ---------------------------------------------------------------------------------------------
// The funnel

#[derive(Deserialize)]
struct FunnelQuery {
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// How long the report holds live state at a time: the writer (and every other reader) gets
/// its turn between slices, so a report over a million profiles holds ingestion back by at most
/// a slice at a time, not for the seconds the whole report takes.
const SLICE: Duration = Duration::from_millis(10);

async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<FunnelQuery>,
) -> ApiResult<Json<Value>> {
    state.keys.admin(&headers)?;
    let by =
        q.by.filter(|b| !b.is_empty())
            .unwrap_or_else(|| "none".into());
    let split = Split::parse(&by).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_query",
            format!("no split `{by}`; use channel, location, source, week or none"),
        )
        .field("by")
    })?;
    let from = query_time("from", q.from.as_deref())?;
    let to = query_time("to", q.to.as_deref())?;
    let st = state.clone();
    let (journeys, version) = tokio::task::spawn_blocking(move || journeys(&st, split))
        .await
        .map_err(ApiError::internal)?;
    let counted: Vec<Journey> = journeys
        .into_iter()
        .filter(|j| {
            let Some(began) = began(j) else { return false };
            from.is_none_or(|f| began >= f) && to.is_none_or(|t| began < t)
        })
        .collect();
    let segments = funnel(&counted, split);
    Ok(Json(json!({
        "by": by,
        "from": from.map(format_timestamp),
        "to": to.map(format_timestamp),
        "now": format_timestamp(now_ms()),
        "plan_version": version,
        "profiles": counted.len(),
        "segments": segments,
    })))
}

/// When a journey began: its first engagement, or (for a profile that reached a later stage
/// with no engagement recorded) its first stage.
pub(crate) fn began(j: &Journey) -> Option<Ts> {
    j.reached[0].or_else(|| j.reached.iter().flatten().min().copied())
}

/// Every profile's journey under the live plan, and the plan version. Live state is read in
/// slices of [`SLICE`], so the report is of the profiles there were when it began, each as it
/// was when its slice read it (a profile made while the report runs, or made by a merge, is in
/// the next report); when the plan changes under the report (a new version goes live), it
/// starts again.
pub(crate) fn journeys(state: &AppState, split: Split) -> (Vec<Journey>, i64) {
    let mut projection = Projection::default();
    for path in ["context.campaign", "properties.utm_source", "traits.source"] {
        projection.add(&FieldPath::parse(path).expect("a field path"));
    }
    'again: loop {
        let (keys, version) = {
            let live = read_live(state);
            (live.engine.profile_keys(), live.plan_version)
        };
        let mut out = Vec::with_capacity(keys.len());
        let mut next = 0;
        while next < keys.len() {
            let live = read_live(state);
            if live.plan_version != version {
                continue 'again;
            }
            let engine = &live.engine;
            let mut replay = Replay::new(engine.scorer().plan());
            let started = Instant::now();
            while next < keys.len() && started.elapsed() < SLICE {
                // A key that merged away meanwhile: its events are in the profile it joined.
                if let Some(j) = replay.journey(engine, keys[next], split, &projection) {
                    out.push(j);
                }
                next += 1;
            }
            drop(live);
            std::thread::yield_now();
        }
        return (out, version);
    }
}

/// Replays profiles with a plan's scorer to build their journeys.
struct Replay<'p> {
    plan: &'p Plan,
    log: VecDeque<(Ts, u8, f64)>,
}

/// Passes the scorer's awards and fired overrides to the journey.
struct Feed<'b, 'p> {
    builder: &'b mut Builder<'p>,
    channel: Option<&'b str>,
    fired: Vec<(usize, Ts)>,
}

impl Sink for Feed<'_, '_> {
    fn award(&mut self, award: Award) {
        self.builder.award(award.rule, award.ts, self.channel);
    }
    fn tier_change(&mut self, _: TierChange) {}
    fn override_fired(&mut self, ts: Ts, index: usize) {
        self.fired.push((index, ts));
    }
}

impl<'p> Replay<'p> {
    fn new(plan: &'p Plan) -> Self {
        Replay {
            plan,
            log: VecDeque::new(),
        }
    }

    /// One profile's journey, fed as the batch reports feed it: each event, then the awards
    /// the scorer makes for it, then the overrides it fires.
    fn journey(
        &mut self,
        engine: &Engine,
        key: u32,
        split: Split,
        projection: &Projection,
    ) -> Option<Journey> {
        let history = engine.history_of(key)?;
        let scorer = engine.scorer();
        let mut state = scorer.new_state();
        self.log.clear();
        let mut builder = Builder::new(self.plan);
        for r in &history {
            // Only the source split reads the event itself (a campaign, `utm_source`).
            let source = match split {
                Split::Source => source(r, projection),
                _ => None,
            };
            builder.event(
                r.ts,
                r.identified,
                r.class.outcome.map(|o| o.kind),
                r.channel,
                r.location,
                source.as_deref(),
            );
            let mut feed = Feed {
                builder: &mut builder,
                channel: r.channel,
                fired: Vec::new(),
            };
            scorer
                .apply(&mut state, r.ts, r.class, &mut self.log, &mut feed)
                .expect("history is in canonical order");
            for (o, ts) in feed.fired {
                builder.override_fired(o, ts);
            }
        }
        Some(builder.finish())
    }
}

/// The source an event names: `context.campaign.source`, `properties.utm_source` or
/// `traits.source` (as `intent report funnel` reads it).
fn source(r: &intent_core::engine::Recorded<'_>, projection: &Projection) -> Option<String> {
    let event = match r.json() {
        Some(text) => {
            Event::from_json_projected(text, projection, || r.message_id().into()).ok()?
        }
        None => r.event().into_owned(),
    };
    event
        .context
        .get("campaign")
        .and_then(|c| c.get("source"))
        .or_else(|| event.properties.get("utm_source"))
        .or_else(|| event.traits.get("source"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// Predictions

/// What the live plan's `model:` predicts for a profile explained at `now`; `null` when the plan
/// has no model.
pub fn prediction(plan: &Plan, x: &Explanation, now: Ts) -> Value {
    match &plan.model {
        None => Value::Null,
        Some(model) => json!(model.explain(plan, x, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> ApiResult<OutcomeRequest> {
        OutcomeRequest::parse(v.as_object().expect("object"))
    }

    fn field(v: Value) -> String {
        parse(v).expect_err("refused").field
    }

    #[test]
    fn a_request_is_checked_field_by_field() {
        let ok = parse(json!({"userId": "u1", "outcome": "sale", "value": 125000,
            "currency": "pln", "reason": null, "timestamp": "2026-03-01T10:00:00Z"}))
        .unwrap();
        assert_eq!(ok.kind, OutcomeKind::Sale);
        assert_eq!(ok.value, Some(125000.0));
        assert_eq!(ok.currency.as_deref(), Some("PLN"));
        assert_eq!(ok.reason, None);
        assert_eq!(
            ok.who,
            Who::Ids {
                user: Some("u1".into()),
                anonymous: None
            }
        );
        assert_eq!(
            parse(json!({"profile": "anon:k1", "outcome": "lost"}))
                .unwrap()
                .who,
            Who::Profile("anon:k1".into())
        );
        assert_eq!(field(json!({"outcome": "sale"})), "userId");
        assert_eq!(field(json!({"userId": "", "outcome": "sale"})), "userId");
        assert_eq!(
            field(json!({"userId": "u", "profile": "user:u", "outcome": "sale"})),
            "profile"
        );
        assert_eq!(field(json!({"userId": "u"})), "outcome");
        assert_eq!(field(json!({"userId": "u", "outcome": "won"})), "outcome");
        assert_eq!(field(json!({"userId": "u", "outcome": 3})), "outcome");
        assert_eq!(
            field(json!({"userId": "u", "outcome": "sale", "value": -1})),
            "value"
        );
        assert_eq!(
            field(json!({"userId": "u", "outcome": "sale", "value": "10"})),
            "value"
        );
        assert_eq!(
            field(json!({"userId": "u", "outcome": "sale", "currency": "zloty"})),
            "currency"
        );
        assert_eq!(
            field(json!({"userId": "u", "outcome": "sale", "timestamp": "yesterday"})),
            "timestamp"
        );
        assert_eq!(
            field(json!({"userId": "u", "outcome": "sale", "outcom": "sale"})),
            "outcom"
        );
        let e = parse(json!({"userId": "u", "outcome": "won"})).unwrap_err();
        assert!(
            e.message
                .contains("appointment, shown, no_show, test_drive, sale, lost"),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_message_is_a_track_call_the_core_reads_as_an_outcome() {
        let asked = parse(json!({"userId": "u1", "outcome": "sale", "value": 99.5,
            "currency": "PLN", "status": "won", "timestamp": "2026-03-01T10:00:00Z"}))
        .unwrap();
        let msg = asked.message(Some("u1"), None, "m-1");
        let event = Event::from_json(&msg.to_string(), || "x".into()).unwrap();
        let hit = intent_core::outcome::outcome_of(&[], &event).unwrap();
        assert_eq!(hit.kind, OutcomeKind::Sale);
        assert_eq!(hit.value, 99.5);
        assert_eq!(msg["properties"]["source"], "api");
        assert_eq!(msg["properties"]["status"], "won");
        assert_eq!(split_canonical("anon:k-1"), (None, Some("k-1".to_string())));
        assert_eq!(split_canonical("user:a:b"), (Some("a:b".to_string()), None));
    }
}
