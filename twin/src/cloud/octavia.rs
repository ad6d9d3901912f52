//! Octavia's state and rules: load balancers, amphorae and their servers, the
//! failover flow (built first, reaped after; its worker faults drawn as it starts),
//! the worker's and health manager's logs, orphans; built from the scenario's
//! `load_balancers` and `orphan_amphorae`.

use jiff::Timestamp;
use uuid::Uuid;

use super::compute::{AMPHORA_FLAVOR, AMPHORA_IMAGE, NO_VALID_HOST, Server, ServerFault, VmState};
use super::identity::{Project, project_id};
use super::{Change, Cloud, Refusal, derived_hex, derived_uuid};
use crate::clock::{after, before};
use crate::scenario::{
    AmphoraStatus, FaultKind, FlavorSpec, Operating, OrphanKind, Provisioning, Reach, Scenario,
};
use crate::timeline::Event;

/// An Octavia load balancer.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    /// UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owning project id.
    pub project_id: String,
    /// provisioning_status.
    pub provisioning_status: Provisioning,
    /// operating_status.
    pub operating_status: Operating,
    /// VIP.
    pub vip_address: String,
    /// VIP port (Octavia-owned: kept across failovers).
    pub vip_port_id: String,
    /// VIP subnet.
    pub vip_subnet_id: String,
    /// VIP network.
    pub vip_network_id: String,
    /// Floating IP on the VIP port.
    pub floating_ip: Option<String>,
    /// Where the floating IP goes when the next failover completes (a test's
    /// steer: a failover must never move the endpoint unnoticed).
    pub floating_ip_after_failover: Option<String>,
    /// Created.
    pub created: Timestamp,
    /// Updated.
    pub updated: Timestamp,
    /// When it last became ACTIVE (what CAPO's reconcile depends on).
    pub active_since: Option<Timestamp>,
    /// A failover in flight.
    pub failover: Option<Failover>,
}

/// One failover, as the twin saw it: tests check from these that failovers never
/// overlapped and were never retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverRecord {
    /// The load balancer.
    pub load_balancer_id: String,
    /// When Octavia accepted it.
    pub started: Timestamp,
    /// When it ended (ACTIVE or ERROR).
    pub finished: Option<Timestamp>,
    /// `ACTIVE` or `ERROR` once finished.
    pub outcome: Option<String>,
}

/// A failover in flight: its outcome is decided when it starts, from Placement.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The host the replacement amphora lands on, or None: NoValidHost.
    pub host: Option<String>,
    /// The replacement amphora's id.
    pub new_amphora_id: String,
    /// Its agent never answers: the flow fails at the end, leaving a zombie.
    pub boot_timeout: bool,
}

/// An Octavia amphora row.
#[derive(Debug, Clone)]
pub struct Amphora {
    /// UUID; its server is `amphora-<id>`.
    pub id: String,
    /// Load balancer id.
    pub loadbalancer_id: String,
    /// Nova server id.
    pub compute_id: String,
    /// Status.
    pub status: AmphoraStatus,
    /// Role.
    pub role: String,
    /// lb-mgmt-net address.
    pub lb_network_ip: String,
    /// VRRP address.
    pub vrrp_ip: String,
    /// HA (VIP) address.
    pub ha_ip: String,
    /// Created.
    pub created: Timestamp,
    /// Updated.
    pub updated: Timestamp,
    /// Cert expiry.
    pub cert_expiration: Timestamp,
}

/// An amphora's own address on the VIP subnet (its VRRP port), next to the VIP.
fn vrrp_ip(amphora_id: &str) -> String {
    let byte = derived_uuid("vrrp-ip", amphora_id).as_bytes()[0];
    format!("192.0.2.{}", 101 + byte % 99)
}

fn amphora_server(
    server_id: &str,
    amphora_id: &str,
    project_id: &str,
    user_id: &str,
    host: Option<String>,
    vm_state: VmState,
    created: Timestamp,
) -> Server {
    let fixed_ip = host.as_ref().map(|_| {
        let hex = derived_uuid("lb-mgmt-ip", amphora_id).simple().to_string();
        format!("fc00:4f::{}:{}", &hex[0..4], &hex[4..8])
    });
    Server {
        id: server_id.to_string(),
        name: format!("amphora-{amphora_id}"),
        project_id: project_id.to_string(),
        user_id: user_id.to_string(),
        vm_state,
        task_state: None,
        host,
        flavor: FlavorSpec {
            name: "charm-octavia".into(),
            ram: AMPHORA_FLAVOR.memory_mb,
            vcpus: AMPHORA_FLAVOR.vcpus,
            disk: AMPHORA_FLAVOR.disk_gb,
        },
        image: Some(AMPHORA_IMAGE.into()),
        // charm-octavia's lb-mgmt-net is IPv6 (SLAAC fc00::/64); a never-scheduled
        // server has no port.
        network: "lb-mgmt-net".into(),
        fixed_ip,
        floating_ip: None,
        created,
        updated: created,
        fault: None,
        booted_at: (vm_state == VmState::Active).then_some(created),
    }
}

impl Cloud {
    pub(super) fn finish_failover(&mut self, id: &str, at: Timestamp) {
        let Some(lb) = self.load_balancers.iter_mut().find(|lb| lb.id == id) else {
            return;
        };
        let Some(failover) = lb.failover.take() else {
            return;
        };
        lb.updated = at;
        let lb_id = lb.id.clone();
        let new_id = failover.new_amphora_id.clone();
        let outcome = match failover.host {
            Some(_) if failover.boot_timeout => {
                // Late-flow failure: the revert drops the new amphora's row (DELETED,
                // hidden) but the server it booted stays, heartbeating: a zombie.
                lb.provisioning_status = Provisioning::Error;
                self.amphorae.retain(|a| a.id != new_id);
                self.log_worker(at, "ERROR", &format!("Failover of load balancer {lb_id} failed: octavia.amphorae.driver_exceptions.exceptions.TimeOutException: contacting the amphora {new_id} timed out"));
                "ERROR"
            }
            Some(_) => {
                lb.provisioning_status = Provisioning::Active;
                lb.active_since = Some(at);
                if let Some(ip) = lb.floating_ip_after_failover.take() {
                    lb.floating_ip = Some(ip);
                }
                // The replacement, built when the failover began, takes over; only
                // then are the old amphorae and their servers reaped.
                let old: Vec<Amphora> = self
                    .amphorae
                    .iter()
                    .filter(|a| a.loadbalancer_id == lb_id && a.id != new_id)
                    .cloned()
                    .collect();
                self.amphorae
                    .retain(|a| a.loadbalancer_id != lb_id || a.id == new_id);
                for a in &old {
                    self.servers.retain(|s| s.id != a.compute_id);
                }
                let vip = lb.vip_address.clone();
                if let Some(new) = self.amphorae.iter_mut().find(|a| a.id == new_id) {
                    // Plugged into the VIP network once it took over: its own VRRP
                    // port address, and the VIP it holds.
                    new.status = AmphoraStatus::Allocated;
                    new.vrrp_ip = vrrp_ip(&new.id);
                    new.ha_ip = vip;
                    new.updated = at;
                }
                self.log_worker(at, "INFO", &format!("Failover of load balancer {lb_id} completed: amphora {new_id} is ALLOCATED; reaped {}", old.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ")));
                "ACTIVE"
            }
            None => {
                // Early-flow failure: the spawn hit NoValidHost. Octavia marks the LB
                // ERROR and loses the new amphora's row, but the ERROR server stays.
                lb.provisioning_status = Provisioning::Error;
                let server_id = derived_uuid("amphora-server", &new_id).to_string();
                let mut server = amphora_server(
                    &server_id,
                    &new_id,
                    &self.service_project_id,
                    &derived_hex("user", "octavia"),
                    None,
                    VmState::Error,
                    at,
                );
                server.fault = Some(ServerFault {
                    code: 500,
                    message: NO_VALID_HOST.into(),
                    created: at,
                });
                self.servers.push(server);
                self.log_worker(at, "ERROR", &format!("Compute instance {server_id} for amphora {new_id} went into ERROR: {NO_VALID_HOST} (NoValidHost)"));
                self.log_worker(at, "ERROR", &format!("Failover of load balancer {lb_id} failed: octavia.common.exceptions.ComputeBuildException: Failed to build compute instance due to: {NO_VALID_HOST}"));
                "ERROR"
            }
        };
        if let Some(record) = self
            .failovers
            .iter_mut()
            .rev()
            .find(|r| r.load_balancer_id == lb_id && r.finished.is_none())
        {
            record.finished = Some(at);
            record.outcome = Some(outcome.into());
        }
    }

    fn log_worker(&mut self, at: Timestamp, level: &str, message: &str) {
        self.worker_log.push(format!(
            "{} 4242 {level} octavia.controller.worker.v2.controller_worker [-] {message}",
            at.strftime("%Y-%m-%d %H:%M:%S%.3f")
        ));
    }

    /// health-manager.log: what the health manager says every heartbeat (10 s) about
    /// each heartbeating amphora that has no row, over the last minute.
    pub fn health_manager_log(&self, now: Timestamp) -> Vec<String> {
        let mut lines = Vec::new();
        for beat in (0..6).rev() {
            let at = before(now, std::time::Duration::from_secs(beat * 10));
            for zombie in self
                .orphan_servers()
                .filter(|s| s.vm_state == VmState::Active)
            {
                let id = zombie.name.trim_start_matches("amphora-");
                lines.push(format!(
                    "{} 4243 WARNING octavia.amphorae.drivers.health.heartbeat_udp [-] Amphora {id} health message was processed but the amphora is missing from the DB. An operator must manually delete it.",
                    at.strftime("%Y-%m-%d %H:%M:%S%.3f")
                ));
            }
        }
        lines
    }

    /// Servers named `amphora-<id>` with no amphora row by id or compute id.
    pub fn orphan_servers(&self) -> impl Iterator<Item = &Server> {
        // Only Octavia's own servers heartbeat to its health manager: a server that
        // happens to be named `amphora-<uuid>` (a tenant's, or one in the service
        // project built from another image) is not an amphora.
        self.servers
            .iter()
            .filter(|s| s.project_id == self.service_project_id)
            .filter(|s| s.image.as_deref() == Some(AMPHORA_IMAGE))
            .filter(|s| {
                s.name.strip_prefix("amphora-").is_some_and(|id| {
                    !self
                        .amphorae
                        .iter()
                        .any(|a| a.id == id || a.compute_id == s.id)
                })
            })
    }

    /// The race fault: an amphora row appears for the first orphan server (newest
    /// first), as if Octavia had just adopted it.
    pub fn adopt_orphan(&mut self, now: Timestamp) -> Option<String> {
        let server = self.orphan_servers().max_by_key(|s| s.created)?.clone();
        let id = server.name.trim_start_matches("amphora-").to_string();
        let lb = self
            .load_balancers
            .first()
            .map(|lb| lb.id.clone())
            .unwrap_or_default();
        self.amphorae.push(Amphora {
            id: id.clone(),
            loadbalancer_id: lb,
            compute_id: server.id.clone(),
            status: AmphoraStatus::Booting,
            role: "STANDALONE".into(),
            lb_network_ip: "fc00:4f::77".into(),
            vrrp_ip: String::new(),
            ha_ip: String::new(),
            created: now,
            updated: now,
            cert_expiration: after(now, std::time::Duration::from_secs(60 * 86400)),
        });
        Some(id)
    }

    /// Octavia failover: allowed from ACTIVE or ERROR, then PENDING_UPDATE until done.
    pub fn failover_load_balancer(&mut self, id: &str, now: Timestamp) -> Result<(), Refusal> {
        let mut host = self.host_with_slot();
        let timings = self.timings.clone();
        let lb = self
            .load_balancers
            .iter_mut()
            .find(|lb| lb.id == id)
            .ok_or_else(|| Refusal::NotFound(format!("Load Balancer {id} not found.")))?;
        if !matches!(
            lb.provisioning_status,
            Provisioning::Active | Provisioning::Error
        ) {
            return Err(Refusal::Conflict(format!(
                "Invalid state {} of loadbalancer resource {}",
                lb.provisioning_status, lb.id
            )));
        }
        let previous_outcome = self
            .failovers
            .iter()
            .rev()
            .find(|r| r.load_balancer_id == id)
            .map(|r| r.outcome.clone().unwrap_or_else(|| "PENDING".into()));
        let change = Change::Failover {
            load_balancer_id: id.to_string(),
            others_in_flight: self
                .load_balancers
                .iter()
                .filter(|lb| lb.id != id && lb.failover.is_some())
                .map(|lb| lb.id.clone())
                .collect(),
            previous_outcome,
            free_slot: host.clone(),
            management_vm: self
                .server(&self.management_server_id)
                .map_or("DELETED", |s| s.vm_state.status())
                .to_string(),
        };
        self.record(now, change);
        // Octavia's worker meets its own faults as the flow starts: the scheduler
        // refuses the amphora whatever Placement says (NoValidHost), or the
        // replacement boots and never answers.
        let flow = format!("loadbalancers/{id}/failover");
        let worker_fault = self
            .faults
            .strike(Reach::Worker, "load-balancer", &flow, now)
            .map(|f| f.kind);
        if worker_fault == Some(FaultKind::NoValidHost) {
            host = None;
        }
        let boot_timeout = host.is_some() && worker_fault == Some(FaultKind::AmphoraBootTimeout);
        let lb = self
            .load_balancers
            .iter_mut()
            .find(|lb| lb.id == id)
            .expect("found above");
        let delay = if host.is_some() {
            timings.failover
        } else {
            timings.failover_fast_fail
        };
        lb.provisioning_status = Provisioning::PendingUpdate;
        lb.updated = now;
        let lb_id = lb.id.clone();
        let new_amphora_id = Uuid::new_v4().to_string();
        self.timeline.schedule(
            after(now, delay),
            Event::FailoverEnds {
                load_balancer_id: lb.id.clone(),
            },
        );
        lb.failover = Some(Failover {
            host: host.clone(),
            new_amphora_id: new_amphora_id.clone(),
            boot_timeout,
        });
        self.failovers.push(FailoverRecord {
            load_balancer_id: lb_id.clone(),
            started: now,
            finished: None,
            outcome: None,
        });
        self.log_worker(
            now,
            "INFO",
            &format!("Performing failover for load balancer {lb_id}"),
        );
        // The replacement amphora is built first: its row and server (and so its
        // Placement allocation) exist for the whole failover.
        if let Some(host) = host {
            let server_id = derived_uuid("amphora-server", &new_amphora_id).to_string();
            self.servers.push(amphora_server(
                &server_id,
                &new_amphora_id,
                &self.service_project_id,
                &derived_hex("user", "octavia"),
                Some(host),
                VmState::Active,
                now,
            ));
            self.amphorae.push(Amphora {
                id: new_amphora_id,
                loadbalancer_id: lb_id.clone(),
                compute_id: server_id,
                status: AmphoraStatus::Booting,
                role: "STANDALONE".into(),
                lb_network_ip: "fc00:4f::3b".into(),
                vrrp_ip: String::new(),
                ha_ip: String::new(),
                created: now,
                updated: now,
                cert_expiration: after(now, std::time::Duration::from_secs(60 * 86400)),
            });
        }
        Ok(())
    }
}

/// Load balancers and their amphorae (rows and servers) as the scenario's
/// `load_balancers` give them, and the orphan amphora servers of `orphan_amphorae`.
pub(super) fn build(
    scenario: &Scenario,
    projects: &[Project],
    servers: &mut Vec<Server>,
    started: Timestamp,
    now: Timestamp,
) -> (Vec<LoadBalancer>, Vec<Amphora>) {
    let project_id = |name: &str| project_id(projects, name);
    let service_project_id = project_id("service");
    let octavia_user = derived_hex("user", "octavia");
    let mut load_balancers = Vec::new();
    let mut amphorae = Vec::new();
    for lb in &scenario.load_balancers {
        load_balancers.push(LoadBalancer {
            id: lb.id.clone(),
            name: lb.name.clone(),
            project_id: project_id(&lb.project),
            provisioning_status: lb.provisioning_status,
            operating_status: lb.operating_status,
            vip_address: lb.vip_address.clone(),
            vip_port_id: derived_uuid("vip-port", &lb.id).to_string(),
            vip_subnet_id: derived_uuid("subnet", &lb.project).to_string(),
            vip_network_id: derived_uuid("network", &lb.project).to_string(),
            floating_ip: lb.floating_ip.clone(),
            floating_ip_after_failover: None,
            created: started,
            updated: before(now, std::time::Duration::from_secs(5 * 3600)),
            active_since: (lb.provisioning_status == Provisioning::Active).then_some(started),
            failover: None,
        });
        for a in &lb.amphorae {
            let server_id = derived_uuid("amphora-server", &a.id).to_string();
            servers.push(amphora_server(
                &server_id,
                &a.id,
                &service_project_id,
                &octavia_user,
                Some(a.host.clone()),
                VmState::Active,
                started,
            ));
            amphorae.push(Amphora {
                id: a.id.clone(),
                loadbalancer_id: lb.id.clone(),
                compute_id: server_id,
                status: a.status,
                role: a.role.clone(),
                lb_network_ip: a.lb_network_ip.clone(),
                vrrp_ip: vrrp_ip(&a.id),
                ha_ip: lb.vip_address.clone(),
                created: started,
                updated: started,
                cert_expiration: after(now, std::time::Duration::from_secs(60 * 86400)),
            });
        }
    }
    for o in &scenario.orphan_amphorae {
        let server_id = derived_uuid("amphora-server", &o.amphora_id).to_string();
        let created = before(now, o.age);
        let (state, fault) = match o.kind {
            OrphanKind::Zombie => (VmState::Active, None),
            OrphanKind::Error => (
                VmState::Error,
                Some(ServerFault {
                    code: 500,
                    message: NO_VALID_HOST.into(),
                    created,
                }),
            ),
        };
        let mut server = amphora_server(
            &server_id,
            &o.amphora_id,
            &service_project_id,
            &octavia_user,
            o.host.clone(),
            state,
            created,
        );
        server.fault = fault;
        servers.push(server);
    }
    (load_balancers, amphorae)
}
