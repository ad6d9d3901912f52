//! The amphora inventory (runbook Step 5a, read half). Reads, in admin scope,
//! Octavia's amphora list (the DB truth), Nova's servers named `amphora-<uuid>` in
//! all projects (the compute truth) and, for servers that may be orphans, Glance's
//! word on their image; then classifies the difference. Changes nothing; the
//! verify-then-delete sweep builds on [`classify`].
//!
//! A name is not an identity: a tenant may call a server `amphora-<uuid>`. A server
//! with no amphora row is an orphan (a candidate for the sweep) only when every
//! independent sign says it is Octavia's: it lives in the project that owns Octavia's
//! amphorae, was built from the amphora image and with an amphora flavor. Anything
//! else is a [`Lookalike`]: reported with the sign that failed, never touched.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use crate::cloud::glance::{self, Image};
use crate::cloud::nova::{self, Server, ServerQuery, ServerStatus};
use crate::cloud::octavia::{self, Amphora, AmphoraStatus};
use crate::cloud::{ApiError, Scope};
use crate::site;
use crate::words::count;

use super::{Decision, Health, Layer, Probe, Row};

/// Both inventories, and what Glance says of the images in question.
#[derive(Debug, Clone, PartialEq)]
pub struct AmphoraObservation {
    /// Octavia's rows (DELETED ones are hidden by Octavia).
    pub amphorae: Vec<Amphora>,
    /// Nova servers whose name starts with `amphora-`.
    pub servers: Vec<Server>,
    /// Glance's answer for each image of a server with no row whose image no live
    /// amphora uses, by image id: the image, or why it could not be read.
    pub images: BTreeMap<String, Result<Image, String>>,
}

/// What kind of orphan a server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrphanKind {
    /// ERROR: a failed spawn.
    FailedSpawn,
    /// ACTIVE with no row: a heartbeating zombie.
    Zombie,
    /// Any other state.
    Other,
}

/// An amphora server with no Octavia row that is provably Octavia's: a sweep candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Orphan {
    /// Nova server id.
    pub server_id: String,
    /// The uuid in its name.
    pub amphora_id: String,
    /// Its kind.
    pub kind: OrphanKind,
    /// Owning project.
    pub project_id: String,
    /// Compute host (holds a Placement allocation when set).
    pub host: Option<String>,
    /// Server status.
    pub status: ServerStatus,
    /// Creation time.
    pub created: String,
    /// Nova's fault on it (`No valid host was found. ...` for a failed spawn).
    pub fault: Option<String>,
    /// The amphora image it was built from.
    pub image_id: String,
    /// Its amphora flavor's name.
    pub flavor: String,
}

/// The signs, besides its name, that a server is one of Octavia's amphorae.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sign {
    /// It lives in the project that owns Octavia's amphorae.
    Project,
    /// It was built from the amphora image.
    Image,
    /// It was built with an amphora flavor.
    Flavor,
}

/// A server named `amphora-<uuid>` with no amphora row that is not provably
/// Octavia's: reported, never a sweep candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lookalike {
    /// Nova server id.
    pub server_id: String,
    /// Its name.
    pub name: String,
    /// Owning project.
    pub project_id: String,
    /// Server status.
    pub status: ServerStatus,
    /// Creation time.
    pub created: String,
    /// Nova's fault on it.
    pub fault: Option<String>,
    /// The first sign that failed.
    pub failed: Sign,
    /// Why that sign failed.
    pub why: String,
}

impl Lookalike {
    /// One line for reports and the journal.
    pub fn describe(&self) -> String {
        format!(
            "server {} `{}` in project {} ({}) looks like an amphora, is not provably one: {}; left alone",
            self.server_id, self.name, self.project_id, self.status, self.why
        )
    }
}

/// What the sweep may act on, and what it must leave alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    /// Provably Octavia's servers with no amphora row.
    pub orphans: Vec<Orphan>,
    /// Servers that only look like amphorae.
    pub lookalikes: Vec<Lookalike>,
}

/// A server with no amphora row, as the never-retry rule reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// Nova server id.
    pub server_id: String,
    /// How to name it (kind, id, name).
    pub what: String,
    /// Nova's `created`.
    pub created: String,
    /// Nova's fault on it.
    pub fault: Option<String>,
}

impl Inventory {
    /// Every server with no amphora row, provable or not, as the never-retry rule
    /// reads them: when in doubt, a server built during a failed failover still
    /// counts as its record.
    pub fn built(&self) -> Vec<Built> {
        self.orphans
            .iter()
            .map(|o| Built {
                server_id: o.server_id.clone(),
                what: format!(
                    "{} {} `amphora-{}`",
                    o.describe(),
                    o.server_id,
                    o.amphora_id
                ),
                created: o.created.clone(),
                fault: o.fault.clone(),
            })
            .chain(self.lookalikes.iter().map(|l| Built {
                server_id: l.server_id.clone(),
                what: format!(
                    "server {} `{}` ({}, not provably Octavia's)",
                    l.server_id, l.name, l.status
                ),
                created: l.created.clone(),
                fault: l.fault.clone(),
            }))
            .collect()
    }
}

impl Orphan {
    /// What it is, in the runbook's words.
    pub fn describe(&self) -> &'static str {
        match self.kind {
            OrphanKind::Zombie => {
                "ACTIVE zombie (heartbeats, no DB row: the health manager logs `missing from the DB`)"
            }
            OrphanKind::FailedSpawn => "ERROR orphan (failed spawn)",
            OrphanKind::Other => "orphan",
        }
    }

    /// Its age, from Nova's `created`, when that parses.
    pub fn age(&self, now: jiff::Timestamp) -> Option<std::time::Duration> {
        let created: jiff::Timestamp = self.created.parse().ok()?;
        let secs = now.duration_since(created).as_secs().max(0) as u64;
        Some(std::time::Duration::from_secs(secs))
    }

    /// Whether `server` (shown again just before a delete) is still this orphan:
    /// same name, project, image and flavor.
    pub fn is_still(&self, server: &Server) -> Result<(), String> {
        if amphora_uuid(&server.name) != Some(self.amphora_id.as_str()) {
            return Err(format!(
                "it is now named `{}`, not `amphora-{}`",
                server.name, self.amphora_id
            ));
        }
        if server.tenant_id != self.project_id {
            return Err(format!("it is now in project {}", server.tenant_id));
        }
        if server.image_id() != Some(self.image_id.as_str()) {
            return Err("its image changed (rebuilt?)".into());
        }
        if server.flavor_name() != Some(self.flavor.as_str()) {
            return Err("its flavor changed (resized?)".into());
        }
        Ok(())
    }
}

/// The uuid in a name of the exact form `amphora-<uuid>`, or None for anything else.
pub fn amphora_uuid(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("amphora-")?;
    crate::site::Uuid::parse(rest).ok().map(|_| rest)
}

/// The servers behind Octavia's live amphora rows (matched by `compute_id`).
fn live_servers<'a>(amphorae: &[Amphora], servers: &'a [Server]) -> Vec<&'a Server> {
    let compute_ids: HashSet<String> = amphorae
        .iter()
        .filter_map(|a| a.compute_id.as_deref())
        .map(str::to_ascii_lowercase)
        .collect();
    servers
        .iter()
        .filter(|s| compute_ids.contains(&s.id.to_ascii_lowercase()))
        .collect()
}

/// Servers named `amphora-<uuid>` whose uuid matches no amphora id and whose server id
/// matches no amphora's `compute_id`: orphans or lookalikes, before the signs.
fn rowless<'a>(amphorae: &[Amphora], servers: &'a [Server]) -> Vec<(&'a Server, &'a str)> {
    let ids: HashSet<String> = amphorae.iter().map(|a| a.id.to_ascii_lowercase()).collect();
    let live: HashSet<&str> = live_servers(amphorae, servers)
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    servers
        .iter()
        .filter_map(|s| {
            let uuid = amphora_uuid(&s.name)?;
            (!ids.contains(&uuid.to_ascii_lowercase()) && !live.contains(s.id.as_str()))
                .then_some((s, uuid))
        })
        .collect()
}

/// Image ids Octavia's own amphorae use: their rows' `image_id` and their servers'.
fn live_images(amphorae: &[Amphora], servers: &[Server]) -> BTreeSet<String> {
    amphorae
        .iter()
        .filter_map(|a| a.image_id.clone())
        .chain(
            live_servers(amphorae, servers)
                .into_iter()
                .filter_map(|s| s.image_id().map(str::to_string)),
        )
        .collect()
}

/// The project that owns Octavia's amphorae: the site's, checked against the projects
/// of the servers behind live rows, or learned from those; else why it is unknown.
fn amphora_project(
    amphorae: &[Amphora],
    servers: &[Server],
    site: &site::Octavia,
) -> Result<String, String> {
    let learned: BTreeSet<&str> = live_servers(amphorae, servers)
        .iter()
        .map(|s| s.tenant_id.as_str())
        .collect();
    // Octavia has amphorae on servers Nova does not list: the two are not describing
    // the same cloud (another region's endpoint, a stale catalog). Then no server is
    // provably an orphan: it may be one of those rows' amphorae.
    let with_server = amphorae.iter().filter(|a| a.compute_id.is_some()).count();
    if with_server > 0 && learned.is_empty() {
        return Err(format!(
            "Octavia lists {with_server} amphora row(s) on servers, and Nova lists none of those servers: Nova and Octavia do not describe the same cloud (a different region's endpoint? set `region_name` for the cloud), so nothing is provably an orphan"
        ));
    }
    let named = site.amphora_project_id.as_ref().map(|p| p.as_str());
    match (named, learned.len()) {
        (Some(p), 0) => Ok(p.to_string()),
        (Some(p), 1) if learned.contains(p) => Ok(p.to_string()),
        (Some(p), _) => Err(format!(
            "Octavia's live amphorae run in project(s) {}, but the site file says `octavia.amphora_project_id: {p}`: nothing is provably Octavia's until they agree",
            learned.into_iter().collect::<Vec<_>>().join(", ")
        )),
        (None, 1) => Ok(learned.into_iter().next().unwrap_or_default().to_string()),
        (None, 0) => Err("no live amphora to learn Octavia's project from, and the site file names none: set `octavia.amphora_project_id` (the project in octavia.conf `[service_auth]`, charm-octavia: `services`) to let the sweep delete".into()),
        (None, _) => Err(format!(
            "Octavia's live amphorae run in several projects ({}): set `octavia.amphora_project_id` in the site file",
            learned.into_iter().collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The image ids Glance must be asked about: those of rowless servers in Octavia's
/// project (no other can pass anyway) that no live amphora uses.
pub fn images_to_check(
    amphorae: &[Amphora],
    servers: &[Server],
    site: &site::Octavia,
) -> BTreeSet<String> {
    let Ok(project) = amphora_project(amphorae, servers, site) else {
        return BTreeSet::new();
    };
    let live = live_images(amphorae, servers);
    rowless(amphorae, servers)
        .into_iter()
        .filter(|(s, _)| s.tenant_id == project)
        .filter_map(|(s, _)| s.image_id())
        .filter(|id| !live.contains(*id))
        .map(str::to_string)
        .collect()
}

/// Sorts the servers with no amphora row into orphans (every sign says Octavia's)
/// and lookalikes (the first sign that failed). Nothing named otherwise than
/// `amphora-<uuid>`, and nothing with a row by uuid or `compute_id`, is either.
pub fn classify(o: &AmphoraObservation, site: &site::Octavia) -> Inventory {
    let project = amphora_project(&o.amphorae, &o.servers, site);
    let live_images = live_images(&o.amphorae, &o.servers);
    let flavors: BTreeSet<&str> = site
        .flavors
        .iter()
        .map(String::as_str)
        .chain(
            live_servers(&o.amphorae, &o.servers)
                .into_iter()
                .filter_map(|s| s.flavor_name()),
        )
        .collect();
    let image_sign = |s: &Server| -> Result<String, String> {
        let Some(id) = s.image_id() else {
            return Err("booted from a volume, so its image cannot be checked".into());
        };
        if live_images.contains(id) {
            return Ok(id.to_string());
        }
        match o.images.get(id) {
            Some(Ok(image)) => {
                let tagged = image.tags.contains(&site.image_tag);
                let owned = site
                    .image_owner_id
                    .as_ref()
                    .is_none_or(|p| image.owner.as_deref() == Some(p.as_str()));
                match (tagged, owned) {
                    (true, true) => Ok(id.to_string()),
                    (false, _) => Err(format!(
                        "image {id} (`{}`) is not tagged `{}` and no live amphora uses it",
                        image.name.as_deref().unwrap_or("-"),
                        site.image_tag
                    )),
                    (true, false) => Err(format!(
                        "image {id} is tagged `{}` but owned by {}, not the site's `octavia.image_owner_id`",
                        site.image_tag,
                        image.owner.as_deref().unwrap_or("nobody")
                    )),
                }
            }
            Some(Err(why)) => Err(format!("image {id}: {why}")),
            None => Err(format!("image {id} was not checked")),
        }
    };
    let mut inventory = Inventory::default();
    for (s, uuid) in rowless(&o.amphorae, &o.servers) {
        let lookalike = |failed: Sign, why: String| Lookalike {
            server_id: s.id.clone(),
            name: s.name.clone(),
            project_id: s.tenant_id.clone(),
            status: s.status.clone(),
            created: s.created.clone(),
            fault: s.fault.as_ref().map(|f| f.message.clone()),
            failed,
            why,
        };
        match &project {
            Err(why) => {
                inventory
                    .lookalikes
                    .push(lookalike(Sign::Project, why.clone()));
                continue;
            }
            Ok(p) if *p != s.tenant_id => {
                inventory.lookalikes.push(lookalike(
                    Sign::Project,
                    format!("it is not in Octavia's amphora project {p}"),
                ));
                continue;
            }
            Ok(_) => {}
        }
        let image_id = match image_sign(s) {
            Ok(id) => id,
            Err(why) => {
                inventory.lookalikes.push(lookalike(Sign::Image, why));
                continue;
            }
        };
        let flavor = match s.flavor_name() {
            Some(f) if flavors.contains(f) => f.to_string(),
            other => {
                inventory.lookalikes.push(lookalike(
                    Sign::Flavor,
                    format!(
                        "its flavor `{}` is not an amphora flavor ({})",
                        other.unwrap_or("-"),
                        flavors.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                ));
                continue;
            }
        };
        let kind = match s.status {
            ServerStatus::Error => OrphanKind::FailedSpawn,
            ServerStatus::Active => OrphanKind::Zombie,
            _ => OrphanKind::Other,
        };
        inventory.orphans.push(Orphan {
            server_id: s.id.clone(),
            amphora_id: uuid.to_string(),
            kind,
            project_id: s.tenant_id.clone(),
            host: s.host.clone(),
            status: s.status.clone(),
            created: s.created.clone(),
            fault: s.fault.as_ref().map(|f| f.message.clone()),
            image_id,
            flavor,
        });
    }
    inventory
}

/// Amphorae in ERROR or FAILOVER_STOPPED, each with what it means: why Octavia is
/// not healing itself.
pub fn stuck(amphorae: &[Amphora]) -> Vec<String> {
    amphorae
        .iter()
        .filter_map(|a| {
            let meaning = match a.status {
                AmphoraStatus::FailoverStopped => "Octavia's failover circuit breaker stopped automatic failovers for it: it will not heal itself",
                AmphoraStatus::Error => "in ERROR: Octavia's health manager cannot repair it",
                _ => return None,
            };
            Some(format!("amphora {} ({}) {meaning}", a.id, a.status))
        })
        .collect()
}

/// Reads both inventories in admin scope.
pub async fn probe(p: Probe<'_>) -> Result<AmphoraObservation, ApiError> {
    let query = ServerQuery {
        all_projects: true,
        project_id: None,
        name_regex: Some("^amphora-".into()),
    };
    // Nova first, Octavia second, never together: Octavia writes an amphora's row
    // before it asks Nova for the server, so a server read after the rows could be a
    // brand-new amphora that would look like a zombie.
    let servers = nova::list_servers(p.session, Scope::Admin, &query).await?;
    let amphorae = octavia::list_amphorae(p.session).await?;
    // Nova's filter is a regex the server applies; check the prefix here as well.
    let servers: Vec<Server> = servers
        .into_iter()
        .filter(|s| s.name.starts_with("amphora-"))
        .collect();
    let mut images = BTreeMap::new();
    for id in images_to_check(&amphorae, &servers, &p.site.octavia) {
        let answer = match glance::show_image(p.session, &id).await {
            Ok(image) => Ok(image),
            Err(e) if e.status() == Some(404) => {
                Err("Glance does not have it (deleted?)".to_string())
            }
            Err(e) => Err(format!(
                "Glance could not say ({})",
                e.to_string().lines().next().unwrap_or_default()
            )),
        };
        images.insert(id, answer);
    }
    Ok(AmphoraObservation {
        amphorae,
        servers,
        images,
    })
}

/// Orphans make this yellow (they hold capacity and confuse Octavia's health
/// manager); amphorae in ERROR or FAILOVER_STOPPED are explained.
pub fn assess(o: &AmphoraObservation, site: &site::Octavia) -> Row {
    let Inventory {
        orphans,
        lookalikes,
    } = classify(o, site);
    let allocated = o
        .amphorae
        .iter()
        .filter(|a| a.status == AmphoraStatus::Allocated)
        .count();
    let mut row = Row::new(
        Layer::Amphorae,
        if orphans.is_empty() {
            Health::Green
        } else {
            Health::Yellow
        },
        {
            let mut summary = if orphans.is_empty() {
                format!(
                    "{}, {allocated} ALLOCATED, no orphan servers",
                    count(o.amphorae.len(), "amphora", "amphorae")
                )
            } else {
                count(
                    orphans.len(),
                    "orphan amphora server",
                    "orphan amphora servers",
                )
            };
            if !lookalikes.is_empty() {
                summary.push_str(&format!(
                    "; {} not provably Octavia's (left alone)",
                    count(lookalikes.len(), "lookalike", "lookalikes")
                ));
            }
            summary
        },
    )
    .evidence(format!(
        "octavia lists {}; nova has {} in all projects",
        count(o.amphorae.len(), "amphora row", "amphora rows"),
        count(o.servers.len(), "`amphora-` server", "`amphora-` servers")
    ));
    for orphan in &orphans {
        let what = orphan.describe();
        let slot = match &orphan.host {
            Some(h) => format!("holds an amphora slot on {h}"),
            None => "never scheduled, holds no capacity".into(),
        };
        row = row.evidence(format!(
            "{what}: server {} `amphora-{}`, created {}, {slot}",
            orphan.server_id, orphan.amphora_id, orphan.created
        ));
    }
    for line in stuck(&o.amphorae) {
        row.state = row.state.max(Health::Yellow);
        row = row.evidence(line);
    }
    for lookalike in &lookalikes {
        row.state = row.state.max(Health::Yellow);
        row = row.evidence(lookalike.describe());
    }
    if orphans.is_empty() {
        // Stuck rows and lookalikes are reported; there is nothing to delete.
        return row.decided(Decision::Nothing);
    }
    row.next("sweep them (verify-then-delete by server UUID, runbook Step 5a) before any failover")
        .decided(Decision::Sweep(
            orphans.iter().map(|o| o.server_id.clone()).collect(),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SVC: &str = "0b5d1c2e3f4a5b6c7d8e9f0a1b2c3d4e";
    const TENANT: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    const AMP_IMAGE: &str = "11111111-2222-4333-8444-555555555555";

    fn amphora(id: &str, compute: &str) -> Amphora {
        Amphora {
            id: id.into(),
            loadbalancer_id: Some("lb".into()),
            compute_id: Some(compute.into()),
            status: "ALLOCATED".into(),
            role: None,
            lb_network_ip: None,
            image_id: Some(AMP_IMAGE.into()),
        }
    }

    /// An amphora-built server: Octavia's project, image and flavor.
    fn server(id: &str, name: &str, status: &str) -> Server {
        built(id, name, status, SVC, Some(AMP_IMAGE), "charm-octavia")
    }

    fn built(
        id: &str,
        name: &str,
        status: &str,
        project: &str,
        image: Option<&str>,
        flavor: &str,
    ) -> Server {
        let image = match image {
            Some(i) => serde_json::json!({"id": i, "links": []}),
            None => serde_json::json!(""),
        };
        serde_json::from_value(serde_json::json!({"id": id, "name": name, "status": status, "tenant_id": project, "created": "2026-06-10T08:00:00Z", "image": image, "flavor": {"original_name": flavor, "vcpus": 1, "ram": 1024}})).unwrap()
    }

    fn observe(amphorae: &[Amphora], servers: &[Server]) -> AmphoraObservation {
        AmphoraObservation {
            amphorae: amphorae.to_vec(),
            servers: servers.to_vec(),
            images: BTreeMap::new(),
        }
    }

    fn orphans_of(amphorae: &[Amphora], servers: &[Server]) -> Vec<Orphan> {
        classify(&observe(amphorae, servers), &site::Octavia::default()).orphans
    }

    const A: &str = "7a2b9c4d-1e3f-4a5b-8c6d-9e0f1a2b3c4d";
    const Z: &str = "c81d4e2f-6a7b-4c8d-9e1f-2a3b4c5d6e7f";
    const E: &str = "e4f5a6b7-8c9d-4e0f-a1b2-c3d4e5f6a7b8";

    #[test]
    fn zombies_and_failed_spawns_are_told_apart() {
        let amphorae = [amphora(A, "s-live")];
        let servers = [
            server("s-live", &format!("amphora-{A}"), "ACTIVE"),
            server("s-zombie", &format!("amphora-{Z}"), "ACTIVE"),
            server("s-error", &format!("amphora-{E}"), "ERROR"),
        ];
        let orphans = orphans_of(&amphorae, &servers);
        let kinds: Vec<(&str, OrphanKind)> = orphans
            .iter()
            .map(|o| (o.server_id.as_str(), o.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("s-zombie", OrphanKind::Zombie),
                ("s-error", OrphanKind::FailedSpawn)
            ]
        );
    }

    #[test]
    fn a_server_matched_by_compute_id_alone_is_not_an_orphan() {
        let amphorae = [amphora(A, "s-renamed")];
        assert!(
            orphans_of(
                &amphorae,
                &[server("s-renamed", &format!("amphora-{Z}"), "ACTIVE")]
            )
            .is_empty()
        );
    }

    #[test]
    fn only_exact_amphora_uuid_names_count() {
        let amphorae = [amphora(A, "s-live")];
        let servers = [
            server("s-live", &format!("amphora-{A}"), "ACTIVE"),
            server("a", "amphora-haproxy-backup", "ACTIVE"),
            server("b", &format!("xamphora-{Z}"), "ACTIVE"),
            server("c", &format!("amphora-{Z}-old"), "ACTIVE"),
            server("d", "amphora-", "ERROR"),
        ];
        let inventory = classify(&observe(&amphorae, &servers), &site::Octavia::default());
        assert!(inventory.orphans.is_empty() && inventory.lookalikes.is_empty());
    }

    /// Each sign, failed alone, turns a would-be orphan into a lookalike that names it.
    #[test]
    fn a_server_that_fails_any_sign_is_a_lookalike_never_an_orphan() {
        let live = [amphora(A, "s-live")];
        let octavias = server("s-live", &format!("amphora-{A}"), "ACTIVE");
        let name = format!("amphora-{Z}");
        let cases = [
            (
                built(
                    "t",
                    &name,
                    "ACTIVE",
                    TENANT,
                    Some(AMP_IMAGE),
                    "charm-octavia",
                ),
                Sign::Project,
                "not in Octavia's amphora project",
            ),
            (
                built(
                    "t",
                    &name,
                    "ACTIVE",
                    SVC,
                    Some("other-image"),
                    "charm-octavia",
                ),
                Sign::Image,
                "other-image",
            ),
            (
                built("t", &name, "ACTIVE", SVC, None, "charm-octavia"),
                Sign::Image,
                "booted from a volume",
            ),
            (
                built("t", &name, "ACTIVE", SVC, Some(AMP_IMAGE), "m1.small"),
                Sign::Flavor,
                "m1.small",
            ),
        ];
        for (lookalike, sign, why) in cases {
            let inventory = classify(
                &observe(&live, &[octavias.clone(), lookalike]),
                &site::Octavia::default(),
            );
            assert!(inventory.orphans.is_empty(), "{sign:?}: {inventory:?}");
            assert_eq!(inventory.lookalikes.len(), 1, "{sign:?}");
            assert_eq!(inventory.lookalikes[0].failed, sign);
            assert!(
                inventory.lookalikes[0].why.contains(why),
                "{:?}",
                inventory.lookalikes[0]
            );
            assert!(inventory.lookalikes[0].describe().contains("left alone"));
        }
    }

    #[test]
    fn with_no_live_amphora_and_no_site_project_nothing_is_provable() {
        let zombie = server("s-zombie", &format!("amphora-{Z}"), "ACTIVE");
        let inventory = classify(
            &observe(&[], std::slice::from_ref(&zombie)),
            &site::Octavia::default(),
        );
        assert!(inventory.orphans.is_empty());
        assert!(
            inventory.lookalikes[0]
                .why
                .contains("octavia.amphora_project_id")
        );

        // Named by the site, with the image proven by Glance's tag: an orphan.
        let mut o = observe(&[], &[zombie]);
        o.images.insert(
            AMP_IMAGE.into(),
            Ok(Image {
                id: AMP_IMAGE.into(),
                name: Some("amphora-haproxy-x86_64-ubuntu-22.04".into()),
                owner: Some(SVC.into()),
                tags: vec!["octavia-amphora".into()],
            }),
        );
        let site = site::Octavia {
            amphora_project_id: Some(site::ProjectId::parse(SVC).unwrap()),
            ..site::Octavia::default()
        };
        assert_eq!(classify(&o, &site).orphans.len(), 1);
        // The same image untagged, or owned by someone else, proves nothing.
        let untagged = {
            let mut o = o.clone();
            if let Some(Ok(i)) = o.images.get_mut(AMP_IMAGE) {
                i.tags.clear();
            }
            o
        };
        assert_eq!(classify(&untagged, &site).lookalikes[0].failed, Sign::Image);
        let owned = site::Octavia {
            image_owner_id: Some(site::ProjectId::parse(TENANT).unwrap()),
            ..site.clone()
        };
        assert_eq!(classify(&o, &owned).lookalikes[0].failed, Sign::Image);
    }

    #[test]
    fn a_site_project_that_contradicts_octavias_live_amphorae_proves_nothing() {
        let live = [amphora(A, "s-live")];
        let servers = [
            server("s-live", &format!("amphora-{A}"), "ACTIVE"),
            server("s-zombie", &format!("amphora-{Z}"), "ACTIVE"),
        ];
        let site = site::Octavia {
            amphora_project_id: Some(site::ProjectId::parse(TENANT).unwrap()),
            ..site::Octavia::default()
        };
        let inventory = classify(&observe(&live, &servers), &site);
        assert!(inventory.orphans.is_empty());
        assert!(inventory.lookalikes[0].why.contains("until they agree"));
    }

    #[test]
    fn a_server_that_changed_since_the_listing_is_no_longer_the_orphan() {
        let live = [amphora(A, "s-live")];
        let zombie = server("s-zombie", &format!("amphora-{Z}"), "ACTIVE");
        let orphans = orphans_of(
            &live,
            &[
                server("s-live", &format!("amphora-{A}"), "ACTIVE"),
                zombie.clone(),
            ],
        );
        assert_eq!(orphans[0].is_still(&zombie), Ok(()));
        let moved = built(
            "s-zombie",
            &format!("amphora-{Z}"),
            "ACTIVE",
            TENANT,
            Some(AMP_IMAGE),
            "charm-octavia",
        );
        assert!(orphans[0].is_still(&moved).is_err());
        let renamed = server("s-zombie", "my-vm", "ACTIVE");
        assert!(
            orphans[0]
                .is_still(&renamed)
                .unwrap_err()
                .contains("now named")
        );
    }

    proptest! {
        /// Over random inventories, no server whose uuid or id has an amphora row is
        /// ever called an orphan, and no server outside the project of Octavia's live
        /// amphorae is either.
        #[test]
        fn no_server_with_a_row_or_elsewhere_is_ever_an_orphan(
            rows in proptest::collection::vec((0u8..20, 0u8..20), 0..15),
            servers in proptest::collection::vec((0u8..20, 0u8..20, prop_oneof!["ACTIVE", "ERROR", "SHUTOFF"], any::<bool>()), 0..20),
        ) {
            let uuid = |n: u8| format!("00000000-0000-4000-8000-{n:012}");
            let amphorae: Vec<Amphora> = rows.iter().map(|(a, s)| amphora(&uuid(*a), &format!("srv-{s}"))).collect();
            let servers: Vec<Server> = servers.iter().map(|(n, s, st, tenant)| {
                let project = if *tenant { TENANT } else { SVC };
                built(&format!("srv-{s}"), &format!("amphora-{}", uuid(*n)), st, project, Some(AMP_IMAGE), "charm-octavia")
            }).collect();
            let live: BTreeSet<&str> = live_servers(&amphorae, &servers).iter().map(|s| s.tenant_id.as_str()).collect();
            for o in orphans_of(&amphorae, &servers) {
                prop_assert!(!amphorae.iter().any(|a| a.id == o.amphora_id || a.compute_id.as_deref() == Some(o.server_id.as_str())));
                prop_assert_eq!(live.iter().copied().collect::<Vec<_>>(), vec![o.project_id.as_str()]);
            }
        }
    }

    #[test]
    fn when_octavia_and_nova_describe_different_clouds_nothing_is_provable() {
        // Octavia's row points at a server Nova does not list (another region).
        let rows = [amphora(A, "s-elsewhere")];
        let zombie = server("s-zombie", &format!("amphora-{Z}"), "ACTIVE");
        let site = site::Octavia {
            amphora_project_id: Some(site::ProjectId::parse(SVC).unwrap()),
            ..site::Octavia::default()
        };
        let inventory = classify(&observe(&rows, std::slice::from_ref(&zombie)), &site);
        assert!(inventory.orphans.is_empty(), "{inventory:?}");
        assert!(
            inventory.lookalikes[0]
                .why
                .contains("do not describe the same cloud")
        );
    }
}
