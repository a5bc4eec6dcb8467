//! `intent import`: turns a CSV export (a CRM, a shop, a data set) into Segment NDJSON, the way the
//! rest of the product reads history (`intent send`, `intent replay`, `intent learn`).
//!
//! A YAML mapping says which columns mean what: whose row it is (`id`), when it happened
//! (`time`), who the person is (`traits` → one `identify`), what they did (`events` → `track`,
//! `page` or `screen`), and what came of it (`outcome` → an `Outcome Recorded` track). The
//! mapping is parsed into [`MappingFile`] (unknown keys rejected; every error names the mapping
//! file, line and column) and checked against the CSV header into a `Mapping` of column indices,
//! so the row loop never looks a column up by name. The reference for each key is the doc
//! comment on its field; `examples/import/README.md` shows it at work on real exports.
//!
//! Each row writes, in order: the `identify` (when traits are mapped), the events, then the
//! outcomes. Every message has a deterministic `messageId` (`import-<hash>-<row>-<n>`, the hash
//! of the CSV's and the mapping's file names), so importing the same file twice is deduplicated
//! by the server. A row without an id or with a time that does not parse is rejected and
//! reported with its row, line and column; the rest still import.

use anyhow::{Context, Result, bail};
use intent_core::outcome::{OUTCOME_EVENT, OutcomeKind};
use intent_core::time::{DAY, Duration, SECOND, Ts, format_timestamp, parse_timestamp};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The CSV export (`-` reads stdin).
    file: PathBuf,
    /// The mapping: which columns mean what (see `examples/import/`).
    #[arg(long, short)]
    mapping: PathBuf,
    /// Write to this file instead of stdout (`.gz` compresses).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Read only the first N data rows.
    #[arg(long)]
    limit: Option<u64>,
}

/// At most this many problems are printed; all are counted.
const SHOWN_PROBLEMS: usize = 20;

// ---------------------------------------------------------------------------------------------
// The mapping file as written

/// A mapping file: which columns of a CSV export mean what.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// The field separator: `","` (default), `";"`, `"\t"` (or `tab`), `"|"`.
    #[serde(default)]
    pub delimiter: Option<Spanned<String>>,
    /// The file's text encoding: `utf-8` (default) or `windows-1252` (alias `latin1`; what Excel
    /// writes on Western Windows).
    #[serde(default)]
    pub encoding: Option<Spanned<String>>,
    /// The column with the person's id; it becomes `userId`. Rows where it is empty are rejected.
    /// `{ row_number: true }` when the file has no id and every row is another person.
    pub id: Spanned<IdSpec>,
    /// Put before every id, e.g. `xe-`, so ids from different sources cannot collide.
    #[serde(default)]
    pub id_prefix: Option<String>,
    /// When each row happened.
    pub time: Spanned<TimeFile>,
    /// Cell values that mean "not given" (an empty cell always does), e.g. `["Select", "NA"]`.
    /// Compared after trimming spaces, case-sensitive.
    #[serde(default)]
    pub missing: Vec<String>,
    /// `context.channel` of every message, e.g. `crm` or `web`.
    #[serde(default)]
    pub channel: Option<String>,
    /// Columns that describe the person: one `identify` per row carries them (missing cells
    /// left out).
    #[serde(default)]
    pub traits: Vec<TraitFile>,
    /// Columns that record something the person did: `track` (or `page`/`screen`) messages.
    #[serde(default)]
    pub events: Vec<Spanned<EventFile>>,
    /// What came of the row (a sale, a lost lead): an `Outcome Recorded` track.
    #[serde(default)]
    pub outcome: Option<Spanned<OutcomeFile>>,
    /// Several outcomes (e.g. a CRM stage column: `Won` → sale, `Lost` → lost), each like
    /// `outcome`.
    #[serde(default)]
    pub outcomes: Vec<Spanned<OutcomeFile>>,
}

/// `time:` — exactly one of `column`, `rows_from` + `rows_to`, or `fixed`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeFile {
    /// The column with the row's time.
    #[serde(default)]
    pub column: Option<Spanned<String>>,
    /// How `column` is written: `auto` (default: RFC 3339, `YYYY-MM-DD`,
    /// `YYYY-MM-DD HH:MM[:SS]`), `unix` (seconds), `unix_ms`, or a strftime pattern such as
    /// `"%d/%m/%Y %H:%M"`. Also used for the outcome's and the events' time columns.
    #[serde(default)]
    pub format: Option<Spanned<String>>,
    /// The time zone of times written without an offset (default `UTC`), e.g. `Europe/Warsaw`.
    #[serde(default)]
    pub time_zone: Option<Spanned<String>>,
    /// The file has no times but its rows are in time order: the first row gets `rows_from`,
    /// the last `rows_to`, the others are spread evenly between (a later `rows_from` than
    /// `rows_to` means the file lists the newest first).
    #[serde(default)]
    pub rows_from: Option<Spanned<String>>,
    /// See `rows_from`.
    #[serde(default)]
    pub rows_to: Option<Spanned<String>>,
    /// Every row at this one time.
    #[serde(default)]
    pub fixed: Option<Spanned<String>>,
}

/// One trait: `{ column: Lead Origin, as: lead_origin, type: text }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraitFile {
    /// The column.
    pub column: Spanned<String>,
    /// The trait's name (default: the column name in snake_case, `Lead Origin` → `lead_origin`).
    #[serde(rename = "as", default)]
    pub name: Option<Spanned<String>>,
    /// `text` (default), `number` or `boolean` (yes/no, true/false, 1/0, y/n).
    #[serde(rename = "type", default)]
    pub kind: Option<Spanned<String>>,
    /// More values that mean "not given" in this column only, e.g. `["999"]`.
    #[serde(default)]
    pub missing: Vec<String>,
}

/// One kind of event, e.g.
/// `{ column: behavior_type, names: { pv: Product Viewed }, properties: { item_id: item_id } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFile {
    /// The column that says whether (and which) event happened. Without `names` or `name`, its
    /// value is the event name.
    #[serde(default)]
    pub column: Option<Spanned<String>>,
    /// Cell value → event name; rows with other values write no event.
    #[serde(default)]
    pub names: Option<Spanned<BTreeMap<String, String>>>,
    /// One event name: with `column`, written when the cell is set; without, on every row.
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    /// `track` (default), `page` or `screen` (the name goes to `name` instead of `event`).
    #[serde(rename = "type", default)]
    pub kind: Option<Spanned<String>>,
    /// The cell holds several values separated by this, e.g. `";"`: one event per value.
    #[serde(default)]
    pub split: Option<Spanned<String>>,
    /// A column with the event's own time (default: the row's); an empty cell writes no event.
    #[serde(default)]
    pub time: Option<Spanned<String>>,
    /// Property name → column (`{ item_id: item_id }`), or → `{ column, type, missing }`.
    #[serde(default)]
    pub properties: Ordered<Spanned<ColumnSpec>>,
}

/// `outcome:` — when a row converted, and into what.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeFile {
    /// The column that says whether the row converted (with `positive`).
    #[serde(default)]
    pub column: Option<Spanned<String>>,
    /// The values of `column` that mean this outcome happened, e.g. `["1"]` or `[yes]`.
    #[serde(default)]
    pub positive: Option<Spanned<Vec<String>>>,
    /// Every row is this outcome (a deals export lists only won deals).
    #[serde(default)]
    pub always: Option<Spanned<bool>>,
    /// One of: appointment, shown, no_show, test_drive, sale, lost.
    pub outcome: Spanned<String>,
    /// A column with its value (a sale's amount), a number.
    #[serde(default)]
    pub value: Option<Spanned<ColumnSpec>>,
    /// A column with its reason (why a lead was lost).
    #[serde(default)]
    pub reason: Option<Spanned<ColumnSpec>>,
    /// A column with when it happened; when absent or empty, the row's time + `after`.
    #[serde(default)]
    pub time: Option<Spanned<String>>,
    /// How long after the row's time the outcome is recorded when `time` gives none (default
    /// `1d`; `0s` for the same moment, e.g. a purchase row of an event log).
    #[serde(default)]
    pub after: Option<Spanned<String>>,
    /// More properties, like an event's.
    #[serde(default)]
    pub properties: Ordered<Spanned<ColumnSpec>>,
}

/// A YAML map read in file order (properties are written in the order the mapping gives them).
#[derive(Debug)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map such as `{ item_id: item_id }`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<T>()?;
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!(
                            "`{key}` is given twice: every property needs its own name"
                        )));
                    }
                    out.push((key, value));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Where the person's id comes from.
#[derive(Debug)]
pub enum IdSpec {
    /// A column.
    Column(String),
    /// The data row's number (1 for the first row under the header).
    RowNumber,
}

impl<'de> Deserialize<'de> for IdSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name or `{ row_number: true }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdSpec, E> {
                Ok(IdSpec::Column(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdSpec, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdSpec, A::Error> {
                let mut row = false;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "row_number" => row = map.next_value::<bool>()?,
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key `{other}` in `id`: write a column name, or `{{ row_number: true }}` when every row is another person"
                            )));
                        }
                    }
                }
                if row {
                    Ok(IdSpec::RowNumber)
                } else {
                    Err(de::Error::custom(
                        "`id` needs a column name, or `{ row_number: true }` when every row is another person",
                    ))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A column, by name (`item_id`) or with options (`{ column: price, type: number }`).
#[derive(Debug)]
pub struct ColumnSpec {
    /// The column.
    pub column: String,
    /// `text`, `number` or `boolean`.
    pub kind: Option<String>,
    /// More values that mean "not given".
    pub missing: Vec<String>,
}

impl<'de> Deserialize<'de> for ColumnSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ColumnSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name or `{ column: ..., type: number }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnSpec, E> {
                Ok(ColumnSpec {
                    column: v.to_string(),
                    kind: None,
                    missing: Vec::new(),
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ColumnSpec, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ColumnSpec, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ColumnSpec, A::Error> {
                let (mut column, mut kind, mut missing) = (None, None, Vec::new());
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "column" => column = Some(map.next_value::<String>()?),
                        "type" => kind = Some(map.next_value::<String>()?),
                        "missing" => missing = map.next_value::<Vec<String>>()?,
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key `{other}`, expected one of column, type, missing"
                            )));
                        }
                    }
                }
                let column = column.ok_or_else(|| {
                    de::Error::custom(
                        "missing key `column`: name the column, e.g. `{ column: price }`",
                    )
                })?;
                Ok(ColumnSpec {
                    column,
                    kind,
                    missing,
                })
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem in a mapping file, and all of them: the same shape (and `file:line:col:`
/// messages) as a plan file's errors.
pub use intent_core::plan::{PlanError as MappingError, PlanIssue as MappingIssue};

/// The message of a YAML error without the snippet and the library's own " at line X column Y"
/// (the prefix already says where).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = intent_core::plan::yaml_message(e);
    if let Some(rest) = text.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("key `{key}` is given twice: keep one");
    }
    if let Some(rest) = text.strip_prefix("missing field ") {
        let hint = match rest.trim_matches('`') {
            "id" => {
                ": name the column with the person's id, e.g. `id: Prospect ID` (or `id: { row_number: true }`)"
            }
            "time" => {
                ": say when the rows happened, e.g. `time: { column: created_at }`, `time: { rows_from: 2025-01-01, rows_to: 2025-12-31 }` or `time: { fixed: 2026-01-01 }`"
            }
            "outcome" => ": one of appointment, shown, no_show, test_drive, sale, lost",
            "column" => ": name the CSV column, e.g. `column: Lead Origin`",
            _ => "",
        };
        return format!("missing key {rest}{hint}");
    }
    text
}

/// Parses mapping text (shape only; columns are checked against the CSV header by `resolve`).
pub fn parse_mapping(text: &str, file: &str) -> Result<MappingFile, MappingError> {
    serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        MappingError {
            file: file.to_string(),
            issues: vec![MappingIssue {
                line,
                column,
                message: yaml_message(&e),
            }],
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The checked mapping

/// How a cell becomes a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Boolean,
}

/// A column of the CSV with how to read it.
#[derive(Debug, Clone)]
struct Col {
    index: usize,
    name: String,
    kind: Kind,
    /// Values that mean "not given" in this column, beyond the mapping-wide ones.
    missing: Vec<String>,
}

#[derive(Debug, Clone)]
enum TimeFormat {
    Auto,
    Unix,
    UnixMs,
    Pattern(String),
}

/// How times in cells are read.
#[derive(Debug, Clone)]
struct TimeReader {
    format: TimeFormat,
    zone: jiff::tz::TimeZone,
}

#[derive(Debug)]
enum RowTime {
    Column(Col),
    Spread { from: Ts, to: Ts },
    Fixed(Ts),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventType {
    Track,
    Page,
    Screen,
}

#[derive(Debug)]
enum EventName {
    /// The same name on every row.
    Always(String),
    /// The name when the column is set.
    WhenSet(Col, String),
    /// Cell value → name.
    Map(Col, BTreeMap<String, String>),
    /// The cell value is the name.
    Cell(Col),
}

#[derive(Debug)]
struct EventRule {
    kind: EventType,
    name: EventName,
    split: Option<String>,
    time: Option<Col>,
    properties: Vec<(String, Col)>,
}

#[derive(Debug)]
enum Trigger {
    Always,
    Column(Col, Vec<String>),
}

#[derive(Debug)]
struct OutcomeRule {
    trigger: Trigger,
    outcome: &'static str,
    value: Option<Col>,
    reason: Option<Col>,
    time: Option<Col>,
    after: i64,
    properties: Vec<(String, Col)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Windows1252,
}

/// A mapping checked against a header: every column is an index.
#[derive(Debug)]
struct Mapping {
    encoding: Encoding,
    /// The id column; `None`: the row number.
    id: Option<Col>,
    id_prefix: String,
    time: RowTime,
    reader: TimeReader,
    missing: Vec<String>,
    channel: Option<String>,
    traits: Vec<(String, Col)>,
    events: Vec<EventRule>,
    outcomes: Vec<OutcomeRule>,
}

/// Collects issues with where they are.
struct Checker<'a> {
    issues: Vec<MappingIssue>,
    header: &'a [String],
    source: &'a str,
}

impl Checker<'_> {
    fn at<T>(&mut self, span: &Spanned<T>, message: impl Into<String>) {
        self.issues.push(MappingIssue {
            line: span.referenced.line(),
            column: span.referenced.column(),
            message: message.into(),
        });
    }

    /// The index of a column named in the mapping, or an issue that says what the header has.
    fn column<T>(&mut self, span: &Spanned<T>, name: &str) -> Option<usize> {
        let wanted = name.trim();
        if let Some(i) = self.header.iter().position(|h| h == wanted) {
            return Some(i);
        }
        let hint = self.column_hint(wanted);
        let msg = format!("no column `{wanted}` in {}{hint}", self.source);
        self.at(span, msg);
        None
    }

    fn column_hint(&self, wanted: &str) -> String {
        if let [only] = self.header
            && let Some(d) = [';', '\t', ',', '|']
                .into_iter()
                .find(|&d| only.contains(d))
        {
            let shown = if d == '\t' {
                "\"\\t\"".to_string()
            } else {
                format!("\"{d}\"")
            };
            return format!(
                ": its header is one column `{only}`; is it `{}`-separated? set `delimiter: {shown}`",
                if d == '\t' { "tab" } else { &shown[1..2] }
            );
        }
        let lower = wanted.to_lowercase();
        let best = self
            .header
            .iter()
            .map(|h| (edit_distance(&h.to_lowercase(), &lower), h))
            .min_by_key(|(d, _)| *d);
        match best {
            Some((d, h)) if d <= 2.max(wanted.chars().count() / 4) => {
                format!("; did you mean `{h}`?")
            }
            _ => {
                let names: Vec<String> = self
                    .header
                    .iter()
                    .take(12)
                    .map(|h| format!("`{h}`"))
                    .collect();
                let more = if self.header.len() > 12 { ", …" } else { "" };
                format!("; its columns are {}{more}", names.join(", "))
            }
        }
    }

    fn kind<T>(&mut self, span: &Spanned<T>, kind: Option<&str>) -> Kind {
        match kind.map(str::trim) {
            None | Some("text") | Some("string") => Kind::Text,
            Some("number") => Kind::Number,
            Some("boolean") | Some("bool") => Kind::Boolean,
            Some(other) => {
                self.at(
                    span,
                    format!("`{other}` is not a type: use text, number or boolean"),
                );
                Kind::Text
            }
        }
    }

    fn col(&mut self, span: &Spanned<String>, kind: Kind, missing: Vec<String>) -> Option<Col> {
        let index = self.column(span, &span.value)?;
        Some(Col {
            index,
            name: self.header[index].clone(),
            kind,
            missing: trimmed(missing),
        })
    }

    fn spec(&mut self, span: &Spanned<ColumnSpec>, default: Kind) -> Option<Col> {
        let kind = match span.value.kind {
            None => default,
            Some(ref k) => self.kind(span, Some(k)),
        };
        let index = self.column(span, &span.value.column)?;
        Some(Col {
            index,
            name: self.header[index].clone(),
            kind,
            missing: trimmed(span.value.missing.clone()),
        })
    }

    /// A trait or property name a plan can refer to (`traits.<name>`).
    fn key<T>(&mut self, span: &Spanned<T>, name: &str, what: &str) -> String {
        let name = name.trim();
        if name.is_empty() || name.contains('.') {
            self.at(
                span,
                format!(
                    "{what} name `{name}` must be non-empty and without dots (plans refer to it as `{}.{}`); use e.g. `{}`",
                    if what == "trait" { "traits" } else { "properties" },
                    if name.is_empty() { "name" } else { name },
                    snake_case(name)
                ),
            );
        }
        name.to_string()
    }

    fn properties(&mut self, properties: &Ordered<Spanned<ColumnSpec>>) -> Vec<(String, Col)> {
        let mut out = Vec::new();
        for (name, spec) in &properties.0 {
            let name = self.key(spec, name, "property");
            if let Some(col) = self.spec(spec, Kind::Text) {
                out.push((name, col));
            }
        }
        out
    }
}

fn trimmed(values: Vec<String>) -> Vec<String> {
    values.into_iter().map(|v| v.trim().to_string()).collect()
}

/// `Lead Origin` → `lead_origin`, `TotalVisits` → `total_visits`, `emp.var.rate` →
/// `emp_var_rate`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            out.extend(c.to_lowercase());
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Levenshtein distance over chars, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb))
                .min(above + 1)
                .min(row[j] + 1);
            diag = above;
        }
    }
    row[b.len()]
}

/// A duration for `after:`, where zero is allowed (`0s`: the same moment).
fn parse_after(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if !t.is_empty()
        && t.trim_end_matches(['s', 'm', 'h', 'd', 'w'])
            .chars()
            .all(|c| c == '0')
        && t.starts_with('0')
    {
        return Ok(0);
    }
    Duration::parse(t).map(Duration::millis)
}

/// The settings that do not depend on the header: the delimiter and the encoding.
fn reading(file: &MappingFile, name: &str) -> Result<(u8, Encoding), MappingError> {
    let mut issues = Vec::new();
    let mut issue = |span: &Spanned<String>, message: String| {
        issues.push(MappingIssue {
            line: span.referenced.line(),
            column: span.referenced.column(),
            message,
        });
    };
    let delimiter = match &file.delimiter {
        None => b',',
        Some(d) => match d.value.as_str() {
            "tab" | "\\t" => b'\t',
            s if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
                s.as_bytes()[0]
            }
            s => {
                issue(
                    d,
                    format!(
                        "delimiter `{s}` must be one character: write \",\", \";\", \"\\t\" or \"|\""
                    ),
                );
                b','
            }
        },
    };
    let encoding = match &file.encoding {
        None => Encoding::Utf8,
        Some(e) => match e.value.trim().to_lowercase().as_str() {
            "utf-8" | "utf8" => Encoding::Utf8,
            "windows-1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" => {
                Encoding::Windows1252
            }
            other => {
                issue(
                    e,
                    format!(
                        "encoding `{other}` is not supported: use utf-8 or windows-1252 (latin1)"
                    ),
                );
                Encoding::Utf8
            }
        },
    };
    if issues.is_empty() {
        Ok((delimiter, encoding))
    } else {
        Err(MappingError {
            file: name.to_string(),
            issues,
        })
    }
}

impl Mapping {
    /// Checks `file` against the CSV header. `name` names the mapping and `source` the CSV in
    /// messages.
    fn resolve(
        file: MappingFile,
        header: &[String],
        name: &str,
        source: &str,
    ) -> Result<Mapping, MappingError> {
        let (_, encoding) = reading(&file, name)?;
        let mut ck = Checker {
            issues: Vec::new(),
            header,
            source,
        };
        let id = match &file.id.value {
            IdSpec::Column(name) => ck.column(&file.id, name).map(|index| {
                Some(Col {
                    index,
                    name: header[index].clone(),
                    kind: Kind::Text,
                    missing: Vec::new(),
                })
            }),
            IdSpec::RowNumber => Some(None),
        };

        // Time.
        let t = &file.time.value;
        let zone = match &t.time_zone {
            None => jiff::tz::TimeZone::UTC,
            Some(z) => jiff::tz::TimeZone::get(z.value.trim()).unwrap_or_else(|_| {
                ck.at(
                    z,
                    format!(
                        "`{}` is not a time zone: use an IANA name such as `UTC`, `Europe/Warsaw` or `America/Sao_Paulo`",
                        z.value
                    ),
                );
                jiff::tz::TimeZone::UTC
            }),
        };
        let format = match &t.format {
            None => TimeFormat::Auto,
            Some(f) => match f.value.trim() {
                "auto" => TimeFormat::Auto,
                "unix" => TimeFormat::Unix,
                "unix_ms" => TimeFormat::UnixMs,
                p if p.contains('%') => TimeFormat::Pattern(p.to_string()),
                other => {
                    ck.at(
                        f,
                        format!(
                            "`{other}` is not a time format: use auto, unix (seconds), unix_ms or a strftime pattern such as \"%d/%m/%Y %H:%M\""
                        ),
                    );
                    TimeFormat::Auto
                }
            },
        };
        let reader = TimeReader { format, zone };
        // Dates written in the mapping itself are always read as `auto`.
        let literal = TimeReader {
            format: TimeFormat::Auto,
            zone: reader.zone.clone(),
        };
        let moment = |ck: &mut Checker, s: &Spanned<String>| -> Ts {
            literal.parse(&s.value).unwrap_or_else(|e| {
                ck.at(s, e);
                0
            })
        };
        let given = [
            t.column.is_some(),
            t.rows_from.is_some() || t.rows_to.is_some(),
            t.fixed.is_some(),
        ];
        let time = match given.iter().filter(|g| **g).count() {
            1 => {
                if let Some(c) = &t.column {
                    ck.col(c, Kind::Text, Vec::new()).map(RowTime::Column)
                } else if let Some(f) = &t.fixed {
                    Some(RowTime::Fixed(moment(&mut ck, f)))
                } else {
                    match (&t.rows_from, &t.rows_to) {
                        (Some(a), Some(b)) => Some(RowTime::Spread {
                            from: moment(&mut ck, a),
                            to: moment(&mut ck, b),
                        }),
                        _ => {
                            ck.at(
                                &file.time,
                                "`rows_from` and `rows_to` go together: the first row gets `rows_from`, the last `rows_to`",
                            );
                            None
                        }
                    }
                }
            }
            n => {
                ck.at(
                    &file.time,
                    if n == 0 {
                        "`time` needs one of `column` (a column with the time), `rows_from` + `rows_to` (rows in time order, no times) or `fixed` (one time for all)"
                    } else {
                        "`time` takes only one of `column`, `rows_from` + `rows_to` or `fixed`"
                    },
                );
                None
            }
        };
        if t.column.is_none()
            && let Some(f) = &t.format
        {
            ck.at(
                f,
                "`format` says how the time column is written; it needs `column`",
            );
        }

        let missing = trimmed(file.missing);

        // Traits.
        let mut traits = Vec::new();
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for tr in &file.traits {
            let kind = match &tr.kind {
                Some(k) => ck.kind(k, Some(&k.value)),
                None => Kind::Text,
            };
            let name = match &tr.name {
                Some(n) => ck.key(n, &n.value, "trait"),
                None => snake_case(&tr.column.value),
            };
            let line = tr.column.referenced.line();
            if let Some(first) = seen.get(&name) {
                let msg = format!(
                    "trait `{name}` is already mapped on line {first}: give this one another `as:`"
                );
                ck.at(&tr.column, msg);
            } else {
                seen.insert(name.clone(), line);
            }
            if let Some(col) = ck.col(&tr.column, kind, tr.missing.clone()) {
                traits.push((name, col));
            }
        }

        // Events.
        let mut events = Vec::new();
        for ev in &file.events {
            let e = &ev.value;
            let kind = match e.kind.as_ref().map(|k| (k, k.value.trim())) {
                None | Some((_, "track")) => EventType::Track,
                Some((_, "page")) => EventType::Page,
                Some((_, "screen")) => EventType::Screen,
                Some((k, other)) => {
                    ck.at(
                        k,
                        format!("`{other}` is not an event type here: use track, page or screen"),
                    );
                    EventType::Track
                }
            };
            let col = e
                .column
                .as_ref()
                .and_then(|c| ck.col(c, Kind::Text, Vec::new()));
            let name = match (&e.column, &e.names, &e.name) {
                (_, Some(_), Some(n)) => {
                    ck.at(
                        n,
                        "give either `names` (value → name) or `name` (one name), not both",
                    );
                    None
                }
                (None, None, None) => {
                    ck.at(
                        ev,
                        "an event needs `column` (with `names` or `name`) or a fixed `name`",
                    );
                    None
                }
                (None, Some(n), None) => {
                    ck.at(n, "`names` maps values of a column: add `column:`");
                    None
                }
                (None, None, Some(n)) => Some(EventName::Always(n.value.trim().to_string())),
                (Some(_), Some(n), None) => {
                    if n.value.is_empty() {
                        ck.at(
                            n,
                            "`names` is empty: map at least one value to an event name",
                        );
                    }
                    let map = n
                        .value
                        .iter()
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .collect();
                    col.clone().map(|c| EventName::Map(c, map))
                }
                (Some(_), None, Some(n)) => col
                    .clone()
                    .map(|c| EventName::WhenSet(c, n.value.trim().to_string())),
                (Some(_), None, None) => col.clone().map(EventName::Cell),
            };
            let split = match &e.split {
                Some(s) if s.value.is_empty() => {
                    ck.at(s, "`split` needs a separator, e.g. \";\"");
                    None
                }
                Some(s) if e.column.is_none() => {
                    ck.at(s, "`split` splits the cell of `column`: add `column:`");
                    None
                }
                Some(s) => Some(s.value.clone()),
                None => None,
            };
            let time = e
                .time
                .as_ref()
                .and_then(|c| ck.col(c, Kind::Text, Vec::new()));
            let properties = ck.properties(&e.properties);
            if let Some(name) = name {
                events.push(EventRule {
                    kind,
                    name,
                    split,
                    time,
                    properties,
                });
            }
        }

        // Outcomes.
        let mut outcomes = Vec::new();
        for o in file.outcome.iter().chain(&file.outcomes) {
            let v = &o.value;
            let outcome = OutcomeKind::parse(v.outcome.value.trim()).map(OutcomeKind::as_str);
            if outcome.is_none() {
                ck.at(
                    &v.outcome,
                    format!(
                        "no outcome `{}`: use one of {}",
                        v.outcome.value,
                        OutcomeKind::names()
                    ),
                );
            }
            let trigger = match (&v.column, &v.always) {
                (Some(c), None) => {
                    let positive = match &v.positive {
                        Some(p) if !p.value.is_empty() => Some(trimmed(p.value.clone())),
                        Some(p) => {
                            ck.at(p, "`positive` is empty: list the values that mean this outcome, e.g. [\"1\"]");
                            None
                        }
                        None => {
                            ck.at(
                                c,
                                format!(
                                    "`column: {}` needs `positive`: the values that mean this outcome, e.g. [\"1\"] or [yes]",
                                    c.value
                                ),
                            );
                            None
                        }
                    };
                    match (ck.col(c, Kind::Text, Vec::new()), positive) {
                        (Some(col), Some(p)) => Some(Trigger::Column(col, p)),
                        _ => None,
                    }
                }
                (None, Some(a)) if a.value => {
                    if let Some(p) = &v.positive {
                        ck.at(p, "`positive` goes with `column`, not with `always`");
                    }
                    Some(Trigger::Always)
                }
                (None, Some(a)) => {
                    ck.at(a, "`always: false` records nothing: use `column` and `positive` to say which rows");
                    None
                }
                (Some(_), Some(a)) => {
                    ck.at(
                        a,
                        "give either `column` + `positive` or `always: true`, not both",
                    );
                    None
                }
                (None, None) => {
                    ck.at(o, "an outcome needs `column` + `positive` (which rows converted) or `always: true` (every row)");
                    None
                }
            };
            let value = v.value.as_ref().and_then(|s| ck.spec(s, Kind::Number));
            let reason = v.reason.as_ref().and_then(|s| ck.spec(s, Kind::Text));
            let time = v
                .time
                .as_ref()
                .and_then(|c| ck.col(c, Kind::Text, Vec::new()));
            let after = match &v.after {
                None => DAY,
                Some(a) => parse_after(&a.value).unwrap_or_else(|e| {
                    ck.at(a, format!("{e}; `0s` records it at the row's time"));
                    DAY
                }),
            };
            let properties = ck.properties(&v.properties);
            if let (Some(trigger), Some(outcome)) = (trigger, outcome) {
                outcomes.push(OutcomeRule {
                    trigger,
                    outcome,
                    value,
                    reason,
                    time,
                    after,
                    properties,
                });
            }
        }

        if file.traits.is_empty()
            && file.events.is_empty()
            && file.outcome.is_none()
            && file.outcomes.is_empty()
        {
            ck.at(
                &file.id,
                "the mapping writes nothing: add `traits`, `events` or `outcome`",
            );
        }

        match (id, time) {
            (Some(id), Some(time)) if ck.issues.is_empty() => Ok(Mapping {
                encoding,
                id,
                id_prefix: file.id_prefix.unwrap_or_default(),
                time,
                reader,
                missing,
                channel: file.channel,
                traits,
                events,
                outcomes,
            }),
            _ => {
                ck.issues.sort_by_key(|i| (i.line, i.column));
                Err(MappingError {
                    file: name.to_string(),
                    issues: ck.issues,
                })
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cells

impl TimeReader {
    /// Reads a time cell.
    fn parse(&self, text: &str) -> Result<Ts, String> {
        let text = text.trim();
        match &self.format {
            TimeFormat::Unix | TimeFormat::UnixMs => {
                let scale = if matches!(self.format, TimeFormat::Unix) {
                    SECOND
                } else {
                    1
                };
                if let Ok(n) = text.parse::<i64>() {
                    return n
                        .checked_mul(scale)
                        .ok_or_else(|| format!("`{text}` is out of range"));
                }
                match text.parse::<f64>() {
                    Ok(x) if x.is_finite() && (x * scale as f64).abs() < 9.0e15 => {
                        Ok((x * scale as f64).floor() as i64)
                    }
                    _ => Err(format!(
                        "`{text}` is not a Unix time ({} since 1970)",
                        if scale == 1 {
                            "milliseconds"
                        } else {
                            "seconds"
                        }
                    )),
                }
            }
            TimeFormat::Pattern(p) => {
                let tm = jiff::fmt::strtime::parse(p.as_bytes(), text.as_bytes())
                    .map_err(|e| format!("`{text}` does not match the format `{p}` ({e})"))?;
                if tm.offset().is_some() {
                    return tm
                        .to_timestamp()
                        .map(|t| t.as_millisecond())
                        .map_err(|e| format!("`{text}`: {e}"));
                }
                let dt = tm
                    .to_datetime()
                    .map_err(|e| format!("`{text}` with the format `{p}`: {e}"))?;
                self.civil(dt, text)
            }
            TimeFormat::Auto => {
                if text.is_empty() {
                    return Err("the time is empty".to_string());
                }
                // An offset or `Z` makes it absolute; without one it is a civil time in the
                // mapping's zone.
                if let Ok(ts) = parse_timestamp(text) {
                    return Ok(ts);
                }
                if let Ok(t) = text.replacen(' ', "T", 1).parse::<jiff::Timestamp>() {
                    return Ok(t.as_millisecond());
                }
                if text.len() >= 10
                    && let Ok(dt) = text.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>()
                {
                    return self.civil(dt, text);
                }
                let hint = if text.bytes().all(|b| b.is_ascii_digit()) && text.len() >= 9 {
                    "; it looks like Unix time: set `format: unix` (seconds) or `format: unix_ms` under `time:`"
                } else {
                    "; for other layouts set `format:` under `time:`, e.g. \"%d/%m/%Y\""
                };
                Err(format!(
                    "`{text}` is not a time: expected RFC 3339 (2026-03-01T10:00:00Z), YYYY-MM-DD or YYYY-MM-DD HH:MM:SS{hint}"
                ))
            }
        }
    }

    fn civil(&self, dt: jiff::civil::DateTime, text: &str) -> Result<Ts, String> {
        self.zone
            .to_timestamp(dt)
            .map(|t| t.as_millisecond())
            .map_err(|e| format!("`{text}`: {e}"))
    }
}

/// Windows-1252 code points for bytes 0x80–0x9F (the rest are Latin-1, the same as Unicode).
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

fn decode(bytes: &[u8], encoding: Encoding) -> Result<Cow<'_, str>, String> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
            format!(
                "not UTF-8 (byte 0x{:02X}): save the file as UTF-8, or set `encoding: windows-1252` in the mapping",
                bytes[e.valid_up_to()]
            )
        }),
        Encoding::Windows1252 => {
            if bytes.is_ascii() {
                // ASCII is the same in both.
                return Ok(Cow::Borrowed(std::str::from_utf8(bytes).expect("ascii")));
            }
            Ok(Cow::Owned(
                bytes
                    .iter()
                    .map(|&b| match b {
                        0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
                        _ => char::from(b),
                    })
                    .collect(),
            ))
        }
    }
}

/// A number cell: whole numbers stay whole (`5`, not `5.0`).
fn number(text: &str) -> Option<Value> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(Value::from(n));
    }
    text.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}

fn boolean(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "t" | "1" => Some(true),
        "false" | "no" | "n" | "f" | "0" => Some(false),
        _ => None,
    }
}

/// One data row, read through the mapping.
struct Row<'r> {
    record: &'r csv::ByteRecord,
    mapping: &'r Mapping,
}

/// Why a row or a cell was not usable: the column and what is wrong.
struct CellError {
    column: String,
    message: String,
}

impl<'r> Row<'r> {
    /// The trimmed text of a cell, `None` when it is missing.
    fn text(&self, col: &Col) -> Result<Option<Cow<'r, str>>, CellError> {
        let bytes = self.record.get(col.index).unwrap_or_default();
        let text = decode(bytes, self.mapping.encoding).map_err(|message| CellError {
            column: col.name.clone(),
            message,
        })?;
        let trimmed = text.trim();
        if trimmed.is_empty()
            || self.mapping.missing.iter().any(|m| m == trimmed)
            || col.missing.iter().any(|m| m == trimmed)
        {
            return Ok(None);
        }
        Ok(Some(match text {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
        }))
    }

    /// A cell as a JSON value of its column's type, `None` when missing.
    fn value(&self, col: &Col) -> Result<Option<Value>, CellError> {
        let Some(text) = self.text(col)? else {
            return Ok(None);
        };
        let bad = |what: &str| CellError {
            column: col.name.clone(),
            message: format!("`{text}` is not {what}; the value is left out"),
        };
        Ok(Some(match col.kind {
            Kind::Text => Value::String(text.into_owned()),
            Kind::Number => number(&text).ok_or_else(|| bad("a number"))?,
            Kind::Boolean => Value::Bool(
                boolean(&text).ok_or_else(|| bad("a yes/no value (yes, no, true, false, 1, 0)"))?,
            ),
        }))
    }

    /// A time cell, `None` when missing.
    fn time(&self, col: &Col) -> Result<Option<Ts>, CellError> {
        let Some(text) = self.text(col)? else {
            return Ok(None);
        };
        self.mapping
            .reader
            .parse(&text)
            .map(Some)
            .map_err(|message| CellError {
                column: col.name.clone(),
                message,
            })
    }
}

// ---------------------------------------------------------------------------------------------
// Messages

/// Fields of `traits` or `properties`, in mapping order.
struct Fields<'a>(&'a [(String, Value)]);

impl Serialize for Fields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[derive(Serialize)]
struct MessageContext<'a> {
    channel: &'a str,
}

/// One Segment message as written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message_id: &'a str,
    timestamp: &'a str,
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Fields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traits: Option<Fields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<MessageContext<'a>>,
}

/// What the import did.
#[derive(Debug, Default)]
struct Stats {
    rows: u64,
    identifies: u64,
    events: u64,
    outcomes: u64,
    rejected: u64,
    cells: u64,
    problems: Vec<String>,
}

impl Stats {
    fn messages(&self) -> u64 {
        self.identifies + self.events + self.outcomes
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < SHOWN_PROBLEMS {
            self.problems.push(text);
        }
    }
}

/// FNV-1a: a stable hash (unlike `DefaultHasher`, the same in every build) for message ids.
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn file_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return "<stdin>".to_string();
    }
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Writes one row's messages into `buf`; an `Err` rejects the row (nothing of it is written).
struct RowWriter<'a> {
    mapping: &'a Mapping,
    id_base: &'a str,
}

#[derive(Default)]
struct RowCounts {
    identifies: u64,
    events: u64,
    outcomes: u64,
}

impl RowWriter<'_> {
    #[allow(clippy::too_many_arguments)]
    fn message(
        &self,
        buf: &mut Vec<u8>,
        n: &mut u32,
        row_no: u64,
        kind: &'static str,
        ts: Ts,
        user: &str,
        name: Option<&str>,
        fields: &[(String, Value)],
    ) -> Result<()> {
        let id = format!("{}-{row_no}-{n}", self.id_base);
        *n += 1;
        let timestamp = format_timestamp(ts);
        let (event, page_name) = match kind {
            "track" => (name, None),
            _ => (None, name),
        };
        let m = Message {
            kind,
            message_id: &id,
            timestamp: &timestamp,
            user_id: user,
            event,
            name: page_name,
            properties: (kind != "identify" && (!fields.is_empty() || kind == "track"))
                .then_some(Fields(fields)),
            traits: (kind == "identify").then_some(Fields(fields)),
            context: self
                .mapping
                .channel
                .as_deref()
                .map(|channel| MessageContext { channel }),
        };
        serde_json::to_writer(&mut *buf, &m)?;
        buf.push(b'\n');
        Ok(())
    }

    /// The properties of `list` for this row; bad cells are counted and left out.
    fn fields(
        row: &Row,
        list: &[(String, Col)],
        warn: &mut Vec<CellError>,
    ) -> Result<Vec<(String, Value)>, CellError> {
        let mut out = Vec::with_capacity(list.len());
        for (name, col) in list {
            match row.value(col) {
                Ok(Some(v)) => out.push((name.clone(), v)),
                Ok(None) => {}
                Err(e) if col.kind == Kind::Text => return Err(e),
                Err(e) => warn.push(e),
            }
        }
        Ok(out)
    }

    /// Writes the row; `Err` is the reason to reject it.
    fn write(
        &self,
        record: &csv::ByteRecord,
        row_no: u64,
        spread: Option<(u64, Ts, Ts)>,
        buf: &mut Vec<u8>,
        warn: &mut Vec<CellError>,
    ) -> Result<RowCounts, CellError> {
        let m = self.mapping;
        let row = Row { record, mapping: m };
        let user = match &m.id {
            Some(col) => match row.text(col)? {
                Some(id) => format!("{}{id}", m.id_prefix),
                None => {
                    return Err(CellError {
                        column: col.name.clone(),
                        message: "the id is empty".to_string(),
                    });
                }
            },
            None => format!("{}{row_no}", m.id_prefix),
        };
        let ts = match &m.time {
            RowTime::Column(col) => row.time(col)?.ok_or_else(|| CellError {
                column: col.name.clone(),
                message: "the time is empty".to_string(),
            })?,
            RowTime::Fixed(ts) => *ts,
            RowTime::Spread { from, to } => {
                let (total, _, _) = spread.expect("spread rows are counted");
                let i = i128::from(row_no - 1);
                let span = i128::from(*to - *from);
                let at = if total <= 1 {
                    *from
                } else {
                    *from + (span * i / i128::from(total - 1)) as i64
                };
                at - at.rem_euclid(SECOND)
            }
        };
        let mut counts = RowCounts::default();
        let mut n = 0u32;
        let io = |e: anyhow::Error| CellError {
            column: String::new(),
            message: e.to_string(),
        };

        if !m.traits.is_empty() {
            let traits = Self::fields(&row, &m.traits, warn)?;
            self.message(buf, &mut n, row_no, "identify", ts, &user, None, &traits)
                .map_err(io)?;
            counts.identifies += 1;
        }

        for ev in &m.events {
            let at = match &ev.time {
                None => ts,
                Some(col) => match row.time(col)? {
                    Some(t) => t,
                    None => continue,
                },
            };
            let names: Vec<String> = match &ev.name {
                EventName::Always(name) => vec![name.clone()],
                EventName::WhenSet(col, name) => match row.text(col)? {
                    Some(_) => vec![name.clone()],
                    None => Vec::new(),
                },
                EventName::Map(col, _) | EventName::Cell(col) => {
                    let text = row.text(col)?;
                    let text = text.as_deref().unwrap_or_default();
                    let values: Vec<&str> = match &ev.split {
                        None => vec![text],
                        Some(sep) => text
                            .split(sep.as_str())
                            .map(str::trim)
                            .filter(|v| !m.missing.iter().chain(&col.missing).any(|x| x == v))
                            .collect(),
                    };
                    values
                        .into_iter()
                        .filter(|v| !v.is_empty())
                        .filter_map(|v| match &ev.name {
                            EventName::Map(_, map) => map.get(v).cloned(),
                            _ => Some(v.to_string()),
                        })
                        .collect()
                }
            };
            if names.is_empty() {
                continue;
            }
            let props = Self::fields(&row, &ev.properties, warn)?;
            let kind = match ev.kind {
                EventType::Track => "track",
                EventType::Page => "page",
                EventType::Screen => "screen",
            };
            for name in &names {
                self.message(buf, &mut n, row_no, kind, at, &user, Some(name), &props)
                    .map_err(io)?;
                counts.events += 1;
            }
        }

        for o in &m.outcomes {
            let hit = match &o.trigger {
                Trigger::Always => true,
                Trigger::Column(col, positive) => row
                    .text(col)?
                    .is_some_and(|v| positive.iter().any(|p| *p == v)),
            };
            if !hit {
                continue;
            }
            let at = match &o.time {
                Some(col) => row.time(col)?.unwrap_or(ts + o.after),
                None => ts + o.after,
            };
            let mut props = vec![("outcome".to_string(), Value::from(o.outcome))];
            if let Some(col) = &o.value {
                match row.value(col) {
                    Ok(Some(v)) => props.push(("value".to_string(), v)),
                    Ok(None) => {}
                    Err(e) => warn.push(e),
                }
            }
            if let Some(col) = &o.reason
                && let Some(v) = row.value(col)?
            {
                props.push(("reason".to_string(), v));
            }
            props.push(("source".to_string(), Value::from("import")));
            props.extend(Self::fields(&row, &o.properties, warn)?);
            self.message(
                buf,
                &mut n,
                row_no,
                "track",
                at,
                &user,
                Some(OUTCOME_EVENT),
                &props,
            )
            .map_err(io)?;
            counts.outcomes += 1;
        }
        Ok(counts)
    }
}

// ---------------------------------------------------------------------------------------------
// The command

/// Opens the CSV (a file or stdin) with a leading UTF-8 byte-order mark skipped. Also says
/// whether its lines end in CRLF (from the first line).
fn open(path: &Path) -> Result<(Box<dyn Read>, bool)> {
    let raw: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?)
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let head = reader
        .fill_buf()
        .with_context(|| format!("reading {}", path.display()))?;
    let crlf = head
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|i| i > 0 && head[i - 1] == b'\r');
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        reader.consume(3);
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        bail!(
            "{} is UTF-16 (Excel's \"Unicode text\"): save it as \"CSV UTF-8\" and import that",
            path.display()
        );
    }
    Ok((Box::new(reader), crlf))
}

/// A CSV reader and whether the file's lines end in CRLF.
fn csv_reader(path: &Path, delimiter: u8) -> Result<(csv::Reader<Box<dyn Read>>, bool)> {
    let (input, crlf) = open(path)?;
    let reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(input);
    Ok((reader, crlf))
}

/// Data rows in the file (a quick first pass; quoted line breaks count once).
fn count_rows(path: &Path, delimiter: u8) -> Result<u64> {
    let (mut rdr, _) = csv_reader(path, delimiter)?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while rdr
        .read_byte_record(&mut record)
        .with_context(|| format!("reading {}", path.display()))?
    {
        n += 1;
    }
    Ok(n)
}

pub fn run(a: ImportArgs) -> Result<()> {
    let began = Instant::now();
    let mapping_name = a.mapping.display().to_string();
    let text = std::fs::read_to_string(&a.mapping)
        .with_context(|| format!("reading mapping {mapping_name}"))?;
    let wire = parse_mapping(&text, &mapping_name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (delimiter, encoding) =
        reading(&wire, &mapping_name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let source = file_name(&a.file);

    let (mut rdr, crlf) = csv_reader(&a.file, delimiter)?;
    let header: Vec<String> = rdr
        .byte_headers()
        .with_context(|| format!("reading the header of {}", a.file.display()))?
        .iter()
        .map(|h| decode(h, encoding).map(|s| s.trim().to_string()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("the header of {}: {e}", a.file.display()))?;
    if header.iter().all(String::is_empty) {
        bail!(
            "{} has no header row: the first line must name the columns",
            a.file.display()
        );
    }
    let mapping = Mapping::resolve(wire, &header, &mapping_name, &source)
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let spread = matches!(mapping.time, RowTime::Spread { .. });
    let is_stdin = a.file.as_os_str() == "-";
    if spread && is_stdin {
        bail!(
            "`rows_from`/`rows_to` spread the rows over time, so the rows are counted first: give a file, not stdin"
        );
    }
    let total = if spread || (crate::progress::enabled() && !is_stdin) {
        Some(count_rows(&a.file, delimiter)?)
    } else {
        None
    };
    let spread = match (&mapping.time, total) {
        (RowTime::Spread { from, to }, Some(total)) => Some((total, *from, *to)),
        _ => None,
    };
    let shown_total = total.map(|t| a.limit.map_or(t, |l| l.min(t))).unwrap_or(0);
    let bar = match total {
        Some(_) => crate::progress::bar(shown_total, "rows"),
        None => indicatif::ProgressBar::hidden(),
    };

    let mapping_file = file_name(&a.mapping);
    let id_base = format!("import-{:016x}", fnv(&[&source, &mapping_file]));
    let writer = RowWriter {
        mapping: &mapping,
        id_base: &id_base,
    };
    let mut convert = |out: &mut dyn Write| -> Result<Stats> {
        let mut stats = Stats::default();
        let mut record = csv::ByteRecord::new();
        let mut buf = Vec::with_capacity(4096);
        let mut warn = Vec::new();
        let width = header.len();
        while a.limit.is_none_or(|l| stats.rows < l)
            && rdr
                .read_byte_record(&mut record)
                .with_context(|| format!("reading {}", a.file.display()))?
        {
            stats.rows += 1;
            let row_no = stats.rows;
            // The csv crate counts a line when it reads its `\n`; after a CRLF that is only at
            // the start of the next record, after it noted where the record starts.
            let line = record.position().map_or(0, |p| p.line() + u64::from(crlf));
            let place = format!("{source}: row {row_no} (line {line})");
            if record.len() < width
                || record
                    .iter()
                    .skip(width)
                    .any(|f| !f.iter().all(u8::is_ascii_whitespace))
            {
                stats.rejected += 1;
                stats.problem(format!(
                    "{place}: {} fields where the header has {width}; the row is skipped (a line break outside quotes, or the wrong `delimiter`?)",
                    record.len()
                ));
                continue;
            }
            buf.clear();
            warn.clear();
            match writer.write(&record, row_no, spread, &mut buf, &mut warn) {
                Ok(c) => {
                    out.write_all(&buf)?;
                    stats.identifies += c.identifies;
                    stats.events += c.events;
                    stats.outcomes += c.outcomes;
                }
                Err(e) => {
                    stats.rejected += 1;
                    stats.problem(format!(
                        "{place}: column `{}`: {}; the row is skipped",
                        e.column, e.message
                    ));
                    // Nothing of the row is written, so none of its cells is "left out".
                    warn.clear();
                }
            }
            for w in warn.drain(..) {
                stats.cells += 1;
                stats.problem(format!("{place}: column `{}`: {}", w.column, w.message));
            }
            if row_no % 512 == 0 {
                bar.set_position(row_no);
            }
        }
        out.flush()?;
        Ok(stats)
    };
    let stats = match &a.out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let w = BufWriter::with_capacity(1 << 20, file);
            if path.extension().is_some_and(|e| e == "gz") {
                let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
                let s = convert(&mut gz)?;
                gz.finish()?.flush()?;
                s
            } else {
                let mut w = w;
                convert(&mut w)?
            }
        }
        None => {
            let mut w = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            convert(&mut w)?
        }
    };
    bar.finish_and_clear();

    for p in &stats.problems {
        eprintln!("{p}");
    }
    let problems = stats.rejected + stats.cells;
    if problems > stats.problems.len() as u64 {
        eprintln!(
            "… and {} more problems",
            problems - stats.problems.len() as u64
        );
    }
    let secs = began.elapsed().as_secs_f64();
    let cells = if stats.cells > 0 {
        format!(", {} cells left out", stats.cells)
    } else {
        String::new()
    };
    eprintln!(
        "{source}: {} rows read, {} messages written ({} identify, {} events, {} outcomes), {} rows rejected{cells} in {secs:.2} s ({:.0} rows/s)",
        stats.rows,
        stats.messages(),
        stats.identifies,
        stats.events,
        stats.outcomes,
        stats.rejected,
        stats.rows as f64 / secs.max(1e-9),
    );
    if stats.rows > 0 && stats.rejected == stats.rows {
        bail!("every row was rejected: check `id` and `time` in {mapping_name}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cols: &[&str]) -> Vec<String> {
        cols.iter().map(|c| c.to_string()).collect()
    }

    fn resolve(yaml: &str, cols: &[&str]) -> Result<Mapping, String> {
        let file = parse_mapping(yaml, "m.yaml").map_err(|e| e.to_string())?;
        Mapping::resolve(file, &header(cols), "m.yaml", "x.csv").map_err(|e| e.to_string())
    }

    fn utc() -> TimeReader {
        TimeReader {
            format: TimeFormat::Auto,
            zone: jiff::tz::TimeZone::UTC,
        }
    }

    #[test]
    fn times_in_the_usual_layouts() {
        let r = utc();
        let at = |t: &str| format_timestamp(r.parse(t).unwrap());
        assert_eq!(at("2018-02-01"), "2018-02-01T00:00:00.000Z");
        assert_eq!(at("2018-02-26 19:58:54"), "2018-02-26T19:58:54.000Z");
        assert_eq!(at("2018-02-26T19:58:54"), "2018-02-26T19:58:54.000Z");
        assert_eq!(at("2018-02-26T19:58:54+02:00"), "2018-02-26T17:58:54.000Z");
        assert_eq!(at("2018-02-26 19:58:54Z"), "2018-02-26T19:58:54.000Z");
        assert_eq!(at(" 2018-02-26T19:58:54.5Z "), "2018-02-26T19:58:54.500Z");
        let err = r.parse("2018-13-01").unwrap_err();
        assert!(err.contains("is not a time"), "{err}");
        assert!(r.parse("1511544070").unwrap_err().contains("format: unix"));
        let unix = TimeReader {
            format: TimeFormat::Unix,
            ..utc()
        };
        assert_eq!(
            format_timestamp(unix.parse("1511544070").unwrap()),
            "2017-11-24T17:21:10.000Z"
        );
        let warsaw = TimeReader {
            format: TimeFormat::Pattern("%d/%m/%Y %H:%M".into()),
            zone: jiff::tz::TimeZone::get("Europe/Warsaw").unwrap(),
        };
        assert_eq!(
            format_timestamp(warsaw.parse("01/07/2026 10:30").unwrap()),
            "2026-07-01T08:30:00.000Z"
        );
    }

    #[test]
    fn cells_become_typed_values() {
        assert_eq!(number("5"), Some(Value::from(5)));
        assert_eq!(number("-36.4"), Some(Value::from(-36.4)));
        assert_eq!(number("5,000"), None);
        assert_eq!(number("NaN"), None);
        assert_eq!(boolean("Yes"), Some(true));
        assert_eq!(boolean("False"), Some(false));
        assert_eq!(boolean("maybe"), None);
        assert_eq!(
            decode(b"Caf\xe9 \x80", Encoding::Windows1252).unwrap(),
            "Café €"
        );
        assert!(
            decode(b"Caf\xe9", Encoding::Utf8)
                .unwrap_err()
                .contains("windows-1252")
        );
    }

    #[test]
    fn names_and_durations() {
        assert_eq!(snake_case("Lead Origin"), "lead_origin");
        assert_eq!(snake_case("TotalVisits"), "total_visits");
        assert_eq!(snake_case("emp.var.rate"), "emp_var_rate");
        assert_eq!(snake_case("Prospect ID"), "prospect_id");
        assert_eq!(
            snake_case("  Page Views Per Visit "),
            "page_views_per_visit"
        );
        assert_eq!(parse_after("0s"), Ok(0));
        assert_eq!(parse_after("0"), Ok(0));
        assert_eq!(parse_after("2d"), Ok(2 * DAY));
        assert!(parse_after("soon").is_err());
        assert_eq!(edit_distance("lead orign", "lead origin"), 1);
        assert_ne!(fnv(&["a", "bc"]), fnv(&["ab", "c"]));
    }

    #[test]
    fn yaml_scalars_read_as_text() {
        let m = resolve(
            "id: id\ntime: { fixed: 2026-01-01 }\nmissing: [NA, 0.0]\noutcome: { column: y, positive: [yes, 1, true], outcome: sale }\n",
            &["id", "y"],
        )
        .unwrap();
        assert_eq!(m.missing, ["NA", "0.0"]);
        let Trigger::Column(_, p) = &m.outcomes[0].trigger else {
            panic!("column trigger")
        };
        assert_eq!(p, &["yes", "1", "true"]);
    }

    #[test]
    fn mapping_errors_name_the_line_and_say_what_to_do() {
        let err = resolve(
            "id: Lead Id\ntime:\n  column: when\n  fixed: 2026-01-01\ntraits:\n  - { column: Lead Orign, type: numeric }\noutcome: { column: y, outcome: bought }\n",
            &["Lead Id", "Lead Origin", "y"],
        )
        .unwrap_err();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 5, "{err}");
        assert!(lines[0].starts_with("m.yaml:3:"), "{err}");
        assert!(lines[0].contains("only one of"), "{err}");
        assert!(err.contains("did you mean `Lead Origin`?"), "{err}");
        assert!(err.contains("`numeric` is not a type"), "{err}");
        assert!(err.contains("no outcome `bought`"), "{err}");
        assert!(err.contains("needs `positive`"), "{err}");
        let err = resolve(
            "id: a\ntime: { fixed: 2026-01-01 }\ntraits: [{ column: b }]\n",
            &["a;b"],
        )
        .unwrap_err();
        assert!(err.contains("set `delimiter: \";\"`"), "{err}");
        let err = parse_mapping("id: a\ntime: { fixed: x }\ntrait: []\n", "m.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("m.yaml:3:1: unknown key `trait`"), "{err}");
    }
}
