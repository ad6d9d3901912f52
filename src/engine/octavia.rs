//! The restore's Octavia branch (runbook Step 5, DESIGN §4.0): the amphora
//! inventory reported; once the VM step is over, PENDING load balancers waited out;
//! every ACTIVE → nothing to do (headroom reported); any in ERROR → the failover,
//! which sweeps ([`super::sweep`]) and measures the headroom (Step 5b) first. Also the
//! helpers both use: the headroom measurement and the octavia unit's logs through
//! Juju, for evidence only. Changes nothing itself.

use std::time::Duration;

use tokio::sync::watch;

use super::run::Run;
use super::wait::Check;
use crate::cloud::octavia::LoadBalancer;
use crate::ending::Stopped;
use crate::layers::amphorae;
use crate::layers::{self, Decision, Layer, Row};
use crate::site::Gate;

impl Run<'_> {
    /// Step 5b: the free amphora slots from Placement (`needed`: a failover is
    /// next, so no slot is red), journaled.
    pub(crate) async fn measure_headroom(&self, needed: bool) -> Row {
        let row = match layers::headroom::probe(self.p).await {
            Ok(o) => layers::headroom::assess(&o, &self.p.site.amphora_flavor, needed),
            Err(e) => Row::unobservable(Layer::Headroom, &e),
        };
        self.record(&row);
        row
    }

    /// Says the headroom's figures, host by host.
    pub(crate) fn say_headroom(&self, row: &Row) {
        self.progress.line(Layer::Headroom, &row.summary);
        for line in &row.evidence {
            self.progress.line(Layer::Headroom, &format!("  {line}"));
        }
    }

    /// A log of the octavia unit through Juju, for evidence only: on an expired
    /// login, a person at a terminal may let juju ask for the password (the call runs
    /// again with the terminal as its stdin); otherwise the run goes on without it,
    /// saying why once.
    pub(crate) async fn octavia_log(
        &self,
        layer: Layer,
        name: &str,
        path: &std::path::Path,
    ) -> Option<String> {
        use crate::juju::{self, JujuError};
        match juju::tail_octavia_log(self.p.site, path).await {
            Ok(log) => Some(log),
            Err(JujuError::LoginSaid) => None,
            Err(e @ JujuError::LoginExpired { .. }) if crate::ui::confirm::can_ask() => {
                let argv = match &e {
                    JujuError::LoginExpired { argv, .. } => argv.clone(),
                    _ => Vec::new(),
                };
                let question = format!(
                    "{e}\nrun `{}` with this terminal as its stdin, so juju can ask for the password, then go on?",
                    crate::exec::Invocation::new(argv.clone(), Duration::ZERO).command_line()
                );
                let yes =
                    self.progress.ask(&question).await.is_some_and(|a| {
                        matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes")
                    });
                if !yes {
                    return None;
                }
                // Juju's prompt owns the terminal meanwhile: no live line over it.
                match self.progress.paused(juju::rerun_on_terminal(argv)).await {
                    Ok(log) => Some(log),
                    Err(e) => {
                        self.progress
                            .line(layer, &format!("  {name} not read: {e}"));
                        None
                    }
                }
            }
            Err(e) => {
                self.progress
                    .line(layer, &format!("  {name} not read: {e}"));
                None
            }
        }
    }

    /// Says once which load balancers in the project are not the site's, so nobody
    /// wonders why one in ERROR was not failed over.
    pub(crate) fn left_alone(&self, o: &layers::load_balancers::LoadBalancerObservation) {
        for lb in &o.others {
            self.progress.line(
                Layer::LoadBalancers,
                &format!(
                    "{} `{}` ({}): not this site's (not in the site file's `load_balancers`): left alone",
                    lb.id, lb.name, lb.provisioning_status
                ),
            );
        }
    }

    /// Records a row as a probe, without a decision.
    pub(crate) fn record(&self, row: &Row) {
        self.journal.probe(row);
    }

    /// The load balancers' row, as `status` judges it, with the observation.
    async fn load_balancers(
        &self,
    ) -> (Row, Option<layers::load_balancers::LoadBalancerObservation>) {
        match layers::load_balancers::probe(self.p).await {
            Ok(o) => (layers::load_balancers::assess(&o), Some(o)),
            Err(e) => (Row::unobservable(Layer::LoadBalancers, &e), None),
        }
    }

    /// The restore's Octavia branch (DESIGN §4.0): orphans reported; once the VM step
    /// is over, PENDING load balancers waited out; every ACTIVE → nothing to do; any
    /// in ERROR → sweep, headroom and failover, each in turn.
    pub(crate) async fn octavia_branch(
        &self,
        mut vm_seen: watch::Receiver<Option<bool>>,
    ) -> Result<(), Stopped> {
        let sweep = self.amphorae_decision().await?;
        // Headroom counts the VM's allocation: measure it once the VM step is over,
        // and only if the VM is up. Nothing acts on a layer whose dependencies are red
        // (DESIGN §4.0): a VM that did not start leaves Octavia untouched this run.
        let vm_up = vm_seen
            .wait_for(Option::is_some)
            .await
            .map_or(true, |step| *step == Some(true));
        if !vm_up {
            return Err(self.stop(
                Layer::Headroom,
                "not measured, and nothing in Octavia changed: the VM below it is red; the next `restore` continues once it is up".into(),
            ));
        }
        // `--until amphorae` or `headroom`: report, change nothing in Octavia.
        if let Some(until) = self.until.filter(|u| *u < Layer::LoadBalancers) {
            if until >= Layer::Headroom {
                self.say_headroom(&self.measure_headroom(false).await);
            }
            self.progress.line(
                until,
                &format!("--until {}: Octavia left unchanged", until.name()),
            );
            return Ok(());
        }
        let (lbs, observed) = self.settled_load_balancers().await?;
        if let Some(o) = &observed {
            self.left_alone(o);
            self.settle_unknown_failovers(&o.all().cloned().collect::<Vec<_>>());
        }
        let (decision, what) = self.decide(&lbs);
        match decision {
            Decision::Nothing => {
                self.progress.line(Layer::LoadBalancers, &lbs.summary);
                // Reported for the record; no failover needs it.
                self.say_headroom(&self.measure_headroom(false).await);
                if matches!(sweep, Decision::Sweep(_)) {
                    self.progress.line(Layer::Amphorae, "orphans left in place: no failover needs their capacity; `juju-capi-restore sweep` deletes them");
                }
                Ok(())
            }
            // The ones the decision names, as the observation has them.
            Decision::Failover(ids) => {
                let chosen: Vec<LoadBalancer> = observed
                    .map(|o| o.all().filter(|lb| ids.contains(&lb.id)).cloned().collect())
                    .unwrap_or_default();
                self.failover_each(&chosen, false).await.map(|_| ())
            }
            _ => Err(self.stop(Layer::LoadBalancers, what)),
        }
    }

    /// The amphorae's decision, said: orphans alone block nothing (swept before a
    /// failover, else reported); an inventory that cannot be read stops the branch.
    async fn amphorae_decision(&self) -> Result<Decision, Stopped> {
        let row = match amphorae::probe(self.p).await {
            Ok(o) => amphorae::assess(&o, &self.p.site.octavia),
            Err(e) => Row::unobservable(Layer::Amphorae, &e),
        };
        let (decision, what) = self.decide(&row);
        match decision {
            Decision::Nothing => self.progress.line(Layer::Amphorae, &row.summary),
            Decision::Sweep(_) => self.progress.line(Layer::Amphorae, &what),
            _ => return Err(self.stop(Layer::Amphorae, what)),
        }
        Ok(decision)
    }

    /// The load balancers once Octavia is busy with none of the project's (a
    /// failover runs one at a time, whoever's).
    async fn settled_load_balancers(
        &self,
    ) -> Result<(Row, Option<layers::load_balancers::LoadBalancerObservation>), Stopped> {
        let (lbs, observed) = self.load_balancers().await;
        if !observed.as_ref().is_some_and(|o| o.pending()) {
            return Ok((lbs, observed));
        }
        self.progress.line(
            Layer::LoadBalancers,
            &format!("{}: waiting for Octavia to finish", lbs.summary),
        );
        let waited = self
            .gate(
                Layer::LoadBalancers,
                Gate::LoadBalancersSettled,
                "load balancers out of PENDING_*",
                || async {
                    let (row, o) = self.load_balancers().await;
                    Ok::<_, std::convert::Infallible>(if o.as_ref().is_some_and(|o| o.pending()) {
                        Check::NotYet(row.summary)
                    } else {
                        Check::Done((row, o))
                    })
                },
            )
            .await
            .map_err(|e| self.stop(Layer::LoadBalancers, e.to_string()))?;
        Ok(waited.value)
    }
}
