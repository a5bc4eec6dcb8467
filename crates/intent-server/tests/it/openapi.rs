//! The OpenAPI document against the router: every documented operation is routed and answers
//! with a status the document lists; every route is documented; every `$ref` resolves.

use crate::harness::{App, Auth};
use axum::http::Method;
use intent_server::api::OPENAPI;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every route of `api::router`, by method.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/batch"),
    ("post", "/v1/import"),
    ("post", "/v1/b"),
    ("post", "/v1/track"),
    ("post", "/v1/t"),
    ("post", "/v1/identify"),
    ("post", "/v1/i"),
    ("post", "/v1/page"),
    ("post", "/v1/p"),
    ("post", "/v1/screen"),
    ("post", "/v1/s"),
    ("post", "/v1/group"),
    ("post", "/v1/g"),
    ("post", "/v1/alias"),
    ("post", "/v1/a"),
    ("post", "/v1/m"),
    ("get", "/v1/projects/{key}/settings"),
    ("get", "/v1/profiles/{id}"),
    ("get", "/v1/profiles/{id}/events"),
    ("get", "/v1/queue"),
    ("get", "/v1/search"),
    ("get", "/v1/quarantine"),
    ("get", "/v1/messages/{id}"),
    ("get", "/v1/plans"),
    ("post", "/v1/plans"),
    ("get", "/v1/plans/{version}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
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

/// `{param}` → `x`.
fn concrete(template: &str) -> String {
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
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
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

/// A body that each ingest call accepts.
fn valid_body(path: &str) -> Value {
    if ["/v1/batch", "/v1/import", "/v1/b"].contains(&path) {
        json!({"batch": [{"type": "track", "userId": "doc", "event": "Doc"}]})
    } else {
        json!({"userId": "doc", "anonymousId": "doc-anon", "event": "Doc", "name": "Doc",
               "previousId": "doc-old", "groupId": "doc-group"})
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_operation_is_routed_and_answers_a_documented_status() {
    let app = App::start().await;
    let doc = doc();
    let ops = operations(&doc);
    assert_eq!(ops.len(), ROUTES.len());
    for (method, template, op) in &ops {
        let uri = concrete(template);
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
    ] {
        let r = app.get_as(uri, &app.bearer()).await;
        assert_eq!(r.status.as_u16(), 400, "{uri}: {}", r.text());
        assert!(
            r.header("content-type").unwrap().starts_with("text/plain"),
            "{uri}"
        );
        let op = &doc["paths"][template]["get"];
        assert!(op["responses"]["400"].is_object(), "{template}");
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
    // The plan published above goes live (wait for its background rescoring to end).
    let started = std::time::Instant::now();
    while app.get("/v1/plans").await["live"] != 2 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
