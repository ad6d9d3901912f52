//! `verify`: the runbook's final verify and its SUCCESS definition.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::settings::{Settings, Verbosity};
use crate::cloud::credentials::Env;
use crate::engine::restore;
use crate::exit;
use crate::journal::{self, Event, Journal};
use crate::layers::Probe;
use crate::report;
use crate::ui::progress::Progress;

/// Verifies, waiting where the runbook allows, and says SUCCESS or what is not.
pub async fn run(settings: &Settings, env: &Env) -> anyhow::Result<ExitCode> {
    let (site, session) = super::connect(settings, env).await?;
    let journal = Journal::create(&journal::state_dir(env), "verify")?;
    journal.record(
        Event::Start,
        None,
        json!({"command": "verify", "server": site.management.server}),
    );
    let progress = Progress::with(settings.verbosity == Verbosity::Quiet, !settings.progress);
    let p = Probe {
        session: &session,
        site: &site,
    };
    let stopped = restore::verify(p, &journal, &progress).await;
    let report = report::observe(p).await;
    super::print_report(&report, settings.format);
    let success = stopped.is_empty();
    journal.record(Event::End, None, json!({"success": success, "stopped": stopped.iter().map(|s| json!({"layer": s.layer.name(), "why": s.why})).collect::<Vec<_>>()}));
    if success {
        eprintln!(
            "SUCCESS: amphorae ALLOCATED, every Cluster Available, Magnum HEALTHY or the D-042 signature (known good)"
        );
    } else {
        eprintln!(
            "not yet: {}",
            stopped
                .iter()
                .map(|s| format!("{} ({})", s.layer.name(), s.why))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    eprintln!("journal: {}", journal.path().display());
    Ok(exit::for_layer(stopped.iter().map(|s| s.layer).min()))
}
