//! One file per command: each takes resolved settings and returns an exit code.

pub mod credentials;
pub mod demo;
pub mod kubeconfig;
pub mod site;
pub mod status;
pub mod twin;
pub mod twin_ssh;

use std::io::Write;

use crate::report::Report;
use crate::ui::{self, Format};

/// Prints a status report to stdout in the chosen format.
pub fn print_report(report: &Report, format: Format) {
    let text = match format {
        Format::Table => ui::table::status(report),
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
