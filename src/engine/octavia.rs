//! The Octavia repair (runbook Steps 5a–5c, DESIGN §4.5–§4.7), in admin scope:
//!
//! - **sweep**: amphora servers with no Octavia row are deleted, verify-then-delete:
//!   the amphora list is re-read just before each delete, which is aborted when the
//!   uuid or server id has appeared; by server UUID only; then waited out.
//! - **headroom**: a failover builds its replacement amphora before it reaps the old
//!   one, so it needs a free amphora slot; none → the failover is refused.
//! - **failover**: one load balancer at a time, after a sweep and a headroom check;
//!   polled to ACTIVE (VIP and floating IP checked unchanged) or ERROR (classified,
//!   its new orphan reported and kept as the cloud's record, and stopped). A failed
//!   failover is never retried, by this run or any other: each attempt
//!   against NoValidHost mints another orphan.
//!
//! Deleting and failing over are destructive: confirmed (`--yes` or the terminal),
//! journaled as requested before they are sent and with their result after.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;

use super::never_retry;
use super::restore::Stopped;
use super::run::{Run, first_line, secs};
use super::wait::{Check, Wait};
use crate::cloud::octavia::{self, LoadBalancer};
use crate::cloud::{ApiError, Scope, neutron, nova};
use crate::journal::Event;
use crate::layers::amphorae::{self, Lookalike, Orphan};
use crate::layers::{self, Decision, Health, Layer, Row};

/// A failover that ends in ERROR this soon is an early-flow failure (runbook: a
/// 10–20 s fast fail, usually NoValidHost).
pub const FAST_FAIL: Duration = Duration::from_secs(20);

/// What a sweep found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Swept {
    /// The orphans found.
    pub orphans: Vec<Orphan>,
    /// Server ids deleted (and gone).
    pub deleted: Vec<String>,
    /// Server ids whose delete was aborted: an amphora row appeared for them.
    pub aborted: Vec<String>,
    /// Server ids left alone: not confirmed.
    pub left: Vec<String>,
    /// Amphorae in ERROR or FAILOVER_STOPPED, with what that means.
    pub attention: Vec<String>,
    /// Servers named like amphorae that are not provably Octavia's: left alone.
    pub lookalikes: Vec<Lookalike>,
    /// Server ids kept as the cloud's record of a failed failover (see
    /// [`never_retry`]): deleted only by the operator's `failover` of that load
    /// balancer.
    pub kept: Vec<String>,
}

/// A failover that reached ACTIVE.
#[derive(Debug, Clone, Serialize)]
pub struct FailedOver {
    /// The load balancer.
    pub load_balancer: String,
    /// How long Octavia took (its own timestamps when it gives them).
    pub took: Duration,
}

impl Run<'_> {
    /// Step 5a: finds the orphan amphora servers and, when confirmed, deletes them
    /// one by one, verify-then-delete. Stops only when it cannot verify.
    pub(crate) async fn sweep(&self) -> Result<Swept, Stopped> {
        let observation = self.observe_amphorae().await?;
        self.sweep_observed(&observation, Deleting::Yes { overriding: None })
            .await
    }

    /// Both amphora inventories, or a stop that says the sweep cannot verify.
    async fn observe_amphorae(&self) -> Result<amphorae::AmphoraObservation, Stopped> {
        amphorae::probe(self.p)
            .await
            .map_err(|e| self.stop(Layer::Amphorae, first_line(&e)))
    }

    /// The sweep over inventories just read (see [`Deleting`]).
    async fn sweep_observed(
        &self,
        observation: &amphorae::AmphoraObservation,
        deleting: Deleting<'_>,
    ) -> Result<Swept, Stopped> {
        let row = amphorae::assess(observation, &self.p.site.octavia);
        self.record(&row);
        let inventory = amphorae::classify(observation, &self.p.site.octavia);
        // Every server with no row, as the never-retry rule reads them (once).
        let built = inventory.built();
        let amphorae::Inventory {
            orphans,
            lookalikes,
        } = inventory;
        // A name is not an identity: servers that only look like amphorae are said
        // once, with the sign that failed, and never become candidates.
        for lookalike in &lookalikes {
            self.progress.line(Layer::Amphorae, &lookalike.describe());
        }
        // Rows in ERROR or FAILOVER_STOPPED explain why Octavia is not healing itself.
        let attention = amphorae::stuck(&observation.amphorae);
        for line in &attention {
            self.progress.line(Layer::Amphorae, line);
        }
        let mut swept = Swept {
            orphans: orphans.clone(),
            lookalikes,
            attention,
            ..Swept::default()
        };
        if orphans.is_empty() {
            self.progress.line(Layer::Amphorae, &row.summary);
            return Ok(swept);
        }
        let now = self.p.session.cloud_now();
        let flavor = &self.p.site.amphora_flavor;
        for o in &orphans {
            // Whole minutes: an orphan's age is hours, seconds are noise.
            let age = o
                .age(now)
                .map(|a| {
                    format!(
                        ", {} old",
                        secs(Duration::from_secs(a.as_secs().max(60) / 60 * 60))
                    )
                })
                .unwrap_or_default();
            let frees = match &o.host {
                Some(h) => format!(
                    "deleting it frees one amphora slot ({} MB / {} vCPU / {} GB) on {h}",
                    flavor.memory_mb, flavor.vcpus, flavor.disk_gb
                ),
                None => "never scheduled: deleting it frees no capacity".into(),
            };
            let fault = o
                .fault
                .as_deref()
                .map(|f| format!("; fault: {f}"))
                .unwrap_or_default();
            self.progress.line(
                Layer::Amphorae,
                &format!(
                    "{}: server {} `amphora-{}` in project {}{age}; {frees}{fault}",
                    o.describe(),
                    o.server_id,
                    o.amphora_id,
                    o.project_id
                ),
            );
        }
        self.zombie_evidence(&orphans).await;
        let overriding = match deleting {
            Deleting::No => {
                self.progress.line(
                    Layer::Amphorae,
                    "left in place: the cloud's record of the failed failover (it bars an automatic retry by any run, whoever's journal); the operator's `juju-capi-restore failover <LB>` sweeps them first",
                );
                swept.left = orphans.iter().map(|o| o.server_id.clone()).collect();
                return Ok(swept);
            }
            Deleting::Yes { overriding } => overriding,
        };
        // An orphan that records a failed failover of one of the site's load balancers
        // is kept: deleting it would erase the bar on retrying that failover for every
        // other run. Only the operator's `failover` of that load balancer sweeps it.
        let records = self.failed_failover_records(&built, overriding).await;
        let (kept, orphans): (Vec<Orphan>, Vec<Orphan>) = orphans.into_iter().partition(|o| {
            records
                .as_ref()
                .map_or(true, |r| r.contains_key(&o.server_id))
        });
        for o in &kept {
            let why = match records.as_ref().map(|r| r.get(&o.server_id)) {
                Ok(Some(lb)) => format!(
                    "the cloud's record that a failover of load balancer {lb} failed (it bars an automatic retry by any run); `juju-capi-restore failover {lb}` sweeps it"
                ),
                _ => format!(
                    "the load balancers could not be read to make sure it records no failed failover ({})",
                    records
                        .as_ref()
                        .err()
                        .map(String::as_str)
                        .unwrap_or_default()
                ),
            };
            self.progress.line(
                Layer::Amphorae,
                &format!("keeping {} `amphora-{}`: {why}", o.server_id, o.amphora_id),
            );
        }
        swept.kept = kept.iter().map(|o| o.server_id.clone()).collect();
        if orphans.is_empty() {
            return Ok(swept);
        }
        let ids: Vec<&str> = orphans.iter().map(|o| o.server_id.as_str()).collect();
        let question = format!(
            "delete {} by UUID ({}), each re-verified against Octavia's amphora list just before",
            crate::words::count(
                orphans.len(),
                "orphan amphora server",
                "orphan amphora servers"
            ),
            ids.join(", ")
        );
        if let Err(refused) = self.confirm(&question).await {
            if super::interrupt::requested().is_some() {
                return Err(self.stop(
                    Layer::Amphorae,
                    "interrupted at the question: nothing deleted".into(),
                ));
            }
            self.progress.line(
                Layer::Amphorae,
                &format!("left in place ({refused}); `juju-capi-restore sweep --yes` deletes them"),
            );
            swept.left = ids.iter().map(|s| s.to_string()).collect();
            return Ok(swept);
        }
        for orphan in &orphans {
            if super::interrupt::requested().is_some() {
                return Err(self.stop(
                    Layer::Amphorae,
                    "interrupted: the remaining orphans were not deleted".into(),
                ));
            }
            match self.delete_orphan(orphan).await? {
                Deleted::Gone => swept.deleted.push(orphan.server_id.clone()),
                Deleted::Aborted => swept.aborted.push(orphan.server_id.clone()),
                Deleted::AlreadyGone => {}
            }
        }
        Ok(swept)
    }

    /// The health manager's word on the zombies, when Juju can show it: evidence for
    /// the operator, never a condition for deleting.
    async fn zombie_evidence(&self, orphans: &[Orphan]) {
        let zombies: Vec<&Orphan> = orphans
            .iter()
            .filter(|o| o.kind == amphorae::OrphanKind::Zombie)
            .collect();
        if zombies.is_empty() {
            return;
        }
        let log = self
            .octavia_log(
                Layer::Amphorae,
                "health-manager.log",
                &self.p.site.juju.health_manager_log,
            )
            .await;
        let Some(lines) = log.map(|log| crate::juju::heartbeats(&log)) else {
            return;
        };
        for z in zombies {
            match lines.iter().rev().find(|l| l.contains(&z.amphora_id)) {
                Some(line) => self
                    .progress
                    .line(Layer::Amphorae, &format!("  health-manager.log: {line}")),
                None => self.progress.line(
                    Layer::Amphorae,
                    &format!(
                        "  health-manager.log: nothing about amphora {} lately",
                        z.amphora_id
                    ),
                ),
            }
        }
    }

    /// A log of the octavia unit through Juju, for evidence only: on an expired
    /// login, a person at a terminal may let juju ask for the password (the call runs
    /// again with the terminal as its stdin); otherwise the run goes on without it,
    /// saying why once.
    async fn octavia_log(
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

    /// An aborted delete: said and journaled.
    fn not_deleting(&self, server_id: &str, why: String) -> Deleted {
        self.progress.line(Layer::Amphorae, &why);
        self.journal.record(
            Event::Decision,
            Some("amphorae"),
            json!({"aborted_delete": server_id, "why": why}),
        );
        Deleted::Aborted
    }

    /// Re-verifies one orphan against a fresh amphora list and Nova, deletes it by
    /// UUID, and waits until Nova no longer has it.
    async fn delete_orphan(&self, orphan: &Orphan) -> Result<Deleted, Stopped> {
        let session = self.p.session;
        let cannot_verify = |e: ApiError| {
            self.stop(
                Layer::Amphorae,
                format!(
                    "cannot re-read Octavia's amphora list before deleting {}: {}; nothing deleted without that check",
                    orphan.server_id,
                    first_line(&e)
                ),
            )
        };
        let rows = octavia::list_amphorae(session)
            .await
            .map_err(cannot_verify)?;
        if let Some(row) = rows.iter().find(|a| {
            a.id.eq_ignore_ascii_case(&orphan.amphora_id)
                || a.compute_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(&orphan.server_id))
        }) {
            return Ok(self.not_deleting(
                &orphan.server_id,
                format!(
                    "NOT deleting {} `amphora-{}`: Octavia now has amphora row {} ({}) for it, so it is in use",
                    orphan.server_id, orphan.amphora_id, row.id, row.status
                ),
            ));
        }
        // The server itself, again: still the same `amphora-<uuid>`?
        match nova::show_server(session, Scope::Admin, &orphan.server_id).await {
            Err(e) if e.status() == Some(404) => {
                self.progress.line(
                    Layer::Amphorae,
                    &format!("{} is already gone", orphan.server_id),
                );
                return Ok(Deleted::AlreadyGone);
            }
            Err(e) => {
                return Err(self.stop(
                    Layer::Amphorae,
                    format!(
                        "cannot show server {} again before deleting it: {}; nothing deleted without that check",
                        orphan.server_id,
                        first_line(&e)
                    ),
                ));
            }
            Ok(s) => {
                if let Err(changed) = orphan.is_still(&s) {
                    return Ok(
                        self.not_deleting(&s.id, format!("NOT deleting {}: {changed}", s.id))
                    );
                }
            }
        }
        let request = json!({"request": "server delete", "server": orphan.server_id, "name": format!("amphora-{}", orphan.amphora_id), "kind": orphan.kind, "host": orphan.host, "scope": "admin"});
        let result = self
            .journal
            .change(
                "amphorae",
                request,
                nova::delete_server(session, Scope::Admin, &orphan.server_id),
            )
            .await;
        match result {
            Ok(()) => self.changed(format!(
                "deleted orphan amphora server {} `amphora-{}`",
                orphan.server_id, orphan.amphora_id
            )),
            Err(e) if e.status() == Some(404) => return Ok(Deleted::AlreadyGone),
            Err(e) => {
                return Err(self.stop(
                    Layer::Amphorae,
                    format!("deleting {}: {}", orphan.server_id, first_line(&e)),
                ));
            }
        }
        let id = orphan.server_id.clone();
        let wait = Wait {
            what: format!("server {id} gone"),
            interval: self.p.site.poll.server,
            deadline: self.p.site.timeouts.server_deleted,
            scale: self.p.site.time_scale(),
        };
        let waited = self
            .gate(Layer::Amphorae, "a few seconds", wait, || {
                let id = id.clone();
                async move {
                    match nova::show_server(session, Scope::Admin, &id).await {
                        Err(e) if e.status() == Some(404) => Ok(Check::Done(())),
                        Err(e) => Err(e),
                        Ok(s) => Ok(Check::NotYet(format!(
                            "{}{}",
                            s.status,
                            s.task_state.map(|t| format!(", {t}")).unwrap_or_default()
                        ))),
                    }
                }
            })
            .await
            .map_err(|e| self.stop(Layer::Amphorae, e.to_string()))?;
        self.progress.line(
            Layer::Amphorae,
            &format!(
                "deleted {} `amphora-{}` (gone after {})",
                orphan.server_id,
                orphan.amphora_id,
                secs(waited.elapsed)
            ),
        );
        Ok(Deleted::Gone)
    }

    /// Step 5b: free amphora slots from Placement. With `needed` (a failover is
    /// next) and no slot anywhere, stops with the figures.
    pub(crate) async fn headroom(
        &self,
        needed: bool,
        swept: Option<&Swept>,
    ) -> Result<Row, Stopped> {
        let row = match layers::headroom::probe(self.p).await {
            Ok(o) => layers::headroom::assess(&o, &self.p.site.amphora_flavor, needed),
            Err(e) => Row::unobservable(Layer::Headroom, &e),
        };
        self.record(&row);
        if needed && row.state.is_blocking() {
            let figures = row.evidence.join("; ");
            let why = if row.state == Health::Red {
                // Orphans the operator did not let us delete hold slots: say so.
                let holding = swept.map_or(0, |s| {
                    s.orphans
                        .iter()
                        .filter(|o| o.host.is_some() && s.left.contains(&o.server_id))
                        .count()
                });
                let hint = match holding {
                    0 => String::new(),
                    n => format!(
                        "; {n} orphan(s) left in place hold a slot each: `--yes` (or a yes on the terminal) deletes them"
                    ),
                };
                let why = format!(
                    "no amphora slot on any enabled compute host, so no failover is started ({figures}); {}{hint}",
                    row.next.as_deref().unwrap_or_default()
                );
                // The slot is there to be had by a delete nobody confirmed: that is
                // "needs --yes", not a fault of the cloud.
                if holding > 0 {
                    return Err(self.not_confirmed(Layer::Headroom, why));
                }
                why
            } else {
                format!(
                    "{}: {figures}; no failover is started without knowing there is a slot",
                    row.summary
                )
            };
            return Err(self.stop(Layer::Headroom, why));
        }
        self.progress.line(Layer::Headroom, &row.summary);
        for line in &row.evidence {
            self.progress.line(Layer::Headroom, &format!("  {line}"));
        }
        Ok(row)
    }

    /// Step 5c for one load balancer: sweep, headroom, failover, poll, check. `named`:
    /// the operator named it (ACTIVE allowed, as Octavia allows, and an earlier failed
    /// failover is no bar); else only provisioning ERROR, and never after a failover
    /// of it that did not end ACTIVE. `None`: nothing to do after all.
    pub(crate) async fn failover(
        &self,
        lb: &LoadBalancer,
        named: bool,
    ) -> Result<Option<FailedOver>, Stopped> {
        let session = self.p.session;
        let label = format!("`{}` ({})", lb.name, lb.id);
        // Never retry a failed failover automatically: each attempt against
        // NoValidHost mints another orphan. The journal remembers across runs.
        if !named
            && let Some((run, outcome)) = self.journal.last_failover(&lb.id)
            && !outcome.starts_with("ACTIVE")
        {
            return Err(self.stop(
                Layer::LoadBalancers,
                format!(
                    "{label} is in provisioning {} and its last failover (run {run}) ended: {outcome}. A failed failover is never retried automatically: read octavia-worker.log, fix the cause (`juju-capi-restore headroom`, the sweep), then run `juju-capi-restore failover {}` once",
                    lb.provisioning_status, lb.id
                ),
            ));
        }
        let observation = self.observe_amphorae().await?;
        if !named
            && let Some(failed) = self.failed_failover(
                lb,
                &amphorae::classify(&observation, &self.p.site.octavia).built(),
            )
        {
            return Err(self.refuse_failover(lb, failed));
        }
        self.progress.line(
            Layer::LoadBalancers,
            &format!(
                "{label}: provisioning {}, operating {}: failing over, after a sweep and a headroom check",
                lb.provisioning_status, lb.operating_status
            ),
        );
        // Named by the operator: the record of its own failed failover may go.
        let overriding = named.then_some(lb.id.as_str());
        let swept = self
            .sweep_observed(&observation, Deleting::Yes { overriding })
            .await?;
        self.headroom(true, Some(&swept)).await?;
        self.confirm(&format!(
            "fail over load balancer {label}, now provisioning {} (Octavia builds a replacement amphora, ~108 s, then reaps the old one; the VIP is kept; with a STANDALONE amphora the kube-api endpoint blips mid-failover, nodes and pods are unaffected)",
            lb.provisioning_status
        ))
        .await
        .map_err(|r| match super::interrupt::requested() {
            Some(_) => self.stop(
                Layer::LoadBalancers,
                "interrupted at the question: no failover started".to_string(),
            ),
            None => self.not_confirmed(
                Layer::LoadBalancers,
                format!(
                    "{r}; `juju-capi-restore failover {} --yes` does it unattended",
                    lb.id
                ),
            ),
        })?;
        // The state may have moved during the sweep: act only on what is there now.
        let before = octavia::show_load_balancer(session, Scope::Admin, &lb.id)
            .await
            .map_err(|e| self.stop(Layer::LoadBalancers, first_line(&e)))?;
        match &before.provisioning_status {
            crate::cloud::octavia::ProvisioningStatus::Error => {}
            crate::cloud::octavia::ProvisioningStatus::Active if named => {}
            crate::cloud::octavia::ProvisioningStatus::Active => {
                self.progress.line(
                    Layer::LoadBalancers,
                    &format!("{label} is ACTIVE now: nothing to fail over"),
                );
                return Ok(None);
            }
            status => {
                return Err(self.stop(
                    Layer::LoadBalancers,
                    format!(
                        "{label} is now {status}: Octavia accepts a failover only from ACTIVE or ERROR; it is working on it, so wait (`juju-capi-restore restore` waits for it) and look again"
                    ),
                ));
            }
        }
        // One at a time: no failover while Octavia is busy with another of the site's.
        let busy: Vec<String> = match layers::load_balancers::probe(self.p).await {
            Ok(o) => o
                .all()
                .chain(&o.others)
                .filter(|other| other.id != lb.id && other.provisioning_status.is_pending())
                .map(|other| format!("{} ({})", other.id, other.provisioning_status))
                .collect(),
            Err(e) => {
                return Err(self.stop(
                    Layer::LoadBalancers,
                    format!(
                        "not failing over {label}: cannot list the site's load balancers to make sure no other failover is in flight ({})",
                        first_line(&e)
                    ),
                ));
            }
        };
        if !busy.is_empty() {
            return Err(self.stop(
                Layer::LoadBalancers,
                format!(
                    "not failing over {label}: Octavia is busy with {}; failovers run one at a time (one slot of headroom is one failover): wait for it (`juju-capi-restore restore` waits) and run again",
                    busy.join(", ")
                ),
            ));
        }
        let (fips_before, fips_error) = self.floating_ips(&before).await;
        if super::interrupt::requested().is_some() {
            return Err(self.stop(
                Layer::LoadBalancers,
                "interrupted before the failover".into(),
            ));
        }
        let request = json!({"request": "loadbalancer failover", "load_balancer": lb.id, "name": lb.name, "from": before.provisioning_status, "vip": before.vip_address, "scope": "admin"});
        let started = std::time::Instant::now();
        let result = self
            .journal
            .change(
                "load-balancers",
                request,
                octavia::failover_load_balancer(session, &lb.id),
            )
            .await;
        match result {
            Ok(()) => self.changed(format!("failed over load balancer {}", lb.id)),
            Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
                self.not_started(lb, &first_line(&e));
                return Err(self.stop(
                    Layer::LoadBalancers,
                    format!(
                        "Octavia refused the failover of {label}: {}; `juju-capi-restore status` shows its state now",
                        first_line(&e)
                    ),
                ));
            }
            // A 5xx or a lost connection: Octavia may have started it, and a fast fail
            // may even be over. Look (has it moved since?), never re-send.
            Err(e) => match octavia::show_load_balancer(session, Scope::Admin, &lb.id).await {
                Ok(now)
                    if now.provisioning_status.is_pending()
                        || now.updated_at != before.updated_at =>
                {
                    self.changed(format!("failed over load balancer {}", lb.id));
                    self.progress.line(
                        Layer::LoadBalancers,
                        &format!(
                            "the failover request failed ({}), but {label} has moved since (now {}): Octavia started it; following it",
                            first_line(&e),
                            now.provisioning_status
                        ),
                    );
                }
                Ok(now) => {
                    self.not_started(lb, &first_line(&e));
                    return Err(self.stop(
                        Layer::LoadBalancers,
                        format!(
                            "the failover request for {label} failed ({}), and Octavia shows it unchanged since ({}, updated {}): it was not started. Not re-sent automatically; run `juju-capi-restore failover {}` once the API answers",
                            first_line(&e),
                            now.provisioning_status,
                            now.updated_at.as_deref().unwrap_or("-"),
                            lb.id
                        ),
                    ));
                }
                Err(e2) => {
                    return Err(self.stop(
                        Layer::LoadBalancers,
                        format!(
                            "the failover request for {label} failed ({}), and its state cannot be read ({}): the failover may have started. Do not re-send it: `juju-capi-restore restore` waits out any PENDING and starts no other; `juju-capi-restore status` shows where it is",
                            first_line(&e),
                            first_line(&e2)
                        ),
                    ));
                }
            },
        }
        let mut pending_since: Option<jiff::Timestamp> = None;
        let wait = Wait {
            what: format!("{label} out of PENDING_UPDATE"),
            interval: self.p.site.poll.failover,
            deadline: self.p.site.timeouts.failover,
            scale: self.p.site.time_scale(),
        };
        let pending = std::sync::Mutex::new(&mut pending_since);
        let waited = self
            .gate(Layer::LoadBalancers, "~108 s", wait, 
                || async {
                    let now = octavia::show_load_balancer(session, Scope::Admin, &lb.id).await?;
                    Ok::<_, ApiError>(match &now.provisioning_status {
                        s if s.is_settled() => Check::Done(now),
                        status => {
                            let mut since = pending.lock().unwrap_or_else(|p| p.into_inner());
                            if since.is_none() {
                                **since = now.updated();
                            }
                            Check::NotYet(format!(
                                "provisioning {status}, operating {}",
                                now.operating_status
                            ))
                        }
                    })
                },
            )
            .await
            .map_err(|e| {
                let advice = match e {
                    super::wait::WaitError::Interrupted { .. } => "the failover goes on inside Octavia; `juju-capi-restore restore` waits for it to leave PENDING_UPDATE and starts no other",
                    _ => "it may still be running inside Octavia: `juju-capi-restore restore` waits for it to leave PENDING_UPDATE and starts no other; if it stays PENDING, read octavia-worker.log on the octavia units",
                };
                self.stop(Layer::LoadBalancers, format!("{e}; {advice}"))
            })?;
        let after = waited.value;
        // Octavia's own clock says how long the flow ran; ours includes polling.
        let took = match (pending_since, after.updated()) {
            (Some(a), Some(b)) if b >= a => {
                Duration::from_secs(b.duration_since(a).as_secs().max(0) as u64)
            }
            // Our own watch, on the cloud's clock like every time people read.
            _ => started.elapsed().mul_f64(self.p.site.time_scale()),
        };
        if after.provisioning_status == crate::cloud::octavia::ProvisioningStatus::Error {
            return Err(self.failed(&after, took, &swept).await);
        }
        let (fips_after, fips_error_after) = self.floating_ips(&after).await;
        let vip = after.vip_address.as_deref().unwrap_or("-");
        let mut changed = Vec::new();
        if after.vip_address != before.vip_address {
            changed.push(format!(
                "VIP {} → {vip}",
                before.vip_address.as_deref().unwrap_or("-")
            ));
        }
        if after.vip_port_id != before.vip_port_id {
            changed.push("VIP port replaced".into());
        }
        let kept = match (&fips_before, &fips_after) {
            (Some(a), Some(b)) if a != b => {
                changed.push(format!("floating IP {} → {}", a.join(","), b.join(",")));
                String::new()
            }
            (Some(a), Some(_)) if a.is_empty() => format!("VIP {vip} kept (no floating IP on it)"),
            (Some(a), Some(_)) => format!("VIP {vip} and floating IP {} kept", a.join(", ")),
            _ => format!(
                "VIP {vip} kept; floating IPs not compared: {}",
                fips_error.or(fips_error_after).unwrap_or_default()
            ),
        };
        self.journal.record(Event::Action, Some("load-balancers"), json!({"request": "loadbalancer failover", "load_balancer": lb.id, "result": format!("ACTIVE after {}", secs(took)), "took_s": took.as_secs(), "vip": after.vip_address, "floating_ips": fips_after, "changed": changed}));
        if !changed.is_empty() {
            return Err(self.stop(
                Layer::LoadBalancers,
                format!(
                    "{label} failed over in {}, but {}: the workload cluster's endpoint moved; check its kubeconfigs and CAPO's OpenStackCluster before anything else",
                    secs(took),
                    changed.join(", ")
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
            load_balancer: lb.id.clone(),
            took,
        }))
    }

    /// The cloud's evidence that the last failover of `lb` failed recently (see
    /// [`never_retry`]), from servers with no amphora row: provable orphans and
    /// lookalikes alike, since barring a retry is the safe side.
    fn failed_failover(
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

    /// Never retry a failed failover, whoever ran it: the refusal, as the journal's
    /// memory would give it, with the cloud's evidence journaled.
    fn refuse_failover(&self, lb: &LoadBalancer, failed: never_retry::FailedFailover) -> Stopped {
        self.journal.record(
            Event::Decision,
            Some("load-balancers"),
            json!({"refused_failover": lb.id, "because": "the cloud shows a failed failover", "evidence": failed.evidence}),
        );
        self.stop(
            Layer::LoadBalancers,
            format!(
                "`{}` ({}) is in provisioning ERROR and the cloud shows that its last failover failed: {}. A failed failover is never retried automatically, whoever ran it: read octavia-worker.log, fix the cause (`juju-capi-restore headroom`, the sweep), then run `juju-capi-restore failover {}` once",
                lb.name,
                lb.id,
                failed.evidence.join("; ").trim_end_matches('.'),
                lb.id
            ),
        )
    }

    /// Which orphan servers record a recent failed failover of one of the site's load
    /// balancers (server id → load balancer id), except `overriding`'s; Err when the
    /// load balancers cannot be read (then no orphan may be taken for a free one).
    async fn failed_failover_records(
        &self,
        built: &[never_retry::Built],
        overriding: Option<&str>,
    ) -> Result<std::collections::HashMap<String, String>, String> {
        let lbs = layers::load_balancers::probe(self.p)
            .await
            .map_err(|e| first_line(&e))?;
        Ok(lbs
            .all()
            .filter(|lb| overriding.is_none_or(|o| !lb.id.eq_ignore_ascii_case(o)))
            .filter_map(|lb| Some((lb, self.failed_failover(lb, built)?)))
            .flat_map(|(lb, failed)| failed.servers.into_iter().map(move |s| (s, lb.id.clone())))
            .collect())
    }

    /// Journals that a failover request changed nothing, so it does not count as a
    /// failed failover later.
    fn not_started(&self, lb: &LoadBalancer, why: &str) {
        self.journal.record(
            Event::Action,
            Some("load-balancers"),
            json!({"request": "loadbalancer failover", "load_balancer": lb.id, "result": format!("{}: {why}", crate::journal::NOT_STARTED)}),
        );
    }

    /// Records how failovers whose run ended before knowing (killed, interrupted, a
    /// lost answer) turned out, now that Octavia shows it: so a success is not later
    /// taken for a failure, and a failure is never retried.
    fn settle_unknown_failovers(&self, lbs: &[LoadBalancer]) {
        for lb in lbs {
            let Some((run, outcome)) = self.journal.last_failover(&lb.id) else {
                continue;
            };
            let known = outcome.starts_with("ACTIVE") || outcome.starts_with("ERROR");
            if known || !lb.provisioning_status.is_settled() {
                continue;
            }
            self.journal.record(Event::Action, Some("load-balancers"), json!({"request": "loadbalancer failover", "load_balancer": lb.id, "result": format!("{} (seen afterwards; run {run} did not know)", lb.provisioning_status)}));
        }
    }

    /// A failover that ended in ERROR: classified, evidence gathered, orphans
    /// reported and kept (a failed failover leaves one), and stopped. Never retried.
    async fn failed(&self, lb: &LoadBalancer, took: Duration, before: &Swept) -> Stopped {
        let label = format!("`{}` ({})", lb.name, lb.id);
        let fast = took <= FAST_FAIL;
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
        self.journal.record(Event::Action, Some("load-balancers"), json!({"request": "loadbalancer failover", "load_balancer": lb.id, "result": format!("ERROR after {}", secs(took)), "took_s": took.as_secs(), "class": class, "worker_log": evidence}));
        // A failed failover mints an orphan: look again and quote Nova on the servers
        // that were not there before it. They are kept, not deleted: the cloud's
        // record of this failure, which bars a retry by any run (see never_retry).
        let cause = match self.observe_amphorae().await {
            Ok(observation) => self.sweep_observed(&observation, Deleting::No).await,
            Err(stopped) => Err(stopped),
        };
        let cause = match cause {
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
        };
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
            if super::interrupt::requested().is_some() {
                return Err(self.stop(Layer::LoadBalancers, "interrupted between failovers".into()));
            }
            done.extend(self.failover(lb, named).await?);
        }
        Ok(done)
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
    fn record(&self, row: &Row) {
        self.journal.record(Event::Probe, Some(row.layer.name()), json!({"state": row.state, "summary": row.summary, "evidence": row.evidence, "diagnosis": row.diagnosis}));
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
        mut vm_seen: watch::Receiver<bool>,
    ) -> Result<(), Stopped> {
        let amphorae = match amphorae::probe(self.p).await {
            Ok(o) => amphorae::assess(&o, &self.p.site.octavia),
            Err(e) => Row::unobservable(Layer::Amphorae, &e),
        };
        let (sweep, what) = self.decide(&amphorae);
        match sweep {
            Decision::Nothing => self.progress.line(Layer::Amphorae, &amphorae.summary),
            // Orphans alone block nothing: swept before a failover, else reported.
            Decision::Sweep(_) => self.progress.line(Layer::Amphorae, &what),
            _ => return Err(self.stop(Layer::Amphorae, what)),
        }
        // Headroom counts the VM's allocation: measure it once the VM step is over.
        let _ = vm_seen.wait_for(|done| *done).await;
        // `--until amphorae` or `headroom`: report, change nothing in Octavia.
        if let Some(until) = self.until.filter(|u| *u < Layer::LoadBalancers) {
            if until >= Layer::Headroom {
                self.headroom(false, None).await?;
            }
            self.progress.line(
                until,
                &format!("--until {}: Octavia left unchanged", until.name()),
            );
            return Ok(());
        }
        let (mut lbs, mut observed) = self.load_balancers().await;
        if observed.as_ref().is_some_and(|o| o.pending()) {
            self.progress.line(
                Layer::LoadBalancers,
                &format!("{}: waiting for Octavia to finish", lbs.summary),
            );
            let wait = Wait {
                what: "load balancers out of PENDING_*".into(),
                interval: self.p.site.poll.failover,
                deadline: self.p.site.timeouts.failover,
                scale: self.p.site.time_scale(),
            };
            let waited = self
                .gate(
                    Layer::LoadBalancers,
                    "~108 s for a failover",
                    wait,
                    || async {
                        let (row, o) = self.load_balancers().await;
                        Ok::<_, std::convert::Infallible>(
                            if o.as_ref().is_some_and(|o| o.pending()) {
                                Check::NotYet(row.summary)
                            } else {
                                Check::Done((row, o))
                            },
                        )
                    },
                )
                .await
                .map_err(|e| self.stop(Layer::LoadBalancers, e.to_string()))?;
            (lbs, observed) = waited.value;
        }
        if let Some(o) = &observed {
            self.left_alone(o);
            self.settle_unknown_failovers(&o.all().cloned().collect::<Vec<_>>());
        }
        let (decision, what) = self.decide(&lbs);
        match decision {
            Decision::Nothing => {
                self.progress.line(Layer::LoadBalancers, &lbs.summary);
                // Reported for the record; no failover needs it.
                self.headroom(false, None).await?;
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
}

/// Whether a sweep may delete.
#[derive(Debug, Clone, Copy)]
enum Deleting<'a> {
    /// Report only (after a failed failover, whose orphan is the cloud's record).
    No,
    /// Delete what is confirmed, except the records of failed failovers of the
    /// site's load balancers; `overriding`: the load balancer the operator named,
    /// whose own record may go.
    Yes { overriding: Option<&'a str> },
}

/// What became of one orphan.
enum Deleted {
    /// Deleted and gone.
    Gone,
    /// Not deleted: a row appeared, or the server changed.
    Aborted,
    /// Gone before we got to it.
    AlreadyGone,
}
