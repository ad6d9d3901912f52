//! The simulated cloud's state and its rules: Nova's server state machine, Octavia's
//! failover, Placement's usage, Magnum's health, and how they cause each other.
//!
//! Transitions are stored with the simulated instant they become due and applied by
//! [`Cloud::settle`] before any read, so a poll never sees a state "between" rules.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use uuid::Uuid;

use crate::clock::{after, before};
use crate::fault::Faults;
use crate::scenario::{
    AmphoraStatus, FaultKind, FlavorSpec, HypervisorSpec, Operating, OrphanKind, Provisioning,
    Reach, Scenario, ServerStatus, Timings, Usage,
};
use crate::timeline::{Event, Timeline};

/// Amphora flavor of charm-octavia: 1024 MB, 1 vCPU, 8 GB.
pub const AMPHORA_FLAVOR: Usage = Usage {
    memory_mb: 1024,
    vcpus: 1,
    disk_gb: 8,
};

/// The amphora image, as charm-octavia-diskimage-retrofit names it; tagged
/// `octavia-amphora` and owned by the service project.
pub const AMPHORA_IMAGE: &str = "amphora-haproxy-x86_64-ubuntu-22.04-20260601";

/// A plain cloud image, public, owned by the admin project.
pub const UBUNTU_IMAGE: &str = "ubuntu-22.04-server-cloudimg-amd64";

/// Glance's images: (name, tags, owner project name).
pub const IMAGES: &[(&str, &[&str], &str)] = &[
    (AMPHORA_IMAGE, &["octavia-amphora"], "service"),
    (UBUNTU_IMAGE, &[], "admin"),
];

/// An image's id, derived from its name.
pub fn image_id(name: &str) -> String {
    derived_uuid("image", name).to_string()
}

/// Keystone's default domain.
pub const DEFAULT_DOMAIN: &str = "default";

/// Nova's NoValidHost fault message.
pub const NO_VALID_HOST: &str = "No valid host was found. There are not enough hosts available.";

/// A Keystone project.
#[derive(Debug, Clone)]
pub struct Project {
    /// 32 hex digits.
    pub id: String,
    /// Unique name in the default domain.
    pub name: String,
}

/// A Keystone user.
#[derive(Debug, Clone)]
pub struct User {
    /// 32 hex digits.
    pub id: String,
    /// Name in the default domain.
    pub name: String,
    /// Password.
    pub password: String,
    /// Project id → role names.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Project id of the default project.
    pub default_project_id: Option<String>,
}

/// An application credential.
#[derive(Debug, Clone)]
pub struct AppCredential {
    /// Id (32 hex digits).
    pub id: String,
    /// Name.
    pub name: String,
    /// Secret.
    pub secret: String,
    /// Owner's user id.
    pub user_id: String,
    /// Scope.
    pub project_id: String,
}

/// An issued token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The user.
    pub user_id: String,
    /// The scope.
    pub project_id: String,
    /// Roles on that project.
    pub roles: Vec<String>,
    /// Methods used.
    pub methods: Vec<String>,
    /// Issue time.
    pub issued_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
}

impl Token {
    /// Whether the token carries the `admin` role (Nova's and Octavia's admin policy).
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }
}

/// Nova's vm_state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmState {
    /// Running.
    Active,
    /// Powered off.
    Stopped,
    /// Failed.
    Error,
}

impl VmState {
    /// The API's `OS-EXT-STS:vm_state` value.
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Active => "active",
            VmState::Stopped => "stopped",
            VmState::Error => "error",
        }
    }

    /// The API's `status`, derived from vm_state as Nova does.
    pub fn status(self) -> &'static str {
        match self {
            VmState::Active => "ACTIVE",
            VmState::Stopped => "SHUTOFF",
            VmState::Error => "ERROR",
        }
    }
}

/// Nova's task_state while an action is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// `os-start` in progress.
    PoweringOn,
    /// `os-stop` in progress.
    PoweringOff,
    /// Delete in progress.
    Deleting,
}

impl TaskState {
    /// The API's `OS-EXT-STS:task_state` value.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::PoweringOn => "powering-on",
            TaskState::PoweringOff => "powering-off",
            TaskState::Deleting => "deleting",
        }
    }
}

/// A server's fault record (ERROR servers).
#[derive(Debug, Clone)]
pub struct ServerFault {
    /// HTTP-like code (500 for NoValidHost).
    pub code: u16,
    /// Message.
    pub message: String,
    /// When.
    pub created: Timestamp,
}

/// A Nova server.
#[derive(Debug, Clone)]
pub struct Server {
    /// UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owning project id.
    pub project_id: String,
    /// Creating user id.
    pub user_id: String,
    /// vm_state.
    pub vm_state: VmState,
    /// task_state.
    pub task_state: Option<TaskState>,
    /// Compute host; None if never scheduled.
    pub host: Option<String>,
    /// Flavor.
    pub flavor: FlavorSpec,
    /// The Glance image's name (see [`IMAGES`]); None when booted from a volume.
    pub image: Option<String>,
    /// Network the fixed address is on.
    pub network: String,
    /// Fixed address.
    pub fixed_ip: Option<String>,
    /// Floating address.
    pub floating_ip: Option<String>,
    /// Creation time.
    pub created: Timestamp,
    /// Last update.
    pub updated: Timestamp,
    /// Fault, for ERROR servers.
    pub fault: Option<ServerFault>,
    /// When it last became ACTIVE: the boot the guest's `uptime` counts from. Not
    /// Nova's `launched_at`, which is the spawn time.
    pub booted_at: Option<Timestamp>,
}

impl Server {
    /// Nova's `OS-EXT-STS:power_state`: 1 RUNNING, 4 SHUTDOWN, 0 NOSTATE.
    pub fn power_state(&self) -> u8 {
        match self.vm_state {
            VmState::Active => 1,
            VmState::Stopped => 4,
            VmState::Error => {
                if self.host.is_some() {
                    4
                } else {
                    0
                }
            }
        }
    }

    /// What this server holds in Placement (every state but deleted, as Nova keeps
    /// allocations for stopped and failed-on-host servers).
    pub fn allocation(&self) -> Option<(&str, Usage)> {
        let host = self.host.as_deref()?;
        Some((
            host,
            Usage {
                memory_mb: self.flavor.ram,
                vcpus: self.flavor.vcpus,
                disk_gb: self.flavor.disk,
            },
        ))
    }
}

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

/// A Magnum cluster.
#[derive(Debug, Clone)]
pub struct MagnumCluster {
    /// UUID.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Owning project id.
    pub project_id: String,
    /// The kube-api load balancer id.
    pub api_load_balancer: String,
    /// D-042 driver lookup bug present.
    pub d042: bool,
    /// Created.
    pub created: Timestamp,
}

/// A compute host.
#[derive(Debug, Clone)]
pub struct Hypervisor {
    /// Resource provider uuid.
    pub uuid: String,
    /// Scenario data.
    pub spec: HypervisorSpec,
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
        let projects: Vec<Project> = scenario
            .projects
            .iter()
            .map(|p| Project {
                id: p
                    .id
                    .clone()
                    .unwrap_or_else(|| derived_hex("project", &p.name)),
                name: p.name.clone(),
            })
            .collect();
        let project_id = |name: &str| {
            projects
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.id.clone())
                .expect("checked")
        };
        let users: Vec<User> = scenario
            .users
            .iter()
            .map(|u| User {
                id: derived_hex("user", &u.name),
                name: u.name.clone(),
                password: u.password.clone(),
                roles: u
                    .roles
                    .iter()
                    .map(|(p, r)| (project_id(p), r.clone()))
                    .collect(),
                default_project_id: u.default_project.as_deref().map(project_id),
            })
            .collect();
        let app_credentials = scenario
            .application_credentials
            .iter()
            .map(|a| AppCredential {
                id: a
                    .id
                    .clone()
                    .unwrap_or_else(|| derived_hex("appcred", &a.name)),
                name: a.name.clone(),
                secret: a.secret.clone(),
                user_id: derived_hex("user", &a.user),
                project_id: project_id(&a.project),
            })
            .collect();
        let service_project_id = project_id("service");
        let octavia_user = derived_hex("user", "octavia");
        let started = before(now, std::time::Duration::from_secs(30 * 86400));

        let mut servers: Vec<Server> = scenario
            .servers
            .iter()
            .map(|s| {
                let vm_state = match s.status {
                    ServerStatus::Active => VmState::Active,
                    ServerStatus::Shutoff => VmState::Stopped,
                    ServerStatus::Error => VmState::Error,
                };
                Server {
                    id: s
                        .id
                        .clone()
                        .unwrap_or_else(|| derived_uuid("server", &s.name).to_string()),
                    name: s.name.clone(),
                    project_id: project_id(&s.project),
                    user_id: derived_hex("user", "admin"),
                    vm_state,
                    task_state: None,
                    host: s.host.clone(),
                    flavor: s.flavor.clone(),
                    image: Some(s.image.clone()),
                    network: format!("{}-net", s.project),
                    fixed_ip: s.fixed_ip.clone(),
                    floating_ip: s.floating_ip.clone(),
                    created: started,
                    updated: before(now, std::time::Duration::from_secs(3 * 3600)),
                    fault: None,
                    // A server that starts ACTIVE booted long ago: its stack is up.
                    booted_at: (vm_state == VmState::Active)
                        .then(|| before(now, std::time::Duration::from_secs(86400))),
                }
            })
            .collect();
        let management_server_id = servers
            .iter()
            .find(|s| s.name == scenario.management.server)
            .map(|s| s.id.clone())
            .expect("checked");

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
        let clusters = scenario
            .magnum_clusters
            .iter()
            .map(|c| MagnumCluster {
                uuid: c.uuid.clone(),
                name: c.name.clone(),
                project_id: project_id(&c.project),
                api_load_balancer: c.api_load_balancer.clone(),
                d042: c.d042,
                created: started,
            })
            .collect();
        let hypervisors = scenario
            .hypervisors
            .iter()
            .map(|h| Hypervisor {
                uuid: derived_uuid("rp", &h.name).to_string(),
                spec: h.clone(),
            })
            .collect();
        let faults = Faults::new(&scenario.faults, scenario.seed, now);
        let mut timeline = Timeline::default();
        for (fault, due) in faults.world_schedule() {
            timeline.schedule(due, Event::WorldFault { fault });
        }
        Cloud {
            timings: scenario.timings.clone(),
            token_ttl: scenario.token_ttl,
            region: scenario.region.clone(),
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
            service_project_id,
            host: HostSpec {
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
            },
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

    /// Nova finishes `task` on a server, unless it is gone or doing another by now.
    fn finish_server_task(&mut self, id: &str, task: TaskState, at: Timestamp) {
        let Some(index) = self.servers.iter().position(|s| s.id == id) else {
            return;
        };
        let server = &mut self.servers[index];
        if server.task_state != Some(task) {
            return;
        }
        server.task_state = None;
        server.updated = at;
        match task {
            TaskState::PoweringOn => {
                server.vm_state = VmState::Active;
                server.booted_at = Some(at);
            }
            TaskState::PoweringOff => {
                server.vm_state = VmState::Stopped;
                server.booted_at = None;
            }
            TaskState::Deleting => {
                self.servers.remove(index);
            }
        }
    }

    /// Puts `task` on a server and schedules its end `delay` from `now`.
    fn begin_server_task(
        &mut self,
        id: &str,
        task: TaskState,
        delay: std::time::Duration,
        now: Timestamp,
    ) {
        if let Some(server) = self.servers.iter_mut().find(|s| s.id == id) {
            server.task_state = Some(task);
            server.updated = now;
        }
        self.timeline.schedule(
            after(now, delay),
            Event::ServerTask {
                server_id: id.to_string(),
                task,
            },
        );
    }

    fn finish_failover(&mut self, id: &str, at: Timestamp) {
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

    /// Finds a project by id.
    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    /// Finds a server by id.
    pub fn server(&self, id: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.id == id)
    }

    /// `os-start`: needs vm_state stopped and no task.
    pub fn start_server(&mut self, id: &str, now: Timestamp) -> Result<(), Refusal> {
        let delay = self.timings.server_start;
        let server = self.server_mut(id)?;
        // Nova's check_instance_state: the vm_state first, then the task.
        if server.vm_state != VmState::Stopped {
            return Err(conflict_vm_state(server, "start"));
        }
        check_task(server, "start")?;
        self.begin_server_task(id, TaskState::PoweringOn, delay, now);
        self.record(
            now,
            Change::ServerStart {
                server_id: id.to_string(),
            },
        );
        Ok(())
    }

    /// `os-stop`: needs vm_state active or error and no task.
    pub fn stop_server(&mut self, id: &str, now: Timestamp) -> Result<(), Refusal> {
        let delay = self.timings.server_stop;
        let server = self.server_mut(id)?;
        // Nova's check_instance_state: the vm_state first, then the task.
        if !matches!(server.vm_state, VmState::Active | VmState::Error) {
            return Err(conflict_vm_state(server, "stop"));
        }
        check_task(server, "stop")?;
        self.begin_server_task(id, TaskState::PoweringOff, delay, now);
        self.record(
            now,
            Change::ServerStop {
                server_id: id.to_string(),
            },
        );
        Ok(())
    }

    /// Delete: accepted in any state; the server is gone after the delete delay.
    pub fn delete_server(&mut self, id: &str, now: Timestamp) -> Result<(), Refusal> {
        let delay = self.timings.server_delete;
        let server = self.server_mut(id)?;
        if server.task_state == Some(TaskState::Deleting) {
            return Ok(());
        }
        let server = server.clone();
        self.begin_server_task(id, TaskState::Deleting, delay, now);
        let amphora_id = server.name.strip_prefix("amphora-");
        let amphora_row = self
            .amphorae
            .iter()
            .find(|a| Some(a.id.as_str()) == amphora_id || a.compute_id == server.id)
            .map(|a| a.id.clone());
        let octavias = server.project_id == self.service_project_id
            && amphora_id.is_some_and(|u| Uuid::parse_str(u).is_ok())
            && server.image.as_deref() == Some(AMPHORA_IMAGE);
        self.record(
            now,
            Change::ServerDelete {
                server_id: server.id,
                name: server.name,
                project_id: server.project_id,
                amphora_row,
                octavias,
            },
        );
        Ok(())
    }

    fn record(&mut self, at: Timestamp, change: Change) {
        self.changes.push(ChangeRecord { at, change });
    }

    fn server_mut(&mut self, id: &str) -> Result<&mut Server, Refusal> {
        self.servers
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| Refusal::NotFound(format!("Instance {id} could not be found.")))
    }

    /// Placement usage of a host: modelled servers plus the scenario's other usage.
    pub fn usage(&self, host: &str) -> Usage {
        let base = self
            .hypervisors
            .iter()
            .find(|h| h.spec.name == host)
            .map(|h| h.spec.other_usage)
            .unwrap_or_default();
        self.servers
            .iter()
            .filter_map(|s| s.allocation())
            .filter(|(h, _)| *h == host)
            .fold(base, |acc, (_, u)| Usage {
                memory_mb: acc.memory_mb + u.memory_mb,
                vcpus: acc.vcpus + u.vcpus,
                disk_gb: acc.disk_gb + u.disk_gb,
            })
    }

    /// The host the scheduler would pick for one amphora, as Placement decides fit.
    pub fn host_with_slot(&self) -> Option<String> {
        self.hypervisors
            .iter()
            .filter(|h| !h.spec.disabled)
            .find(|h| {
                let used = self.usage(&h.spec.name);
                let s = &h.spec;
                let fits = |total: u64, reserved: u64, ratio: f64, used: u64, amount: u64| {
                    let capacity = ((total.saturating_sub(reserved)) as f64 * ratio) as u64;
                    used + amount <= capacity && amount <= total
                };
                fits(
                    s.memory_mb,
                    s.reserved_memory_mb,
                    s.ram_allocation_ratio,
                    used.memory_mb,
                    AMPHORA_FLAVOR.memory_mb,
                ) && fits(
                    s.vcpus,
                    0,
                    s.cpu_allocation_ratio,
                    used.vcpus,
                    AMPHORA_FLAVOR.vcpus,
                ) && fits(
                    s.disk_gb,
                    0,
                    s.disk_allocation_ratio,
                    used.disk_gb,
                    AMPHORA_FLAVOR.disk_gb,
                )
            })
            .map(|h| h.spec.name.clone())
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

    /// Whether CAPO's load-balancer reconcile has seen this load balancer ACTIVE.
    /// CAPO starts with the management API: a load balancer already ACTIVE then is
    /// reconciled at once; one that was not is retried every `capo_lb_backoff`, so it
    /// counts only from the first retry after it became ACTIVE.
    pub fn capo_sees_active(&self, lb_id: &str, now: Timestamp) -> bool {
        let Some(up) = self.management_api_up_since(now) else {
            return false;
        };
        let Some(lb) = self.load_balancers.iter().find(|lb| lb.id == lb_id) else {
            return false;
        };
        if lb.provisioning_status != Provisioning::Active {
            return false;
        }
        let since = lb.active_since.unwrap_or(up);
        if since <= up {
            return true;
        }
        let backoff = self.timings.capo_lb_backoff.as_secs_f64().max(1.0);
        let late = since.duration_since(up).as_secs_f64();
        let retry = (late / backoff).ceil() * backoff;
        after(up, std::time::Duration::from_secs_f64(retry)) <= now
    }

    /// Magnum's view of a cluster: `(health_status, health_status_reason)`.
    ///
    /// The CAPI Helm driver asks the management cluster; unreachable → UNHEALTHY
    /// with an empty reason. Reachable → one entry per component, where `cluster`
    /// follows CAPO's view of the kube-api load balancer and `infrastructure` is
    /// D-042's lookup failure when the driver has that bug.
    pub fn cluster_health(
        &self,
        cluster: &MagnumCluster,
        now: Timestamp,
    ) -> (String, BTreeMap<String, String>) {
        let mut reason = BTreeMap::new();
        if !self.management_api_up(now) {
            return ("UNHEALTHY".into(), reason);
        }
        let lb = self
            .load_balancers
            .iter()
            .find(|lb| lb.id == cluster.api_load_balancer);
        let lb_active = self.capo_sees_active(&cluster.api_load_balancer, now);
        let cluster_reason = if lb_active {
            "Ready".to_string()
        } else {
            let (name, id) = lb
                .map(|lb| (lb.name.as_str(), lb.id.as_str()))
                .unwrap_or(("", ""));
            format!(
                "InfrastructureReady: failed to reconcile load balancer: load balancer \"{name}\" with id {id} is not active after timeout: timed out waiting for the condition"
            )
        };
        reason.insert("cluster".into(), cluster_reason);
        reason.insert(
            "infrastructure".into(),
            if cluster.d042 {
                "Infrastructure resource not found.".into()
            } else {
                "Ready".into()
            },
        );
        reason.insert("controlplane".into(), "Ready".into());
        reason.insert("nodegroup".into(), "Ready".into());
        let healthy = reason.values().all(|v| v == "Ready");
        (if healthy { "HEALTHY" } else { "UNHEALTHY" }.into(), reason)
    }
}

fn check_task(server: &Server, action: &str) -> Result<(), Refusal> {
    match server.task_state {
        Some(task) => Err(Refusal::Conflict(format!(
            "Cannot '{action}' instance {} while it is in task_state {}",
            server.id,
            task.as_str()
        ))),
        None => Ok(()),
    }
}

fn conflict_vm_state(server: &Server, action: &str) -> Refusal {
    Refusal::Conflict(format!(
        "Cannot '{action}' instance {} while it is in vm_state {}",
        server.id,
        server.vm_state.as_str()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
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
