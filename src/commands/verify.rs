//! `verify`: the runbook's final verify and its SUCCESS definition.

use super::frame::Frame;
use crate::cloud::credentials::Env;
use crate::ending::Ending;
use crate::engine::restore;
use crate::exit::ExitStatus;
use crate::journal::End;
use crate::report;
use crate::settings::Settings;

/// Verifies, waiting where the runbook allows, and says SUCCESS or what is not.
pub async fn run(settings: &Settings, env: &Env) -> anyhow::Result<ExitStatus> {
    let frame = Frame::observing(settings, env, "verify").await?;
    Ok(verify_in(&frame, settings, Shown::Report).await.status)
}

/// A verify that ran: its status, where it stopped, and (with [`Shown::Report`])
/// the stack as observed after; none of those when a signal ended it.
pub struct Verified {
    /// The exit status.
    pub status: ExitStatus,
    /// Where it stopped (nothing: SUCCESS).
    pub stopped: Vec<crate::ending::Stopped>,
    /// The stack as observed after, when shown.
    pub report: Option<report::Report>,
}

/// What `verify` prints besides its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The status report with the verdict (the `verify` command).
    Report,
    /// The verdict alone (`demo`, after its restore's report).
    VerdictOnly,
}

/// The final verify in its frame: the verdict, printed, and the journal ended (a
/// signal ends it as interrupted, 130/143, with no verdict).
pub async fn verify_in(frame: &Frame, settings: &Settings, shown: Shown) -> Verified {
    let stopped = restore::verify(frame.probe(), &frame.journal, &frame.progress).await;
    let interrupted = End {
        stopped: Some(stopped.clone()),
        ..End::default()
    };
    if let Some(status) = frame.interrupted(interrupted) {
        eprintln!("verify: interrupted; nothing was changed");
        return Verified {
            status,
            stopped,
            report: None,
        };
    }
    let (ending, closing) = verdict(&stopped);
    let mut observed = None;
    match shown {
        Shown::Report => {
            let report = report::observe(frame.probe()).await;
            let verdict = if ending == Ending::Green {
                "SUCCESS"
            } else {
                "not yet"
            };
            super::print_report(&report, settings.format, &ending, &closing, Some(verdict));
            observed = Some(report);
        }
        // stdout carries one document for programs; the verdict goes beside it.
        Shown::VerdictOnly if settings.format == crate::ui::Format::Table => println!("{closing}"),
        Shown::VerdictOnly => eprintln!("{closing}"),
    }
    let status = frame.finish(
        &ending,
        &stopped,
        End {
            success: Some(ending == Ending::Green),
            ..End::default()
        },
    );
    Verified {
        status,
        stopped,
        report: observed,
    }
}

/// The runbook's verdict on what [`restore::verify`] found: SUCCESS, or what is not;
/// its closing line and its exit code come from the same value.
pub fn verdict(stopped: &[crate::ending::Stopped]) -> (Ending, String) {
    let ending = Ending::of(stopped, None);
    let closing = if stopped.is_empty() {
        "verify: SUCCESS: amphorae ALLOCATED, every Cluster Available, Magnum HEALTHY or the D-042 signature (known good) (exit code 0)".to_string()
    } else {
        format!(
            "verify: not yet: {} (exit code {})",
            stopped
                .iter()
                .map(|s| format!("{} ({})", s.layer.name(), s.why))
                .collect::<Vec<_>>()
                .join("; "),
            ending.code()
        )
    };
    (ending, closing)
}
