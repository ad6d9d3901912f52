//! `restore`: the runbook as one command (see [`crate::engine::restore`]).

use serde_json::json;

use crate::cloud::Session;
use crate::cloud::credentials::Env;
use crate::ending::Ending;
use crate::engine::restore::{self, Options};
use crate::exit::ExitStatus;
use crate::journal::{self, Event, Journal};
use crate::layers::Probe;
use crate::lock::RunLock;
use crate::report;
use crate::settings::{Settings, Verbosity};
use crate::site::Site;
use crate::ui::progress::Progress;

/// What to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreSettings {
    /// Only show the plan.
    pub dry_run: bool,
    /// Engine options.
    pub options: Options,
}

/// Locks, journals, restores, prints the final state.
pub async fn run(
    settings: &Settings,
    env: &Env,
    what: RestoreSettings,
) -> anyhow::Result<ExitStatus> {
    let (site, session) = super::connect(settings, env).await?;
    if what.dry_run {
        super::plan::show(&session, &site, settings.format).await;
        return Ok(ExitStatus::Success);
    }
    let state = journal::state_dir(env);
    let _lock = RunLock::acquire(&state, "restore")?;
    crate::interrupt::install();
    Ok(
        restore_with(&session, &site, settings, what.options, &state)
            .await?
            .0,
    )
}

/// The restore itself, on an authenticated session (also used by `demo`); returns
/// the exit code and the journal's path.
pub async fn restore_with(
    session: &Session,
    site: &Site,
    settings: &Settings,
    options: Options,
    state: &std::path::Path,
) -> anyhow::Result<(ExitStatus, std::path::PathBuf)> {
    let journal = Journal::create(state, "restore")?;
    journal.record(
        Event::Start,
        None,
        json!({"command": "restore", "time_scale": site.twin.map(|t| t.time_scale), "cloud": session.config().name, "project": site.management.project_id.as_str(), "server": site.management.server, "until": options.until.map(|l| l.name()), "strict_order": options.strict_order}),
    );
    let progress = Progress::with(settings.verbosity == Verbosity::Quiet, !settings.progress)
        .on_clock(site.time_scale());
    let probe = Probe { session, site };
    let outcome = restore::restore(probe, options, &journal, &progress).await;
    // `Stopped` serializes as {layer, why, cause}: the same shape every command journals.
    let stops = || json!(outcome.stopped);
    if let Some(signal) = crate::interrupt::requested() {
        // No final round of probes: the operator asked to stop.
        journal.record(Event::End, None, json!({"interrupted_by_signal": signal, "stopped": stops(), "actions": outcome.actions}));
        eprintln!(
            "stopped by signal {signal}: run `juju-capi-restore restore` again to continue from here; journal: {}",
            journal.path().display()
        );
        return Ok((ExitStatus::of_signal(signal), journal.path().to_path_buf()));
    }
    let report = report::observe(probe).await;
    // Only what --until asked for counts: above it, red is expected.
    let in_scope = |l: &crate::layers::Layer| options.until.is_none_or(|u| *l <= u);
    let ending = Ending::observed(
        &outcome.stopped,
        &report
            .red()
            .into_iter()
            .filter(in_scope)
            .collect::<Vec<_>>(),
        report.lowest_unobserved().filter(in_scope),
    );
    let closing = match (&ending, options.until) {
        (Ending::Green, Some(until)) => format!(
            "restore: reached `--until {}`, every layer up to it green (exit code 0)",
            until.name()
        ),
        _ => format!("restore: {}", ending.line(&outcome.stopped)),
    };
    if settings.summary {
        print!("{}", summary(&report, &outcome.changes, &closing));
    } else {
        super::print_report(&report, settings.format, &ending, &closing, None);
    }
    journal.record(
        Event::End,
        None,
        json!({"ending": ending, "exit_code": ending.code(), "stopped": stops(), "actions": outcome.actions, "lowest_red": report.lowest_red().filter(in_scope).map(|l| l.name()), "api_requests": session.stats().requests()}),
    );
    eprintln!("journal: {}", journal.path().display());
    Ok((ending.status(), journal.path().to_path_buf()))
}

/// The end of an unattended run, for cron mail: what changed, the end state of each
/// layer on one line, and the closing line with the exit code (the journal's path
/// follows on stderr, last). `-v` or `-f` brings the whole report.
fn summary(report: &report::Report, changes: &[String], closing: &str) -> String {
    let changed = match changes {
        [] => "changed: nothing".to_string(),
        changes => format!("changed: {}", changes.join("; ")),
    };
    let layers = report
        .layers
        .iter()
        .map(|r| format!("{} {}", r.layer.name(), r.state.word()))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{changed}\nlayers: {layers}\n{closing}\n")
}
