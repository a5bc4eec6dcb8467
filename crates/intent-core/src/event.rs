//! Events: the Segment tracking spec on the wire (`SegmentMessage`) and the validated domain `Event`.
//!
//! A wire message becomes an `Event` only through [`Event::from_json`] / `TryFrom`, so everything past
//! the edge has a type, a message id, a time and at least one identity.

use crate::time::{Ts, parse_timestamp};
use serde::Deserialize;
use serde_json::Value;
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
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentMessage {
    #[serde(rename = "type")]
    kind: Option<TypeName>,
    message_id: Option<Value>,
    timestamp: Option<Moment>,
    original_timestamp: Option<Moment>,
    user_id: Option<Value>,
    anonymous_id: Option<Value>,
    previous_id: Option<Value>,
    group_id: Option<Value>,
    event: Option<Value>,
    name: Option<Value>,
    properties: Option<Obj>,
    traits: Option<Obj>,
    context: Option<Obj>,
}

/// The `type` of a message, read without allocating when it is one of the six.
#[derive(Debug)]
enum TypeName {
    Known(EventType),
    Unknown(String),
}

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TypeName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TypeName, E> {
                Ok(EventType::parse(v)
                    .map_or_else(|| TypeName::Unknown(v.to_string()), TypeName::Known))
            }
        }
        d.deserialize_str(V)
    }
}

/// An event time as sent: parsed straight from the JSON text, or why it could not be.
#[derive(Debug)]
enum Moment {
    At(Ts),
    Bad(String),
}

impl<'de> Deserialize<'de> for Moment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "expected an ISO 8601 string";
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Moment;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Moment, E> {
                Ok(parse_timestamp(v).map_or_else(Moment::Bad, Moment::At))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Moment, E> {
                Ok(Moment::At(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Moment, E> {
                Ok(i64::try_from(v).map_or_else(|_| Moment::Bad(EXPECTED.into()), Moment::At))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Moment, E> {
                Ok(Moment::Bad(EXPECTED.into()))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Moment, E> {
                Ok(Moment::Bad(EXPECTED.into()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Moment, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Moment::Bad(EXPECTED.into()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Moment, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Moment::Bad(EXPECTED.into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The fields of a JSON object, in input order; a repeated key keeps its last value. Event
/// objects are small, so a list with a linear lookup beats a tree map, and costs one allocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets a key (replacing an earlier value).
    pub fn insert(&mut self, key: String, value: Value) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Takes a key out.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    /// No fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The fields in input order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// A JSON value where an object is expected: its fields, null, or anything else (rejected).
#[derive(Debug)]
pub enum Obj {
    /// An object.
    Fields(Fields),
    /// `null`.
    Null,
    /// Not an object.
    Other,
}

impl<'de> Deserialize<'de> for Obj {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectSeed(&Keys::All))
    }
}

/// Why a message was rejected: the field (a path such as `properties` or `timestamp`) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
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
    pub properties: Fields,
    /// Traits: `traits` of identify/group, else `context.traits`.
    pub traits: Fields,
    /// The context object (`channel`, `ip`, `page`, ...).
    pub context: Fields,
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

fn object_field(value: Option<Obj>, field: &str) -> Result<Fields, EventError> {
    match value {
        None | Some(Obj::Null) => Ok(Fields::default()),
        Some(Obj::Fields(f)) => Ok(f),
        Some(Obj::Other) => Err(EventError::new(field, "expected an object")),
    }
}

/// The parts of `properties`, `traits` and `context` that a reader (a plan) looks at: their
/// top-level keys. Decoding with a projection skips every other key without building it, which
/// matters for real SDK payloads (a browser's `context` alone carries the page, the user agent,
/// the library, the campaign...). Everything outside those three objects is always decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// Keys of `properties` to keep.
    pub properties: Keys,
    /// Keys of `traits` to keep.
    pub traits: Keys,
    /// Keys of `context` to keep.
    pub context: Keys,
}

/// Which keys of an object to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Every key.
    All,
    /// Only these.
    Only(Vec<String>),
}

impl Default for Keys {
    fn default() -> Self {
        Keys::Only(Vec::new())
    }
}

impl Keys {
    fn add(&mut self, key: &str) {
        if let Keys::Only(list) = self
            && !list.iter().any(|k| k == key)
        {
            list.push(key.to_string());
        }
    }

    fn keeps(&self, key: &str) -> bool {
        match self {
            Keys::All => true,
            Keys::Only(list) => list.iter().any(|k| k == key),
        }
    }
}

impl Projection {
    /// Keeps everything: decoding equals [`Event::from_json`].
    pub fn all() -> Self {
        Projection {
            properties: Keys::All,
            traits: Keys::All,
            context: Keys::All,
        }
    }

    /// Adds what reading `path` needs.
    pub fn add(&mut self, path: &FieldPath) {
        match path {
            FieldPath::Name | FieldPath::Type | FieldPath::UserId | FieldPath::AnonymousId => {}
            FieldPath::Channel => {
                self.context.add("channel");
                self.properties.add("channel");
            }
            FieldPath::Properties(p) => self.properties.add(&p[0]),
            FieldPath::Traits(p) => {
                self.traits.add(&p[0]);
                // Calls other than identify and group carry traits in `context.traits`.
                self.context.add("traits");
            }
            FieldPath::Context(p) => self.context.add(&p[0]),
        }
    }
}

/// A key of a JSON object, borrowed from the input when it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// Decodes an object keeping only some keys; anything that is not an object decodes to a
/// stand-in of the same kind, so validation reports it exactly as without a projection.
struct ObjectSeed<'p>(&'p Keys);

impl<'de> serde::de::DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Obj;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Obj, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ObjectSeed<'_> {
    type Value = Obj;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Obj, A::Error> {
        let mut out = Fields(Vec::with_capacity(map.size_hint().unwrap_or(4).min(16)));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if self.0.keeps(key.as_str()) {
                let value = map.next_value::<Value>()?;
                out.insert(key.as_str().to_string(), value);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(Obj::Fields(out))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Obj, E> {
        Ok(Obj::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Obj, E> {
        Ok(Obj::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Obj, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Obj, E> {
        Ok(Obj::Other)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Obj, E> {
        Ok(Obj::Other)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Obj, E> {
        Ok(Obj::Other)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Obj, E> {
        Ok(Obj::Other)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Obj, E> {
        Ok(Obj::Other)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Obj, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Obj::Other)
    }
}

/// Decodes a whole message under a projection.
struct MessageSeed<'p>(&'p Projection);

impl<'de> serde::de::DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = SegmentMessage;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<SegmentMessage, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for MessageSeed<'_> {
    type Value = SegmentMessage;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Segment message (a JSON object)")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<SegmentMessage, A::Error> {
        let mut m = SegmentMessage::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "type" => m.kind = map.next_value()?,
                "messageId" => m.message_id = map.next_value()?,
                "timestamp" => m.timestamp = map.next_value()?,
                "originalTimestamp" => m.original_timestamp = map.next_value()?,
                "userId" => m.user_id = map.next_value()?,
                "anonymousId" => m.anonymous_id = map.next_value()?,
                "previousId" => m.previous_id = map.next_value()?,
                "groupId" => m.group_id = map.next_value()?,
                "event" => m.event = map.next_value()?,
                "name" => m.name = map.next_value()?,
                "properties" => {
                    m.properties = Some(map.next_value_seed(ObjectSeed(&self.0.properties))?)
                }
                "traits" => m.traits = Some(map.next_value_seed(ObjectSeed(&self.0.traits))?),
                "context" => m.context = Some(map.next_value_seed(ObjectSeed(&self.0.context))?),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(m)
    }
}

impl Event {
    /// Decodes and validates one JSON message, building only the parts of `properties`,
    /// `traits` and `context` that `projection` keeps. Accepts and rejects exactly the messages
    /// [`Event::from_json`] does.
    pub fn from_json_projected(
        text: &str,
        projection: &Projection,
        fallback_id: impl FnOnce() -> String,
    ) -> Result<Self, EventError> {
        use serde::de::DeserializeSeed;
        let invalid = |e: serde_json::Error| {
            EventError::new(
                "",
                format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let msg = MessageSeed(projection)
            .deserialize(&mut de)
            .map_err(invalid)?;
        de.end().map_err(invalid)?;
        Self::from_message(msg, fallback_id)
    }

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
        let kind = match msg.kind {
            Some(TypeName::Known(t)) => t,
            Some(TypeName::Unknown(t)) => {
                return Err(EventError::new(
                    "type",
                    format!("`{t}` is not one of track, identify, page, screen, group, alias"),
                ));
            }
            None => return Err(EventError::new("type", "missing")),
        };
        let message_id = id_field(msg.message_id, "messageId")?.unwrap_or_else(fallback_id);
        let timestamp = match msg.timestamp.or(msg.original_timestamp) {
            Some(Moment::At(ts)) => ts,
            Some(Moment::Bad(e)) => return Err(EventError::new("timestamp", e)),
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
                Some(Value::Object(m)) => Fields(m.into_iter().collect()),
                _ => Fields::default(),
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
        assert_eq!(e.traits.get("email").unwrap(), "x@y.pl");
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
        assert_eq!(e.traits.get("region").unwrap(), "slaskie");
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
