//! The amphora inventory (runbook Step 5a, read half). Reads, in admin scope,
//! Octavia's amphora list (the DB truth) and Nova's servers named `amphora-<uuid>` in
//! all projects (the compute truth), and classifies the difference. Changes nothing;
//! the verify-then-delete sweep builds on [`classify`].

use std::collections::HashSet;

use serde::Serialize;

use crate::cloud::nova::{self, Server, ServerQuery};
use crate::cloud::octavia::{self, Amphora};
use crate::cloud::{ApiError, Scope};

use super::{Health, Layer, Probe, Row};

/// Both inventories.
#[derive(Debug, Clone, PartialEq)]
pub struct AmphoraObservation {
    /// Octavia's rows (DELETED ones are hidden by Octavia).
    pub amphorae: Vec<Amphora>,
    /// Nova servers whose name starts with `amphora-`.
    pub servers: Vec<Server>,
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

/// An amphora server with no Octavia row.
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
    pub status: String,
    /// Creation time.
    pub created: String,
    /// Nova's fault on it (`No valid host was found. ...` for a failed spawn).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
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
}

/// The uuid in a name of the exact form `amphora-<uuid>`, or None for anything else.
pub fn amphora_uuid(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("amphora-")?;
    crate::site::Uuid::parse(rest).ok().map(|_| rest)
}

/// Servers named `amphora-<uuid>` whose uuid matches no amphora id and whose server id
/// matches no amphora's `compute_id`. Nothing else is ever an orphan.
pub fn classify(amphorae: &[Amphora], servers: &[Server]) -> Vec<Orphan> {
    let ids: HashSet<String> = amphorae.iter().map(|a| a.id.to_ascii_lowercase()).collect();
    let compute_ids: HashSet<String> = amphorae
        .iter()
        .filter_map(|a| a.compute_id.as_deref())
        .map(str::to_ascii_lowercase)
        .collect();
    servers
        .iter()
        .filter_map(|s| {
            let uuid = amphora_uuid(&s.name)?;
            if ids.contains(&uuid.to_ascii_lowercase())
                || compute_ids.contains(&s.id.to_ascii_lowercase())
            {
                return None;
            }
            let kind = match s.status.as_str() {
                "ERROR" => OrphanKind::FailedSpawn,
                "ACTIVE" => OrphanKind::Zombie,
                _ => OrphanKind::Other,
            };
            Some(Orphan {
                server_id: s.id.clone(),
                amphora_id: uuid.to_string(),
                kind,
                project_id: s.tenant_id.clone(),
                host: s.host.clone(),
                status: s.status.clone(),
                created: s.created.clone(),
                fault: s.fault.as_ref().map(|f| f.message.clone()),
            })
        })
        .collect()
}

/// Amphorae in ERROR or FAILOVER_STOPPED, each with what it means: why Octavia is
/// not healing itself.
pub fn stuck(amphorae: &[Amphora]) -> Vec<String> {
    amphorae
        .iter()
        .filter_map(|a| {
            let meaning = match a.status.as_str() {
                "FAILOVER_STOPPED" => "Octavia's failover circuit breaker stopped automatic failovers for it: it will not heal itself",
                "ERROR" => "in ERROR: Octavia's health manager cannot repair it",
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
    let servers = servers
        .into_iter()
        .filter(|s| s.name.starts_with("amphora-"))
        .collect();
    Ok(AmphoraObservation { amphorae, servers })
}

/// Orphans make this yellow (they hold capacity and confuse Octavia's health
/// manager); amphorae in ERROR or FAILOVER_STOPPED are explained.
pub fn assess(o: &AmphoraObservation) -> Row {
    let orphans = classify(&o.amphorae, &o.servers);
    let allocated = o
        .amphorae
        .iter()
        .filter(|a| a.status == "ALLOCATED")
        .count();
    let mut row = Row::new(
        Layer::Amphorae,
        if orphans.is_empty() {
            Health::Green
        } else {
            Health::Yellow
        },
        if orphans.is_empty() {
            format!(
                "{} amphorae, {allocated} ALLOCATED, no orphan servers",
                o.amphorae.len()
            )
        } else {
            format!("{} orphan amphora server(s)", orphans.len())
        },
    )
    .evidence(format!(
        "octavia lists {} amphora row(s); nova has {} `amphora-` server(s) in all projects",
        o.amphorae.len(),
        o.servers.len()
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
    if !orphans.is_empty() {
        row = row.next(
            "sweep them (verify-then-delete by server UUID, runbook Step 5a) before any failover",
        );
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amphora(id: &str, compute: &str) -> Amphora {
        Amphora {
            id: id.into(),
            loadbalancer_id: Some("lb".into()),
            compute_id: Some(compute.into()),
            status: "ALLOCATED".into(),
            role: None,
            lb_network_ip: None,
        }
    }

    fn server(id: &str, name: &str, status: &str) -> Server {
        serde_json::from_value(serde_json::json!({"id": id, "name": name, "status": status, "tenant_id": "svc", "created": "2026-06-10T08:00:00Z"})).unwrap()
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
        let orphans = classify(&amphorae, &servers);
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
            classify(
                &amphorae,
                &[server("s-renamed", &format!("amphora-{Z}"), "ACTIVE")]
            )
            .is_empty()
        );
    }

    #[test]
    fn only_exact_amphora_uuid_names_count() {
        let servers = [
            server("a", "amphora-haproxy-backup", "ACTIVE"),
            server("b", &format!("xamphora-{Z}"), "ACTIVE"),
            server("c", &format!("amphora-{Z}-old"), "ACTIVE"),
            server("d", "amphora-", "ERROR"),
        ];
        assert!(classify(&[], &servers).is_empty());
    }

    proptest! {
        /// Over random inventories, no server whose uuid or id has an amphora row is
        /// ever called an orphan.
        #[test]
        fn no_server_with_a_row_is_ever_an_orphan(
            rows in proptest::collection::vec((0u8..20, 0u8..20), 0..15),
            servers in proptest::collection::vec((0u8..20, 0u8..20, prop_oneof!["ACTIVE", "ERROR", "SHUTOFF"]), 0..20),
        ) {
            let uuid = |n: u8| format!("00000000-0000-4000-8000-{n:012}");
            let amphorae: Vec<Amphora> = rows.iter().map(|(a, s)| amphora(&uuid(*a), &format!("srv-{s}"))).collect();
            let servers: Vec<Server> = servers.iter().map(|(n, s, st)| server(&format!("srv-{s}"), &format!("amphora-{}", uuid(*n)), st)).collect();
            for o in classify(&amphorae, &servers) {
                prop_assert!(!amphorae.iter().any(|a| a.id == o.amphora_id || a.compute_id.as_deref() == Some(o.server_id.as_str())));
            }
        }
    }
}
