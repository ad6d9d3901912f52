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

use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use super::run::{Run, first_line, secs};
use super::wait::{Check, Wait};
use crate::cloud::nova;
use crate::cloud::{ApiError, Scope};
use crate::journal::{Event, Journal};
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
}

/// Why a branch stopped.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stopped {
    /// The layer it stopped at.
    pub layer: Layer,
    /// What it was, and what to do.
    pub why: String,
    /// Whether it is a fault or only a destructive step nobody confirmed.
    pub cause: StopCause,
}

/// What kind of stop: what a cron job must tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopCause {
    /// The layer could not be made green.
    Fault,
    /// A destructive step (delete, failover, stop) was not confirmed: no terminal and
    /// no `--yes`, or a no on the terminal.
    NotConfirmed,
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
    let (vm_done, vm_seen) = watch::channel(false);
    let run = Run {
        until: options.until,
        vm_done,
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
    if super::interrupt::requested().is_some() {
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
            if let Err(s) = run
                .await_layer(layer, run.p.site.timeouts.capo_resync)
                .await
            {
                stopped.push(s);
                break;
            }
        }
    } else if !stopped.is_empty() {
        progress.line(Layer::Capo, "not attempted: a branch below it stopped");
    }
    let actions = run.changes();
    if actions == 0 && stopped.is_empty() && super::interrupt::requested().is_none() {
        progress.line(
            Layer::Magnum,
            "nothing changed: no layer reached needed a change",
        );
        journal.record(Event::Decision, None, json!({"nothing_changed": true}));
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
                Event::Probe,
                Some("amphorae"),
                json!({"amphorae": o.amphorae.len(), "not_allocated": not_allocated}),
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
        if let Err(s) = run.await_layer(layer, p.site.timeouts.capo_resync).await {
            stopped.push(s);
            break;
        }
    }
    stopped
}

impl Run<'_> {
    async fn host_chain(&self) -> Result<(), Stopped> {
        let vm = self.vm().await;
        // Headroom may be measured now: the VM's allocation is in place (or will not be).
        let _ = self.vm_done.send(true);
        vm?;
        if self.done_with(Layer::Vm) {
            return Ok(());
        }
        let gate = layers::ssh_gate::assess(&layers::ssh_gate::probe(self.p).await);
        if self.decide(&gate).0 != Decision::Nothing {
            let waited = layers::ssh_gate::await_open(
                self.p,
                self.attempt(Layer::Ssh, "~3.5 min after ACTIVE"),
            )
            .await
            .map_err(|e| self.stop(Layer::Ssh, e.to_string()))?;
            self.waited(Layer::Ssh, &waited);
            self.progress.line(
                Layer::Ssh,
                &format!(
                    "SSH-PORT-OK after {} ({} attempts)",
                    secs(waited.elapsed),
                    waited.attempts
                ),
            );
        } else {
            self.progress.line(Layer::Ssh, "SSH-PORT-OK");
        }
        if self.done_with(Layer::Ssh) {
            return Ok(());
        }
        let expected = format!(
            "~{} min from boot",
            self.p.site.timeouts.k8s_expected.as_secs() / 60
        );
        let ready =
            layers::kubernetes::await_ready(self.p, 2, self.attempt(Layer::Kubernetes, &expected))
                .await
                .map_err(|e| self.stop(Layer::Kubernetes, e.to_string()))?;
        self.waited(Layer::Kubernetes, &ready);
        self.progress.line(
            Layer::Kubernetes,
            &format!(
                "cluster status: ready ({} attempts, {} waited)",
                ready.attempts,
                secs(ready.elapsed)
            ),
        );
        if self.done_with(Layer::Kubernetes) {
            return Ok(());
        }
        self.kubeconfig().await?;
        self.await_layer(Layer::CapiControllers, Duration::from_secs(10 * 60))
            .await
    }

    /// The VM: start it if parked, then wait for ACTIVE; ERROR stops at once.
    async fn vm(&self) -> Result<(), Stopped> {
        let observation = layers::vm::probe(self.p)
            .await
            .map_err(|e| self.stop(Layer::Vm, first_line(&e)))?;
        let row = layers::vm::assess(&observation);
        let (action, what) = self.decide(&row);
        let Some(server) = observation.server.as_ref() else {
            return Err(self.stop(Layer::Vm, what));
        };
        match action {
            Decision::Nothing => {
                self.progress
                    .line(Layer::Vm, &format!("`{}` is ACTIVE", server.name));
                return Ok(());
            }
            Decision::Start => {
                self.progress.line(
                    Layer::Vm,
                    &format!(
                        "starting `{}` ({}) in project `{}`",
                        server.name, server.id, observation.project_id
                    ),
                );
                let scope = if self.p.in_management_project().await.unwrap_or(false) {
                    Scope::Management
                } else {
                    Scope::Admin
                };
                // A signal during the probes (the scope check may log in): change nothing.
                if super::interrupt::requested().is_some() {
                    return Err(self.stop(Layer::Vm, "interrupted before starting the VM".into()));
                }
                let request = json!({"request": "os-start", "server": server.id, "scope": format!("{scope}")});
                let result = self
                    .journal
                    .change(
                        "vm",
                        request,
                        nova::start_server(self.p.session, scope, &server.id),
                    )
                    .await;
                if result.is_ok() {
                    self.changed(format!("started `{}` ({})", server.name, server.id));
                }
                // A 409 means someone else started it meanwhile: waiting is right.
                if let Err(e) = result
                    && e.status() != Some(409)
                {
                    return Err(self.stop(Layer::Vm, first_line(&e)));
                }
            }
            Decision::Wait(_) => {}
            _ => return Err(self.stop(Layer::Vm, what)),
        }
        let id = server.id.clone();
        let wait = Wait {
            what: format!("`{}` ACTIVE", server.name),
            interval: self.p.site.poll.server,
            deadline: self.p.site.timeouts.server_active,
            scale: self.p.site.time_scale(),
        };
        // Not `gate`: a VM that went to ERROR ends the wait but passes no gate.
        let waited = wait
            .until(
                || {
                    let id = id.clone();
                    async move {
                        let s = nova::show_server(self.p.session, Scope::Admin, &id).await?;
                        Ok::<_, ApiError>(match (&s.status, s.task_state.as_ref()) {
                            (nova::ServerStatus::Active, None) => Check::Done(Ok(())),
                            (nova::ServerStatus::Error, _) => Check::Done(Err(format!(
                                "`{}` went to ERROR: {}",
                                s.name,
                                s.fault
                                    .map(|f| f.message)
                                    .unwrap_or_else(|| "no fault recorded".into())
                            ))),
                            (status, task) => Check::NotYet(format!(
                                "{status}{}",
                                task.map(|t| format!(", {t}")).unwrap_or_default()
                            )),
                        })
                    }
                },
                self.attempt(Layer::Vm, "~20 s"),
            )
            .await
            .map_err(|e| self.stop(Layer::Vm, e.to_string()))?;
        if let Err(fault) = waited.value {
            return Err(self.stop(Layer::Vm, format!("{fault}; a VM in ERROR needs an operator (`openstack server show` and the nova-compute log)")));
        }
        self.waited(Layer::Vm, &waited);
        self.progress
            .line(Layer::Vm, &format!("ACTIVE after {}", secs(waited.elapsed)));
        Ok(())
    }

    /// The kubeconfig: re-emitted when missing (the runbook's phase-06 Step 6.5), and
    /// once when kubectl says it does not fit the cluster that is now up (a CA or
    /// server from before a rebuild), instead of polling a wrong server until the
    /// deadline.
    async fn kubeconfig(&self) -> Result<(), Stopped> {
        let path = crate::site::expand_home(&self.p.site.management.kubeconfig);
        let why = if !path.is_file() {
            "missing".to_string()
        } else {
            let kubectl = crate::capi::Kubectl::new(&path, self.p.site.timeouts.kubectl);
            match layers::controllers::probe(&kubectl).await {
                // Kubernetes is ready: a refused connection is the wrong server.
                Err(e)
                    if matches!(
                        e.trouble(),
                        crate::capi::KubectlTrouble::Credentials
                            | crate::capi::KubectlTrouble::Unreachable
                    ) =>
                {
                    format!("does not fit the cluster that is up ({})", first_line(&e))
                }
                // Slow or anything else: not the kubeconfig's fault; never overwrite it.
                _ => return Ok(()),
            }
        };
        self.progress.line(
            Layer::CapiControllers,
            &format!(
                "kubeconfig `{}` {why}: re-emitting it over ssh",
                path.display()
            ),
        );
        let result = crate::host::kubeconfig::emit(self.p.site, &path).await;
        if result.is_ok() {
            self.changed(format!("re-emitted the kubeconfig `{}`", path.display()));
        }
        self.journal.record(Event::Action, Some("capi-controllers"), json!({"request": "k8s config --server", "path": path.display().to_string(), "result": result.as_ref().map(|_| "written 0600".to_string()).unwrap_or_else(|e| first_line(e))}));
        result
            .map(|_| ())
            .map_err(|e| self.stop(Layer::CapiControllers, e.to_string()))
    }

    /// Observes a layer until it no longer blocks (or its deadline), as `status`
    /// judges it: the controllers must be green; CAPO and Magnum pass yellow too
    /// (every Cluster Available with a Machine still settling is the runbook's
    /// SUCCESS).
    async fn await_layer(&self, layer: Layer, deadline: Duration) -> Result<(), Stopped> {
        let passes = |row: &Row| match layer {
            Layer::CapiControllers => row.state == Health::Green,
            _ => !row.state.is_blocking(),
        };
        let observe = || async move { self.observe(layer).await };
        let first = observe().await;
        let (action, what) = self.decide(&first);
        if passes(&first) {
            self.progress.line(layer, &first.summary);
            return Ok(());
        }
        match action {
            Decision::Wait(_) => self.progress.line(layer, &what),
            _ => return Err(self.stop(layer, what)),
        }
        let wait = Wait {
            what: format!("`{}` green", layer.name()),
            interval: self.p.site.poll.k8s,
            deadline,
            scale: self.p.site.time_scale(),
        };
        let waited = self
            .gate(layer, "", wait, || async move {
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
            })
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
