//! The status table: one row per layer, state as a word.

use comfy_table::{ContentArrangement, Table, presets};

use crate::report::Report;

/// Renders a report as a table `width` columns wide (None: no wrapping).
pub fn status(report: &Report, width: Option<u16>) -> String {
    let mut table = Table::new();
    table.load_style(presets::ASCII_HORIZONTAL_ONLY);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = width {
        table.set_width(w);
    }
    table.set_header(["LAYER", "STATE", "EVIDENCE", "DIAGNOSIS / NEXT"]);
    for row in &report.layers {
        let mut evidence = vec![row.summary.clone()];
        evidence.extend(row.evidence.iter().map(|e| format!("- {e}")));
        let mut advice: Vec<String> = row
            .diagnosis
            .iter()
            .map(|d| format!("{} -> {}", d.finding, d.next))
            .collect();
        advice.extend(row.next.iter().map(|n| format!("next: {n}")));
        table.add_row([
            row.layer.name().to_string(),
            row.state.word().to_string(),
            evidence.join("\n"),
            advice.join("\n"),
        ]);
    }
    format!("{table}\n")
}
