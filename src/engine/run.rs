//! One run of changes (restore, sweep, failover): the site and session, the journal
//! and progress it reports to, how many changes it made, and the confirmation policy
//! for destructive steps. Every decision and stop goes through here, so the journal
//! tells the same story whichever command ran.

use std::time::Duration;

use tokio::sync::watch;

use super::plan;
use super::wait::{Attempt, Check, Wait, WaitError, Waited};
use crate::ending::{StopCause, Stopped};
use crate::error::NotConfirmed;
use crate::journal::{self, Decided, Entry, Journal};
use crate::layers::{Decision, Layer, Probe, Row};
use crate::site::Gate;
use crate::ui::confirm;
use crate::ui::progress::Progress;

pub(crate) struct Run<'a> {
    pub(crate) p: Probe<'a>,
    pub(crate) journal: &'a Journal,
    pub(crate) progress: &'a Progress,
    /// Stop once this layer is green.
    pub(crate) until: Option<Layer>,
    /// Destructive steps confirmed up front (`--yes`); else asked on a terminal.
    pub(crate) yes: bool,
    /// How the operator confirms, for the messages that say how.
    pub(crate) confirm_by: crate::error::ConfirmBy,
    /// Changes made, in words (only those the service accepted).
    pub(crate) actions: std::sync::Mutex<Vec<String>>,
    /// Set once the VM step is over: `Some(true)` when the VM is up, `Some(false)`
    /// when its step stopped red. Headroom waits for it, and acts only on the first.
    pub(crate) vm_done: watch::Sender<Option<bool>>,
}

impl<'a> Run<'a> {
    /// A run with nothing done yet.
    pub(crate) fn new(
        p: Probe<'a>,
        journal: &'a Journal,
        progress: &'a Progress,
        yes: bool,
    ) -> Run<'a> {
        Run {
            p,
            journal,
            progress,
            until: None,
            yes,
            confirm_by: crate::error::ConfirmBy::Flag,
            actions: std::sync::Mutex::new(Vec::new()),
            vm_done: watch::channel(Some(true)).0,
        }
    }

    /// Records one accepted change, in words (for the run's summary).
    pub(crate) fn changed(&self, what: impl Into<String>) {
        self.actions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(what.into());
    }

    /// How many changes were accepted.
    pub(crate) fn changes(&self) -> usize {
        self.changed_list().len()
    }

    /// The accepted changes, in order.
    pub(crate) fn changed_list(&self) -> Vec<String> {
        self.actions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Asks for a destructive step (or takes `--yes`), with the live lines paused.
    pub(crate) async fn confirm(&self, question: &str) -> Result<(), NotConfirmed> {
        if self.yes || !confirm::can_ask() {
            return confirm::decided(question, self.yes, self.confirm_by, self.journal);
        }
        // Ctrl-C at the question is a no (and the run stops: callers check).
        let answer = self.progress.ask(question).await.unwrap_or_default();
        confirm::answered(question, &answer, self.journal)
    }

    /// Records a layer's row and the decision it carries; returns the decision and
    /// its words (for a stop, the way forward).
    pub(crate) fn decide(&self, row: &Row) -> (Decision, String) {
        let step = plan::plan(std::slice::from_ref(row), self.p.site).remove(0);
        self.journal.probe(row);
        self.journal.decided(
            Some(row.layer),
            Decided::Step {
                action: step.action.to_string(),
                what: step.what.clone(),
                decision: Some(step.decision.clone()),
            },
        );
        (step.decision, step.why)
    }

    /// Whether to stop after `layer`: `--until` reached, or a signal asked to stop.
    pub(crate) fn done_with(&self, layer: Layer) -> bool {
        self.until.is_some_and(|u| u <= layer) || crate::interrupt::requested().is_some()
    }

    /// Stops a branch at `layer` for a fault: said, journaled, returned.
    pub(crate) fn stop(&self, layer: Layer, why: String) -> Stopped {
        self.stopped(layer, why, StopCause::Fault)
    }

    /// Stops a branch at `layer` because a destructive step was not confirmed.
    pub(crate) fn not_confirmed(&self, layer: Layer, why: String) -> Stopped {
        self.stopped(layer, why, StopCause::NotConfirmed)
    }

    fn stopped(&self, layer: Layer, why: String, cause: StopCause) -> Stopped {
        let said = match cause {
            StopCause::Fault => "stopped",
            StopCause::NotConfirmed => "not confirmed",
        };
        self.progress.line(layer, &format!("{said}: {why}"));
        self.journal.decided(
            Some(layer),
            Decided::Stopped {
                stopped: why.clone(),
                cause,
            },
        );
        Stopped { layer, why, cause }
    }

    /// Records a wait that reached its condition (the journal's gate timeline).
    pub(crate) fn waited<T>(&self, layer: Layer, waited: &super::wait::Waited<T>) {
        self.journal.record(
            Some(layer),
            Entry::Wait(journal::Wait::Done {
                done: true,
                waited_s: waited.elapsed.as_secs(),
                attempts: waited.attempts,
            }),
        );
    }

    /// Waits at `gate` (its interval and deadline from the site file) on `check`,
    /// with progress and a journal entry per attempt (the runbook's figure shown
    /// beside the time waited), and records the gate once it is passed. Every wait
    /// of a run goes through here.
    pub(crate) async fn gate<T, E, F, Fut>(
        &self,
        layer: Layer,
        gate: Gate,
        what: impl Into<String>,
        check: F,
    ) -> Result<Waited<T>, WaitError<E>>
    where
        E: std::error::Error,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Check<T>, E>>,
    {
        let wait = Wait::at(self.p.site, gate, what);
        let expected = gate.expected(self.p.site);
        let waited = wait.until(check, self.attempt(layer, &expected)).await?;
        self.waited(layer, &waited);
        Ok(waited)
    }

    /// Progress and journal for one attempt of a wait.
    pub(crate) fn attempt(&self, layer: Layer, expected: &str) -> impl FnMut(&Attempt<'_>) + '_ {
        let expected = expected.to_string();
        move |a: &Attempt<'_>| {
            self.progress.waiting(layer, a, &expected);
            self.journal.record(
                Some(layer),
                Entry::Wait(journal::Wait::Attempt {
                    attempt: a.number,
                    elapsed_s: a.elapsed.as_secs(),
                    evidence: a.evidence.to_string(),
                }),
            );
        }
    }
}

/// The first line of an error, for one-line reports.
pub(crate) fn first_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// A duration in whole seconds, as people read it (`1m 48s`).
pub(crate) fn secs(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}
