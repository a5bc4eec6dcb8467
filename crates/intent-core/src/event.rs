//! Events: the Segment tracking spec on the wire (`SegmentMessage`) and the validated domain `Event`.
//!
//! A wire message becomes an `Event` only through [`Event::from_json`] / `TryFrom`, so everything past
//! the edge has a type, a message id, a time and at least one identity.

use crate::time::{Ts, parse_timestamp};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// The six Segment call types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// A user action (`event` names it).
    Track,
    /// Who the user is (`traits`).
    Identify,
    /// A web page view (`name` names the page).
    Page,
    /// A screen view in an app or kiosk (`name` names the screen).
    Screen,
    /// Membership of an account or company.
    Group,
    /// Two ids are one person (`previousId` → `userId`).
    Alias,
}

impl EventType {
    /// All types, in bit order.
    pub const ALL: [EventType; 6] = [
        EventType::Track,
        EventType::Identify,
        EventType::Page,
        EventType::Screen,
        EventType::Group,
        EventType::Alias,
    ];

    /// Parses the lowercase spec name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "track" => EventType::Track,
            "identify" => EventType::Identify,
            "page" => EventType::Page,
            "screen" => EventType::Screen,
            "group" => EventType::Group,
            "alias" => EventType::Alias,
            _ => return None,
        })
    }

    /// The lowercase spec name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Track => "track",
            EventType::Identify => "identify",
            EventType::Page => "page",
            EventType::Screen => "screen",
            EventType::Group => "group",
            EventType::Alias => "alias",
        }
    }

    /// A bit for type sets.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message as Segment's HTTP tracking API and SDKs send it (camelCase keys).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentMessage {
    #[serde(rename = "type")]
    kind: Option<String>,
    message_id: Option<Value>,
    timestamp: Option<Value>,
    original_timestamp: Option<Value>,
    user_id: Option<Value>,
    anonymous_id: Option<Value>,
    previous_id: Option<Value>,
    group_id: Option<Value>,
    event: Option<Value>,
    name: Option<Value>,
    properties: Option<Value>,
    traits: Option<Value>,
    context: Option<Value>,
}

/// Why a message was rejected: the field (a path such as `properties` or `timestamp`) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EventError {
    /// The offending field, as a path inside the message.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl EventError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A validated event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The call type.
    pub kind: EventType,
    /// Unique per message; a repeated id counts once.
    pub message_id: String,
    /// When it happened (event time, not arrival time).
    pub timestamp: Ts,
    /// The identified id, when known.
    pub user_id: Option<String>,
    /// The device or session id.
    pub anonymous_id: Option<String>,
    /// For `alias`: the id being merged into `user_id`.
    pub previous_id: Option<String>,
    /// For `group`: the account id.
    pub group_id: Option<String>,
    /// `event` for track, `name` for page and screen.
    pub name: Option<String>,
    /// Event properties.
    pub properties: Map<String, Value>,
    /// Traits: `traits` of identify/group, else `context.traits`.
    pub traits: Map<String, Value>,
    /// The context object (`channel`, `ip`, `page`, ...).
    pub context: Map<String, Value>,
}

fn id_field(value: Option<Value>, field: &str) -> Result<Option<String>, EventError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(EventError::new(field, "expected a string")),
    }
}

fn object_field(value: Option<Value>, field: &str) -> Result<Map<String, Value>, EventError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(EventError::new(field, "expected an object")),
    }
}

impl Event {
    /// Decodes and validates one JSON message. `fallback_id` names a message without `messageId`
    /// (e.g. a hash of the line), so that exact repeats still count once.
    pub fn from_json(text: &str, fallback_id: impl FnOnce() -> String) -> Result<Self, EventError> {
        let msg: SegmentMessage = serde_json::from_str(text).map_err(|e| {
            EventError::new(
                "",
                format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Self::from_message(msg, fallback_id)
    }

    /// Validates a decoded wire message.
    pub fn from_message(
        msg: SegmentMessage,
        fallback_id: impl FnOnce() -> String,
    ) -> Result<Self, EventError> {
        let kind = match msg.kind.as_deref() {
            Some(t) => EventType::parse(t).ok_or_else(|| {
                EventError::new(
                    "type",
                    format!("`{t}` is not one of track, identify, page, screen, group, alias"),
                )
            })?,
            None => return Err(EventError::new("type", "missing")),
        };
        let message_id = id_field(msg.message_id, "messageId")?.unwrap_or_else(fallback_id);
        let timestamp = match msg.timestamp.or(msg.original_timestamp) {
            Some(Value::String(s)) => {
                parse_timestamp(&s).map_err(|e| EventError::new("timestamp", e))?
            }
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| EventError::new("timestamp", "expected an ISO 8601 string"))?,
            Some(_) => return Err(EventError::new("timestamp", "expected an ISO 8601 string")),
            None => {
                return Err(EventError::new(
                    "timestamp",
                    "missing: event time is required",
                ));
            }
        };
        let user_id = id_field(msg.user_id, "userId")?;
        let anonymous_id = id_field(msg.anonymous_id, "anonymousId")?;
        let previous_id = id_field(msg.previous_id, "previousId")?;
        let group_id = id_field(msg.group_id, "groupId")?;
        if user_id.is_none() && anonymous_id.is_none() {
            return Err(EventError::new(
                "userId",
                "one of userId or anonymousId is required",
            ));
        }
        let name = match kind {
            EventType::Track => {
                let name = id_field(msg.event, "event")?;
                if name.is_none() {
                    return Err(EventError::new(
                        "event",
                        "missing: a track call names its event",
                    ));
                }
                name
            }
            _ => id_field(msg.name, "name")?,
        };
        if kind == EventType::Alias && (previous_id.is_none() || user_id.is_none()) {
            return Err(EventError::new(
                "previousId",
                "alias needs both previousId and userId",
            ));
        }
        let properties = object_field(msg.properties, "properties")?;
        let mut context = object_field(msg.context, "context")?;
        let traits = match kind {
            EventType::Identify | EventType::Group => object_field(msg.traits, "traits")?,
            _ => match context.remove("traits") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            },
        };
        Ok(Event {
            kind,
            message_id,
            timestamp,
            user_id,
            anonymous_id,
            previous_id,
            group_id,
            name,
            properties,
            traits,
            context,
        })
    }

    /// Looks up a dotted path: `properties.x`, `traits.x`, `context.x.y`, or one of the top-level
    /// names `event`/`name`, `type`, `userId`, `anonymousId`, `channel`.
    pub fn field<'a>(&'a self, path: &FieldPath) -> Option<FieldValue<'a>> {
        let (root, rest) = match path {
            FieldPath::Name => return self.name.as_deref().map(FieldValue::Str),
            FieldPath::Type => return Some(FieldValue::Str(self.kind.as_str())),
            FieldPath::UserId => return self.user_id.as_deref().map(FieldValue::Str),
            FieldPath::AnonymousId => return self.anonymous_id.as_deref().map(FieldValue::Str),
            FieldPath::Channel => {
                return self
                    .context
                    .get("channel")
                    .or_else(|| self.properties.get("channel"))
                    .map(FieldValue::Json);
            }
            FieldPath::Properties(rest) => (&self.properties, rest),
            FieldPath::Traits(rest) => (&self.traits, rest),
            FieldPath::Context(rest) => (&self.context, rest),
        };
        let mut value = root.get(&rest[0])?;
        for key in &rest[1..] {
            value = value.as_object()?.get(key)?;
        }
        Some(FieldValue::Json(value))
    }

    /// The channel (`context.channel`, else `properties.channel`), if any.
    pub fn channel(&self) -> Option<&str> {
        self.context
            .get("channel")
            .or_else(|| self.properties.get("channel"))
            .and_then(Value::as_str)
    }
}

/// A value found at a [`FieldPath`].
#[derive(Debug, Clone, Copy)]
pub enum FieldValue<'a> {
    /// A top-level string field.
    Str(&'a str),
    /// A JSON value inside properties, traits or context.
    Json(&'a Value),
}

impl<'a> FieldValue<'a> {
    /// The value as text, for strings (numbers and booleans are not text).
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            FieldValue::Str(s) => Some(s),
            FieldValue::Json(v) => v.as_str(),
        }
    }

    /// The value as a number; numeric strings such as `"120"` count as numbers.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            FieldValue::Str(s) => s.trim().parse().ok(),
            FieldValue::Json(Value::Number(n)) => n.as_f64(),
            FieldValue::Json(Value::String(s)) => s.trim().parse().ok(),
            FieldValue::Json(_) => None,
        }
    }

    /// A scalar rendered as text (strings bare, numbers and booleans as written); `None` for
    /// null, arrays and objects.
    pub fn to_text(self) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        match self {
            FieldValue::Str(s) => Some(Cow::Borrowed(s)),
            FieldValue::Json(Value::String(s)) => Some(Cow::Borrowed(s)),
            FieldValue::Json(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
            FieldValue::Json(Value::Bool(b)) => Some(Cow::Owned(b.to_string())),
            FieldValue::Json(_) => None,
        }
    }

    /// True for JSON null.
    pub fn is_null(self) -> bool {
        matches!(self, FieldValue::Json(Value::Null))
    }
}

/// A parsed dotted path into an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldPath {
    /// `event` or `name`: the track event name or the page/screen name.
    Name,
    /// `type`.
    Type,
    /// `userId`.
    UserId,
    /// `anonymousId`.
    AnonymousId,
    /// `channel`: `context.channel`, falling back to `properties.channel`.
    Channel,
    /// `properties.<key>[.<key>...]`.
    Properties(Vec<String>),
    /// `traits.<key>[...]`.
    Traits(Vec<String>),
    /// `context.<key>[...]`.
    Context(Vec<String>),
}

impl FieldPath {
    /// Parses a dotted path such as `properties.duration_s`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split('.');
        let root = parts.next().unwrap_or_default();
        let rest: Vec<String> = parts.map(str::to_string).collect();
        if rest.iter().any(String::is_empty) {
            return Err(format!("`{text}` has an empty segment"));
        }
        let nested = |make: fn(Vec<String>) -> FieldPath| {
            if rest.is_empty() {
                Err(format!("`{text}` names no key: write e.g. `{root}.model`"))
            } else {
                Ok(make(rest.clone()))
            }
        };
        let flat = |path: FieldPath| {
            if rest.is_empty() {
                Ok(path)
            } else {
                Err(format!("`{root}` has no keys below it"))
            }
        };
        match root {
            "properties" => nested(FieldPath::Properties),
            "traits" => nested(FieldPath::Traits),
            "context" => nested(FieldPath::Context),
            "event" | "name" => flat(FieldPath::Name),
            "type" => flat(FieldPath::Type),
            "userId" => flat(FieldPath::UserId),
            "anonymousId" => flat(FieldPath::AnonymousId),
            "channel" => flat(FieldPath::Channel),
            _ => Err(format!(
                "`{text}` must start with properties., traits. or context. \
                 (or be one of event, name, type, userId, anonymousId, channel)"
            )),
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (root, rest) = match self {
            FieldPath::Name => return f.write_str("event"),
            FieldPath::Type => return f.write_str("type"),
            FieldPath::UserId => return f.write_str("userId"),
            FieldPath::AnonymousId => return f.write_str("anonymousId"),
            FieldPath::Channel => return f.write_str("channel"),
            FieldPath::Properties(r) => ("properties", r),
            FieldPath::Traits(r) => ("traits", r),
            FieldPath::Context(r) => ("context", r),
        };
        write!(f, "{root}.{}", rest.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Event, EventError> {
        Event::from_json(text, || "fallback".into())
    }

    #[test]
    fn decodes_a_track_call() {
        let e = parse(
            r#"{"type":"track","event":"CTA Tapped","anonymousId":"a1","messageId":"m1",
            "timestamp":"2026-03-01T10:00:00Z","properties":{"cta":"ask_person"},
            "context":{"channel":"showroom","traits":{"email":"x@y.pl"}}}"#,
        )
        .unwrap();
        assert_eq!(e.kind, EventType::Track);
        assert_eq!(e.name.as_deref(), Some("CTA Tapped"));
        assert_eq!(e.channel(), Some("showroom"));
        assert_eq!(e.traits["email"], "x@y.pl");
        let cta = FieldPath::parse("properties.cta").unwrap();
        assert_eq!(e.field(&cta).unwrap().as_str(), Some("ask_person"));
    }

    #[test]
    fn rejections_name_the_field() {
        let no_ts = parse(r#"{"type":"track","event":"x","userId":"u"}"#).unwrap_err();
        assert_eq!(no_ts.field, "timestamp");
        let no_id = parse(r#"{"type":"page","timestamp":"2026-03-01T10:00:00Z"}"#).unwrap_err();
        assert_eq!(no_id.field, "userId");
        let bad_type = parse(r#"{"type":"click","userId":"u","timestamp":"2026-03-01T10:00:00Z"}"#)
            .unwrap_err();
        assert_eq!(bad_type.field, "type");
        let bad_props = parse(
            r#"{"type":"track","event":"x","userId":"u","timestamp":"2026-03-01T10:00:00Z","properties":[1]}"#,
        )
        .unwrap_err();
        assert_eq!(bad_props.field, "properties");
        let alias = parse(r#"{"type":"alias","userId":"u","timestamp":"2026-03-01T10:00:00Z"}"#)
            .unwrap_err();
        assert_eq!(alias.field, "previousId");
        let json = parse("{\"type\":").unwrap_err();
        assert!(json.message.contains("line 1"), "{json}");
    }

    #[test]
    fn missing_message_id_uses_the_fallback() {
        let e = parse(r#"{"type":"identify","userId":42,"timestamp":"2026-03-01T10:00:00Z","traits":{"region":"slaskie"}}"#)
            .unwrap();
        assert_eq!(e.message_id, "fallback");
        assert_eq!(e.user_id.as_deref(), Some("42"));
        assert_eq!(e.traits["region"], "slaskie");
    }

    #[test]
    fn paths_parse_with_reasons() {
        assert_eq!(FieldPath::parse("channel").unwrap(), FieldPath::Channel);
        assert!(
            FieldPath::parse("properties")
                .unwrap_err()
                .contains("names no key")
        );
        assert!(
            FieldPath::parse("props.x")
                .unwrap_err()
                .contains("must start with")
        );
        assert_eq!(
            FieldPath::parse("context.page.path").unwrap().to_string(),
            "context.page.path"
        );
    }
}
