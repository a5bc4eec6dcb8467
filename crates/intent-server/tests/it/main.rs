//! The HTTP service through its router: Segment ingestion, the read API, plan versions and the
//! OpenAPI document, each test over its own temporary store.

mod dashboard;
mod harness;
mod ingest;
mod openapi;
mod outcomes;
mod plans;
mod read;
mod tasks;
