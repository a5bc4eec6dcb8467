//! Outcomes: what came of a lead (an appointment booked, shown or missed, a test drive, a sale
//! with its value, a lost deal with its reason). Outcomes are labels for learning and the funnel;
//! they never add points: an event the plan maps to an outcome scores nothing, whatever signal
//! would match it.
//!
//! Three ways in, all ordinary events in the history:
//! - events the plan's `outcomes:` section maps (`Vehicle Purchased` → `sale`, value from
//!   `properties.value`);
//! - [`OUTCOME_EVENT`] (`Outcome Recorded`, with `properties.outcome`), which `POST /v1/outcomes`
//!   and `intent import` write;
//! - `Task Completed` with `properties.result: appointment_set`, which completing a follow-up
//!   task writes.

use crate::event::{Event, FieldPath};
use crate::plan::Matcher;

/// The name of the event the API and the importer record outcomes with.
pub const OUTCOME_EVENT: &str = "Outcome Recorded";

/// What came of a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// An appointment was booked.
    Appointment,
    /// The person came to the appointment.
    Shown,
    /// The person did not come.
    NoShow,
    /// A test drive took place.
    TestDrive,
    /// A sale (a won deal), possibly with a value.
    Sale,
    /// The lead was lost, possibly with a reason.
    Lost,
}

impl OutcomeKind {
    /// Every kind, in funnel order.
    pub const ALL: [OutcomeKind; 6] = [
        OutcomeKind::Appointment,
        OutcomeKind::Shown,
        OutcomeKind::NoShow,
        OutcomeKind::TestDrive,
        OutcomeKind::Sale,
        OutcomeKind::Lost,
    ];

    /// The wire name (`appointment`, `shown`, `no_show`, `test_drive`, `sale`, `lost`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Appointment => "appointment",
            OutcomeKind::Shown => "shown",
            OutcomeKind::NoShow => "no_show",
            OutcomeKind::TestDrive => "test_drive",
            OutcomeKind::Sale => "sale",
            OutcomeKind::Lost => "lost",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<OutcomeKind> {
        OutcomeKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The wire names, for error messages.
    pub fn names() -> String {
        OutcomeKind::ALL.map(OutcomeKind::as_str).join(", ")
    }

    /// A bit for sets of kinds.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Whether the outcome means an appointment was booked (a shown or missed appointment was
    /// booked first, and a test drive is taken at one).
    pub fn implies_appointment(self) -> bool {
        matches!(
            self,
            OutcomeKind::Appointment
                | OutcomeKind::Shown
                | OutcomeKind::NoShow
                | OutcomeKind::TestDrive
        )
    }
}

/// A plan rule mapping events to an outcome.
#[derive(Debug, Clone)]
pub struct OutcomeRule {
    /// The outcome recorded.
    pub kind: OutcomeKind,
    /// Which events.
    pub matcher: Matcher,
    /// Where the value is (a sale's amount).
    pub value: Option<FieldPath>,
    /// Where the reason is (why a lead was lost).
    pub reason: Option<FieldPath>,
}

/// An outcome an event records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutcomeHit {
    /// Which outcome.
    pub kind: OutcomeKind,
    /// Its value, `NaN` when it has none.
    pub value: f64,
}

fn property<'a>(event: &'a Event, key: &str) -> Option<&'a serde_json::Value> {
    event.properties.get(key)
}

/// The outcome `event` records under `rules` (a plan's `outcomes:`), if any. The built-in
/// events come first.
pub fn outcome_of(rules: &[OutcomeRule], event: &Event) -> Option<OutcomeHit> {
    match event.name.as_deref() {
        Some(OUTCOME_EVENT) => {
            let kind = property(event, "outcome")
                .and_then(|v| v.as_str())
                .and_then(OutcomeKind::parse)?;
            let value = property(event, "value")
                .and_then(number)
                .unwrap_or(f64::NAN);
            return Some(OutcomeHit { kind, value });
        }
        Some("Task Completed")
            if property(event, "result").and_then(|v| v.as_str()) == Some("appointment_set") =>
        {
            return Some(OutcomeHit {
                kind: OutcomeKind::Appointment,
                value: f64::NAN,
            });
        }
        _ => {}
    }
    let rule = rules.iter().find(|r| r.matcher.matches(event))?;
    let value = rule
        .value
        .as_ref()
        .and_then(|p| event.field(p))
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::NAN);
    Some(OutcomeHit {
        kind: rule.kind,
        value,
    })
}

/// The reason an outcome event gives (why a lead was lost), if any.
pub fn reason_of(rules: &[OutcomeRule], event: &Event) -> Option<String> {
    if event.name.as_deref() == Some(OUTCOME_EVENT) {
        return property(event, "reason")
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    let rule = rules.iter().find(|r| r.matcher.matches(event))?;
    rule.reason
        .as_ref()
        .and_then(|p| event.field(p))
        .and_then(|v| v.to_text().map(|t| t.into_owned()))
}

fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;

    fn event(json: &str) -> Event {
        Event::from_json(json, || "x".into()).unwrap()
    }

    #[test]
    fn built_in_and_mapped_outcomes() {
        let plan = Plan::parse(
            r#"
version: 1
name: t
signals:
  - { id: anything_tracked, when: { type: track }, points: 5 }
tiers: { levels: [ { name: hot, min_score: 10 }, { name: cold } ] }
outcomes:
  - { outcome: sale, when: { event: Vehicle Purchased }, value: properties.value }
  - { outcome: lost, when: { event: Lead Lost }, reason: properties.reason }
"#,
            "t.yaml",
        )
        .unwrap();
        let rules = &plan.outcomes;
        let sale = event(
            r#"{"type":"track","event":"Vehicle Purchased","userId":"u","messageId":"m1","timestamp":"2026-01-01T00:00:00Z","properties":{"value":125000}}"#,
        );
        let hit = outcome_of(rules, &sale).unwrap();
        assert_eq!(hit.kind, OutcomeKind::Sale);
        assert_eq!(hit.value, 125000.0);
        let lost = event(
            r#"{"type":"track","event":"Lead Lost","userId":"u","messageId":"m2","timestamp":"2026-01-01T00:00:00Z","properties":{"reason":"price"}}"#,
        );
        assert_eq!(outcome_of(rules, &lost).unwrap().kind, OutcomeKind::Lost);
        assert_eq!(reason_of(rules, &lost).as_deref(), Some("price"));
        let api = event(
            r#"{"type":"track","event":"Outcome Recorded","userId":"u","messageId":"m3","timestamp":"2026-01-01T00:00:00Z","properties":{"outcome":"no_show"}}"#,
        );
        let hit = outcome_of(rules, &api).unwrap();
        assert_eq!(hit.kind, OutcomeKind::NoShow);
        assert!(hit.value.is_nan());
        let task = event(
            r#"{"type":"track","event":"Task Completed","userId":"u","messageId":"m4","timestamp":"2026-01-01T00:00:00Z","properties":{"result":"appointment_set"}}"#,
        );
        assert_eq!(
            outcome_of(rules, &task).unwrap().kind,
            OutcomeKind::Appointment
        );
        let other_task = event(
            r#"{"type":"track","event":"Task Completed","userId":"u","messageId":"m5","timestamp":"2026-01-01T00:00:00Z","properties":{"result":"no_answer"}}"#,
        );
        assert!(outcome_of(rules, &other_task).is_none());

        // Outcomes are labels: the catch-all signal scores nothing on them.
        let scorer = crate::score::Scorer::new(plan.clone());
        let mut c = crate::score::Classified::default();
        scorer.classify(&sale, &mut c);
        assert!(c.hits.is_empty());
        assert_eq!(c.outcome.unwrap().kind, OutcomeKind::Sale);
        scorer.classify(&other_task, &mut c);
        assert_eq!(c.hits.len(), 1);
        assert!(c.outcome.is_none());
    }

    #[test]
    fn plan_errors_name_the_line() {
        let err = Plan::parse(
            r#"
version: 1
name: t
signals:
  - { id: a, when: { type: track }, points: 5 }
tiers: { levels: [ { name: hot, min_score: 10 }, { name: cold } ] }
outcomes:
  - { outcome: bought, when: { event: Vehicle Purchased } }
"#,
            "t.yaml",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("t.yaml:8"), "{text}");
        assert!(text.contains("no outcome `bought`"), "{text}");
    }
}
