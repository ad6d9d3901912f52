//! `restore`: the runbook as one command (see [`crate::engine::restore`]).

use serde_json::json;

use super::frame::Frame;
use crate::ending::Ending;
use crate::engine::restore::{self, Options};
use crate::env::Env;
use crate::exit::ExitStatus;
use crate::journal::End;
use crate::layers::Layer;
use crate::report;
use crate::settings::Settings;

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
    if what.dry_run {
        let (site, session) = super::connect(settings, env).await?;
        super::plan::show(&session, &site, settings.format).await;
        return Ok(ExitStatus::Success);
    }
    let frame = Frame::open(settings, env, "restore", start(what.options)).await?;
    Ok(restore_in(&frame, settings, what.options).await)
}

/// The restore's own options, as its journal's start records them.
pub fn start(options: Options) -> super::frame::Options {
    super::frame::options([
        ("until", json!(options.until.map(|l| l.name()))),
        ("strict_order", json!(options.strict_order)),
        ("yes", json!(options.yes)),
    ])
}

/// The restore in its frame (also `demo`'s): runs the engine, observes the end
/// state, prints it, and ends the journal with the one ending they all come from.
pub async fn restore_in(frame: &Frame, settings: &Settings, options: Options) -> ExitStatus {
    let outcome = restore::restore(frame.probe(), options, &frame.journal, &frame.progress).await;
    let stops = &outcome.stopped;
    let counted = End {
        actions: Some(outcome.actions),
        stopped: Some(stops.clone()),
        ..End::default()
    };
    // No final round of probes: the operator asked to stop.
    if let Some(status) = frame.interrupted(counted.clone()) {
        eprintln!(
            "stopped by signal {}: run `juju-capi-restore restore` again to continue from here; journal: {}",
            crate::interrupt::requested().unwrap_or_default(),
            frame.journal.path().display()
        );
        return status;
    }
    let report = report::observe(frame.probe()).await;
    // Only what --until asked for counts: above it, red is expected.
    let in_scope = |l: &Layer| options.until.is_none_or(|u| *l <= u);
    let red: Vec<Layer> = report.red().into_iter().filter(in_scope).collect();
    let ending = Ending::observed(stops, &red, report.lowest_unobserved().filter(in_scope));
    let closing = match (&ending, options.until) {
        (Ending::Green, Some(until)) => format!(
            "restore: reached `--until {}`, every layer up to it green (exit code 0)",
            until.name()
        ),
        _ => format!("restore: {}", ending.line(stops)),
    };
    if settings.summary {
        print!("{}", summary(&report, &outcome.changes, &closing));
    } else {
        super::print_report(&report, settings.format, &ending, &closing, None);
    }
    let mut more = super::frame::Options::new();
    more.insert(
        "api_requests".into(),
        json!(frame.session.stats().requests()),
    );
    frame.finish(
        &ending,
        stops,
        End {
            lowest_red: report.lowest_red().filter(in_scope),
            more,
            ..counted
        },
    )
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
