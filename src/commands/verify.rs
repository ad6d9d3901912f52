//! `verify`: the runbook's final verify and its SUCCESS definition.

use serde_json::json;

use crate::cloud::credentials::Env;
use crate::ending::Ending;
use crate::engine::restore;
use crate::exit::ExitStatus;
use crate::journal::{self, Event, Journal};
use crate::layers::Probe;
use crate::report;
use crate::settings::{Settings, Verbosity};
use crate::ui::progress::Progress;

/// Verifies, waiting where the runbook allows, and says SUCCESS or what is not.
pub async fn run(settings: &Settings, env: &Env) -> anyhow::Result<ExitStatus> {
    let (site, session) = super::connect(settings, env).await?;
    let journal = Journal::create(&journal::state_dir(env), "verify")?;
    journal.record(
        Event::Start,
        None,
        json!({"command": "verify", "time_scale": site.twin.map(|t| t.time_scale), "cloud": session.config().name, "server": site.management.server}),
    );
    let progress = Progress::with(settings.verbosity == Verbosity::Quiet, !settings.progress)
        .on_clock(site.time_scale());
    let p = Probe {
        session: &session,
        site: &site,
    };
    let stopped = restore::verify(p, &journal, &progress).await;
    let (ending, closing) = verdict(&stopped);
    let report = report::observe(p).await;
    let verdict = if ending == Ending::Green {
        "SUCCESS"
    } else {
        "not yet"
    };
    super::print_report(&report, settings.format, &ending, &closing, Some(verdict));
    journal.record(Event::End, None, json!({"success": ending == Ending::Green, "ending": ending, "exit_code": ending.code(), "stopped": stopped}));
    eprintln!("journal: {}", journal.path().display());
    Ok(ending.status())
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
