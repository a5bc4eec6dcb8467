//! Progress bars on a terminal; nothing in pipes or CI.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Whether to draw progress: stderr is a terminal and this is not CI.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// A bar counting `what` up to `total` (hidden when progress is off).
pub fn bar(total: u64, what: &str) -> ProgressBar {
    styled(
        total,
        &format!(
            "{{spinner}} {{bar:40}} {{human_pos}}/{{human_len}} {what} ({{per_sec}}, {{eta}} left)"
        ),
    )
}

/// A bar counting bytes up to `total`.
pub fn bytes(total: u64, what: &str) -> ProgressBar {
    styled(
        total,
        &format!(
            "{{spinner}} {what} {{bar:40}} {{bytes}}/{{total_bytes}} ({{bytes_per_sec}}, {{eta}} left)"
        ),
    )
}

/// A bar drawn with `template`, or a hidden one when progress is off.
fn styled(total: u64, template: &str) -> ProgressBar {
    if !enabled() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}
