//! The simulated cloud's state and its rules: Nova's server state machine, Octavia's
//! failover, Placement's usage, Magnum's health, and how they cause each other.
//!
//! Transitions are stored with the simulated instant they become due and applied by
//! [`Cloud::settle`] before any read, so a poll never sees a state "between" rules.
//!
//! Each service's state, rules and construction from its scenario section live in
//! its own file (identity, compute, octavia, magnum); this one holds what they share:
//! the cloud itself, its timeline, its record of changes, and the management host.

use std::collections::HashMap;

use jiff::Timestamp;
use uuid::Uuid;

use crate::clock::{after, before};
use crate::fault::Faults;
use crate::scenario::{FaultKind, Scenario, Timings};
use crate::timeline::{Event, Timeline};

mod compute;
mod identity;
mod magnum;
mod octavia;

pub use compute::*;
pub use identity::*;
pub use magnum::*;
pub use octavia::*;

/// A change a client made to the cloud, with what the cloud knew when it was made:
/// the record by which chaos runs judge the safety rules (what was deleted, and was
/// it provably an orphan amphora then; what was failed over, and was that safe then).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChangeRecord {
    /// Simulated time.
    pub at: Timestamp,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
}

/// What a client changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// `os-start` accepted.
    ServerStart {
        /// The server.
        server_id: String,
    },
    /// `os-stop` accepted.
    ServerStop {
        /// The server.
        server_id: String,
    },
    /// A server delete accepted.
    ServerDelete {
        /// The server.
        server_id: String,
        /// Its name then.
        name: String,
        /// Its project.
        project_id: String,
        /// The amphora row naming it (by amphora id or compute id), if one existed.
        amphora_row: Option<String>,
        /// It was Octavia's: in the service project, named `amphora-<uuid>`, built
        /// from the amphora image.
        octavias: bool,
    },
    /// A load-balancer failover accepted.
    Failover {
        /// The load balancer.
        load_balancer_id: String,
        /// Other load balancers with a failover in flight at that instant.
        others_in_flight: Vec<String>,
        /// How this load balancer's previous failover ended (`ACTIVE`, `ERROR`), or
        /// `PENDING` while unfinished; none before the first.
        previous_outcome: Option<String>,
        /// A host with room for one amphora, as Placement decides fit.
        free_slot: Option<String>,
        /// The management VM's status then (`ACTIVE`, `SHUTOFF`, ...).
        management_vm: String,
    },
}

/// The management VM's insides: faults and the node it becomes.
#[derive(Debug, Clone)]
pub struct HostSpec {
    /// sshd never starts.
    pub sshd_never_opens: bool,
    /// Kubernetes never converges.
    pub k8s_never_ready: bool,
    /// Peak load average during the cold start.
    pub peak_load: f64,
    /// vCPUs.
    pub vcpus: u32,
    /// Kubernetes node name (the server's name).
    pub node_name: String,
    /// The node's address (the server's fixed IP).
    pub node_address: String,
    /// Which structured-output flag its k8s snap knows.
    pub status_flag: crate::scenario::StatusFlag,
    /// The CAPI API versions served.
    pub capi_api: crate::scenario::CapiApi,
}

impl HostSpec {
    /// The management VM's insides as the scenario's `management` section gives them.
    fn new(scenario: &Scenario) -> HostSpec {
        HostSpec {
            sshd_never_opens: scenario.management.sshd_never_opens,
            k8s_never_ready: scenario.management.k8s_never_ready,
            peak_load: scenario.management.peak_load,
            vcpus: scenario.management.vcpus,
            node_name: scenario.management.server.clone(),
            status_flag: scenario.management.k8s_status_flag,
            capi_api: scenario.management.capi_api,
            node_address: scenario
                .servers
                .iter()
                .find(|s| s.name == scenario.management.server)
                .and_then(|s| s.fixed_ip.clone())
                .unwrap_or_else(|| "192.0.2.15".into()),
        }
    }
}

/// The whole simulated cloud.
#[derive(Debug)]
pub struct Cloud {
    /// Timings.
    pub timings: Timings,
    /// Token lifetime.
    pub token_ttl: std::time::Duration,
    /// Region.
    pub region: String,
    /// Projects.
    pub projects: Vec<Project>,
    /// Users.
    pub users: Vec<User>,
    /// Application credentials.
    pub app_credentials: Vec<AppCredential>,
    /// Issued tokens by id.
    pub tokens: HashMap<String, Token>,
    /// Compute hosts.
    pub hypervisors: Vec<Hypervisor>,
    /// Servers (amphorae included).
    pub servers: Vec<Server>,
    /// Load balancers.
    pub load_balancers: Vec<LoadBalancer>,
    /// Amphora rows (DELETED ones are removed: Octavia hides them).
    pub amphorae: Vec<Amphora>,
    /// Magnum clusters.
    pub clusters: Vec<MagnumCluster>,
    /// The management server's id.
    pub management_server_id: String,
    /// Injected faults.
    pub faults: Faults,
    /// The service project's id (amphorae live there).
    pub service_project_id: String,
    /// The management VM's insides.
    pub host: HostSpec,
    /// Every failover Octavia accepted, in order.
    pub failovers: Vec<FailoverRecord>,
    /// Every change a client made, with what the cloud knew at that instant.
    pub changes: Vec<ChangeRecord>,
    /// octavia-worker.log lines (failover flows), oldest first.
    pub worker_log: Vec<String>,
    /// What happens later by itself: server tasks, failover flows, world faults.
    pub timeline: Timeline,
    /// `juju ssh` fails as with a stale macaroon.
    pub juju_login_expired: bool,
    /// Every call the fake juju made, with the model it was given.
    pub juju_calls: Vec<JujuCall>,
}

/// One call of the fake juju.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JujuCall {
    /// `ssh` or `status`.
    pub command: String,
    /// The `-m` it was given.
    pub model: Option<String>,
}

/// A stable UUID derived from a kind and a name, so scenario ids are the same each run.
pub fn derived_uuid(kind: &str, name: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("capi-restore-twin/{kind}/{name}").as_bytes(),
    )
}

/// Keystone-style id: 32 hex digits.
pub fn derived_hex(kind: &str, name: &str) -> String {
    derived_uuid(kind, name).simple().to_string()
}

/// Error of a state-changing request, as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 404.
    NotFound(String),
    /// 409.
    Conflict(String),
}

impl Cloud {
    /// Builds the initial state from a scenario at simulated instant `now`.
    pub fn new(scenario: &Scenario, now: Timestamp) -> Cloud {
        // Everything the scenario starts with was created a month ago.
        let started = before(now, std::time::Duration::from_secs(30 * 86400));
        let (projects, users, app_credentials) = identity::build(scenario);
        let (mut servers, hypervisors, management_server_id) =
            compute::build(scenario, &projects, started, now);
        let (load_balancers, amphorae) =
            octavia::build(scenario, &projects, &mut servers, started, now);
        let clusters = magnum::build(scenario, &projects, started);
        let faults = Faults::new(&scenario.faults, scenario.seed, now);
        let mut timeline = Timeline::default();
        for (fault, due) in faults.world_schedule() {
            timeline.schedule(due, Event::WorldFault { fault });
        }
        Cloud {
            timings: scenario.timings.clone(),
            token_ttl: scenario.token_ttl,
            region: scenario.region.clone(),
            service_project_id: project_id(&projects, "service"),
            projects,
            users,
            app_credentials,
            tokens: HashMap::new(),
            hypervisors,
            servers,
            load_balancers,
            amphorae,
            clusters,
            management_server_id,
            faults,
            host: HostSpec::new(scenario),
            failovers: Vec::new(),
            changes: Vec::new(),
            worker_log: Vec::new(),
            timeline,
            juju_login_expired: scenario.juju_login_expired,
            juju_calls: Vec::new(),
        }
    }

    /// Applies every event of the timeline due at or before `now`, in order of due
    /// time.
    pub fn settle(&mut self, now: Timestamp) {
        while let Some((at, event)) = self.timeline.next_due(now) {
            match event {
                Event::ServerTask { server_id, task } => {
                    self.finish_server_task(&server_id, task, at)
                }
                Event::FailoverEnds { load_balancer_id } => {
                    self.finish_failover(&load_balancer_id, at)
                }
                Event::WorldFault { fault } => match self.faults.take_world(fault, at) {
                    Some(FaultKind::SshdDies) => self.host.sshd_never_opens = true,
                    Some(FaultKind::K8sBreaks) => self.host.k8s_never_ready = true,
                    Some(FaultKind::JujuLoginExpires) => self.juju_login_expired = true,
                    _ => {}
                },
            }
        }
    }

    fn record(&mut self, at: Timestamp, change: Change) {
        self.changes.push(ChangeRecord { at, change });
    }

    /// Whether the management Kubernetes API answers: the VM is ACTIVE and the
    /// cold start has converged.
    pub fn management_api_up(&self, now: Timestamp) -> bool {
        self.management_api_up_since(now).is_some()
    }

    /// When the management Kubernetes API came up, if it is up.
    pub fn management_api_up_since(&self, now: Timestamp) -> Option<Timestamp> {
        self.server(&self.management_server_id)
            .and_then(|s| s.booted_at.filter(|_| s.vm_state == VmState::Active))
            .map(|boot| after(boot, self.timings.k8s_ready_after_boot))
            .filter(|up| *up <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{AmphoraStatus, Provisioning};
    use std::time::Duration;

    /// The heartbeating orphan's server id.
    fn zombie(c: &Cloud) -> String {
        c.orphan_servers()
            .find(|s| s.vm_state == VmState::Active)
            .unwrap()
            .id
            .clone()
    }

    fn cloud() -> (Cloud, Timestamp) {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        (Cloud::new(&Scenario::default_scenario(), now), now)
    }

    #[test]
    fn started_server_becomes_active_after_the_start_delay() {
        let (mut c, now) = cloud();
        let id = c.management_server_id.clone();
        c.start_server(&id, now).unwrap();
        c.settle(after(now, Duration::from_secs(19)));
        assert_eq!(c.server(&id).unwrap().vm_state, VmState::Stopped);
        assert_eq!(
            c.server(&id).unwrap().task_state,
            Some(TaskState::PoweringOn)
        );
        c.settle(after(now, Duration::from_secs(20)));
        assert_eq!(c.server(&id).unwrap().vm_state, VmState::Active);
    }

    #[test]
    fn start_and_stop_obey_novas_state_rules() {
        let (mut c, now) = cloud();
        let id = c.management_server_id.clone();
        assert!(
            matches!(c.stop_server(&id, now), Err(Refusal::Conflict(m)) if m.contains("vm_state stopped"))
        );
        c.start_server(&id, now).unwrap();
        assert!(
            matches!(c.start_server(&id, now), Err(Refusal::Conflict(m)) if m.contains("task_state powering-on"))
        );
        assert!(matches!(
            c.start_server("nope", now),
            Err(Refusal::NotFound(_))
        ));
    }

    #[test]
    fn default_headroom_is_too_tight_until_the_zombie_goes() {
        let (mut c, now) = cloud();
        assert_eq!(c.host_with_slot(), None);
        let zombie = c
            .servers
            .iter()
            .find(|s| s.name == "amphora-c81d4e2f-6a7b-4c8d-9e1f-2a3b4c5d6e7f")
            .unwrap()
            .id
            .clone();
        c.delete_server(&zombie, now).unwrap();
        c.settle(after(now, Duration::from_secs(10)));
        assert_eq!(c.host_with_slot().as_deref(), Some("compute-2"));
    }

    #[test]
    fn failover_without_a_slot_fails_fast_and_leaves_an_error_orphan() {
        let (mut c, now) = cloud();
        let lb = c.load_balancers[0].id.clone();
        let servers_before = c.servers.len();
        c.failover_load_balancer(&lb, now).unwrap();
        assert!(
            matches!(c.failover_load_balancer(&lb, now), Err(Refusal::Conflict(m)) if m.contains("PENDING_UPDATE"))
        );
        c.settle(after(now, Duration::from_secs(15)));
        assert_eq!(c.load_balancers[0].provisioning_status, Provisioning::Error);
        assert_eq!(c.servers.len(), servers_before + 1);
        assert!(c.servers.last().unwrap().fault.is_some());
    }

    #[test]
    fn a_failover_builds_the_replacement_first_then_reaps_the_old_amphora() {
        let (mut c, now) = cloud();
        let zombie = zombie(&c);
        c.delete_server(&zombie, now).unwrap();
        let now = after(now, Duration::from_secs(10));
        c.settle(now);
        let lb = c.load_balancers[0].id.clone();
        let old = c.amphorae[0].clone();
        c.failover_load_balancer(&lb, now).unwrap();
        let during = after(now, Duration::from_secs(60));
        c.settle(during);
        assert_eq!(c.amphorae.len(), 2, "old and replacement side by side");
        assert!(
            c.amphorae
                .iter()
                .any(|a| a.status == AmphoraStatus::Booting)
        );
        assert_eq!(
            c.orphan_servers().count(),
            1,
            "only the ERROR orphan: the replacement has its row"
        );
        assert_eq!(
            c.host_with_slot(),
            None,
            "the replacement holds the freed slot"
        );
        let done = after(now, Duration::from_secs(108));
        c.settle(done);
        assert_eq!(
            c.load_balancers[0].provisioning_status,
            Provisioning::Active
        );
        assert_eq!(c.amphorae.len(), 1);
        assert_ne!(c.amphorae[0].id, old.id);
        assert_eq!(c.amphorae[0].status, AmphoraStatus::Allocated);
        assert!(
            c.server(&old.compute_id).is_none(),
            "old amphora's server reaped"
        );
        assert_eq!(c.failovers.len(), 1);
        assert_eq!(c.failovers[0].outcome.as_deref(), Some("ACTIVE"));
    }

    #[test]
    fn capo_reconciles_at_once_only_if_the_load_balancer_was_active_when_it_looked() {
        let (mut c, now) = cloud();
        let id = c.management_server_id.clone();
        let lb = c.load_balancers[0].id.clone();
        c.start_server(&id, now).unwrap();
        let up = after(now, Duration::from_secs(20 + 21 * 60));
        c.settle(up);
        assert!(!c.capo_sees_active(&lb, up));
        // Fixed after CAPO met it broken: seen only at CAPO's next retry.
        c.load_balancers[0].provisioning_status = Provisioning::Active;
        c.load_balancers[0].active_since = Some(after(up, Duration::from_secs(120)));
        assert!(!c.capo_sees_active(&lb, after(up, Duration::from_secs(300))));
        assert!(c.capo_sees_active(&lb, after(up, Duration::from_secs(600))));
        // Fixed before CAPO looked: seen at once.
        c.load_balancers[0].active_since = Some(now);
        assert!(c.capo_sees_active(&lb, up));
    }

    #[test]
    fn every_change_is_recorded_with_what_the_cloud_knew_then() {
        let (mut c, now) = cloud();
        let zombie = zombie(&c);
        let serving = c.amphorae[0].compute_id.clone();
        c.delete_server(&zombie, now).unwrap();
        c.delete_server(&serving, now).unwrap();
        let lb = c.load_balancers[0].id.clone();
        c.failover_load_balancer(&lb, now).unwrap();
        let later = after(now, Duration::from_secs(20));
        c.settle(later);
        c.failover_load_balancer(&lb, later).unwrap();
        let changes: Vec<_> = c.changes.iter().map(|r| r.change.clone()).collect();
        assert!(matches!(
            &changes[0],
            Change::ServerDelete {
                amphora_row: None,
                octavias: true,
                ..
            }
        ));
        assert!(
            matches!(
                &changes[1],
                Change::ServerDelete {
                    amphora_row: Some(_),
                    ..
                }
            ),
            "the serving amphora's server had a row"
        );
        assert!(
            matches!(&changes[2], Change::Failover { previous_outcome: None, free_slot: None, management_vm, .. } if management_vm == "SHUTOFF"),
            "{:?}",
            changes[2]
        );
        assert!(
            matches!(&changes[3], Change::Failover { previous_outcome: Some(o), .. } if o == "ERROR"),
            "{:?}",
            changes[3]
        );
    }

    #[test]
    fn sshd_dies_at_its_time_on_a_running_vm() {
        let mut scenario = Scenario::default_scenario();
        let mut dies = crate::scenario::FaultSpec::new("host", FaultKind::SshdDies);
        dies.from = Duration::from_secs(30 * 60);
        scenario.faults.push(dies);
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut c = Cloud::new(&scenario, now);
        let id = c.management_server_id.clone();
        c.start_server(&id, now).unwrap();
        let up = after(now, Duration::from_secs(20 * 60));
        c.settle(up);
        assert!(c.sshd_listening(up));
        let later = after(now, Duration::from_secs(31 * 60));
        c.settle(later);
        assert_eq!(c.ssh_port(later), crate::host::SshPort::Refuses);
    }

    #[test]
    fn the_race_fault_gives_an_orphan_a_row() {
        let (mut c, now) = cloud();
        assert_eq!(c.orphan_servers().count(), 2);
        let adopted = c.adopt_orphan(now).unwrap();
        assert_eq!(c.orphan_servers().count(), 1);
        assert!(c.amphorae.iter().any(|a| a.id == adopted));
        assert!(
            !c.health_manager_log(now).is_empty()
                || c.orphan_servers().all(|s| s.vm_state != VmState::Active)
        );
    }

    #[test]
    fn magnum_reason_is_empty_until_the_management_api_is_up_then_d042() {
        let (mut c, now) = cloud();
        let cluster = c.clusters[0].clone();
        assert!(c.cluster_health(&cluster, now).1.is_empty());
        let id = c.management_server_id.clone();
        c.start_server(&id, now).unwrap();
        let later = after(now, Duration::from_secs(20 + 21 * 60));
        c.settle(later);
        let (health, reason) = c.cluster_health(&cluster, later);
        assert_eq!(health, "UNHEALTHY");
        assert_eq!(
            reason["infrastructure"],
            "Infrastructure resource not found."
        );
        assert!(reason["cluster"].contains("is not active after timeout"));
    }
}
