//! The status report for people: a summary table (one row per layer, state as a
//! word), then a block per layer with its evidence, diagnosis and next step. Detail
//! lines are never wrapped, so ids stay whole for copy and paste.

use std::fmt::Write;

use comfy_table::{ContentArrangement, Table, presets};

use crate::report::Report;

/// Renders a report.
pub fn status(report: &Report) -> String {
    let mut out = format!(
        "cloud `{}` ({}), management project `{}`, server `{}`\n\n",
        report.target.cloud, report.target.auth_url, report.target.project_id, report.target.server
    );
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(["LAYER", "STATE", "SUMMARY"]);
    for row in &report.layers {
        table.add_row([row.layer.name(), row.state.word(), row.summary.as_str()]);
    }
    for line in table.to_string().lines() {
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for row in &report.layers {
        let _ = writeln!(
            out,
            "\n{} ({}): {}",
            row.layer.name(),
            row.state.word(),
            row.summary
        );
        for e in &row.evidence {
            let _ = writeln!(out, "  - {e}");
        }
        for d in &row.diagnosis {
            let _ = writeln!(out, "  diagnosis: {}", d.finding);
            let _ = writeln!(out, "  do: {}", d.next);
        }
        if let Some(next) = &row.next {
            let _ = writeln!(out, "  next: {next}");
        }
    }
    out
}

/// `status`'s closing line: the lowest red layer and the exit code it gives.
pub fn lowest_red(report: &Report) -> String {
    match report.lowest_red() {
        Some(layer) => format!(
            "lowest red layer: {} (exit code {})",
            layer.name(),
            crate::exit::ExitStatus::Red(layer).code()
        ),
        None => "no red layer (exit code 0)".to_string(),
    }
}
