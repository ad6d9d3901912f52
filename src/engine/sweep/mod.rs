//! Step 5a, the sweep (DESIGN §4.5), in admin scope: amphora servers with no Octavia
//! row are deleted, verify-then-delete: the amphora list and the server are read
//! again just before each delete ([`verify`]), which is aborted when a row has
//! appeared or the server changed; by server UUID only; then waited out.
//!
//! Deletes are destructive: confirmed (`--yes` or the terminal), journaled as
//! requested before they are sent and with their result after. An orphan that is the
//! cloud's record of a failed failover of one of the site's load balancers is kept
//! (see [`never_retry`]).

pub mod verify;

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use self::verify::Verdict;
use super::never_retry;
use super::run::{Run, first_line, secs};
use super::wait::Check;
use crate::cloud::{ApiError, Scope, nova, octavia};
use crate::ending::Stopped;
use crate::journal::{Decided, Request};
use crate::layers::amphorae::{self, AmphoraObservation, Lookalike, Orphan};
use crate::layers::{self, Layer};
use crate::site::Gate;

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
    /// Server ids kept as the cloud's record of a failed failover: deleted only by
    /// the operator's `failover` of that load balancer.
    pub kept: Vec<String>,
}

/// Whether a sweep may delete.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Deleting<'a> {
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

impl Run<'_> {
    /// Step 5a: finds the orphan amphora servers and, when confirmed, deletes them
    /// one by one, verify-then-delete. Stops only when it cannot verify.
    pub(crate) async fn sweep(&self) -> Result<Swept, Stopped> {
        let observation = self.observe_amphorae().await?;
        self.sweep_observed(&observation, Deleting::Yes { overriding: None })
            .await
    }

    /// Both amphora inventories, or a stop that says the sweep cannot verify.
    pub(crate) async fn observe_amphorae(&self) -> Result<AmphoraObservation, Stopped> {
        amphorae::probe(self.p)
            .await
            .map_err(|e| self.stop(Layer::Amphorae, first_line(&e)))
    }

    /// The sweep over inventories just read (see [`Deleting`]).
    pub(crate) async fn sweep_observed(
        &self,
        observation: &AmphoraObservation,
        deleting: Deleting<'_>,
    ) -> Result<Swept, Stopped> {
        let row = amphorae::assess(observation, &self.p.site.octavia);
        self.record(&row);
        let inventory = amphorae::classify(observation, &self.p.site.octavia);
        // Every server with no row, as the never-retry rule reads them (once).
        let built = inventory.built();
        let mut swept = self.say_inventory(observation, inventory);
        if swept.orphans.is_empty() {
            self.progress.line(Layer::Amphorae, &row.summary);
            return Ok(swept);
        }
        self.zombie_evidence(&swept.orphans).await;
        let overriding = match deleting {
            Deleting::No => {
                self.progress.line(
                    Layer::Amphorae,
                    "left in place: the cloud's record of the failed failover (it bars an automatic retry by any run, whoever's journal); the operator's `juju-capi-restore failover <LB>` sweeps them first",
                );
                swept.left = swept.orphans.iter().map(|o| o.server_id.clone()).collect();
                return Ok(swept);
            }
            Deleting::Yes { overriding } => overriding,
        };
        let deletable = self.keep_records(&mut swept, &built, overriding).await;
        if !deletable.is_empty() {
            self.delete_confirmed(&deletable, &mut swept).await?;
        }
        Ok(swept)
    }

    /// Says what the inventory holds: lookalikes (never candidates: a name is not an
    /// identity), stuck rows, and each orphan with its age and the slot it holds.
    fn say_inventory(
        &self,
        observation: &AmphoraObservation,
        inventory: amphorae::Inventory,
    ) -> Swept {
        let amphorae::Inventory {
            orphans,
            lookalikes,
        } = inventory;
        for lookalike in &lookalikes {
            self.progress.line(Layer::Amphorae, &lookalike.describe());
        }
        // Rows in ERROR or FAILOVER_STOPPED explain why Octavia is not healing itself.
        let attention = amphorae::stuck(&observation.amphorae);
        for line in &attention {
            self.progress.line(Layer::Amphorae, line);
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
        Swept {
            orphans,
            lookalikes,
            attention,
            ..Swept::default()
        }
    }

    /// Keeps the orphans that record a failed failover of one of the site's load
    /// balancers (deleting one would lift the bar on retrying that failover for every
    /// other run), except `overriding`'s; returns the rest.
    async fn keep_records(
        &self,
        swept: &mut Swept,
        built: &[never_retry::Built],
        overriding: Option<&str>,
    ) -> Vec<Orphan> {
        let records = self.failed_failover_records(built, overriding).await;
        let (kept, deletable): (Vec<Orphan>, Vec<Orphan>) =
            swept.orphans.iter().cloned().partition(|o| {
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
        deletable
    }

    /// Asks once for all of them, then deletes them one by one.
    async fn delete_confirmed(&self, orphans: &[Orphan], swept: &mut Swept) -> Result<(), Stopped> {
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
            if crate::interrupt::requested().is_some() {
                return Err(self.stop(
                    Layer::Amphorae,
                    "interrupted at the question: nothing deleted".into(),
                ));
            }
            self.progress.line(
                Layer::Amphorae,
                &format!(
                    "left in place ({refused}); {} deletes them",
                    self.confirm_by.again("sweep", "", "")
                ),
            );
            swept.left = ids.iter().map(|s| s.to_string()).collect();
            return Ok(());
        }
        for orphan in orphans {
            if crate::interrupt::requested().is_some() {
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
        Ok(())
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
            let said = match lines.iter().rev().find(|l| l.contains(&z.amphora_id)) {
                Some(line) => format!("  health-manager.log: {line}"),
                None => format!(
                    "  health-manager.log: nothing about amphora {} lately",
                    z.amphora_id
                ),
            };
            self.progress.line(Layer::Amphorae, &said);
        }
    }

    /// Re-verifies one orphan ([`verify`]), deletes it by UUID, and waits until Nova
    /// no longer has it.
    async fn delete_orphan(&self, orphan: &Orphan) -> Result<Deleted, Stopped> {
        match self.verify_again(orphan).await? {
            Verdict::Delete => {}
            Verdict::AlreadyGone => {
                self.progress.line(
                    Layer::Amphorae,
                    &format!("{} is already gone", orphan.server_id),
                );
                return Ok(Deleted::AlreadyGone);
            }
            Verdict::InUse { row, status } => {
                return Ok(self.not_deleting(
                    &orphan.server_id,
                    format!(
                        "NOT deleting {} `amphora-{}`: Octavia now has amphora row {row} ({status}) for it, so it is in use",
                        orphan.server_id, orphan.amphora_id
                    ),
                ));
            }
            Verdict::Changed(changed) => {
                return Ok(self.not_deleting(
                    &orphan.server_id,
                    format!("NOT deleting {}: {changed}", orphan.server_id),
                ));
            }
        }
        let session = self.p.session;
        let request = Request::new("server delete")
            .server(&orphan.server_id)
            .with("name", format!("amphora-{}", orphan.amphora_id))
            .with("kind", orphan.kind)
            .with("host", &orphan.host)
            .with("scope", "admin");
        let result = self
            .journal
            .change(
                Layer::Amphorae,
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
        self.await_gone(orphan).await
    }

    /// Reads Octavia's amphora list and the server again; a read that fails stops the
    /// sweep: nothing is deleted without that check.
    async fn verify_again(&self, orphan: &Orphan) -> Result<Verdict, Stopped> {
        let session = self.p.session;
        let cannot = |what: String, e: &ApiError| {
            self.stop(
                Layer::Amphorae,
                format!(
                    "{what}: {}; nothing deleted without that check",
                    first_line(e)
                ),
            )
        };
        let rows = octavia::list_amphorae(session).await.map_err(|e| {
            cannot(
                format!(
                    "cannot re-read Octavia's amphora list before deleting {}",
                    orphan.server_id
                ),
                &e,
            )
        })?;
        if let Some(in_use) = verify::in_use(orphan, &rows) {
            return Ok(in_use);
        }
        // The server itself, again: still the same `amphora-<uuid>`?
        let server = match nova::show_server(session, Scope::Admin, &orphan.server_id).await {
            Ok(s) => Some(s),
            Err(e) if e.status() == Some(404) => None,
            Err(e) => {
                return Err(cannot(
                    format!(
                        "cannot show server {} again before deleting it",
                        orphan.server_id
                    ),
                    &e,
                ));
            }
        };
        Ok(verify::verify(orphan, &rows, server.as_ref()))
    }

    /// Waits until Nova no longer has a deleted orphan.
    async fn await_gone(&self, orphan: &Orphan) -> Result<Deleted, Stopped> {
        let session = self.p.session;
        let id = &orphan.server_id;
        let waited = self
            .gate(
                Layer::Amphorae,
                Gate::ServerGone,
                format!("server {id} gone"),
                || async move {
                    match nova::show_server(session, Scope::Admin, id).await {
                        Err(e) if e.status() == Some(404) => Ok(Check::Done(())),
                        Err(e) => Err(e),
                        Ok(s) => Ok(Check::NotYet(format!(
                            "{}{}",
                            s.status,
                            s.task_state.map(|t| format!(", {t}")).unwrap_or_default()
                        ))),
                    }
                },
            )
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

    /// An aborted delete: said and journaled.
    fn not_deleting(&self, server_id: &str, why: String) -> Deleted {
        self.progress.line(Layer::Amphorae, &why);
        self.journal.decided(
            Some(Layer::Amphorae),
            Decided::AbortedDelete {
                aborted_delete: server_id.to_string(),
                why,
            },
        );
        Deleted::Aborted
    }

    /// Which orphan servers record a recent failed failover of one of the site's load
    /// balancers (server id → load balancer id), except `overriding`'s; Err when the
    /// load balancers cannot be read (then no orphan may be taken for a free one).
    async fn failed_failover_records(
        &self,
        built: &[never_retry::Built],
        overriding: Option<&str>,
    ) -> Result<HashMap<String, String>, String> {
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
}
