//! The OpenAPI document against the router: every documented operation is routed and answers
//! with a status the document lists, in the shape it documents; every route is documented;
//! every `$ref` resolves.

use crate::harness::{App, Auth, closed_url};
use axum::http::Method;
use intent_server::api::OPENAPI;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every route the server's source declares, as (method, path): each `.route("path", get(..)
/// .post(..))` in `src/` (the router merges the routes of its modules). Read from the source so
/// that a new route cannot go undocumented.
fn routes() -> Vec<(String, String)> {
    sources().iter().flat_map(|t| routes_in(t)).collect()
}

/// The text of every module of the server.
fn sources() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("src/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("source"))
        .collect()
}

/// Every error code the server's source gives: the literal after `bad_request(`, or after the
/// status in `ApiError::new(` and `Self::new(`.
fn error_codes() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for text in sources() {
        for (call, skip_status) in [
            ("bad_request(", false),
            ("ApiError::new(", true),
            ("Self::new(", true),
        ] {
            for (at, _) in text.match_indices(call) {
                let mut rest = &text[at + call.len()..];
                if skip_status {
                    rest = &rest[rest.find(',').expect("a status, then a code") + 1..];
                }
                if let Some(code) = rest.trim_start().strip_prefix('"') {
                    out.insert(code[..code.find('"').unwrap()].to_string());
                }
            }
        }
    }
    out
}

/// The routes of one source text.
fn routes_in(text: &str) -> Vec<(String, String)> {
    const VERBS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let Some(path) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let path = &path[..path.find('"').expect("a closed string")];
        // The method routers: `verb(` at the top level of the call's arguments.
        let bytes = rest.as_bytes();
        let (mut depth, mut i, mut in_str) = (1, 0, false);
        while depth > 0 && i < bytes.len() {
            let c = bytes[i];
            if in_str {
                match c {
                    b'\\' => i += 1,
                    b'"' => in_str = false,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_str = true,
                    b'(' => {
                        if depth == 1 {
                            let head = &rest[..i];
                            let word_start = head
                                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                                .map_or(0, |p| p + 1);
                            let word = &head[word_start..];
                            if VERBS.contains(&word) {
                                out.push((word.to_string(), path.to_string()));
                            }
                        }
                        depth += 1;
                    }
                    b')' => depth -= 1,
                    _ => {}
                }
            }
            i += 1;
        }
    }
    out
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub(crate) fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

/// (method, path template, operation) for every documented operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// What the desk's routes act on: an open task to complete, another for the other commands,
/// a subscription and a delivery.
struct Fixture {
    task: i64,
    to_complete: i64,
    subscription: String,
    delivery: i64,
}

/// A uri for a path template: the fixture's ids on the desk's routes, `x` elsewhere.
fn concrete(template: &str, f: &Fixture) -> String {
    let id = match template {
        "/v1/tasks/{id}/complete" => Some(f.to_complete.to_string()),
        t if t.starts_with("/v1/tasks/{id}") => Some(f.task.to_string()),
        "/v1/webhooks/{id}" => Some(f.subscription.clone()),
        "/v1/webhooks/deliveries/{id}/replay" => Some(f.delivery.to_string()),
        _ => None,
    };
    match id {
        Some(id) => template.replace("{id}", &id),
        None => placeholder(template),
    }
}

/// `{param}` → `x`.
fn placeholder(template: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('x');
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 50);
    for r in refs {
        let pointer = r.strip_prefix('#').expect("a local $ref");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Operation ids are unique; every operation answers something and declares its security.
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_string()), "{id} twice");
        assert!(
            !op["responses"].as_object().unwrap().is_empty(),
            "{method} {path}"
        );
        assert!(op["security"].is_array(), "{method} {path}");
        for scheme in op["security"].as_array().unwrap() {
            for name in scheme.as_object().unwrap().keys() {
                assert!(
                    doc["components"]["securitySchemes"][name].is_object(),
                    "{name}"
                );
            }
        }
        // Path parameters are declared.
        for part in path.split('/').filter(|p| p.starts_with('{')) {
            let name = part.trim_matches(|c| c == '{' || c == '}');
            let declared = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| match p.get("$ref").and_then(Value::as_str) {
                    Some(r) => doc.pointer(&r[1..]).unwrap().clone(),
                    None => p.clone(),
                })
                .any(|p| p["in"] == "path" && p["name"] == name);
            assert!(declared, "{method} {path}: `{name}` is not declared");
        }
    }
    // The limits, dedupe, quarantine and clock-skew rules are described.
    let text = doc["info"]["description"].as_str().unwrap();
    for needle in [
        "32 KB",
        "500 KB",
        "2,500",
        "messageId",
        "quarantine",
        "sentAt",
    ] {
        assert!(text.contains(needle), "`{needle}` in the description");
    }
    // Every error code the server gives is listed and described.
    let listed =
        &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
    let codes = error_codes();
    assert!(codes.len() >= 15, "{codes:?}");
    for code in &codes {
        assert!(
            listed.as_array().unwrap().contains(&json!(code)),
            "`{code}` is not in the Error schema's codes"
        );
        assert!(
            text.contains(&format!("`{code}`")),
            "`{code}` in the description"
        );
    }
    // Every tag an operation names is declared.
    let tags: Vec<&Value> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    for (method, path, op) in operations(&doc) {
        for tag in op["tags"].as_array().expect("tags") {
            assert!(tags.contains(&tag), "{method} {path}: tag {tag}");
        }
    }
    // What a webhook receiver gets is documented.
    let hook = &doc["webhooks"]["announcement"]["post"];
    assert_eq!(
        hook["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Announcement"
    );
    for needle in ["Task Completed", "webhook-signature", "whsec_"] {
        assert!(text.contains(needle), "`{needle}` in the description");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["writeKey"]["scheme"], "basic");
    assert_eq!(schemes["adminToken"]["scheme"], "bearer");
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_a_route() {
    let doc = doc();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let routes = routes();
    let routed: BTreeSet<(String, String)> = routes.iter().cloned().collect();
    assert_eq!(routed.len(), routes.len(), "a route twice: {routes:?}");
    // The scan sees every kind of declaration: one verb, two verbs, a closure, each module.
    for (m, p) in [
        ("post", "/v1/batch"),
        ("get", "/v1/plans"),
        ("post", "/v1/plans"),
        ("get", "/healthz"),
        ("get", "/openapi.json"),
        ("get", "/v1/tasks"),
        ("post", "/v1/webhooks"),
        ("delete", "/v1/webhooks/{id}"),
    ] {
        assert!(
            routed.contains(&(m.into(), p.into())),
            "{m} {p} in {routes:?}"
        );
    }
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in the route list"
    );
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routed but not documented"
    );
}

/// A body that each POST accepts.
fn valid_body(path: &str) -> Value {
    match path {
        "/v1/batch" | "/v1/import" | "/v1/b" => {
            json!({"batch": [{"type": "track", "userId": "doc", "event": "Doc"}]})
        }
        "/v1/tasks/{id}/claim" | "/v1/webhooks/deliveries/{id}/replay" => json!({}),
        "/v1/tasks/{id}/snooze" => json!({"for": "2h"}),
        "/v1/tasks/{id}/reassign" => json!({"owner": "kamil.mazur"}),
        "/v1/tasks/{id}/complete" => json!({"result": "contacted"}),
        "/v1/webhooks" => json!({"url": closed_url()}),
        "/v1/outcomes" => json!({"userId": "doc", "outcome": "sale", "value": 1000}),
        _ => json!({"userId": "doc", "anonymousId": "doc-anon", "event": "Doc", "name": "Doc",
                    "previousId": "doc-old", "groupId": "doc-group"}),
    }
}

/// `#/components/...` → the value it points at.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(doc, doc.pointer(&r[1..]).expect("a $ref that resolves")),
        None => schema,
    }
}

/// A schema with its `$ref`s followed and its `allOf` parts merged into one object schema.
fn flatten(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
        return schema.clone();
    };
    let mut merged = json!({"type": "object", "properties": {}, "required": []});
    for part in parts {
        let part = flatten(doc, part);
        if let Some(props) = part.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                merged["properties"][k] = v.clone();
            }
        }
        if let Some(required) = part.get("required").and_then(Value::as_array) {
            merged["required"]
                .as_array_mut()
                .unwrap()
                .extend(required.iter().cloned());
        }
        if part.get("additionalProperties") == Some(&Value::Bool(true)) {
            merged["additionalProperties"] = Value::Bool(true);
        }
    }
    merged
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("type `{other}` in the document"),
    }
}

/// Checks `value` against a schema of the document, in the subset the document uses (`$ref`,
/// `allOf`, `oneOf`, `type`, `const`, `enum`, `format: date-time`, `properties`, `required`,
/// `additionalProperties`, `items`). Stricter than JSON Schema in one way, so that the document
/// cannot fall behind the answers: an object may hold only the properties its schema names,
/// unless `additionalProperties` says otherwise.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = flatten(doc, schema);
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let fits: Vec<String> = options
            .iter()
            .filter_map(|o| check(doc, o, value, at).err())
            .collect();
        return match options.len() - fits.len() {
            1 => Ok(()),
            0 => Err(format!("{at}: fits no `oneOf` option: {}", fits.join("; "))),
            n => Err(format!("{at}: fits {n} `oneOf` options")),
        };
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
        return Err(format!("{at}: {value} is not {types:?}"));
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        return Err(format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {e:?}"));
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time")
        && let Some(text) = value.as_str()
    {
        intent_core::time::parse_timestamp(text).map_err(|e| format!("{at}: {text}: {e}"))?;
    }
    if let (Some(object), true) = (value.as_object(), schema.get("properties").is_some()) {
        let props = schema["properties"].as_object().expect("properties");
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().expect("a required name");
            if !object.contains_key(name) {
                return Err(format!("{at}: no `{name}` in {value}"));
            }
        }
        for (k, v) in object {
            match (props.get(k), schema.get("additionalProperties")) {
                (Some(s), _) => check(doc, s, v, &format!("{at}.{k}"))?,
                (None, Some(Value::Bool(true))) => {}
                (None, Some(s @ Value::Object(_))) => check(doc, s, v, &format!("{at}.{k}"))?,
                (None, _) => return Err(format!("{at}: `{k}` is not documented")),
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The JSON schema an operation documents for a status, if it documents one.
fn json_schema<'a>(doc: &'a Value, op: &'a Value, status: u16) -> Option<&'a Value> {
    let response = resolve(doc, op["responses"].get(status.to_string())?);
    response["content"].get("application/json")?.get("schema")
}

/// Checks an answer's body against the schema its operation documents for its status.
#[track_caller]
pub(crate) fn check_answer(doc: &Value, op: &Value, what: &str, r: &crate::harness::Resp) {
    let status = r.status.as_u16();
    let json = r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    match json_schema(doc, op, status) {
        Some(schema) => {
            assert!(json, "{what}: {status} is documented as JSON: {}", r.text());
            if let Err(e) = check(doc, schema, &r.json(), "body") {
                panic!("{what}: {status} is not as documented: {e}\n{}", r.text());
            }
        }
        None => assert!(
            !json,
            "{what}: {status} JSON is not documented: {}",
            r.text()
        ),
    }
}

/// Makes what the desk's routes act on: a subscription, then two people who ask for a person
/// (two tasks and their announcements, hence deliveries).
async fn fixture(app: &App) -> Fixture {
    let made = app
        .post("/v1/webhooks", &app.bearer(), &json!({"url": closed_url()}))
        .await
        .expect(201);
    for user in ["doc-a", "doc-b"] {
        app.ingest(
            "/v1/track",
            &json!({"userId": user, "event": "CTA Tapped",
                    "properties": {"cta": "ask_person", "location": "warszawa"}}),
        )
        .await
        .expect(200);
    }
    app.wait_for("/v1/tasks", |v| v["total"] == 2).await;
    let deliveries = app
        .wait_for("/v1/webhooks/deliveries", |v| {
            v["deliveries"][0].is_object()
        })
        .await;
    Fixture {
        task: 1,
        to_complete: 2,
        subscription: made["id"].as_str().expect("id").to_string(),
        delivery: deliveries["deliveries"][0]["id"].as_i64().expect("id"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_operation_is_routed_and_answers_a_documented_status() {
    let app = App::start().await;
    let doc = doc();
    let ops = operations(&doc);
    assert_eq!(ops.len(), routes().len());
    let fixture = fixture(&app).await;
    for (method, template, op) in &ops {
        let uri = concrete(template, &fixture);
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let documented: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        // The key the operation asks for, and the other kind (refused, where a key is asked).
        let schemes: Vec<&str> = op["security"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s.as_object().unwrap().keys().map(String::as_str))
            .collect();
        let (right, wrong) = if schemes.contains(&"adminToken") {
            (app.bearer(), Some(app.basic()))
        } else if schemes.contains(&"writeKey") {
            (app.basic(), Some(app.bearer()))
        } else {
            (Auth::None, None)
        };
        // An empty body; then, for POSTs, a valid one; then the wrong kind of key.
        let mut tries = vec![("empty", app.send(m.clone(), &uri, &right, &[], "").await)];
        let body = if template == "/v1/plans" {
            crate::harness::showroom()
        } else {
            valid_body(template).to_string()
        };
        if m == Method::POST {
            let r = app.send(m.clone(), &uri, &right, &[], body.clone()).await;
            assert!(r.status.is_success(), "{method} {uri}: {}", r.text());
            tries.push(("valid", r));
        }
        if let Some(wrong) = wrong {
            let r = app.send(m.clone(), &uri, &wrong, &[], body).await;
            r.expect_error(403, "forbidden");
            tries.push(("wrong key", r));
        }
        for (what, r) in tries {
            let status = r.status.as_u16();
            assert_ne!(status, 405, "{method} {uri}: method not routed");
            if status == 404 {
                // The handler's own 404 (JSON), not the router's empty one.
                let v = r.expect_error(404, "not_found");
                assert!(!v["message"].as_str().unwrap().is_empty());
            }
            assert!(
                documented.iter().any(|s| *s == &status.to_string()),
                "{method} {uri} ({what}) answered {status}, documented: {documented:?}; body: {}",
                r.text()
            );
            check_answer(&doc, op, &format!("{method} {uri} ({what})"), &r);
        }
    }
    // A query string that does not decode: the HTTP layer's plain-text 400, documented.
    for (template, uri) in [
        ("/v1/queue", "/v1/queue?limit=abc"),
        ("/v1/quarantine", "/v1/quarantine?before=x"),
        (
            "/v1/profiles/{id}/events",
            "/v1/profiles/x/events?offset=-1",
        ),
        ("/v1/tasks", "/v1/tasks?snoozed=maybe"),
        (
            "/v1/webhooks/deliveries",
            "/v1/webhooks/deliveries?before=x",
        ),
    ] {
        let r = app.get_as(uri, &app.bearer()).await;
        assert_eq!(r.status.as_u16(), 400, "{uri}: {}", r.text());
        assert!(
            r.header("content-type").unwrap().starts_with("text/plain"),
            "{uri}"
        );
        let op = &doc["paths"][template]["get"];
        assert!(
            resolve(&doc, &op["responses"]["400"])["content"]["text/plain"].is_object(),
            "{template}"
        );
    }
    // A path that is not a route is the router's 404; a method that is not routed, 405.
    let r = app.get_as("/v1/nothing", &Auth::None).await;
    assert_eq!(r.status.as_u16(), 404);
    let r = app
        .send(Method::DELETE, "/v1/queue", &app.bearer(), &[], "")
        .await;
    assert_eq!(r.status.as_u16(), 405);
    // The ingest calls above were all accepted.
    assert_eq!(app.get("/v1/profiles/doc").await["id"], "user:doc");
    // Answers that need data behind them, against their schemas: a profile with a stage and
    // tasks, the tasks after the commands above, the report, subscriptions, deliveries.
    for (template, uri) in [
        ("/v1/profiles/{id}", "/v1/profiles/doc-a"),
        ("/v1/profiles/{id}", "/v1/profiles/doc-b"),
        ("/v1/profiles/{id}/events", "/v1/profiles/doc-b/events"),
        ("/v1/tasks", "/v1/tasks?snoozed=true"),
        ("/v1/tasks", "/v1/tasks?status=done"),
        ("/v1/reports/sla", "/v1/reports/sla"),
        ("/v1/reports/funnel", "/v1/reports/funnel?by=channel"),
        ("/v1/webhooks", "/v1/webhooks"),
        ("/v1/webhooks/deliveries", "/v1/webhooks/deliveries"),
    ] {
        let r = app.get_as(uri, &app.bearer()).await;
        assert_eq!(r.status.as_u16(), 200, "{uri}: {}", r.text());
        check_answer(&doc, &doc["paths"][template]["get"], uri, &r);
    }
    let a = app.get("/v1/profiles/doc-a").await;
    assert_eq!(a["stage"]["id"], "sql", "{a}");
    assert_eq!(a["tasks"][0]["status"], "open", "{a}");
    let b = app.get("/v1/profiles/doc-b").await;
    assert_eq!(b["tasks"][0]["result"], "contacted", "{b}");
    // The plan published above goes live (wait for its background rescoring to end).
    let started = std::time::Instant::now();
    while app.get("/v1/plans").await["live"] != 2 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[test]
fn the_route_scan_reads_method_routers_at_the_top_level_of_each_route() {
    let text = r#"
        Router::new()
            .route("/a", get(list))
            .route_layer(middleware)
            .route("/b/{id}", get(show).post(make).delete(|| async { remove("(x)", get(1)) }))
            .route(
                "/c",
                post(|| async { (")\"", "ok") }),
            )
            .layer(cors)
    "#;
    let found: Vec<(String, String)> = routes_in(text);
    let want: Vec<(String, String)> = [
        ("get", "/a"),
        ("get", "/b/{id}"),
        ("post", "/b/{id}"),
        ("delete", "/b/{id}"),
        ("post", "/c"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(found, want);
}

#[test]
fn the_schema_check_refuses_undocumented_missing_and_mistyped_fields() {
    let doc = doc();
    let task = json!({"$ref": "#/components/schemas/TaskSummary"});
    let good = json!({"id": 1, "status": "open", "tier": "hot", "owner": null,
                      "due_at": "2026-11-27T08:15:00.000Z", "result": null});
    assert_eq!(check(&doc, &task, &good, "t"), Ok(()));
    let mut extra = good.clone();
    extra["rank"] = json!(0);
    assert_eq!(
        check(&doc, &task, &extra, "t"),
        Err("t: `rank` is not documented".into())
    );
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("owner");
    assert!(
        check(&doc, &task, &missing, "t")
            .unwrap_err()
            .contains("no `owner`")
    );
    for (key, bad) in [
        ("id", json!("1")),
        ("status", json!("closed")),
        ("due_at", json!("soon")),
        ("result", json!("maybe")),
    ] {
        let mut v = good.clone();
        v[key] = bad;
        let e = check(&doc, &task, &v, "t").unwrap_err();
        assert!(e.starts_with(&format!("t.{key}: ")), "{key}: {e}");
    }
}
