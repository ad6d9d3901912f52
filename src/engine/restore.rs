//! `restore`: the runbook as one command, bottom-up along the dependency graph. The
//! management-VM chain (VM → SSH → k8s → CAPI controllers) and the Octavia branch
//! (amphorae → headroom → load balancers) run concurrently by default, since neither
//! needs the other; they join at CAPO's conditions, then Magnum. Headroom is measured
//! only once the VM step is done, so the VM's allocation is in the figures.
//!
//! Each layer is observed, decided by [`super::plan::plan`] (the same decision
//! `plan` shows) and acted on only when the layers it depends on are green. The VM
//! chain changes one thing, starting the VM (and re-emits a missing kubeconfig);
//! the rest is waiting. The Octavia branch ([`super::octavia`]) sweeps orphans and
//! fails over load balancers in ERROR, confirmed. What cannot be made green stops
//! its branch with the way forward. Re-running it on a healthy stack changes nothing
//! and says so.

use tokio::sync::watch;

use super::run::{Run, first_line, secs};
use super::wait::Check;
use crate::ending::Stopped;
use crate::journal::{self, Decided, Entry, Journal};
use crate::layers::{self, Decision, Health, Layer, Probe, Row};
use crate::ui::progress::Progress;

/// How to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Stop once this layer is green.
    pub until: Option<Layer>,
    /// The runbook's literal order: the Octavia branch after the VM chain.
    pub strict_order: bool,
    /// Confirm the destructive steps (orphan deletes, failovers) without asking.
    pub yes: bool,
    /// How the operator confirms, for the messages that say how (the frame's).
    pub confirm_by: crate::error::ConfirmBy,
}

/// How a restore ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Where branches stopped (none: everything it reached is green).
    pub stopped: Vec<Stopped>,
    /// How many changes it made (0: nothing changed).
    pub actions: usize,
    /// What they were, in order.
    pub changes: Vec<String>,
}

/// Runs the restore.
pub async fn restore(
    p: Probe<'_>,
    options: Options,
    journal: &Journal,
    progress: &Progress,
) -> Outcome {
    let (vm_done, vm_seen) = watch::channel(None);
    let run = Run {
        until: options.until,
        vm_done,
        confirm_by: options.confirm_by,
        ..Run::new(p, journal, progress, options.yes)
    };
    let octavia_wanted = options.until.is_none_or(|u| u >= Layer::Amphorae);
    let octavia = || async {
        if octavia_wanted {
            run.octavia_branch(vm_seen.clone()).await
        } else {
            Ok(())
        }
    };
    let (host, octavia) = if options.strict_order {
        let host = run.host_chain().await;
        (host, octavia().await)
    } else {
        tokio::join!(run.host_chain(), octavia())
    };
    let mut stopped: Vec<Stopped> = [host.err(), octavia.err()].into_iter().flatten().collect();
    let reached = |layer: Layer| options.until.is_none_or(|u| u >= layer);
    if crate::interrupt::requested().is_some() {
        progress.line(
            Layer::Capo,
            "not attempted: interrupted; the next `restore` continues from here",
        );
    } else if stopped.is_empty() && reached(Layer::Capo) {
        for layer in [Layer::Capo, Layer::Magnum]
            .into_iter()
            .filter(|l| reached(*l))
        {
            // CAPO may take ~10 min to resync after a failover; Magnum follows it.
            if let Err(s) = run.await_layer(layer).await {
                stopped.push(s);
                break;
            }
        }
    } else if !stopped.is_empty() {
        progress.line(Layer::Capo, "not attempted: a branch below it stopped");
    }
    let actions = run.changes();
    if actions == 0 && stopped.is_empty() && crate::interrupt::requested().is_none() {
        progress.line(
            Layer::Magnum,
            "nothing changed: no layer reached needed a change",
        );
        journal.decided(
            None,
            Decided::NothingChanged {
                nothing_changed: true,
            },
        );
    }
    Outcome {
        stopped,
        actions,
        changes: run.changed_list(),
    }
}

/// The runbook's final verify: amphorae all ALLOCATED; every Cluster Available
/// (allowing CAPO `timeouts.capo_resync` to resync after a failover); Magnum HEALTHY or
/// the D-042 signature. SUCCESS is all three.
pub async fn verify(p: Probe<'_>, journal: &Journal, progress: &Progress) -> Vec<Stopped> {
    let run = Run::new(p, journal, progress, false);
    let mut stopped = Vec::new();
    match layers::amphorae::probe(p).await {
        Ok(o) => {
            let not_allocated: Vec<String> = o
                .amphorae
                .iter()
                .filter(|a| a.status != crate::cloud::octavia::AmphoraStatus::Allocated)
                .map(|a| format!("{} {}", a.id, a.status))
                .collect();
            journal.record(
                Some(Layer::Amphorae),
                Entry::Probe(journal::Probe::Amphorae {
                    amphorae: o.amphorae.len(),
                    not_allocated: not_allocated.clone(),
                }),
            );
            if not_allocated.is_empty() {
                progress.line(
                    Layer::Amphorae,
                    &format!(
                        "{} ALLOCATED",
                        crate::words::count(o.amphorae.len(), "amphora", "amphorae")
                    ),
                );
            } else {
                stopped.push(run.stop(
                    Layer::Amphorae,
                    format!("not ALLOCATED: {}", not_allocated.join(", ")),
                ));
            }
        }
        Err(e) => stopped.push(run.stop(Layer::Amphorae, first_line(&e))),
    }
    // CAPO and Magnum are waited on for up to `capo_resync`: pointless with the VM down.
    let vm = match layers::vm::probe(p).await {
        Ok(o) => layers::vm::assess(&o),
        Err(e) => Row::unobservable(Layer::Vm, &e),
    };
    if vm.state != Health::Green {
        stopped.push(run.stop(
            Layer::Vm,
            format!(
                "{}: `verify` checks a restored stack; run `juju-capi-restore restore` first",
                vm.summary
            ),
        ));
        return stopped;
    }
    for layer in [Layer::Capo, Layer::Magnum] {
        // SUCCESS names Magnum's health: with no cluster to ask, there is none to claim.
        if layer == Layer::Magnum && p.site.magnum_clusters.is_empty() {
            stopped.push(run.stop(layer, "no Magnum clusters in the site file, so no health to verify; list them under `magnum_clusters` (`juju-capi-restore site discover`)".into()));
            break;
        }
        if let Err(s) = run.await_layer(layer).await {
            stopped.push(s);
            break;
        }
    }
    stopped
}

impl Run<'_> {
    /// Observes a layer until it no longer blocks (or its deadline), as `status`
    /// judges it: the controllers must be green; CAPO and Magnum pass yellow too
    /// (every Cluster Available with a Machine still settling is the runbook's
    /// SUCCESS).
    pub(crate) async fn await_layer(&self, layer: Layer) -> Result<(), Stopped> {
        let passes = |row: &Row| match layer {
            Layer::CapiControllers => row.state == Health::Green,
            _ => !row.state.is_blocking(),
        };
        let observe = || async move { self.observe(layer).await };
        let first = observe().await;
        let (decision, what) = self.decide(&first);
        if passes(&first) {
            self.progress.line(layer, &first.summary);
            return Ok(());
        }
        let Decision::Wait(gate) = decision else {
            return Err(self.stop(layer, what));
        };
        self.progress.line(layer, &what);
        let waited = self
            .gate(
                layer,
                gate,
                format!("`{}` green", layer.name()),
                || async move {
                    let row = observe().await;
                    Ok::<_, std::convert::Infallible>(if passes(&row) {
                        Check::Done(row)
                    } else {
                        Check::NotYet(
                            std::iter::once(row.summary)
                                .chain(row.evidence)
                                .collect::<Vec<_>>()
                                .join("; "),
                        )
                    })
                },
            )
            .await
            .map_err(|e| self.stop(layer, e.to_string()))?;
        self.progress.line(
            layer,
            &format!("{} after {}", waited.value.summary, secs(waited.elapsed)),
        );
        Ok(())
    }

    /// One observation of a layer above the host chain's gates.
    async fn observe(&self, layer: Layer) -> Row {
        match layer {
            Layer::Magnum => {
                let mut o = layers::magnum::probe(self.p).await;
                o.vm_up = true;
                layers::magnum::assess(&o)
            }
            _ => crate::report::observe_capi(self.p)
                .await
                .into_iter()
                .find(|r| r.layer == layer)
                .unwrap_or_else(|| Row::waiting(layer, Layer::Kubernetes)),
        }
    }
}
