//! `restore`: the runbook as one command (see [`crate::engine::restore`]).

use serde_json::json;

use super::frame::Frame;
use crate::ending::Ending;
use crate::engine::restore::{self, Options};
use crate::env::Env;
use crate::exit::ExitStatus;
use crate::journal::End;
use crate::layers::Layer;
use crate::report::{self, Report};
use crate::settings::Settings;

/// What to do.
#[derive(Debug, Clone, Default)]
pub struct RestoreSettings {
    /// Only show the plan.
    pub dry_run: bool,
    /// Engine options.
    pub options: Options,
    /// The maintenance window of a scheduled restore (journaled with the run).
    pub window: Option<std::path::PathBuf>,
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
    let mut options = start(what.options);
    if let Some(path) = &what.window {
        // A scheduled restore always runs (late is better than never); its window is
        // read so that a broken definition fails the run that carries it.
        let window = crate::window::Window::load(path)?;
        options.insert("window".into(), json!(window.name));
    }
    let frame = Frame::open(settings, env, "restore", options).await?;
    Ok(match restore_in(&frame, what.options).await {
        Ok(restored) => {
            show(&restored, settings);
            finish(&frame, &restored)
        }
        Err(interrupted) => interrupted,
    })
}

/// The restore's own options, as its journal's start records them.
pub fn start(options: Options) -> super::frame::Options {
    super::frame::options([
        ("until", json!(options.until.map(|l| l.name()))),
        ("strict_order", json!(options.strict_order)),
        ("yes", json!(options.yes)),
    ])
}

/// A restore that ran to its end: what it did, what it observed after, and how
/// it ended.
pub struct Restored {
    /// What the engine did.
    pub outcome: restore::Outcome,
    /// The stack as observed after.
    pub report: Report,
    /// How it ended (only layers up to `--until` count).
    pub ending: Ending,
    /// The closing line.
    pub closing: String,
    /// The lowest red layer in scope.
    pub lowest_red: Option<Layer>,
}

/// The restore in its frame (also `demo`'s and the action's): runs the engine and
/// observes the end state. An interrupted run is journaled as such and its status
/// returned instead; otherwise the caller shows the result, then [`finish`]es.
pub async fn restore_in(frame: &Frame, options: Options) -> Result<Restored, ExitStatus> {
    let options = restore::Options {
        confirm_by: frame.confirm_by,
        ..options
    };
    let outcome = restore::restore(frame.probe(), options, &frame.journal, &frame.progress).await;
    let counted = End {
        actions: Some(outcome.actions),
        stopped: Some(outcome.stopped.clone()),
        ..End::default()
    };
    // No final round of probes: the operator asked to stop.
    if let Some(status) = frame.interrupted(counted) {
        eprintln!(
            "stopped by signal {}: run `juju-capi-restore restore` again to continue from here; journal: {}",
            crate::interrupt::requested().unwrap_or_default(),
            frame.journal.path().display()
        );
        return Err(status);
    }
    let report = report::observe(frame.probe()).await;
    // The state it ends in, layer by layer: the journal's last word on each (and the
    // Prometheus file's, which is read from it).
    for row in &report.layers {
        frame.journal.record(
            Some(row.layer),
            crate::journal::Entry::Probe(crate::journal::Probe::row(row)),
        );
    }
    // Only what --until asked for counts: above it, red is expected.
    let in_scope = |l: &Layer| options.until.is_none_or(|u| *l <= u);
    let red: Vec<Layer> = report.red().into_iter().filter(in_scope).collect();
    let stops = &outcome.stopped;
    let ending = Ending::observed(stops, &red, report.lowest_unobserved().filter(in_scope));
    let closing = match (&ending, options.until) {
        (Ending::Green, Some(until)) => format!(
            "restore: reached `--until {}`, every layer up to it green (exit code 0)",
            until.name()
        ),
        _ => format!("restore: {}", ending.line_for(stops, frame.confirm_by)),
    };
    let lowest_red = report.lowest_red().filter(in_scope);
    Ok(Restored {
        outcome,
        report,
        ending,
        closing,
        lowest_red,
    })
}

/// Shows a restore's end for people or programs (a summary for cron mail).
pub fn show(restored: &Restored, settings: &Settings) {
    if settings.summary {
        print!(
            "{}",
            summary(
                &restored.report,
                &restored.outcome.changes,
                &restored.closing
            )
        );
    } else {
        super::print_report(
            &restored.report,
            settings.format,
            &restored.ending,
            &restored.closing,
            None,
        );
    }
}

/// Ends the restore's journal with the one ending everything came from; its status.
pub fn finish(frame: &Frame, restored: &Restored) -> ExitStatus {
    let mut more = super::frame::Options::new();
    more.insert(
        "api_requests".into(),
        json!(frame.session.stats().requests()),
    );
    frame.finish(
        &restored.ending,
        &restored.outcome.stopped,
        End {
            actions: Some(restored.outcome.actions),
            lowest_red: restored.lowest_red,
            more,
            ..End::default()
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
