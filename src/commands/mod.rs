//! One file per command: each takes resolved settings and returns an exit code.

pub mod credentials;
pub mod demo;
pub mod site;
pub mod status;
pub mod twin;

use std::io::{IsTerminal, Write};

use crate::report::Report;
use crate::ui::{self, Format};

/// Prints a status report to stdout in the chosen format.
pub fn print_report(report: &Report, format: Format) {
    let text = match format {
        Format::Table => {
            let width = std::io::stdout()
                .is_terminal()
                .then(terminal_width)
                .flatten();
            let mut t = format!(
                "cloud `{}` ({}), management project `{}`, server `{}`\n",
                report.target.cloud,
                report.target.auth_url,
                report.target.project_id,
                report.target.server
            );
            t.push_str(&ui::table::status(report, Some(width.unwrap_or(140))));
            match report.lowest_red() {
                Some(layer) => t.push_str(&format!(
                    "lowest red layer: {} (exit code {})\n",
                    layer.name(),
                    layer.exit_code()
                )),
                None => t.push_str("no red layer\n"),
            }
            t
        }
        _ => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                #[serde(flatten)]
                report: &'a Report,
                lowest_red: Option<&'static str>,
                exit_code: u8,
            }
            let lowest = report.lowest_red();
            ui::structured(
                &Out {
                    report,
                    lowest_red: lowest.map(|l| l.name()),
                    exit_code: lowest.map_or(0, |l| l.exit_code()),
                },
                format,
            )
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}
