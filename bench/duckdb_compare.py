#!/usr/bin/env python3
"""Score the same NDJSON file with `intent replay` and with DuckDB SQL; compare time and scores.

What an analyst would otherwise do in a warehouse: load the raw Segment events and compute the
engagement score of every person with SQL. Both runs read the same file, use the same plan
(bench/warehouse.yaml: signals, points, frequency limits, caps, decay) and the same as-of time
(`--at`, default: the latest event time in the file, which is also what `intent replay` does).

Usage:
    python3 bench/duckdb_compare.py FILE.ndjson [--plan bench/warehouse.yaml] [--at 2026-03-01]
    python3 bench/duckdb_compare.py --check-only     # CI: small generated file, agreement only

Both are timed by wall clock: `intent replay --tier all --format csv` as a subprocess, and the
SQL below as one `COPY (WITH ...) TO 'scores.csv'` statement run in-process by the `duckdb` module
with its default settings (threads = cores), from reading the file to writing the scores. The
ratio is DuckDB time / intent time; events/s counts unique events for both.

The SQL is one query of CTEs, as an analyst would write it (print it with `--show-sql`):

1. `ev`: `read_ndjson` with explicit columns (only the properties the rules test), one row per
   line, numbered in file order (`rn`); the name is `event` for track calls, `name` otherwise.
2. Duplicates: a message id counts once, the first line in the file (`min(rn)` per id). Then
   only events at or before `now` count, for identity too (as `intent replay --at` does: what
   was known at that moment; crates/intent-core/src/reference.rs does the same).
3. Identity, the engine's rules (crates/intent-core/src/identity.rs) as a warehouse would
   write them: an alias (`previousId` -> `userId`) maps the previous id, whether it was a user or
   an anonymous id, to the alias's user; the latest alias of an id wins and chains are followed
   with a recursive CTE. An event's profile is `user:<userId>` if it has one (followed through
   aliases), else for its anonymous id: the aliased user if the id was aliased, else the first user
   (by time, then message id) seen on an event carrying both ids, else `anon:<anonymousId>`.
   This equals the engine's union-find whenever an anonymous id that was first linked to one user
   is not later aliased to another (see LIMITS); the generated data never does that.
4. Hits: one `SELECT ... WHERE <match>` per signal, `UNION ALL`.
5. Frequency: `row_number()` over (profile, signal, calendar bucket) in canonical order (time,
   then message id) keeps the first N; `once` is one bucket for all time.
6. Caps: the engine clamps each award to the room left, `cap - sum(|awarded|)` in the bucket.
   Since only the running total of absolute values is clamped (from above), the total after k
   awards is `least(cap, S_k)` with `S_k` the plain running sum of |raw points|, so the award is
   `sign(raw) * (least(cap, S_k) - least(cap, S_k - |raw|))`: one window sum, no recursion.
   Calendar buckets: UTC days; weeks start Monday 00:00 UTC (`(ts - 4 days) // 1 week`).
7. Decay at `now`: `awarded * 2^(-(now - ts) / half_life)` (the signal's half-life, else the
   plan's; `none` keeps points whole); `expire_after` drops older awards. Sum per profile; every
   profile with an event gets a row (0 without points).

LIMITS: only plans of signals (no sessions, sequences or `per`; fit, overrides and disqualifiers
do not change the engagement score and are ignored); `when` may test type, event/name, channel
and `properties.*` equality / `one_of` on text. Identity edge cases the SQL does not reproduce (an
anonymous id linked to user A, later aliased to user B: the engine then moves all of A to B) are
counted and reported when the scores disagree (the check still fails: the generated data has
none). The rules are read from the plan with PyYAML if installed; else the RULES table below,
a hand translation of bench/warehouse.yaml, is used (with PyYAML it is checked against the plan).

Agreement, per profile: the same profiles on both sides, the same number of events (at or before
`now`: checks identity and duplicates), and scores within 1e-6. `intent` prints CSV scores with 4
decimals, so there the SQL score is rounded to 4 decimals first; `--json` (and `--check-only`)
read intent's JSON lines and compare full-precision scores. Exit status 1 on any disagreement.
"""

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_PLAN = os.path.join(HERE, "warehouse.yaml")

SECOND, MINUTE, HOUR, DAY, WEEK = 1000, 60_000, 3_600_000, 86_400_000, 604_800_000

# bench/warehouse.yaml, translated by hand: used when PyYAML is not installed (CI installs only
# duckdb); when it is, the rules are read from the plan and checked against this table.
# (id, match, points, frequency, cap, half_life) with match = (types, names, {property: values}),
# frequency = None | "once" | (n, period), cap = None | (points, period or None),
# half_life = "plan" | None (no decay) | milliseconds.
RULES = [
    ("model_page", (["page"], None, {"category": ["model"]}), 3, (5, DAY), (30, WEEK), "plan"),
    ("pricing_page", (["page"], None, {"category": ["financing", "offers"]}), 6, (1, DAY), None, "plan"),
    ("offer_download", (None, ["Offer Downloaded"], {}), 15, None, (30, WEEK), "plan"),
    ("contact_form", (None, ["Form Submitted"], {"form": ["contact", "test_drive"]}), 30, (2, WEEK), None, "plan"),
    ("email_click", (None, ["Email Link Clicked"], {}), 4, None, (12, WEEK), 7 * DAY),
    ("cta_test_drive", (None, ["CTA Tapped"], {"cta": ["test_drive"]}), 25, (1, DAY), None, 30 * DAY),
    ("service_only", (None, ["CTA Tapped"], {"cta": ["service"]}), -5, None, (10, WEEK), "plan"),
    ("careers_page", (["page"], None, {"category": ["careers"]}), -15, "once", None, None),
    ("email_bounced", (None, ["Email Bounced"], {}), -10, "once", None, None),
]
PLAN_DECAY = {"half_life": 14 * DAY, "expire_after": None}


# --- the plan ------------------------------------------------------------------------------


def duration(text):
    """`30m`, `14d`, `1w` -> milliseconds (the engine's units)."""
    m = re.fullmatch(r"\s*(\d+)\s*(s|m|min|h|d|w)\s*", str(text))
    if not m or int(m.group(1)) <= 0:
        raise SystemExit(f"not a duration: {text!r}")
    unit = {"s": SECOND, "m": MINUTE, "min": MINUTE, "h": HOUR, "d": DAY, "w": WEEK}[m.group(2)]
    return int(m.group(1)) * unit


def as_list(v):
    return v if isinstance(v, list) else [v]


def rules_from_plan(path):
    """The plan's signals as RULES rows and its decay; exits on what the SQL cannot express."""
    import yaml  # optional

    with open(path) as f:
        plan = yaml.safe_load(f)
    for key in ("sessions", "sequences"):
        if plan.get(key):
            raise SystemExit(f"{path}: `{key}` add points the SQL here does not compute")
    decay = plan.get("decay") or {}
    hl = decay.get("half_life")
    plan_decay = {
        "half_life": None if hl in (None, "none") else duration(hl),
        "expire_after": duration(decay["expire_after"]) if decay.get("expire_after") else None,
    }
    rules = []
    for s in plan["signals"]:
        extra = set(s) - {"id", "label", "when", "points", "frequency", "cap", "half_life"}
        if extra:
            raise SystemExit(f"{path}: signal {s['id']}: {sorted(extra)} not supported here")
        when = dict(s["when"])
        types = as_list(when.pop("type")) if "type" in when else None
        names = as_list(when.pop("event", when.pop("name", None))) if {"event", "name"} & set(when) else None
        props = {}
        if "channel" in when:
            props["context.channel"] = as_list(when.pop("channel"))
        for p, test in (when.pop("where", None) or {}).items():
            if not p.startswith("properties."):
                raise SystemExit(f"{path}: signal {s['id']}: only properties.* paths, not {p}")
            if isinstance(test, dict):
                if set(test) != {"one_of"}:
                    raise SystemExit(f"{path}: signal {s['id']}: only equality and one_of")
                values = test["one_of"]
            else:
                values = [test]
            if not all(isinstance(v, str) for v in values):
                raise SystemExit(f"{path}: signal {s['id']}: only text values")
            props[p.split(".", 1)[1]] = values
        if when:
            raise SystemExit(f"{path}: signal {s['id']}: `when` keys {sorted(when)} not supported")
        f = s.get("frequency")
        freq = None if f in (None, "every") else "once" if f == "once" else (int(f["at_most"]), duration(f["per"]))
        c = s.get("cap")
        cap = None if c is None else (float(c["points"]), duration(c["per"]) if c.get("per") else None)
        h = s.get("half_life", "plan")
        half_life = h if h == "plan" else None if h == "none" else duration(h)
        rules.append((s["id"], (types, names, props), s["points"], freq, cap, half_life))
    return rules, plan_decay


def load_rules(path):
    try:
        import yaml  # noqa: F401
    except ImportError:
        if os.path.abspath(path) != os.path.abspath(DEFAULT_PLAN):
            raise SystemExit("reading another plan than bench/warehouse.yaml needs PyYAML")
        return RULES, PLAN_DECAY, "built-in table (PyYAML not installed)"
    rules, decay = rules_from_plan(path)
    if os.path.abspath(path) == os.path.abspath(DEFAULT_PLAN):
        norm = lambda rs: [(r[0], r[1], float(r[2]), r[3], None if r[4] is None else (float(r[4][0]), r[4][1]), r[5]) for r in rs]
        if norm(rules) != norm(RULES) or decay != PLAN_DECAY:
            raise SystemExit("bench/warehouse.yaml and RULES in duckdb_compare.py differ: update RULES")
    return rules, decay, "read from the plan"


# --- the SQL -------------------------------------------------------------------------------


def q(text):
    return "'" + str(text).replace("'", "''") + "'"


def bucket_sql(period):
    """The engine's calendar bucket of `ts` (time.rs `bucket`): weeks from Monday, else epoch."""
    if period is None:
        return "0"
    offset = 4 * DAY if period % WEEK == 0 else 0
    return f"floor((ts - {offset}) / {period})::BIGINT"


def build_sql(path, rules, decay, now_ms, out_csv):
    props = sorted({p for r in rules for p in r[1][2] if not p.startswith("context.")})
    prop_struct = ", ".join(f"{p} VARCHAR" for p in props) or "x VARCHAR"
    columns = (
        "{type: 'VARCHAR', messageId: 'VARCHAR', timestamp: 'TIMESTAMP', userId: 'VARCHAR', "
        "anonymousId: 'VARCHAR', previousId: 'VARCHAR', event: 'VARCHAR', name: 'VARCHAR', "
        f"properties: 'STRUCT({prop_struct})', context: 'STRUCT(channel VARCHAR)'}}"
    )
    prop_cols = "".join(f", properties.{p} AS p_{p}" for p in props)

    hits = []
    for i, (sid, (types, names, conds), points, freq, cap, half_life) in enumerate(rules):
        where = []
        if types:
            where.append(f"type IN ({', '.join(map(q, types))})")
        if names:
            where.append(f"name IN ({', '.join(map(q, names))})")
        for p, values in conds.items():
            col = "channel" if p == "context.channel" else f"p_{p}"
            where.append(f"{col} IN ({', '.join(map(q, values))})")
        if freq is None:
            f_n, f_bucket = "NULL", "0"
        elif freq == "once":
            f_n, f_bucket = "1", "0"
        else:
            f_n, f_bucket = str(freq[0]), bucket_sql(freq[1])
        c_pts, c_bucket = ("NULL", "0") if cap is None else (repr(float(cap[0])), bucket_sql(cap[1]))
        h = decay["half_life"] if half_life == "plan" else half_life
        hits.append(
            f"    SELECT {i} AS sig, mid, profile, ts, {float(points)!r} AS raw, {f_n} AS freq_n, "
            f"{f_bucket} AS f_bucket, {c_pts} AS cap, {c_bucket} AS c_bucket, "
            f"{'NULL' if h is None else h}::DOUBLE AS half_life  -- {sid}\n"
            f"    FROM scored_events WHERE {' AND '.join(where) or 'true'}"
        )
    hits_sql = "\n    UNION ALL\n".join(hits)
    now = "(SELECT now_ms FROM as_of)"
    expire = decay["expire_after"]
    expire_sql = "" if expire is None else f"WHERE ts > {now} - {expire}"
    at = "NULL" if now_ms is None else now_ms

    return f"""COPY (
WITH RECURSIVE
  -- 1. The file, one row per line, numbered in file order.
  ev AS (
    SELECT row_number() OVER () AS rn, type, messageId AS mid, epoch_ms(timestamp) AS ts,
           userId AS uid, anonymousId AS aid, previousId AS pid,
           CASE WHEN type = 'track' THEN event ELSE name END AS name,
           context.channel AS channel{prop_cols}
    FROM read_ndjson({q(path)}, columns = {columns})),
  -- 2. Each message id once: its first line.
  uniq AS (SELECT * FROM ev WHERE rn IN (SELECT min(rn) FROM ev GROUP BY mid)),
  as_of AS (SELECT coalesce({at}, max(ts)) AS now_ms FROM uniq),
  -- Scoring as of `now` sees only what had happened by then: later events, links included, wait.
  known AS (SELECT * FROM uniq WHERE ts <= {now}),
  -- 3. Identity. A previous id (user or anonymous) -> the user of its latest alias, chains followed.
  alias_step AS (
    SELECT pid AS id, arg_max(uid, (ts, mid)) AS next
    FROM known WHERE type = 'alias' AND uid IS NOT NULL AND pid IS NOT NULL GROUP BY pid),
  chain(id, cur, depth) AS (
    SELECT id, next, 1 FROM alias_step
    UNION ALL
    SELECT c.id, s.next, c.depth + 1 FROM chain c JOIN alias_step s ON s.id = c.cur
    WHERE c.depth < 16),
  aliased AS (SELECT id, arg_max(cur, depth) AS usr FROM chain GROUP BY id),
  -- An anonymous id not aliased -> the first user seen with it on one event (through aliases).
  first_link AS (
    SELECT aid, arg_min(uid, (ts, mid)) AS usr
    FROM known WHERE uid IS NOT NULL AND aid IS NOT NULL
      AND NOT (type = 'alias' AND pid IS NOT NULL) GROUP BY aid),
  anon_user AS (
    SELECT id AS aid, usr FROM aliased
    UNION ALL
    SELECT l.aid, coalesce(a.usr, l.usr) FROM first_link l LEFT JOIN aliased a ON a.id = l.usr
    WHERE l.aid NOT IN (SELECT id FROM aliased)),
  -- Each event's profile.
  scored_events AS (
    SELECT e.*,
           CASE WHEN e.uid IS NOT NULL THEN 'user:' || coalesce(u.usr, e.uid)
                WHEN a.usr IS NOT NULL THEN 'user:' || a.usr
                ELSE 'anon:' || e.aid END AS profile
    FROM known e
    LEFT JOIN aliased u ON u.id = e.uid
    LEFT JOIN anon_user a ON a.aid = e.aid AND e.uid IS NULL
    WHERE e.uid IS NOT NULL OR e.aid IS NOT NULL),
  -- 4. One row per (event, signal it matches), with the signal's numbers.
  hits AS (
{hits_sql}),
  -- 5. Frequency: the first N in each calendar bucket, in canonical order.
  passed AS (
    SELECT * FROM hits
    QUALIFY freq_n IS NULL
         OR row_number() OVER (PARTITION BY profile, sig, f_bucket ORDER BY ts, mid) <= freq_n),
  -- 6. Caps: what the running total of |points| in the bucket, clamped at the cap, grows by.
  awarded AS (
    SELECT profile, ts, half_life,
           CASE WHEN cap IS NULL THEN raw
                ELSE sign(raw) * (least(cap, run) - least(cap, run - abs(raw))) END AS pts
    FROM (SELECT *, sum(abs(raw)) OVER (PARTITION BY profile, sig, c_bucket ORDER BY ts, mid
                                        ROWS UNBOUNDED PRECEDING) AS run
          FROM passed)),
  -- 7. Decay at `now`, sum per profile; every profile with an event gets a row.
  points AS (
    SELECT profile,
           sum(pts * CASE WHEN half_life IS NULL THEN 1.0
                          ELSE pow(2.0, -({now} - ts) / half_life) END) AS score
    FROM awarded {expire_sql} GROUP BY profile),
  everyone AS (SELECT profile, count(*) AS events FROM scored_events GROUP BY profile)
SELECT e.profile, coalesce(p.score, 0.0) AS score, e.events, {now} AS now_ms
FROM everyone e LEFT JOIN points p USING (profile)
) TO {q(out_csv)} (HEADER)"""


# --- running both --------------------------------------------------------------------------


def parse_at(text):
    """`--at` as the engine reads it: a date (midnight UTC) or an RFC 3339 time -> Unix ms."""
    if len(text) == 10:
        text += "T00:00:00Z"
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise SystemExit(f"--at {text!r}: give a time zone (e.g. Z)")
    return round(t.timestamp() * 1000)


def run_intent(binary, plan, path, at, out_path, fmt):
    cmd = [binary, "replay", "--plan", plan, "--tier", "all", "--format", fmt]
    if at:
        cmd += ["--at", at]
    cmd.append(path)
    with open(out_path, "w") as out:
        began = time.perf_counter()
        r = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        secs = time.perf_counter() - began
    if r.returncode != 0:
        sys.exit(f"intent failed ({r.returncode}):\n{r.stderr}")
    return secs, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""


def compare(con, intent_out, fmt):
    if fmt == "csv":
        con.execute(f"""CREATE OR REPLACE TEMP TABLE engine AS
            SELECT profile, score, events FROM read_csv({q(intent_out)}, header = true,
            columns = {{'profile': 'VARCHAR', 'tier': 'VARCHAR', 'tier_since': 'VARCHAR',
            'score': 'DOUBLE', 'fit': 'DOUBLE', 'grade': 'VARCHAR', 'events': 'BIGINT',
            'last_event': 'VARCHAR', 'reason': 'VARCHAR'}})""")
        sql_score = "round(s.score, 4)"  # what `{:.4}` prints
    else:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE engine AS
            SELECT profile, score, events FROM read_ndjson({q(intent_out)},
            columns = {{profile: 'VARCHAR', score: 'DOUBLE', events: 'BIGINT'}})""")
        sql_score = "s.score"
    tol = 1e-6
    row = con.execute(f"""
        SELECT count(*) FILTER (e.profile IS NOT NULL),
               count(*) FILTER (s.profile IS NOT NULL),
               count(*) FILTER (e.profile IS NOT NULL AND s.profile IS NOT NULL),
               max(abs(coalesce(s.score, 0) - coalesce(e.score, 0))),
               count(*) FILTER (abs(coalesce({sql_score}, 0) - coalesce(e.score, 0)) > {tol}),
               count(*) FILTER (e.events IS DISTINCT FROM s.events)
        FROM engine e FULL JOIN scores s USING (profile)""").fetchone()
    worst = con.execute(f"""
        SELECT profile, e.score AS intent, s.score AS sql, e.events, s.events
        FROM engine e FULL JOIN scores s USING (profile)
        WHERE abs(coalesce({sql_score}, 0) - coalesce(e.score, 0)) > {tol}
           OR e.events IS DISTINCT FROM s.events
        ORDER BY abs(coalesce(s.score, 0) - coalesce(e.score, 0)) DESC LIMIT 5""").fetchall()
    return dict(zip(["intent_profiles", "sql_profiles", "both", "max_abs_diff", "differ", "events_differ"], row)), worst


def alias_after_link(con, path):
    """Anonymous ids first linked to one user, then aliased to another (the SQL's known gap)."""
    return con.execute(f"""
        WITH ids AS (
          SELECT DISTINCT type, messageId AS mid, epoch_ms(timestamp) AS ts, userId AS uid,
                 anonymousId AS aid, previousId AS pid
          FROM read_ndjson({q(path)}, columns = {{type: 'VARCHAR', messageId: 'VARCHAR',
               timestamp: 'TIMESTAMP', userId: 'VARCHAR', anonymousId: 'VARCHAR',
               previousId: 'VARCHAR'}})
          WHERE userId IS NOT NULL AND (anonymousId IS NOT NULL OR previousId IS NOT NULL)),
        l AS (SELECT aid, arg_min(uid, (ts, mid)) AS usr, min(ts) AS t FROM ids
              WHERE aid IS NOT NULL AND NOT (type = 'alias' AND pid IS NOT NULL) GROUP BY aid),
        a AS (SELECT pid, uid, ts FROM ids WHERE type = 'alias' AND pid IS NOT NULL)
        SELECT count(DISTINCT l.aid) FROM l JOIN a ON a.pid = l.aid AND a.uid <> l.usr AND a.ts >= l.t
    """).fetchone()[0]


def run(a, rules, decay, source, path, at, fmt, work):
    """One comparison: both runs on `path` as of `at`; prints the report, returns agreement."""
    intent_out = os.path.join(work, f"intent.{fmt}")
    sql_out = os.path.join(work, "duckdb.csv")
    now_ms = parse_at(at) if at else None

    # The engine.
    intent_secs, summary = run_intent(a.intent, a.plan, path, at, intent_out, fmt)

    # DuckDB, in-process, default settings.
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    began = time.perf_counter()
    con.execute(build_sql(path, rules, decay, now_ms, sql_out))
    sql_secs = time.perf_counter() - began

    # Not timed: read both outputs back and compare.
    con.execute(f"CREATE TEMP TABLE scores AS SELECT * FROM read_csv({q(sql_out)}, header = true, "
                "columns = {'profile': 'VARCHAR', 'score': 'DOUBLE', 'events': 'BIGINT', 'now_ms': 'BIGINT'})")
    now, events = con.execute("SELECT any_value(now_ms), sum(events) FROM scores").fetchone()
    # Line, event and duplicate counts from intent's summary line (events: else the SQL's).
    found = {k: re.search(rf"(\d+) {k}", summary) for k in ("lines", "events", "duplicates")}
    lines, events, dups = (int(m.group(1)) if m else d for m, d in
                           zip(found.values(), ("?", events, "?")))
    res, worst = compare(con, intent_out, fmt)
    ok = (res["differ"] == 0 and res["events_differ"] == 0
          and res["intent_profiles"] == res["sql_profiles"] == res["both"])
    gap = 0 if ok else alias_after_link(con, path)

    mb = os.path.getsize(path) / 1e6
    at_text = "?" if now is None else dt.datetime.fromtimestamp(now / 1000, dt.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    print(f"file        {path}: {mb:.0f} MB, {lines} lines, {events} events ({dups} duplicates)")
    print(f"plan        {a.plan}: {len(rules)} signals ({source}); as of {at_text}"
          + ("" if at else " (latest event)"))
    print(f"intent      {intent_secs:7.2f} s  {events / intent_secs:12,.0f} events/s   "
          f"(replay --format {fmt}, wall clock incl. writing the output)")
    print(f"            {summary}")
    print(f"duckdb      {sql_secs:7.2f} s  {events / sql_secs:12,.0f} events/s   "
          f"(duckdb {duckdb.__version__}, {threads} threads on {os.cpu_count()} cores; "
          "read_ndjson to CSV)")
    print(f"ratio       duckdb time / intent time = {sql_secs / intent_secs:.2f}")
    print(f"profiles    intent {res['intent_profiles']}, duckdb {res['sql_profiles']}, "
          f"in both {res['both']}")
    tol = "rounded to 4 decimals as intent prints them" if fmt == "csv" else "full precision"
    print(f"scores      max |diff| {res['max_abs_diff']:.3g}; {res['differ']} profiles differ by "
          f"> 1e-6 ({tol}); {res['events_differ']} with a different event count")
    if gap:
        print(f"identity    {gap} anonymous ids linked to one user, then aliased to another "
              "(the SQL keeps the first user's own history apart; the engine merges it)")
    for w in [] if ok else worst:
        print(f"  differs   {w[0]}: intent {w[1]} ({w[3]} events), duckdb {w[2]} ({w[4]} events)")
    print("agreement   " + ("OK" if ok else "FAILED" + (" (see identity above)" if gap else "")))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", help="NDJSON events (from `intent gen`)")
    ap.add_argument("--plan", default=DEFAULT_PLAN)
    ap.add_argument("--at", help="as-of time (date or RFC 3339); default: latest event in the file")
    ap.add_argument("--intent", default=os.path.join(ROOT, "target", "release", "intent"))
    ap.add_argument("--json", action="store_true",
                    help="read intent's JSON lines: compare full-precision scores")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (both outputs)")
    ap.add_argument("--check-only", action="store_true",
                    help="CI: generate a small file (2000 profiles, 30 days, seed 3) and check "
                    "agreement at full precision, as of its latest event and as of mid-window")
    ap.add_argument("--show-sql", action="store_true", help="print the SQL and exit")
    a = ap.parse_args()

    if a.show_sql:
        rules, decay, _ = load_rules(a.plan)
        print(build_sql(a.file or "events.ndjson", rules, decay, parse_at(a.at) if a.at else None,
                        "scores.csv"))
        return
    if not os.path.exists(a.intent):
        sys.exit(f"no intent binary at {a.intent}: cargo build --release -p intent-cli")
    if not a.file and not a.check_only:
        ap.error("give an NDJSON file or --check-only")
    rules, decay, source = load_rules(a.plan)
    work = tempfile.mkdtemp(prefix="intent-duckdb-")
    try:
        if a.check_only:
            path = os.path.join(work, "small.ndjson")
            subprocess.run([a.intent, "gen", "--profiles", "2000", "--days", "30", "--seed", "3",
                            "-o", path], check=True, stderr=subprocess.DEVNULL)
            ok = all([run(a, rules, decay, source, path, at, "json", work)
                      for at in [a.at, "2026-01-17T12:34:56.789Z"]])
        else:
            ok = run(a, rules, decay, source, a.file, a.at, "json" if a.json else "csv", work)
    finally:
        if a.keep:
            print(f"kept        {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
