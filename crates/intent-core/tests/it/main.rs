//! Integration tests of intent-core: plans, scoring against the oracle, explanations.

mod explain;
mod oracle;
mod plan;

use intent_core::plan::Plan;
use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A shipped plan.
pub fn shipped(name: &str) -> Plan {
    let path = root().join("plans").join(name);
    let text = std::fs::read_to_string(&path).expect("plan file");
    Plan::parse(&text, &format!("plans/{name}")).unwrap_or_else(|e| panic!("{e}"))
}
