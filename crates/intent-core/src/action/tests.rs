use super::*;
use crate::plan::Plan;
use crate::time::{HOUR, MINUTE, parse_timestamp};

const PLAN: &str = r#"
version: 1
name: desk
signals:
  - { id: visit, when: { event: Visit }, points: 10 }
groups:
  - { id: model, key: properties.model }
tiers:
  levels:
    - { name: hot, min_score: 60 }
    - { name: warm, min_score: 25 }
    - { name: cold }
overrides:
  - id: ask_person
    when: { event: Ask }
    tier: hot
    for: 24h
    reason: Asked for a person
follow_up:
  teams:
    - { id: suv, groups: { model: [RAV4] }, members: [ewa] }
    - { id: waw, locations: [warszawa], members: [anna, piotr], manager: marta }
    - { id: bdc, members: [karol] }
  playbooks:
    - { id: ask, override: ask_person, sla: 15m, channel: in_showroom, escalate: manager }
    - { id: hot_call, tier: hot, sla: 30m, channel: call, steps: [Call now], escalate: manager }
    - { id: warm_mail, tier: warm, sla: 4h, channel: email }
    - { id: cold_nurture, tier: cold, nurture: Newsletter }
  lifecycle:
    - { stage: mql, min_score: 25 }
    - { stage: sql, tiers: [hot], results: [appointment_set] }
"#;

fn desk() -> Desk {
    let plan = Plan::parse(PLAN, "desk.yaml").expect("plan");
    Desk::load(DeskPlan::of(&plan), Vec::new(), Vec::new(), None, "t1")
}

fn at(text: &str) -> Ts {
    parse_timestamp(text).expect("time")
}

fn obs(profile: &str, tier: u8, location: Option<&str>) -> Observation {
    Observation {
        profile: profile.into(),
        tier,
        override_index: None,
        disqualified: None,
        score: [70.0, 40.0, 5.0][tier.min(2) as usize],
        grade: None,
        location: location.map(str::to_string),
    }
}

fn no_details() -> Details {
    Details::default()
}

fn observe(d: &mut Desk, o: &Observation, now: Ts) -> Changes {
    let mut out = Changes::default();
    d.observe(o, now, &mut no_details, &mut out);
    out
}

fn kinds(c: &Changes) -> Vec<&'static str> {
    c.notices.iter().map(|n| n.kind).collect()
}

#[test]
fn a_crossing_fires_once_and_a_jump_fires_one_change() {
    let mut d = desk();
    let t0 = at("2026-11-23T10:00:00Z");
    // cold → cold: nothing.
    assert!(observe(&mut d, &obs("user:a", 2, None), t0).is_empty());
    // cold → hot in one jump: one tier change, from cold to hot.
    let c = observe(&mut d, &obs("user:a", 0, None), t0);
    assert_eq!(kinds(&c), ["tier.changed", "task.created"]);
    let body = &c.notices[0].body;
    assert_eq!(body["data"]["from"], "cold");
    assert_eq!(body["data"]["to"], "hot");
    assert_eq!(body["type"], "tier.changed");
    // Staying hot with a new score: no announcement.
    let mut again = obs("user:a", 0, None);
    again.score = 90.0;
    let c = observe(&mut d, &again, t0 + MINUTE);
    assert!(c.notices.is_empty());
    assert_eq!(d.open_task("user:a").expect("task").score, 90.0);
    // Ids are unique and carry the desk's origin.
    let c2 = observe(&mut d, &obs("user:b", 1, None), t0);
    assert_eq!(c2.notices[0].id, "evt_t1_3");
}

#[test]
fn entering_hot_opens_a_routed_task_with_its_playbook_and_due_time() {
    let mut d = desk();
    let t0 = at("2026-11-23T10:00:00Z");
    observe(&mut d, &obs("user:a", 0, Some("warszawa")), t0);
    observe(&mut d, &obs("user:b", 0, Some("warszawa")), t0);
    observe(&mut d, &obs("user:c", 0, Some("warszawa")), t0);
    observe(&mut d, &obs("user:d", 0, Some("poznan")), t0);
    let owners: Vec<_> = ["user:a", "user:b", "user:c", "user:d"]
        .iter()
        .map(|p| d.open_task(p).expect("task").owner.clone().expect("owner"))
        .collect();
    assert_eq!(owners, ["anna", "piotr", "anna", "karol"]);
    let t = d.open_task("user:a").expect("task");
    assert_eq!(t.playbook, "hot_call");
    assert_eq!(t.channel, "call");
    assert_eq!(t.steps, ["Call now"]);
    assert_eq!(t.team.as_deref(), Some("waw"));
    assert_eq!(t.manager.as_deref(), Some("marta"));
    assert_eq!(t.due_at, t0 + 30 * MINUTE);
    assert_eq!(
        d.meta().routed,
        [("waw".to_string(), 3), ("bdc".to_string(), 1)]
    );
}

#[test]
fn routing_by_score_group_uses_the_details() {
    let mut d = desk();
    let mut out = Changes::default();
    let mut details = || Details {
        name: Some("Jan Kowalski".into()),
        reasons: vec!["Built a car".into()],
        groups: vec![("model".into(), "rav4".into())],
    };
    d.observe(
        &obs("user:a", 0, Some("warszawa")),
        0,
        &mut details,
        &mut out,
    );
    let t = d.open_task("user:a").expect("task");
    assert_eq!(t.team.as_deref(), Some("suv"));
    assert_eq!(t.owner.as_deref(), Some("ewa"));
    assert_eq!(t.name.as_deref(), Some("Jan Kowalski"));
}

#[test]
fn an_escalation_raises_the_open_task_and_falling_to_cold_expires_it() {
    let mut d = desk();
    let t0 = at("2026-11-23T10:00:00Z");
    let c = observe(&mut d, &obs("user:a", 1, None), t0);
    assert_eq!(kinds(&c), ["tier.changed", "task.created"]);
    let id = d.open_task("user:a").expect("task").id;
    assert_eq!(d.task(id).expect("task").due_at, t0 + 4 * HOUR);
    // The person asks for someone at the kiosk: override fires, tier goes hot, the task is raised.
    let mut ask = obs("user:a", 0, None);
    ask.override_index = Some(0);
    let c = observe(&mut d, &ask, t0 + HOUR);
    assert_eq!(kinds(&c), ["override.fired", "tier.changed", "task.raised"]);
    let t = d.task(id).expect("task");
    assert_eq!(t.playbook, "ask");
    assert_eq!(t.override_id.as_deref(), Some("ask_person"));
    assert_eq!(t.due_at, t0 + HOUR + 15 * MINUTE);
    assert_eq!(d.tasks().len(), 1, "raised, not a second task");
    // Back to warm: the task stays open.
    let c = observe(&mut d, &obs("user:a", 1, None), t0 + 30 * HOUR);
    assert_eq!(kinds(&c), ["tier.changed"]);
    assert_eq!(d.task(id).expect("task").status, TaskStatus::Open);
    // Cold: it expires, and the profile is forgotten.
    let c = observe(&mut d, &obs("user:a", 2, None), t0 + 40 * HOUR);
    assert_eq!(kinds(&c), ["tier.changed", "task.expired"]);
    assert_eq!(d.task(id).expect("task").status, TaskStatus::Expired);
    assert_eq!(c.observed, [("user:a".to_string(), None)]);
    assert!(d.seen("user:a").is_none());
}

#[test]
fn a_breach_is_found_once_escalated_and_written_to_history() {
    let mut d = desk();
    let t0 = at("2026-11-23T10:00:00Z");
    observe(&mut d, &obs("user:a", 0, Some("warszawa")), t0);
    let mut out = Changes::default();
    d.tick(t0 + 30 * MINUTE, &mut out);
    assert!(out.is_empty(), "due is not past due");
    d.tick(t0 + 31 * MINUTE, &mut out);
    assert_eq!(kinds(&out), ["sla.breached"]);
    assert_eq!(out.history.len(), 1);
    assert_eq!(out.history[0].event, "SLA Breached");
    let t = d.open_task("user:a").expect("task");
    assert_eq!(t.escalated_to.as_deref(), Some("marta"));
    let mut again = Changes::default();
    d.tick(t0 + HOUR, &mut again);
    assert!(again.is_empty(), "breached once");
}

#[test]
fn claim_snooze_reassign_complete() {
    let mut d = desk();
    let t0 = at("2026-11-23T10:00:00Z");
    observe(&mut d, &obs("user:a", 0, None), t0);
    let id = d.open_task("user:a").expect("task").id;
    let mut out = Changes::default();
    d.claim(id, "anna", t0, &mut out).expect("claim");
    assert_eq!(
        d.claim(id, "piotr", t0, &mut out),
        Err(TaskError::Claimed {
            id,
            by: "anna".into()
        })
    );
    d.snooze(id, t0 + HOUR, "anna", t0, &mut out)
        .expect("snooze");
    assert!(d.queue(&TaskFilter::default(), t0 + MINUTE).is_empty());
    assert_eq!(d.queue(&TaskFilter::default(), t0 + 2 * HOUR).len(), 1);
    d.reassign(id, "piotr", "marta", t0, &mut out)
        .expect("reassign");
    assert_eq!(d.task(id).expect("task").owner.as_deref(), Some("piotr"));
    let mut out = Changes::default();
    d.complete(
        id,
        TaskResult::AppointmentSet,
        Some("Friday 10:00".into()),
        "piotr",
        t0 + 20 * MINUTE,
        &mut out,
    )
    .expect("complete");
    assert_eq!(kinds(&out), ["task.completed"]);
    assert_eq!(out.history[0].event, "Task Completed");
    assert_eq!(out.history[0].properties["result"], "appointment_set");
    assert_eq!(out.history[0].properties["sla_met"], true);
    assert!(d.open_task("user:a").is_none());
    assert!(matches!(
        d.complete(id, TaskResult::Contacted, None, "x", t0, &mut out),
        Err(TaskError::Closed { .. })
    ));
    assert_eq!(
        d.complete(99, TaskResult::Contacted, None, "x", t0, &mut out),
        Err(TaskError::NotFound(99))
    );
    // The appointment makes the person a sales-qualified lead even when cold.
    assert_eq!(
        d.stage("user:a", 2, 5.0, None).map(|s| s.id.as_str()),
        Some("sql")
    );
    assert_eq!(
        d.stage("user:b", 1, 30.0, None).map(|s| s.id.as_str()),
        Some("mql")
    );
    assert!(d.stage("user:b", 2, 3.0, None).is_none());
}

#[test]
fn the_queue_orders_by_tier_escalation_due_and_score() {
    let mut d = desk();
    let t0 = at("2026-11-23T10:00:00Z");
    observe(&mut d, &obs("user:warm", 1, None), t0);
    observe(&mut d, &obs("user:hot_late", 0, None), t0 + HOUR);
    observe(&mut d, &obs("user:hot_early", 0, None), t0);
    let mut ask = obs("user:asked", 0, None);
    ask.override_index = Some(0);
    observe(&mut d, &ask, t0 + 2 * HOUR);
    let order: Vec<&str> = d
        .queue(&TaskFilter::default(), t0 + 3 * HOUR)
        .iter()
        .map(|t| t.profile.as_str())
        .collect();
    assert_eq!(
        order,
        ["user:asked", "user:hot_early", "user:hot_late", "user:warm"]
    );
    let warm = TaskFilter {
        tier: Some("warm".into()),
        ..TaskFilter::default()
    };
    assert_eq!(d.queue(&warm, t0).len(), 1);
}

#[test]
fn merging_moves_or_closes_the_task() {
    let mut d = desk();
    observe(&mut d, &obs("anon:k", 0, None), 0);
    let mut out = Changes::default();
    d.merge("anon:k", "user:a", 10, &mut out);
    assert_eq!(d.open_task("user:a").expect("moved").id, 1);
    assert!(d.seen("anon:k").is_none());
    // The merged profile is as hot as the visitor was: no second crossing is announced.
    assert!(
        observe(&mut d, &obs("user:a", 0, None), 15)
            .notices
            .is_empty()
    );
    observe(&mut d, &obs("anon:m", 0, None), 20);
    d.merge("anon:m", "user:a", 30, &mut out);
    assert_eq!(d.task(2).expect("task").status, TaskStatus::Merged);
    assert_eq!(d.open_task("user:a").expect("kept").id, 1);
}

#[test]
fn an_observation_from_another_plan_changes_nothing() {
    let mut d = desk();
    // The test plan has three tiers: index 3 is a tier of some other plan.
    assert!(observe(&mut d, &obs("user:a", 3, None), 0).is_empty());
    assert!(d.tasks().is_empty());
}

#[test]
fn disqualified_closes_the_task_with_the_reason() {
    let mut d = desk();
    observe(&mut d, &obs("user:a", 0, None), 0);
    let mut o = obs("user:a", DISQUALIFIED, None);
    o.disqualified = Some("Works for a competitor".into());
    let c = observe(&mut d, &o, 10);
    assert_eq!(kinds(&c), ["tier.changed", "task.expired"]);
    assert_eq!(
        d.task(1).expect("task").closed_reason.as_deref(),
        Some("disqualified: Works for a competitor")
    );
}

#[test]
fn a_reloaded_desk_continues_where_it_stopped() {
    let mut d = desk();
    observe(&mut d, &obs("user:a", 0, Some("warszawa")), 0);
    let observed: Vec<(String, Seen)> = d
        .watched()
        .map(|p| (p.to_string(), d.seen(p).expect("seen").clone()))
        .collect();
    let plan = Plan::parse(PLAN, "desk.yaml").expect("plan");
    let mut e = Desk::load(
        DeskPlan::of(&plan),
        observed,
        d.tasks().to_vec(),
        Some(d.meta().clone()),
        "other",
    );
    // Same tier: nothing new after a restart.
    assert!(observe(&mut e, &obs("user:a", 0, Some("warszawa")), 5).is_empty());
    // Round-robin and ids go on.
    let c = observe(&mut e, &obs("user:b", 0, Some("warszawa")), 5);
    assert_eq!(c.notices[0].id, "evt_t1_3");
    assert_eq!(
        e.open_task("user:b").expect("task").owner.as_deref(),
        Some("piotr")
    );
    assert_eq!(e.open_task("user:b").expect("task").id, 2);
}

#[test]
fn sla_report_counts_met_missed_and_speed() {
    let mut d = desk();
    let t0 = at("2026-11-23T10:00:00Z");
    for (i, p) in ["user:a", "user:b", "user:c"].iter().enumerate() {
        observe(&mut d, &obs(p, 0, Some("warszawa")), t0 + i as i64 * MINUTE);
    }
    let mut out = Changes::default();
    d.complete(
        1,
        TaskResult::AppointmentSet,
        None,
        "anna",
        t0 + 10 * MINUTE,
        &mut out,
    )
    .expect("done");
    d.complete(
        2,
        TaskResult::NoAnswer,
        None,
        "piotr",
        t0 + MINUTE + 40 * MINUTE,
        &mut out,
    )
    .expect("done");
    let r = report::sla_report(d.tasks(), &d.plan().follow, 0, i64::MAX, t0 + 2 * HOUR);
    assert_eq!(r.total.tasks, 3);
    assert_eq!((r.total.met, r.total.missed, r.total.open), (1, 2, 1));
    assert_eq!(r.total.appointments, 1);
    assert_eq!(r.total.speed_median_s, Some(1500.0));
    assert_eq!(r.by_week[0].key, "2026-W48");
    let owners: Vec<_> = r
        .by_owner
        .iter()
        .map(|o| (o.key.as_str(), o.met, o.missed))
        .collect();
    assert_eq!(owners, [("anna", 1, 1), ("piotr", 0, 1)]);
}

#[test]
fn plan_errors_name_the_line_and_the_fix() {
    let bad = PLAN
        .replace("tier: warm, sla: 4h", "tier: tepid, sla: 4h")
        .replace("sla: 30m", "sla: 30x")
        .replace("groups: { model: [RAV4] }", "groups: { make: [RAV4] }");
    let err = Plan::parse(&bad, "desk.yaml").expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.contains("no tier `tepid`; tiers are: hot, warm, cold"),
        "{text}"
    );
    assert!(text.contains("sla: `x` is not a unit of time"), "{text}");
    assert!(text.contains("routes by group `make`"), "{text}");
    assert!(err.issues.iter().all(|i| i.line > 0), "{text}");
}

proptest::proptest! {
    /// However the tier moves, each change is announced exactly once, from where it was to
    /// where it is, and at most one task is open per profile.
    #[test]
    fn every_crossing_is_announced_once(tiers in proptest::collection::vec(0u8..4, 1..40)) {
        let mut d = desk();
        let mut last = "cold".to_string();
        let mut expected = Vec::new();
        let mut got = Vec::new();
        for (i, &t) in tiers.iter().enumerate() {
            let tier = if t == 3 { DISQUALIFIED } else { t };
            let name = if tier == DISQUALIFIED { "disqualified".to_string() } else { ["hot", "warm", "cold"][t as usize].to_string() };
            if name != last {
                expected.push((last.clone(), name.clone()));
                last = name;
            }
            let c = observe(&mut d, &obs("user:p", tier, None), i as i64 * MINUTE);
            for n in c.notices.iter().filter(|n| n.kind == "tier.changed") {
                got.push((
                    n.body["data"]["from"].as_str().expect("from").to_string(),
                    n.body["data"]["to"].as_str().expect("to").to_string(),
                ));
            }
            let open = d.tasks().iter().filter(|t| t.status == TaskStatus::Open).count();
            proptest::prop_assert!(open <= 1);
            proptest::prop_assert_eq!(open == 1, tier < 2);
        }
        proptest::prop_assert_eq!(got, expected);
    }
}
