//! # intent-core
//!
//! The pure heart of Intent Engine: Segment events, identity resolution, the plan file, the
//! incremental scorer, explanations, and the naive reference scorer the tests hold it to.
//!
//! This crate never reads a clock, touches a file or a socket, or spawns a task: every function
//! that depends on time takes `now`. Storage, HTTP and the CLI are adapters around it.
//!
//! # Layout
//! - [`time`]: `Ts` (ms since the epoch) and plan durations.
//! - [`event`]: the Segment wire message and the validated [`event::Event`].
//! - [`predicate`]: field tests used by plans.
//! - [`plan`]: the YAML plan file and the validated [`plan::Plan`].
//! - [`score`]: classification and the compact incremental state ([`score::Scorer`]).
//! - [`identity`]: which ids are one person.
//! - [`explain`]: the ledger behind a score.
//! - [`engine`]: incremental scoring with identity merges and late events.
//! - [`reference`]: the naive oracle.
//! - [`calendar`]: business hours, holidays and time zones (SLA clocks).
//! - [`action`]: the follow-up desk: tiers become tasks with playbooks, owners and SLAs.
#![warn(missing_docs)]

pub mod action;
pub mod calendar;
pub mod engine;
pub mod event;
pub mod explain;
pub mod identity;
pub mod model;
pub mod outcome;
pub mod plan;
pub mod predicate;
pub mod reference;
pub mod score;
pub mod time;
