//! Scenario files: the twin's initial state, timings, time scale and injected faults.
//!
//! A scenario is YAML. Every field has a default taken from the runbook's verified
//! figures, so a scenario only says what differs. The embedded default
//! (`scenarios/default.yaml`) is the runbook's own situation.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The embedded default scenario: the runbook's parked stack.
pub const DEFAULT_SCENARIO: &str = include_str!("../scenarios/default.yaml");

/// A whole simulated cloud, as read from a scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name shown by `twin` and `demo`.
    #[serde(default = "default_name")]
    pub name: String,
    /// How many simulated seconds pass per real second (60 makes 21 minutes pass in 21 s).
    #[serde(default = "default_time_scale")]
    pub time_scale: f64,
    /// Keystone region of every endpoint.
    #[serde(default = "default_region")]
    pub region: String,
    /// Lifetime of an issued token, in simulated time.
    #[serde(default = "default_token_ttl", deserialize_with = "duration")]
    pub token_ttl: Duration,
    /// Projects (Keystone ids are 32 hex digits; give one or let the twin derive it).
    pub projects: Vec<ProjectSpec>,
    /// Users, their passwords and role assignments.
    pub users: Vec<UserSpec>,
    /// Application credentials, each fixed to one user and project.
    #[serde(default)]
    pub application_credentials: Vec<AppCredentialSpec>,
    /// Compute hosts, which are also Placement resource providers.
    pub hypervisors: Vec<HypervisorSpec>,
    /// Nova servers other than amphorae.
    #[serde(default)]
    pub servers: Vec<ServerSpec>,
    /// Octavia load balancers and their amphorae.
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerSpec>,
    /// Amphora servers with no Octavia row: what failed failovers leave behind.
    #[serde(default)]
    pub orphan_amphorae: Vec<OrphanSpec>,
    /// Magnum clusters managed by the CAPI management cluster.
    #[serde(default)]
    pub magnum_clusters: Vec<MagnumClusterSpec>,
    /// The management VM and what runs on it.
    pub management: ManagementSpec,
    /// How long things take, in simulated time.
    #[serde(default)]
    pub timings: Timings,
    /// Faults to inject into API answers.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// The seed of every probabilistic fault's draw: the same seed, the same faults.
    #[serde(default)]
    pub seed: u64,
    /// Fault: the operator's Juju login has expired (a stale macaroon), so `juju ssh`
    /// to the octavia units fails with `cannot get discharge ... EOF`.
    #[serde(default)]
    pub juju_login_expired: bool,
}

/// A Keystone project.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    /// Project id; derived from the name when absent.
    pub id: Option<String>,
    /// Project name, unique in the `Default` domain.
    pub name: String,
}

/// A Keystone user with a password and role assignments.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// User name, in the `Default` domain.
    pub name: String,
    /// The user's password (the twin's own, written to its clouds.yaml).
    pub password: String,
    /// Project name → role names.
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, Vec<String>>,
    /// The project a plain (unscoped-by-choice) login lands in.
    pub default_project: Option<String>,
}

/// An application credential: secret, user and project fixed at creation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppCredentialSpec {
    /// Credential id; derived from the name when absent.
    pub id: Option<String>,
    /// Credential name (unique per user).
    pub name: String,
    /// The credential's secret.
    pub secret: String,
    /// Owning user's name.
    pub user: String,
    /// Project the credential is scoped to.
    pub project: String,
}

/// A compute host and its Placement inventory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypervisorSpec {
    /// Hostname, also the resource provider's name.
    pub name: String,
    /// Physical memory.
    pub memory_mb: u64,
    /// Physical cores.
    pub vcpus: u64,
    /// Local disk.
    pub disk_gb: u64,
    /// `reserved_host_memory_mb` (D-040 on the runbook's site: 8192).
    #[serde(default)]
    pub reserved_memory_mb: u64,
    /// `ram_allocation_ratio`.
    #[serde(default = "one_and_a_half")]
    pub ram_allocation_ratio: f64,
    /// `cpu_allocation_ratio`.
    #[serde(default = "four")]
    pub cpu_allocation_ratio: f64,
    /// `disk_allocation_ratio`.
    #[serde(default = "one")]
    pub disk_allocation_ratio: f64,
    /// Usage by workloads the scenario does not model as servers.
    #[serde(default)]
    pub other_usage: Usage,
    /// The compute service is disabled (`COMPUTE_STATUS_DISABLED` trait).
    #[serde(default)]
    pub disabled: bool,
}

/// Resource amounts in Placement's three classes.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// MEMORY_MB.
    #[serde(default)]
    pub memory_mb: u64,
    /// VCPU.
    #[serde(default)]
    pub vcpus: u64,
    /// DISK_GB.
    #[serde(default)]
    pub disk_gb: u64,
}

/// A flavor as Nova embeds it in a server (microversion 2.47+).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlavorSpec {
    /// Flavor name.
    pub name: String,
    /// Memory.
    pub ram: u64,
    /// vCPUs.
    pub vcpus: u64,
    /// Root disk.
    pub disk: u64,
}

/// Nova vm_state as a scenario states it.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerStatus {
    /// vm_state active.
    Active,
    /// vm_state stopped.
    Shutoff,
    /// vm_state error.
    Error,
}

/// A plain Nova server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Server id; derived from the name when absent.
    pub id: Option<String>,
    /// Server name.
    pub name: String,
    /// Owning project's name.
    pub project: String,
    /// Initial state.
    pub status: ServerStatus,
    /// Compute host (none for a server that was never scheduled).
    pub host: Option<String>,
    /// Flavor.
    pub flavor: FlavorSpec,
    /// Fixed address on the project network.
    pub fixed_ip: Option<String>,
    /// Floating address.
    pub floating_ip: Option<String>,
    /// The Glance image it was built from, by name (see [`crate::cloud::IMAGES`]).
    #[serde(default = "default_image")]
    pub image: String,
}

fn default_image() -> String {
    crate::cloud::UBUNTU_IMAGE.into()
}

/// An Octavia load balancer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// Load balancer id.
    pub id: String,
    /// Name (CAPO names it `k8s-clusterapi-cluster-<ns>-<cluster>-kubeapi`).
    pub name: String,
    /// Owning project's name.
    pub project: String,
    /// provisioning_status.
    pub provisioning_status: Provisioning,
    /// operating_status.
    pub operating_status: Operating,
    /// VIP address.
    pub vip_address: String,
    /// Floating IP on the VIP port (Neutron), if any. Data only: nothing connects to it.
    #[serde(default)]
    pub floating_ip: Option<String>,
    /// The amphorae serving it.
    #[serde(default)]
    pub amphorae: Vec<AmphoraSpec>,
}

/// Declares a status enum as Octavia spells its values (`ACTIVE`, `PENDING_UPDATE`):
/// read from scenarios, written into answers, shown in messages.
macro_rules! octavia_status {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// As Octavia spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("`{other}` is not a {}", stringify!($name))),
                }
            }
        }
    };
}

octavia_status! {
    /// A load balancer's `provisioning_status`.
    Provisioning {
        /// Ready.
        Active = "ACTIVE",
        /// A control-plane operation failed (the data plane may be fine).
        Error = "ERROR",
        /// Being created.
        PendingCreate = "PENDING_CREATE",
        /// Being changed (a failover).
        PendingUpdate = "PENDING_UPDATE",
        /// Being deleted.
        PendingDelete = "PENDING_DELETE",
        /// Gone.
        Deleted = "DELETED",
    }
}

octavia_status! {
    /// A load balancer's `operating_status`.
    Operating {
        /// Serving.
        Online = "ONLINE",
        /// Disabled.
        Offline = "OFFLINE",
        /// Some members down.
        Degraded = "DEGRADED",
        /// Not serving.
        Error = "ERROR",
        /// No health monitor.
        NoMonitor = "NO_MONITOR",
    }
}

octavia_status! {
    /// An amphora's `status`.
    AmphoraStatus {
        /// Its server is being built.
        Booting = "BOOTING",
        /// Serving its load balancer.
        Allocated = "ALLOCATED",
        /// A spare.
        Ready = "READY",
        /// Failed.
        Error = "ERROR",
        /// Being created.
        PendingCreate = "PENDING_CREATE",
        /// Being deleted.
        PendingDelete = "PENDING_DELETE",
        /// Gone.
        Deleted = "DELETED",
        /// Octavia's failover circuit breaker stopped it.
        FailoverStopped = "FAILOVER_STOPPED",
    }
}

/// An amphora row and, unless it says otherwise, its Nova server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmphoraSpec {
    /// Amphora id (the server is named `amphora-<id>`).
    pub id: String,
    /// Octavia amphora status.
    #[serde(default = "allocated")]
    pub status: AmphoraStatus,
    /// STANDALONE, MASTER or BACKUP.
    #[serde(default = "standalone")]
    pub role: String,
    /// Compute host of its server.
    pub host: String,
    /// Management-network address.
    #[serde(default = "default_lb_network_ip")]
    pub lb_network_ip: String,
}

/// What kind of orphan an amphora server is.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OrphanKind {
    /// ACTIVE and heartbeating, no DB row: the health manager logs "missing from the DB".
    Zombie,
    /// A failed spawn left in ERROR.
    Error,
}

/// An amphora server without an Octavia row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrphanSpec {
    /// The uuid in its `amphora-<uuid>` name.
    pub amphora_id: String,
    /// Zombie or ERROR spawn.
    pub kind: OrphanKind,
    /// Compute host holding its allocation (none for NoValidHost spawns).
    pub host: Option<String>,
    /// How long ago it was created, in simulated time.
    #[serde(default = "default_orphan_age", deserialize_with = "duration")]
    pub age: Duration,
}

/// A Magnum cluster driven by the CAPI management cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MagnumClusterSpec {
    /// Cluster uuid.
    pub uuid: String,
    /// Cluster name.
    pub name: String,
    /// Owning project's name.
    pub project: String,
    /// The kube-api load balancer CAPO created for it.
    pub api_load_balancer: String,
    /// The driver has the D-042 lookup bug: `Infrastructure resource not found.`
    #[serde(default = "yes")]
    pub d042: bool,
}

/// The CAPI management VM.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagementSpec {
    /// The management server's name (one of `servers`).
    pub server: String,
    /// vCPUs of its flavor as the host reports them (load is judged against this).
    #[serde(default = "two")]
    pub vcpus: u32,
    /// Fault: sshd never starts listening.
    #[serde(default)]
    pub sshd_never_opens: bool,
    /// Fault: Kubernetes never reaches `cluster status: ready`.
    #[serde(default)]
    pub k8s_never_ready: bool,
    /// Peak load average during the cold start (runbook: above 100 on 2 vCPUs).
    #[serde(default = "peak_load")]
    pub peak_load: f64,
    /// Which structured-output flag the VM's k8s snap knows.
    #[serde(default)]
    pub k8s_status_flag: StatusFlag,
    /// The CAPI release's API: what `kubectl get cluster,machines` reads.
    #[serde(default)]
    pub capi_api: CapiApi,
}

/// The Cluster API versions the management cluster serves.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CapiApi {
    /// CAPI up to 1.10: `cluster.x-k8s.io/v1beta1` only, `Ready` conditions.
    V1beta1,
    /// CAPI 1.11 and later (the runbook's site: its verify looks for
    /// `Available=True`): `v1beta2` preferred and stored, with `Available`
    /// conditions and the old ones under `status.deprecated.v1beta1`; `v1beta1`
    /// still served, deprecated.
    #[default]
    V1beta2,
}

/// The structured-output flag of `k8s status` in a given snap release.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StatusFlag {
    /// `--output-format json|yaml` (current releases).
    #[default]
    OutputFormat,
    /// `--format json|yaml` (older releases).
    Format,
    /// Plain text only.
    None,
}

/// How long the simulated cloud takes, in simulated time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timings {
    /// `os-start` to ACTIVE (verified: ~20 s).
    #[serde(deserialize_with = "duration")]
    pub server_start: Duration,
    /// `os-stop` to SHUTOFF.
    #[serde(deserialize_with = "duration")]
    pub server_stop: Duration,
    /// ACTIVE to sshd listening (verified: ~3.5 min).
    #[serde(deserialize_with = "duration")]
    pub sshd_after_active: Duration,
    /// Boot to `cluster status: ready` (verified: ~20–21 min on gp.mid).
    #[serde(deserialize_with = "duration")]
    pub k8s_ready_after_boot: Duration,
    /// Failover to ACTIVE (verified: ~108 s).
    #[serde(deserialize_with = "duration")]
    pub failover: Duration,
    /// Failover to ERROR when no host has a slot (verified: 10–20 s).
    #[serde(deserialize_with = "duration")]
    pub failover_fast_fail: Duration,
    /// Server delete to gone.
    #[serde(deserialize_with = "duration")]
    pub server_delete: Duration,
    /// How long CAPO backs off after its load-balancer reconcile met a load balancer
    /// that was not ACTIVE (runbook: allow ~10 min after a failover for CAPO to resync).
    /// CAPO that first looks when the load balancer is already ACTIVE reconciles at once.
    #[serde(deserialize_with = "duration")]
    pub capo_lb_backoff: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            server_start: Duration::from_secs(20),
            server_stop: Duration::from_secs(6),
            sshd_after_active: Duration::from_secs(210),
            k8s_ready_after_boot: Duration::from_secs(21 * 60),
            failover: Duration::from_secs(108),
            failover_fast_fail: Duration::from_secs(15),
            server_delete: Duration::from_secs(4),
            capo_lb_backoff: Duration::from_secs(10 * 60),
        }
    }
}

/// An injected fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Which service's answers it affects (`identity`, `compute`, `placement`,
    /// `load-balancer`, `container-infra`, or `host`: the management host's commands,
    /// where it drops the ssh connection).
    pub service: String,
    /// What goes wrong.
    pub kind: FaultKind,
    /// How many requests it affects.
    #[serde(default = "one_u32")]
    pub count: u32,
    /// Only requests whose path contains this (default: every request).
    pub path_contains: Option<String>,
    /// The first this many matching requests pass untouched.
    #[serde(default)]
    pub after_requests: u32,
    /// Armed from this long after the twin starts, in simulated time.
    #[serde(default, deserialize_with = "duration")]
    pub from: Duration,
    /// The chance that a matching request is hit, drawn from the scenario's `seed`.
    #[serde(default = "certain")]
    pub probability: f64,
    /// How long a `hang` holds the request, in real time (a client's own timeout
    /// should end it first).
    #[serde(default = "thirty_seconds", deserialize_with = "duration")]
    pub hang_for: Duration,
}

fn certain() -> f64 {
    1.0
}

fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

/// What an injected fault does to a request.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `503 Service Unavailable`, as a proxy in front of a restarting API says.
    ServiceUnavailable,
    /// `500` with Nova-style `computeFault` body.
    InternalError,
    /// `200` with a body that is not JSON.
    GarbageJson,
    /// No answer for `hang_for` (real time): a hung API behind a proxy that never
    /// times out.
    Hang,
    /// `504 Gateway Time-out` from the proxy in front (Horizon's nginx, haproxy).
    GatewayTimeout,
    /// The race the sweep must survive: the request is answered normally, then an
    /// amphora row appears for an orphan server's uuid (Octavia adopting it, as a
    /// failover in flight would), so the next amphora list shows it.
    AmphoraRowAppears,
    /// The scheduler's filters refuse the next failover's amphora although Placement
    /// has room (an availability zone, an aggregate, anti-affinity): the failover is
    /// accepted and fails fast with NoValidHost.
    NoValidHost,
    /// The next failover's replacement amphora boots but its agent never answers:
    /// after the full failover time the load balancer goes to ERROR, Octavia drops the
    /// new amphora's row, and its server stays ACTIVE: a heartbeating zombie.
    AmphoraBootTimeout,
    /// Every token issued so far expires now (Keystone restarted with new fernet
    /// keys, or a long wait outlived them): this request and every later one with an
    /// old token meet keystonemiddleware's 401.
    TokensExpire,
    /// World fault (no request needed; `service` is ignored): at `from`, sshd on the
    /// management VM stops and never comes back (the host still answers: refused).
    SshdDies,
    /// World fault: at `from`, the VM's Kubernetes stops converging (`k8s status`
    /// never says ready again).
    K8sBreaks,
    /// World fault: at `from`, the operator's Juju login expires (a stale macaroon).
    JujuLoginExpires,
}

/// Where a fault meets the cloud: which part of the twin draws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A request of its service: the HTTP layer answers (or changes the world) in
    /// the service's place.
    Request,
    /// Octavia's worker, when a failover it accepted starts its flow: the flow fails
    /// where the fault says. Counted in failovers, not requests.
    Worker,
    /// Nothing: the world changes at its time, one event of the cloud's timeline.
    World,
}

impl FaultKind {
    /// Which part of the twin draws it.
    pub fn reach(self) -> Reach {
        match self {
            FaultKind::ServiceUnavailable
            | FaultKind::InternalError
            | FaultKind::GarbageJson
            | FaultKind::Hang
            | FaultKind::GatewayTimeout
            | FaultKind::AmphoraRowAppears
            | FaultKind::TokensExpire => Reach::Request,
            FaultKind::NoValidHost | FaultKind::AmphoraBootTimeout => Reach::Worker,
            FaultKind::SshdDies | FaultKind::K8sBreaks | FaultKind::JujuLoginExpires => {
                Reach::World
            }
        }
    }
}

impl FaultSpec {
    /// `kind` on the next request of `service` (a catalog type), at once, for certain.
    pub fn new(service: &str, kind: FaultKind) -> FaultSpec {
        FaultSpec {
            service: service.into(),
            kind,
            count: 1,
            path_contains: None,
            after_requests: 0,
            from: Duration::ZERO,
            probability: 1.0,
            hang_for: thirty_seconds(),
        }
    }
}

impl Scenario {
    /// Parses a scenario from YAML text, naming the file in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Scenario, String> {
        let scenario: Scenario =
            serde_saphyr::from_str(text).map_err(|e| format!("scenario `{origin}`: {e}"))?;
        scenario
            .check()
            .map_err(|e| format!("scenario `{origin}`: {e}"))?;
        Ok(scenario)
    }

    /// The embedded default scenario.
    pub fn default_scenario() -> Scenario {
        Scenario::from_yaml(DEFAULT_SCENARIO, "default").expect("the embedded scenario is valid")
    }

    /// Checks cross references: every project, host and server named exists.
    fn check(&self) -> Result<(), String> {
        if !(self.time_scale > 0.0 && self.time_scale.is_finite()) {
            return Err(format!(
                "`time_scale` must be a positive number, got {}",
                self.time_scale
            ));
        }
        let project = |name: &str, what: &str| {
            if self.projects.iter().any(|p| p.name == name) {
                Ok(())
            } else {
                Err(format!(
                    "{what} names project `{name}`, which is not in `projects`"
                ))
            }
        };
        let host = |name: &str, what: &str| {
            if self.hypervisors.iter().any(|h| h.name == name) {
                Ok(())
            } else {
                Err(format!(
                    "{what} names host `{name}`, which is not in `hypervisors`"
                ))
            }
        };
        for user in &self.users {
            for p in user.roles.keys() {
                project(p, &format!("user `{}`", user.name))?;
            }
        }
        for ac in &self.application_credentials {
            project(
                &ac.project,
                &format!("application credential `{}`", ac.name),
            )?;
            if !self.users.iter().any(|u| u.name == ac.user) {
                return Err(format!(
                    "application credential `{}` names unknown user `{}`",
                    ac.name, ac.user
                ));
            }
        }
        for s in &self.servers {
            project(&s.project, &format!("server `{}`", s.name))?;
            // Clients connect to a server's floating IP (ssh, kube-api): the twin's must
            // be on this machine.
            if let Some(fip) = &s.floating_ip
                && !fip
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
            {
                return Err(format!(
                    "server `{}` has floating IP `{fip}`: the twin's floating IPs must be loopback (127.0.0.1)",
                    s.name
                ));
            }
            if let Some(h) = &s.host {
                host(h, &format!("server `{}`", s.name))?;
            }
        }
        for lb in &self.load_balancers {
            project(&lb.project, &format!("load balancer `{}`", lb.id))?;
            for a in &lb.amphorae {
                host(&a.host, &format!("amphora `{}`", a.id))?;
            }
        }
        for o in &self.orphan_amphorae {
            if let Some(h) = &o.host {
                host(h, &format!("orphan amphora `{}`", o.amphora_id))?;
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            if !(0.0..=1.0).contains(&f.probability) {
                return Err(format!(
                    "fault {} (`{}`) has probability {}: give a number from 0 to 1",
                    i + 1,
                    f.service,
                    f.probability
                ));
            }
        }
        for c in &self.magnum_clusters {
            project(&c.project, &format!("magnum cluster `{}`", c.name))?;
            if !self
                .load_balancers
                .iter()
                .any(|lb| lb.id == c.api_load_balancer)
            {
                return Err(format!(
                    "magnum cluster `{}` names load balancer `{}`, which is not in `load_balancers`",
                    c.name, c.api_load_balancer
                ));
            }
        }
        if !self
            .servers
            .iter()
            .any(|s| s.name == self.management.server)
        {
            return Err(format!(
                "`management.server` is `{}`, which is not in `servers`",
                self.management.server
            ));
        }
        if !self.projects.iter().any(|p| p.name == "service") {
            return Err("amphorae live in project `service`: add it to `projects`".into());
        }
        Ok(())
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration like `20s` or `21m`: {e}"
        ))
    })
}

fn two() -> u32 {
    2
}
fn peak_load() -> f64 {
    112.0
}
fn default_name() -> String {
    "unnamed".into()
}
fn default_time_scale() -> f64 {
    1.0
}
fn default_region() -> String {
    "RegionOne".into()
}
fn default_token_ttl() -> Duration {
    Duration::from_secs(3600)
}
fn default_orphan_age() -> Duration {
    Duration::from_secs(6 * 3600)
}
fn default_lb_network_ip() -> String {
    "fc00::1".into()
}
fn one_and_a_half() -> f64 {
    1.5
}
fn four() -> f64 {
    4.0
}
fn one() -> f64 {
    1.0
}
fn one_u32() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn allocated() -> AmphoraStatus {
    AmphoraStatus::Allocated
}
fn standalone() -> String {
    "STANDALONE".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scenario_is_valid() {
        Scenario::default_scenario();
    }

    #[test]
    fn a_floating_ip_off_this_machine_is_refused() {
        let text = DEFAULT_SCENARIO.replace("floating_ip: 127.0.0.1", "floating_ip: 192.0.2.40");
        let e = Scenario::from_yaml(&text, "t").unwrap_err();
        assert!(e.contains("must be loopback"), "{e}");
    }
}
