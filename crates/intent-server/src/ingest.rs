//! The Segment HTTP tracking API at the edge: body decoding (gzip, limits), the envelope, and each
//! message normalized the way Segment does it (`messageId`, `receivedAt`, clock-skew correction
//! with `sentAt`) and validated into an [`Event`]. Invalid messages become quarantine entries with
//! their field path; nothing here touches the store.

use crate::error::ApiError;
use intent_core::event::{Event, EventError, EventType, SegmentMessage};
use intent_core::time::{Ts, format_timestamp, parse_timestamp};
use intent_store::Rejected;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::Read;

/// Segment's limit on one message.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Segment's limit on one request body (after decompression).
pub const MAX_BODY_BYTES: usize = 500 * 1024;
/// Segment's limit on messages in one batch.
pub const MAX_BATCH_MESSAGES: usize = 2500;
/// The most bytes of a rejected message the quarantine keeps.
const MAX_QUARANTINE_BODY: usize = 64 * 1024;

/// A message ready for the log.
pub struct Accepted {
    /// The normalized message as JSON (what the log stores).
    pub json: String,
    /// The validated event.
    pub event: Event,
    /// Its index in the request (0 for single calls).
    pub index: usize,
    /// Arrival time.
    pub received_at: Ts,
}

/// A request's messages, sorted into accepted and rejected.
pub struct Prepared {
    /// Valid messages.
    pub accepted: Vec<Accepted>,
    /// Invalid messages with the index they had in the request.
    pub rejected: Vec<(usize, Option<String>, Rejected)>,
}

impl Prepared {
    /// Files a normalized message as accepted, or as rejected with its reason.
    fn settle(&mut self, index: usize, result: Result<Accepted, Invalid>, envelope: &Envelope<'_>) {
        match result {
            Ok(a) => self.accepted.push(a),
            Err(bad) => {
                let text = serde_json::to_string(&bad.message).unwrap_or_default();
                self.rejected.push(reject(
                    index,
                    bad.message_id,
                    bad.field,
                    bad.reason,
                    &text,
                    envelope,
                ));
            }
        }
    }
}

/// Decompresses (when `gzip`) and checks the size limit.
pub fn decode_body(raw: &[u8], gzip: bool) -> Result<Vec<u8>, ApiError> {
    if raw.len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large(format!(
            "request body is {} bytes; the limit is {MAX_BODY_BYTES} (500 KB)",
            raw.len()
        )));
    }
    if !gzip {
        return Ok(raw.to_vec());
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    let mut reader = flate2::read::GzDecoder::new(raw).take(MAX_BODY_BYTES as u64 + 1);
    reader.read_to_end(&mut out).map_err(|e| {
        ApiError::bad_request(
            "invalid_gzip",
            format!("the gzip body does not decode: {e}"),
        )
    })?;
    if out.len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large(format!(
            "decompressed body is over {MAX_BODY_BYTES} bytes (500 KB)"
        )));
    }
    Ok(out)
}

/// A body that is not JSON: 400, naming the line and column.
fn invalid_json(e: &serde_json::Error) -> ApiError {
    ApiError::bad_request(
        "invalid_json",
        format!(
            "the body is not valid JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        ),
    )
}

/// Parses a JSON object body; a parse error names the line and column.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid_json(&e))?;
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_request(
            "invalid_json",
            "the body must be a JSON object",
        )),
    }
}

/// A `/v1/batch` body: the messages are kept as raw JSON text until each is looked at, so a
/// message's size is known without serializing it again.
#[derive(serde::Deserialize)]
pub struct BatchBody<'a> {
    /// The messages.
    #[serde(borrow)]
    pub batch: Option<Vec<&'a serde_json::value::RawValue>>,
    /// When the client sent the batch.
    #[serde(rename = "sentAt")]
    pub sent_at: Option<Value>,
    /// Context shared by every message.
    pub context: Option<Value>,
    /// The write key, when the SDK sends it in the body.
    #[serde(rename = "writeKey")]
    pub write_key: Option<std::borrow::Cow<'a, str>>,
}

/// Parses a batch body; a parse error names the line and column.
pub fn parse_batch(body: &[u8]) -> Result<BatchBody<'_>, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            // Valid JSON of the wrong shape: `batch` is not a list, or the body is not an object.
            ApiError::bad_request(
                "invalid_batch",
                format!(
                    "a batch is an object whose `batch` is a list of messages (line {} column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
            .field("batch")
        } else {
            invalid_json(&e)
        }
    })
}

/// A new message id for a message that came without one.
pub fn new_message_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the operating system gives random bytes");
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("srv-{hex}")
}

fn moment(v: Option<&Value>) -> Option<Ts> {
    v.and_then(Value::as_str)
        .and_then(|s| parse_timestamp(s).ok())
}

/// A message that failed validation, with what the quarantine keeps.
pub struct Invalid {
    /// Its message id, when it has one.
    pub message_id: Option<String>,
    /// The offending field's path.
    pub field: String,
    /// What is wrong.
    pub reason: String,
    /// The message as normalized so far.
    pub message: Map<String, Value>,
}

/// Normalizes one message as Segment does and validates it.
///
/// - `type` comes from the path for single calls (`/v1/track`) and must be given in a batch;
/// - `messageId` is generated when missing;
/// - `receivedAt` is the arrival time; `sentAt` (the message's, else the batch's) corrects the
///   client's clock: `timestamp = receivedAt - (sentAt - timestamp)`, and the client's value is
///   kept as `originalTimestamp`; without a timestamp the event happened when it arrived;
/// - the batch's `context` fills keys the message's own context lacks;
/// - the key's source name is recorded as `context.source` when the message names none.
pub fn normalize(
    mut msg: Map<String, Value>,
    kind: Option<EventType>,
    envelope: &Envelope<'_>,
    index: usize,
) -> Result<Accepted, Invalid> {
    let field = |f: &str| {
        if envelope.batch {
            if f.is_empty() {
                format!("batch[{index}]")
            } else {
                format!("batch[{index}].{f}")
            }
        } else {
            f.to_string()
        }
    };
    msg.remove("writeKey");
    if let Some(k) = kind {
        msg.insert("type".into(), Value::String(k.as_str().into()));
    }
    let message_id = match msg.get("messageId") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            let id = new_message_id();
            msg.insert("messageId".into(), Value::String(id.clone()));
            id
        }
    };
    let received = envelope.received_at;
    msg.insert(
        "receivedAt".into(),
        Value::String(format_timestamp(received)),
    );
    let sent_at = moment(msg.get("sentAt")).or(envelope.sent_at);
    let client_ts = match msg.get("timestamp").or(msg.get("originalTimestamp")) {
        None | Some(Value::Null) => None,
        Some(v) => match moment(Some(v)) {
            Some(t) => Some(t),
            None => {
                return Err(Invalid {
                    message_id: Some(message_id),
                    field: field("timestamp"),
                    reason: "not an ISO-8601 timestamp (e.g. 2026-11-24T10:00:00Z)".into(),
                    message: msg,
                });
            }
        },
    };
    let ts = match (client_ts, sent_at) {
        (Some(t), Some(sent)) => {
            msg.insert(
                "originalTimestamp".into(),
                Value::String(format_timestamp(t)),
            );
            received - (sent - t)
        }
        (Some(t), None) => t,
        (None, _) => received,
    };
    msg.insert("timestamp".into(), Value::String(format_timestamp(ts)));
    // Some SDKs (analytics-python) send a page's or screen's `category` beside `name`; the
    // JavaScript SDKs put it in `properties`, where plans read it.
    let view = matches!(
        msg.get("type").and_then(Value::as_str),
        Some("page" | "screen")
    );
    if view && let Some(cat) = msg.get("category").cloned() {
        let props = msg
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(props) = props {
            props.entry("category").or_insert(cat);
        }
    }
    let ctx = msg
        .entry("context")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(ctx) = ctx {
        for (k, v) in envelope.context.into_iter().flatten() {
            ctx.entry(k.clone()).or_insert_with(|| v.clone());
        }
        ctx.entry("source")
            .or_insert_with(|| Value::String(envelope.source.to_string()));
    }
    let value = Value::Object(msg);
    let json = match serde_json::to_string(&value) {
        Ok(j) => j,
        Err(e) => {
            return Err(Invalid {
                message_id: Some(message_id),
                field: field(""),
                reason: e.to_string(),
                message: into_map(value),
            });
        }
    };
    let decoded = SegmentMessage::deserialize(&value)
        .map_err(|e| EventError {
            field: String::new(),
            message: e.to_string(),
        })
        .and_then(|m| Event::from_message(m, || message_id.clone()));
    match decoded {
        Ok(event) => Ok(Accepted {
            json,
            event,
            index,
            received_at: received,
        }),
        Err(e) => Err(Invalid {
            message_id: Some(message_id),
            field: field(&e.field),
            reason: e.message,
            message: into_map(value),
        }),
    }
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// What a request shares among its messages.
pub struct Envelope<'a> {
    /// Arrival time.
    pub received_at: Ts,
    /// The batch's (or single message's) `sentAt`.
    pub sent_at: Option<Ts>,
    /// The batch's `context`.
    pub context: Option<&'a Map<String, Value>>,
    /// Whether messages come in a batch (field paths get `batch[i].`).
    pub batch: bool,
    /// The key's source name.
    pub source: &'a str,
}

fn reject(
    index: usize,
    message_id: Option<String>,
    field: String,
    reason: String,
    body: &str,
    envelope: &Envelope<'_>,
) -> (usize, Option<String>, Rejected) {
    let mut body = body.to_string();
    if body.len() > MAX_QUARANTINE_BODY {
        let mut cut = MAX_QUARANTINE_BODY;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    (
        index,
        message_id,
        Rejected {
            id: 0,
            received_at: envelope.received_at,
            source: envelope.source.to_string(),
            field,
            reason,
            body,
        },
    )
}

/// Sorts a batch's messages into accepted and rejected.
pub fn prepare_batch(
    messages: &[&serde_json::value::RawValue],
    envelope: &Envelope<'_>,
) -> Prepared {
    let mut out = Prepared {
        accepted: Vec::with_capacity(messages.len()),
        rejected: Vec::new(),
    };
    for (i, raw) in messages.iter().enumerate() {
        let text = raw.get();
        let message_id = |m: &Map<String, Value>| match m.get("messageId") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        if text.len() > MAX_MESSAGE_BYTES {
            let m: Map<String, Value> = serde_json::from_str(text).unwrap_or_default();
            out.rejected.push(reject(
                i,
                message_id(&m),
                format!("batch[{i}]"),
                format!(
                    "message is {} bytes; the limit is {MAX_MESSAGE_BYTES} (32 KB)",
                    text.len()
                ),
                text,
                envelope,
            ));
            continue;
        }
        let m = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => {
                out.rejected.push(reject(
                    i,
                    None,
                    format!("batch[{i}]"),
                    "a message must be a JSON object".into(),
                    text,
                    envelope,
                ));
                continue;
            }
        };
        let kind = match m.get("type").and_then(Value::as_str) {
            Some(t) => match EventType::parse(t) {
                Some(k) => Some(k),
                None => {
                    out.rejected.push(reject(
                        i,
                        message_id(&m),
                        format!("batch[{i}].type"),
                        format!("`{t}` is not one of track, identify, page, screen, group, alias"),
                        text,
                        envelope,
                    ));
                    continue;
                }
            },
            None => {
                out.rejected.push(reject(
                    i,
                    message_id(&m),
                    format!("batch[{i}].type"),
                    "missing: each message in a batch names its type".into(),
                    text,
                    envelope,
                ));
                continue;
            }
        };
        out.settle(i, normalize(m, kind, envelope, i), envelope);
    }
    out
}

/// Prepares a single call (`/v1/track` and the like); `kind` comes from the path.
pub fn prepare_single(
    msg: Map<String, Value>,
    kind: EventType,
    envelope: &Envelope<'_>,
    raw_len: usize,
) -> Prepared {
    let mut out = Prepared {
        accepted: Vec::new(),
        rejected: Vec::new(),
    };
    if raw_len > MAX_MESSAGE_BYTES {
        let id = msg
            .get("messageId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let text = serde_json::to_string(&msg).unwrap_or_default();
        out.rejected.push(reject(
            0,
            id,
            String::new(),
            format!("message is {raw_len} bytes; the limit is {MAX_MESSAGE_BYTES} (32 KB)"),
            &text,
            envelope,
        ));
        return out;
    }
    out.settle(0, normalize(msg, Some(kind), envelope, 0), envelope);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(batch: bool) -> Envelope<'static> {
        Envelope {
            received_at: parse_timestamp("2026-11-24T12:00:10Z").unwrap(),
            sent_at: None,
            context: None,
            batch,
            source: "website",
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sent_at_corrects_the_client_clock() {
        // The client's clock is 1 hour fast: it stamped 13:00:00 and sent at 13:00:05.
        let m = obj(json!({"userId": "u1", "event": "X",
            "timestamp": "2026-11-24T13:00:00Z", "sentAt": "2026-11-24T13:00:05Z"}));
        let a = normalize(m, Some(EventType::Track), &env(false), 0)
            .ok()
            .unwrap();
        assert_eq!(
            format_timestamp(a.event.timestamp),
            "2026-11-24T12:00:05.000Z"
        );
        let v: Value = serde_json::from_str(&a.json).unwrap();
        assert_eq!(v["originalTimestamp"], "2026-11-24T13:00:00.000Z");
        assert_eq!(v["context"]["source"], "website");
        assert!(v["messageId"].as_str().unwrap().starts_with("srv-"));
    }

    #[test]
    fn a_top_level_page_category_is_read_as_a_property() {
        let m = obj(json!({"anonymousId": "a", "name": "Raty", "category": "financing"}));
        let a = normalize(m, Some(EventType::Page), &env(false), 0)
            .ok()
            .unwrap();
        assert_eq!(
            a.event.properties.get("category"),
            Some(&json!("financing"))
        );
        let m = obj(json!({"anonymousId": "a", "category": "financing",
            "properties": {"category": "offers"}}));
        let a = normalize(m, Some(EventType::Page), &env(false), 0)
            .ok()
            .unwrap();
        assert_eq!(a.event.properties.get("category"), Some(&json!("offers")));
    }

    #[test]
    fn without_timestamp_the_event_happened_on_arrival() {
        let m = obj(json!({"anonymousId": "a", "name": "Home"}));
        let a = normalize(m, Some(EventType::Page), &env(false), 0)
            .ok()
            .unwrap();
        assert_eq!(a.event.timestamp, env(false).received_at);
    }

    #[test]
    fn batch_rejects_name_the_field_and_keep_the_rest() {
        let msgs = [
            json!({"type": "track", "userId": "u", "event": "A", "messageId": "m1"}),
            json!({"type": "track", "event": "B", "messageId": "m2"}),
            json!({"userId": "u", "event": "C"}),
            json!({"type": "jump", "userId": "u"}),
            json!(7),
            json!({"type": "track", "userId": "u", "event": "D", "timestamp": "yesterday"}),
        ];
        let texts: Vec<String> = msgs.iter().map(Value::to_string).collect();
        let raws: Vec<Box<serde_json::value::RawValue>> = texts
            .iter()
            .map(|t| serde_json::value::RawValue::from_string(t.clone()).unwrap())
            .collect();
        let refs: Vec<&serde_json::value::RawValue> = raws.iter().map(|r| &**r).collect();
        let p = prepare_batch(&refs, &env(true));
        assert_eq!(p.accepted.len(), 1);
        let fields: Vec<&str> = p.rejected.iter().map(|r| r.2.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "batch[1].userId",
                "batch[2].type",
                "batch[3].type",
                "batch[4]",
                "batch[5].timestamp"
            ]
        );
        assert_eq!(p.rejected[0].1.as_deref(), Some("m2"));
    }

    #[test]
    fn limits() {
        assert_eq!(
            decode_body(&vec![b' '; MAX_BODY_BYTES + 1], false)
                .unwrap_err()
                .status,
            413
        );
        let big = json!({"type": "track", "userId": "u", "event": "A",
            "properties": {"x": "y".repeat(MAX_MESSAGE_BYTES)}});
        let raw = serde_json::value::RawValue::from_string(big.to_string()).unwrap();
        let p = prepare_batch(&[&*raw], &env(true));
        assert!(p.rejected[0].2.reason.contains("32 KB"));
        let e = parse_object(b"{\"a\": }").unwrap_err();
        assert!(e.message.contains("line 1 column 7"), "{}", e.message);
    }

    #[test]
    fn gzip_bodies_decode_and_bombs_stop_at_the_limit() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"{\"batch\":[]}").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(decode_body(&gz, true).unwrap(), b"{\"batch\":[]}");
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&vec![b' '; 4 * MAX_BODY_BYTES]).unwrap();
        let bomb = enc.finish().unwrap();
        assert_eq!(decode_body(&bomb, true).unwrap_err().status, 413);
        assert_eq!(decode_body(b"not gzip", true).unwrap_err().status, 400);
    }
}
