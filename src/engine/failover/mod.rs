//! Step 5c, the failover (DESIGN §4.7), in admin scope: one load balancer at a time,
//! after a sweep and a headroom check; polled to ACTIVE (VIP and floating IP checked
//! unchanged) or ERROR (classified, its new orphan reported and kept as the cloud's
//! record, and stopped). A failed failover is never retried, by this run or any
//! other: each attempt against NoValidHost mints another orphan.
//!
//! [`policy`] decides every step from the facts; this executor gathers the facts,
//! performs the step, says it and journals it. The one change it makes is Octavia's
//! failover (`PUT .../failover`), confirmed, journaled as requested before it is
//! sent and with its outcome after.

pub mod policy;

use std::time::Duration;

use serde::Serialize;

use self::policy::{
    EndpointChange, FailedRequest, FailoverFacts, FailoverOutcome, FailoverStep, FailureClass,
    Need, Refusal, Room,
};
use super::never_retry;
use super::run::{Run, first_line, secs};
use super::sweep::{Deleting, Swept};
use super::wait::{Check, WaitError};
use crate::cloud::octavia::{self, LoadBalancer};
use crate::cloud::{ApiError, Scope, neutron};
use crate::ending::Stopped;
use crate::journal::{self, ActionResult, Decided, Request};
use crate::layers::{self, Layer, Row};
use crate::site::Gate;

/// A failover that reached ACTIVE.
#[derive(Debug, Clone, Serialize)]
pub struct FailedOver {
    /// The load balancer.
    pub load_balancer: String,
    /// How long Octavia took (its own timestamps when it gives them).
    pub took: Duration,
}

/// What the executor learnt on the way, besides the policy's facts.
#[derive(Default)]
struct Learnt {
    amphorae: Option<layers::amphorae::AmphoraObservation>,
    swept: Option<Swept>,
    headroom: Option<Row>,
    before: Option<LoadBalancer>,
}

impl Run<'_> {
    /// Fails over each load balancer in turn, never two at once; stops at the first
    /// that does not come back.
    pub(crate) async fn failover_each(
        &self,
        lbs: &[LoadBalancer],
        named: bool,
    ) -> Result<Vec<FailedOver>, Stopped> {
        self.settle_unknown_failovers(lbs);
        let mut done = Vec::new();
        for lb in lbs {
            if crate::interrupt::requested().is_some() {
                return Err(self.stop(Layer::LoadBalancers, "interrupted between failovers".into()));
            }
            done.extend(self.failover(lb, named).await?);
        }
        Ok(done)
    }

    /// Step 5c for one load balancer: learns what [`policy::decide`] asks for until
    /// it says start (or refuses), then sends the failover and follows it. `named`:
    /// the operator named it. `None`: nothing to do after all.
    pub(crate) async fn failover(
        &self,
        lb: &LoadBalancer,
        named: bool,
    ) -> Result<Option<FailedOver>, Stopped> {
        let mut facts = FailoverFacts {
            named,
            remembered: self.journal.last_failover(&lb.id),
            ..FailoverFacts::default()
        };
        let mut learnt = Learnt::default();
        loop {
            match policy::decide(&facts) {
                FailoverStep::Learn(need) => self.learn(lb, need, &mut facts, &mut learnt).await?,
                FailoverStep::Refuse(refusal) => {
                    return Err(self.refuse(lb, refusal, &learnt));
                }
                FailoverStep::Nothing => {
                    self.progress.line(
                        Layer::LoadBalancers,
                        &format!("{} is ACTIVE now: nothing to fail over", label(lb)),
                    );
                    return Ok(None);
                }
                FailoverStep::Start => break,
            }
        }
        let (Some(before), Some(swept)) = (learnt.before, learnt.swept) else {
            return Err(self.stop(
                Layer::LoadBalancers,
                "the failover policy started without the state it needs (a bug): nothing sent"
                    .into(),
            ));
        };
        // The endpoint as it is before the failover, to compare with after it.
        let floating_before = self.floating_ips(&before).await;
        self.start_failover(&before).await?;
        let (after, took) = self.follow_failover(&before).await?;
        match policy::classify(&after, Some(took)) {
            FailoverOutcome::Active { .. } => {
                self.check_endpoint(&before, floating_before, &after, took)
                    .await
            }
            outcome => Err(self.failed(&after, took, outcome, &swept).await),
        }
    }

    /// Learns one fact the policy asked for.
    async fn learn(
        &self,
        lb: &LoadBalancer,
        need: Need,
        facts: &mut FailoverFacts,
        learnt: &mut Learnt,
    ) -> Result<(), Stopped> {
        match need {
            Need::Amphorae => {
                let observation = self.observe_amphorae().await?;
                let built = layers::amphorae::classify(&observation, &self.p.site.octavia).built();
                facts.cloud = Some(self.failed_failover(lb, &built));
                learnt.amphorae = Some(observation);
            }
            Need::Room => facts.room = Some(self.make_room(lb, facts.named, learnt).await?),
            Need::Confirmation => {
                self.confirm_failover(lb).await?;
                facts.confirmed = true;
            }
            Need::State => {
                // The state may have moved during the sweep: act only on what is there now.
                let now = octavia::show_load_balancer(self.p.session, Scope::Admin, &lb.id)
                    .await
                    .map_err(|e| self.stop(Layer::LoadBalancers, first_line(&e)))?;
                facts.now = Some(now.provisioning_status.clone());
                learnt.before = Some(now);
            }
            Need::Busy => facts.busy = Some(self.busy_with_others(lb).await?),
        }
        Ok(())
    }

    /// Sweeps (verify-then-delete) and measures the headroom: the room a failover
    /// needs. `named`: the operator named it, so the record of its own failed
    /// failover may be swept.
    async fn make_room(
        &self,
        lb: &LoadBalancer,
        named: bool,
        learnt: &mut Learnt,
    ) -> Result<Room, Stopped> {
        self.progress.line(
            Layer::LoadBalancers,
            &format!(
                "{}: provisioning {}, operating {}: failing over, after a sweep and a headroom check",
                label(lb),
                lb.provisioning_status,
                lb.operating_status
            ),
        );
        let Some(observation) = learnt.amphorae.as_ref() else {
            return Err(self.stop(Layer::Amphorae, "the failover policy asked for a sweep before the amphorae were read (a bug): nothing deleted".into()));
        };
        let overriding = named.then_some(lb.id.as_str());
        let swept = self
            .sweep_observed(observation, Deleting::Yes { overriding })
            .await?;
        let row = self.measure_headroom(true).await;
        // Orphans the operator did not let us delete hold a slot each.
        let held_by_orphans = swept
            .orphans
            .iter()
            .filter(|o| o.host.is_some() && swept.left.contains(&o.server_id))
            .count();
        if !row.state.is_blocking() {
            self.say_headroom(&row);
        }
        let room = Room {
            state: row.state,
            held_by_orphans,
        };
        learnt.swept = Some(swept);
        learnt.headroom = Some(row);
        Ok(room)
    }

    /// Asks for the failover (or takes `--yes`); a no stops it, as "needs --yes".
    async fn confirm_failover(&self, lb: &LoadBalancer) -> Result<(), Stopped> {
        self.confirm(&format!(
            "fail over load balancer {}, now provisioning {} (Octavia builds a replacement amphora, ~108 s, then reaps the old one; the VIP is kept; with a STANDALONE amphora the kube-api endpoint blips mid-failover, nodes and pods are unaffected)",
            label(lb),
            lb.provisioning_status
        ))
        .await
        .map_err(|r| match crate::interrupt::requested() {
            Some(_) => self.stop(
                Layer::LoadBalancers,
                "interrupted at the question: no failover started".to_string(),
            ),
            None => self.not_confirmed(
                Layer::LoadBalancers,
                format!(
                    "{r}; {} does it unattended",
                    self.confirm_by.again(
                        "failover",
                        &lb.id.to_string(),
                        &format!("load-balancers=[{}]", lb.id)
                    )
                ),
            ),
        })
    }

    /// The project's other load balancers Octavia is working on (PENDING_*).
    async fn busy_with_others(&self, lb: &LoadBalancer) -> Result<Vec<String>, Stopped> {
        match layers::load_balancers::probe(self.p).await {
            Ok(o) => Ok(o
                .all()
                .chain(&o.others)
                .filter(|other| other.id != lb.id && other.provisioning_status.is_pending())
                .map(|other| format!("{} ({})", other.id, other.provisioning_status))
                .collect()),
            Err(e) => Err(self.stop(
                Layer::LoadBalancers,
                format!(
                    "not failing over {}: cannot list the site's load balancers to make sure no other failover is in flight ({})",
                    label(lb),
                    first_line(&e)
                ),
            )),
        }
    }

    /// Why no failover is started, said and journaled as a stop.
    fn refuse(&self, lb: &LoadBalancer, refusal: Refusal, learnt: &Learnt) -> Stopped {
        let label = label(lb);
        let never_retried = |what: String| {
            format!(
                "{what}. A failed failover is never retried automatically: read octavia-worker.log, fix the cause (`juju-capi-restore headroom`, the sweep), then run `juju-capi-restore failover {}` once",
                lb.id
            )
        };
        let headroom = learnt.headroom.as_ref();
        let figures = headroom.map(|r| r.evidence.join("; ")).unwrap_or_default();
        let no_slot = |hint: String| {
            format!(
                "no amphora slot on any enabled compute host, so no failover is started ({figures}); {}{hint}",
                headroom.and_then(|r| r.next.as_deref()).unwrap_or_default()
            )
        };
        let (layer, why) = match refusal {
            Refusal::FailedBefore(remembered) => (
                Layer::LoadBalancers,
                never_retried(format!(
                    "{label} is in provisioning {} and its last failover (run {}) ended: {}",
                    lb.provisioning_status, remembered.run, remembered.said
                )),
            ),
            Refusal::CloudShowsFailed(failed) => {
                self.journal.decided(
                    Some(Layer::LoadBalancers),
                    Decided::RefusedFailover {
                        refused_failover: lb.id.clone(),
                        because: "the cloud shows a failed failover".into(),
                        evidence: failed.evidence.clone(),
                    },
                );
                (
                    Layer::LoadBalancers,
                    never_retried(format!(
                        "`{}` ({}) is in provisioning ERROR and the cloud shows that its last failover failed: {}",
                        lb.name,
                        lb.id,
                        failed.evidence.join("; ").trim_end_matches('.')
                    )),
                )
            }
            Refusal::NoSlot => (Layer::Headroom, no_slot(String::new())),
            // The slot is there to be had by a delete nobody confirmed: that is
            // "needs --yes", not a fault of the cloud.
            Refusal::SlotHeldByOrphans(n) => {
                return self.not_confirmed(
                    Layer::Headroom,
                    no_slot(format!(
                        "; {n} orphan(s) left in place hold a slot each: {} deletes them",
                        self.confirm_by.word()
                    )),
                );
            }
            Refusal::RoomUnknown => (
                Layer::Headroom,
                format!(
                    "{}: {figures}; no failover is started without knowing there is a slot",
                    headroom.map(|r| r.summary.as_str()).unwrap_or_default()
                ),
            ),
            Refusal::Working(status) => (
                Layer::LoadBalancers,
                format!(
                    "{label} is now {status}: Octavia accepts a failover only from ACTIVE or ERROR; it is working on it, so wait (`juju-capi-restore restore` waits for it) and look again"
                ),
            ),
            Refusal::Busy(busy) => (
                Layer::LoadBalancers,
                format!(
                    "not failing over {label}: Octavia is busy with {}; failovers run one at a time (one slot of headroom is one failover): wait for it (`juju-capi-restore restore` waits) and run again",
                    busy.join(", ")
                ),
            ),
        };
        self.stop(layer, why)
    }

    /// Sends the failover. A 4xx started nothing; a 5xx or a lost connection may
    /// have started it, so the load balancer is read again and the request never
    /// re-sent.
    async fn start_failover(&self, before: &LoadBalancer) -> Result<(), Stopped> {
        let label = label(before);
        if crate::interrupt::requested().is_some() {
            return Err(self.stop(
                Layer::LoadBalancers,
                "interrupted before the failover".into(),
            ));
        }
        let request = Request::new(journal::FAILOVER)
            .load_balancer(&before.id)
            .with("name", &before.name)
            .with("from", &before.provisioning_status)
            .with("vip", &before.vip_address)
            .with("scope", "admin");
        let session = self.p.session;
        let result = self
            .journal
            .change(
                Layer::LoadBalancers,
                request,
                octavia::failover_load_balancer(session, &before.id),
            )
            .await;
        let error = match result {
            Ok(()) => {
                self.changed(format!("failed over load balancer {}", before.id));
                return Ok(());
            }
            Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
                self.not_started(before, &first_line(&e));
                return Err(self.stop(
                    Layer::LoadBalancers,
                    format!(
                        "Octavia refused the failover of {label}: {}; `juju-capi-restore status` shows its state now",
                        first_line(&e)
                    ),
                ));
            }
            Err(e) => e,
        };
        let now = octavia::show_load_balancer(session, Scope::Admin, &before.id).await;
        match (policy::after_failed_request(before, now.as_ref().ok()), now) {
            (FailedRequest::Started, Ok(now)) => {
                self.changed(format!("failed over load balancer {}", before.id));
                self.progress.line(
                    Layer::LoadBalancers,
                    &format!(
                        "the failover request failed ({}), but {label} has moved since (now {}): Octavia started it; following it",
                        first_line(&error),
                        now.provisioning_status
                    ),
                );
                Ok(())
            }
            (FailedRequest::NotStarted, Ok(now)) => {
                self.not_started(before, &first_line(&error));
                Err(self.stop(
                    Layer::LoadBalancers,
                    format!(
                        "the failover request for {label} failed ({}), and Octavia shows it unchanged since ({}, updated {}): it was not started. Not re-sent automatically; run `juju-capi-restore failover {}` once the API answers",
                        first_line(&error),
                        now.provisioning_status,
                        now.updated_at.as_deref().unwrap_or("-"),
                        before.id
                    ),
                ))
            }
            (_, now) => Err(self.stop(
                Layer::LoadBalancers,
                format!(
                    "the failover request for {label} failed ({}), and its state cannot be read ({}): the failover may have started. Do not re-send it: `juju-capi-restore restore` waits out any PENDING and starts no other; `juju-capi-restore status` shows where it is",
                    first_line(&error),
                    now.err().map(|e| first_line(&e)).unwrap_or_default()
                ),
            )),
        }
    }

    /// Polls the load balancer until it leaves PENDING_*; returns it then and how
    /// long the flow took.
    async fn follow_failover(
        &self,
        before: &LoadBalancer,
    ) -> Result<(LoadBalancer, Duration), Stopped> {
        let session = self.p.session;
        let started = tokio::time::Instant::now();
        let pending_since = std::sync::Mutex::new(None::<jiff::Timestamp>);
        let waited = self
            .gate(
                Layer::LoadBalancers,
                Gate::Failover,
                format!("{} out of PENDING_UPDATE", label(before)),
                || async {
                    let now =
                        octavia::show_load_balancer(session, Scope::Admin, &before.id).await?;
                    if now.provisioning_status.is_settled() {
                        return Ok::<_, ApiError>(Check::Done(now));
                    }
                    let mut since = pending_since.lock().unwrap_or_else(|p| p.into_inner());
                    if since.is_none() {
                        *since = now.updated();
                    }
                    Ok(Check::NotYet(format!(
                        "provisioning {}, operating {}",
                        now.provisioning_status, now.operating_status
                    )))
                },
            )
            .await
            .map_err(|e| {
                let advice = match e {
                    WaitError::Interrupted { .. } => "the failover goes on inside Octavia; `juju-capi-restore restore` waits for it to leave PENDING_UPDATE and starts no other",
                    _ => "it may still be running inside Octavia: `juju-capi-restore restore` waits for it to leave PENDING_UPDATE and starts no other; if it stays PENDING, read octavia-worker.log on the octavia units",
                };
                self.stop(Layer::LoadBalancers, format!("{e}; {advice}"))
            })?;
        let after = waited.value;
        // Octavia's own clock says how long the flow ran; ours (on the cloud's clock,
        // like every time people read) includes polling.
        let since = *pending_since.lock().unwrap_or_else(|p| p.into_inner());
        let watched = started.elapsed().mul_f64(self.p.site.time_scale());
        let took = policy::took(since, after.updated(), watched);
        Ok((after, took))
    }

    /// A failover that reached ACTIVE: the VIP and floating IP must not have moved.
    /// `floating_before`: the floating IPs on the VIP port read before the request.
    async fn check_endpoint(
        &self,
        before: &LoadBalancer,
        floating_before: (Option<Vec<String>>, Option<String>),
        after: &LoadBalancer,
        took: Duration,
    ) -> Result<Option<FailedOver>, Stopped> {
        let label = label(before);
        let (fips_before, fips_error) = floating_before;
        let (fips_after, fips_error_after) = self.floating_ips(after).await;
        let changed =
            policy::endpoint_changes(before, after, fips_before.as_deref(), fips_after.as_deref());
        let vip = after.vip_address.as_deref().unwrap_or("-");
        let kept = match (&fips_before, &fips_after) {
            _ if !changed.is_empty() => String::new(),
            (Some(a), Some(_)) if a.is_empty() => format!("VIP {vip} kept (no floating IP on it)"),
            (Some(a), Some(_)) => format!("VIP {vip} and floating IP {} kept", a.join(", ")),
            _ => format!(
                "VIP {vip} kept; floating IPs not compared: {}",
                fips_error.or(fips_error_after).unwrap_or_default()
            ),
        };
        let outcome = FailoverOutcome::Active {
            took_s: Some(took.as_secs()),
        };
        let words: Vec<String> = changed.iter().map(EndpointChange::to_string).collect();
        self.journal.action(
            Layer::LoadBalancers,
            failover_result(&before.id, &outcome)
                .with("took_s", took.as_secs())
                .with("vip", &after.vip_address)
                .with("floating_ips", &fips_after)
                .with("changed", &words),
        );
        if !changed.is_empty() {
            return Err(self.stop(
                Layer::LoadBalancers,
                format!(
                    "{label} failed over in {}, but {}: the workload cluster's endpoint moved; check its kubeconfigs and CAPO's OpenStackCluster before anything else",
                    secs(took),
                    words.join(", ")
                ),
            ));
        }
        self.progress.line(
            Layer::LoadBalancers,
            &format!(
                "{label}: failover succeeded in {} (runbook: ~108 s), operating {}; {kept}",
                secs(took),
                after.operating_status
            ),
        );
        Ok(Some(FailedOver {
            load_balancer: before.id.clone(),
            took,
        }))
    }

    /// A failover that ended in ERROR: evidence gathered, orphans reported and kept
    /// (a failed failover leaves one), and stopped. Never retried.
    async fn failed(
        &self,
        lb: &LoadBalancer,
        took: Duration,
        outcome: FailoverOutcome,
        before: &Swept,
    ) -> Stopped {
        let label = label(lb);
        let fast = matches!(
            outcome,
            FailoverOutcome::Failed {
                class: FailureClass::FastFail,
                ..
            }
        );
        let class = if fast {
            format!(
                "a fast fail after {}: an early-flow failure, usually NoValidHost (the scheduler placed no replacement amphora)",
                secs(took)
            )
        } else {
            format!(
                "failed after {}: a late-flow failure (amphora boot, network plumbing or the amphora agent)",
                secs(took)
            )
        };
        self.progress.line(
            Layer::LoadBalancers,
            &format!("{label}: failover FAILED, {class}"),
        );
        let mut evidence = Vec::new();
        if let Some(log) = self
            .octavia_log(
                Layer::LoadBalancers,
                "octavia-worker.log",
                &self.p.site.juju.worker_log,
            )
            .await
        {
            let lines = crate::juju::relevant(&log, &lb.id);
            for line in &lines {
                self.progress.line(
                    Layer::LoadBalancers,
                    &format!("  octavia-worker.log: {line}"),
                );
            }
            evidence.extend(lines);
        }
        self.journal.action(
            Layer::LoadBalancers,
            failover_result(&lb.id, &outcome)
                .with("took_s", took.as_secs())
                .with("class", &class)
                .with("worker_log", &evidence),
        );
        let cause = self.new_orphans_fault(before).await;
        let advice = if fast {
            "Placement showed a slot, so the scheduler's filters refused it: check the amphora flavor and image properties, availability zones, aggregates and anti-affinity against the compute hosts, and octavia-worker.log"
        } else {
            "read octavia-worker.log on the octavia units for the step that failed"
        };
        self.stop(
            Layer::LoadBalancers,
            format!(
                "failover of {label} FAILED, {class}.{cause} Not retried: each attempt against NoValidHost mints another orphan. {advice}; then run `juju-capi-restore failover {}` once",
                lb.id
            ),
        )
    }

    /// A failed failover mints an orphan: look again and quote Nova on the servers
    /// that were not there before it. They are kept, not deleted: the cloud's record
    /// of this failure, which bars a retry by any run (see [`never_retry`]).
    async fn new_orphans_fault(&self, before: &Swept) -> String {
        let again = match self.observe_amphorae().await {
            Ok(observation) => self.sweep_observed(&observation, Deleting::No).await,
            Err(stopped) => Err(stopped),
        };
        match again {
            Ok(swept) => swept
                .orphans
                .iter()
                .filter(|o| !before.orphans.iter().any(|b| b.server_id == o.server_id))
                .find_map(|o| {
                    o.fault.as_ref().map(|f| {
                        format!(
                            " Nova says of the replacement `amphora-{}`: {}.",
                            o.amphora_id,
                            f.trim_end_matches('.')
                        )
                    })
                })
                .unwrap_or_default(),
            Err(s) => format!(" (The re-sweep stopped: {}.)", s.why),
        }
    }

    /// The cloud's evidence that the last failover of `lb` failed recently (see
    /// [`never_retry`]), from servers with no amphora row: provable orphans and
    /// lookalikes alike, since barring a retry is the safe side.
    pub(crate) fn failed_failover(
        &self,
        lb: &LoadBalancer,
        built: &[never_retry::Built],
    ) -> Option<never_retry::FailedFailover> {
        never_retry::evidence(
            lb,
            built,
            self.p.session.cloud_now(),
            self.p.site.timeouts.failed_failover_window,
        )
    }

    /// Journals that a failover request changed nothing, so it does not count as a
    /// failed failover later.
    fn not_started(&self, lb: &LoadBalancer, why: &str) {
        let result = ActionResult::of(
            &Request::new(journal::FAILOVER).load_balancer(&lb.id),
            format!("{}: {why}", journal::NOT_STARTED),
        );
        self.journal.action(
            Layer::LoadBalancers,
            result.outcome(FailoverOutcome::NotStarted),
        );
    }

    /// Records how failovers whose run ended before knowing (killed, interrupted, a
    /// lost answer) turned out, now that Octavia shows it: so a success is not later
    /// taken for a failure, and a failure is never retried.
    pub(crate) fn settle_unknown_failovers(&self, lbs: &[LoadBalancer]) {
        for lb in lbs {
            let Some(journal::Remembered {
                run,
                outcome: FailoverOutcome::Unknown,
                ..
            }) = self.journal.last_failover(&lb.id)
            else {
                continue;
            };
            if !lb.provisioning_status.is_settled() {
                continue;
            }
            // How long it took is not known: the run that sent it did not see its end.
            let outcome = policy::classify(lb, None);
            let result = ActionResult::of(
                &Request::new(journal::FAILOVER).load_balancer(&lb.id),
                format!(
                    "{} (seen afterwards; run {run} did not know)",
                    lb.provisioning_status
                ),
            );
            self.journal
                .action(Layer::LoadBalancers, result.outcome(outcome));
        }
    }

    /// The floating IPs on a load balancer's VIP port, or why Neutron could not say.
    async fn floating_ips(&self, lb: &LoadBalancer) -> (Option<Vec<String>>, Option<String>) {
        let Some(port) = lb.vip_port_id.as_deref() else {
            return (None, Some("Octavia names no VIP port".into()));
        };
        match neutron::floating_ips_on_port(self.p.session, port).await {
            Ok(ips) => (Some(ips), None),
            Err(e) => (None, Some(format!("Neutron: {}", first_line(&e)))),
        }
    }
}

/// A failover's outcome as the journal records it: typed, and in words.
fn failover_result(lb: &str, outcome: &FailoverOutcome) -> ActionResult {
    ActionResult::of(
        &Request::new(journal::FAILOVER).load_balancer(lb),
        describe(outcome),
    )
    .outcome(outcome.clone())
}

/// How a load balancer is named in every line: `name` (id).
fn label(lb: &LoadBalancer) -> String {
    format!("`{}` ({})", lb.name, lb.id)
}

/// An outcome as the journal's `result` and the never-retry refusal say it.
pub fn describe(outcome: &FailoverOutcome) -> String {
    let after = |took_s: &Option<u64>| match took_s {
        Some(s) => format!("after {}", secs(Duration::from_secs(*s))),
        None => "(seen afterwards)".to_string(),
    };
    match outcome {
        FailoverOutcome::Active { took_s } => format!("ACTIVE {}", after(took_s)),
        FailoverOutcome::Failed { took_s, .. } => format!("ERROR {}", after(took_s)),
        FailoverOutcome::NotStarted => crate::journal::NOT_STARTED.to_string(),
        FailoverOutcome::Unknown => "no outcome recorded".to_string(),
    }
}
