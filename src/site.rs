//! The site file: the literals the runbook hard-codes (mgmt project, server name,
//! floating IP, ssh, kube-api load balancers, CAPI namespace, Magnum clusters, amphora
//! flavor), with timeouts and poll intervals defaulting to the runbook's figures.
//!
//! Values are checked while they are read (ids, addresses, durations), so a bad value
//! is reported at its line and field, and nothing half-valid gets further.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The site template shipped in `templates/site.yaml`.
pub const TEMPLATE: &str = include_str!("../templates/site.yaml");

/// Everything the tool needs to know about one site.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The CAPI management VM.
    pub management: Management,
    /// How to reach the management VM over ssh.
    #[serde(default)]
    pub ssh: Ssh,
    /// How to read Octavia's logs through Juju (evidence after a failed failover).
    #[serde(default)]
    pub juju: Juju,
    /// The workload clusters' kube-api load balancers (CAPO creates one per cluster).
    #[serde(default)]
    pub load_balancers: Vec<Uuid>,
    /// Magnum clusters to check, by name or uuid.
    #[serde(default)]
    pub magnum_clusters: Vec<String>,
    /// Amphora flavor: what one failover needs free on some compute host.
    #[serde(default)]
    pub amphora_flavor: AmphoraFlavor,
    /// How Octavia builds its amphorae: what the sweep requires of a server, besides
    /// its name, before it may delete it.
    #[serde(default)]
    pub octavia: Octavia,
    /// Deadlines.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Poll intervals.
    #[serde(default)]
    pub poll: PollIntervals,
    /// HTTP behaviour towards the OpenStack APIs.
    #[serde(default)]
    pub http: Http,
    /// Set only by `juju-capi-restore twin` for its simulated cloud.
    #[serde(default)]
    pub twin: Option<TwinClock>,
}

/// The simulated cloud's clock (written by `juju-capi-restore twin`; never set for a
/// real cloud): deadlines and the times people read follow it, so a fault that
/// takes six minutes on a real cloud takes six simulated minutes here.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TwinClock {
    /// How many times faster than real time the twin's clock runs.
    #[serde(deserialize_with = "positive")]
    pub time_scale: f64,
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match f64::deserialize(d)? {
        x if x.is_finite() && (1.0..=100_000.0).contains(&x) => Ok(x),
        x => Err(serde::de::Error::custom(format!(
            "`{x}` must be a number from 1 to 100000"
        ))),
    }
}

/// The CAPI management VM and its cluster.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Management {
    /// Keystone id of the project holding the VM (`capi-mgmt`).
    pub project_id: ProjectId,
    /// Nova server name.
    #[serde(default = "default_server")]
    pub server: String,
    /// The VM's floating IP (ssh and the kube-api at :6443).
    pub floating_ip: IpAddr,
    /// CAPI namespace; defaults to `magnum-<project_id>`.
    #[serde(default)]
    pub capi_namespace: Option<String>,
    /// Where the management kubeconfig lives.
    #[serde(default = "default_kubeconfig")]
    pub kubeconfig: PathBuf,
    /// Which kubectl reads the management cluster: this machine's, with the
    /// kubeconfig (the runbook's way), or the VM's own (`sudo k8s kubectl` over ssh:
    /// nothing to install here, always the cluster's version; the charm's way).
    #[serde(default)]
    pub kubectl: KubectlAt,
}

/// Where kubectl runs.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum KubectlAt {
    /// Here, with `management.kubeconfig` (re-emitted over ssh when stale).
    #[default]
    Local,
    /// On the management VM, over ssh: `sudo -n k8s kubectl`.
    OnHost,
}

impl Management {
    /// The management VM with the runbook's defaults for the rest.
    pub fn new(project_id: ProjectId, server: String, floating_ip: IpAddr) -> Management {
        Management {
            project_id,
            server,
            floating_ip,
            capi_namespace: None,
            kubeconfig: default_kubeconfig(),
            kubectl: KubectlAt::Local,
        }
    }

    /// The CAPI namespace: as given, or `magnum-<project id>` as Magnum's driver names it.
    pub fn namespace(&self) -> String {
        self.capi_namespace
            .clone()
            .unwrap_or_else(|| format!("magnum-{}", self.project_id))
    }
}

/// SSH to the management VM.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Ssh {
    /// Login user.
    pub user: String,
    /// Port of sshd on the floating IP.
    pub port: u16,
    /// Private key.
    pub key: PathBuf,
    /// Host key policy: `accept-new` (runbook behaviour, minus /dev/null) or `strict`.
    pub host_key_policy: HostKeyPolicy,
    /// known_hosts file for the management VM.
    pub known_hosts: PathBuf,
    /// The ssh command: a program, or a program and its first arguments
    /// (`[juju-capi-restore, twin-ssh, ...]` for the twin).
    #[serde(deserialize_with = "words")]
    pub command: Vec<String>,
    /// ssh's `ConnectTimeout` (runbook: 10 s).
    #[serde(with = "human_nonzero")]
    pub connect_timeout: Duration,
    /// How long one remote command may take before it is stopped.
    #[serde(with = "human_nonzero")]
    pub command_timeout: Duration,
}

/// A command as a YAML string (one word) or a list of words.
fn words<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Words {
        One(String),
        Many(Vec<String>),
    }
    let words = match Words::deserialize(d)? {
        Words::One(w) => vec![w],
        Words::Many(w) => w,
    };
    if words.first().is_none_or(|w| w.trim().is_empty()) {
        return Err(serde::de::Error::custom("must name a program, e.g. `ssh`"));
    }
    Ok(words)
}

/// Juju, for evidence only: Octavia's worker log after a failed failover.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Juju {
    /// The juju command: a program, or a program and its first arguments. `JUJU_MODEL`
    /// (set by Juju when it runs this as a plugin with `-m`) picks the model.
    #[serde(deserialize_with = "words")]
    pub command: Vec<String>,
    /// The unit whose logs are read (`<application>/leader` works on Juju 3).
    pub octavia_unit: String,
    /// The worker log on that unit (why a failover failed).
    pub worker_log: PathBuf,
    /// The health manager's log on that unit (zombies' heartbeats).
    pub health_manager_log: PathBuf,
    /// How long one `juju ssh` may take.
    #[serde(with = "human_nonzero")]
    pub timeout: Duration,
}

impl Default for Juju {
    fn default() -> Self {
        Juju {
            command: vec!["juju".into()],
            octavia_unit: "octavia/leader".into(),
            worker_log: "/var/log/octavia/octavia-worker.log".into(),
            health_manager_log: "/var/log/octavia/octavia-health-manager.log".into(),
            timeout: Duration::from_secs(60),
        }
    }
}

impl Default for Ssh {
    fn default() -> Self {
        Ssh {
            user: "ubuntu".into(),
            port: 22,
            key: "~/.ssh/id_ed25519".into(),
            host_key_policy: HostKeyPolicy::AcceptNew,
            known_hosts: "~/.config/juju-capi-restore/known_hosts".into(),
            command: vec!["ssh".into()],
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(60),
        }
    }
}

/// How ssh treats the management VM's host key.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Learn the key on first contact, refuse a changed key afterwards.
    AcceptNew,
    /// The key must already be in `known_hosts`.
    Strict,
}

/// What Octavia's amphora servers are built with (octavia.conf), so that the sweep
/// deletes only servers that are provably Octavia's. Unset values are learned from
/// the servers behind Octavia's live amphora rows.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Octavia {
    /// The project that owns the amphora servers (octavia.conf `[service_auth]`;
    /// charm-octavia: Keystone's service project, `services`).
    pub amphora_project_id: Option<ProjectId>,
    /// The amphora image's Glance tag (`amp_image_tag`; charm-octavia's
    /// `amp-image-tag`, default `octavia-amphora`).
    pub image_tag: String,
    /// The amphora image's owner (`amp_image_owner_id`), when octavia.conf sets one.
    pub image_owner_id: Option<ProjectId>,
    /// Names of the Nova flavors amphorae are built with (`amp_flavor_id`;
    /// charm-octavia: `charm-octavia`).
    pub flavors: Vec<String>,
}

impl Default for Octavia {
    fn default() -> Self {
        Octavia {
            amphora_project_id: None,
            image_tag: "octavia-amphora".into(),
            image_owner_id: None,
            flavors: vec!["charm-octavia".into()],
        }
    }
}

/// The amphora flavor (charm-octavia default: 1024 MB, 1 vCPU, 8 GB).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AmphoraFlavor {
    /// MEMORY_MB.
    #[serde(deserialize_with = "at_least_one")]
    pub memory_mb: u64,
    /// VCPU.
    #[serde(deserialize_with = "at_least_one")]
    pub vcpus: u64,
    /// DISK_GB.
    pub disk_gb: u64,
}

fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "must be at least 1 (the amphora flavor's size, charm-octavia: 1024 MB and 1 vCPU)",
        )),
        n => Ok(n),
    }
}

impl Default for AmphoraFlavor {
    fn default() -> Self {
        AmphoraFlavor {
            memory_mb: 1024,
            vcpus: 1,
            disk_gb: 8,
        }
    }
}

/// A wait the tool makes: each reads its poll interval and deadline from the site
/// file ([`Site::gate`]), and carries the runbook's figure to show beside the time
/// waited. No deadline is written anywhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gate {
    /// The management VM ACTIVE after its start.
    ServerActive,
    /// The management VM SHUTOFF after its stop (`park`).
    ServerStopped,
    /// sshd answering on the floating IP (`SSH-PORT-OK`).
    SshPort,
    /// `cluster status: ready`, inside the convergence window.
    KubernetesReady,
    /// Nodes Ready and the CAPI controllers Running.
    Controllers,
    /// The load balancers out of PENDING_* before anything is decided about them.
    LoadBalancersSettled,
    /// One failover out of PENDING_UPDATE.
    Failover,
    /// A deleted orphan amphora server gone from Nova.
    ServerGone,
    /// Every Cluster Available (CAPO's resync).
    CapoAvailable,
    /// Magnum HEALTHY or the D-042 signature.
    MagnumHealthy,
}

/// A gate's figures: how often to look and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateFigures {
    /// Between two looks.
    pub interval: Duration,
    /// Give up after this long (on the cloud's clock).
    pub deadline: Duration,
}

impl Gate {
    /// The runbook's figure for it, shown beside the time waited.
    pub fn expected(self, site: &Site) -> String {
        match self {
            Gate::ServerActive => "~20 s".into(),
            Gate::ServerStopped => "seconds".into(),
            Gate::SshPort => "~3.5 min after ACTIVE".into(),
            Gate::KubernetesReady => format!(
                "~{} min from boot",
                site.timeouts.k8s_expected.as_secs() / 60
            ),
            Gate::Controllers | Gate::CapoAvailable | Gate::MagnumHealthy => String::new(),
            Gate::LoadBalancersSettled => "~108 s for a failover".into(),
            Gate::Failover => "~108 s".into(),
            Gate::ServerGone => "a few seconds".into(),
        }
    }
}

/// Deadlines, each with the runbook figure it covers.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Server start to ACTIVE (runbook: ~20 s; 20 × 10 s loop).
    #[serde(with = "human_nonzero")]
    pub server_active: Duration,
    /// ACTIVE to sshd answering (runbook: ~3.5 min; its 18 × 10 s loop is too tight).
    #[serde(with = "human_nonzero")]
    pub ssh_port: Duration,
    /// The convergence window: boot to `cluster status: ready` before it is called a
    /// fault (runbook: ~20–21 min on gp.mid; inside it the noise is expected).
    #[serde(with = "human_nonzero")]
    pub k8s_convergence: Duration,
    /// The runbook's verified convergence time, shown for comparison while waiting.
    #[serde(with = "human_nonzero")]
    pub k8s_expected: Duration,
    /// A deleted server gone from Nova (orphan sweep; seconds on a healthy cloud).
    #[serde(with = "human_nonzero")]
    pub server_deleted: Duration,
    /// A failover's provisioning status back to ACTIVE (runbook: ~108 s).
    #[serde(with = "human_nonzero")]
    pub failover: Duration,
    /// How long the cloud's own evidence of a failed failover (the load balancer's
    /// last change, an orphan minted by that flow) bars an automatic failover of it,
    /// whoever's journal recorded it: never retry a failed failover blindly.
    #[serde(with = "human_nonzero")]
    pub failed_failover_window: Duration,
    /// Nodes Ready and the CAPI controllers Running, once Kubernetes is ready.
    #[serde(with = "human_nonzero")]
    pub controllers: Duration,
    /// CAPO resync after a failover (runbook: ~10 min).
    #[serde(with = "human_nonzero")]
    pub capo_resync: Duration,
    /// One `kubectl` call against the management cluster.
    #[serde(with = "human_nonzero")]
    pub kubectl: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            server_active: Duration::from_secs(200),
            ssh_port: Duration::from_secs(6 * 60),
            k8s_convergence: Duration::from_secs(30 * 60),
            k8s_expected: Duration::from_secs(21 * 60),
            server_deleted: Duration::from_secs(2 * 60),
            failover: Duration::from_secs(10 * 60),
            failed_failover_window: Duration::from_secs(3 * 3600),
            controllers: Duration::from_secs(10 * 60),
            capo_resync: Duration::from_secs(10 * 60),
            kubectl: Duration::from_secs(30),
        }
    }
}

impl Site {
    /// A gate's poll interval and deadline, as this site file sets them.
    pub fn gate(&self, gate: Gate) -> GateFigures {
        let (t, p) = (&self.timeouts, &self.poll);
        let (interval, deadline) = match gate {
            Gate::ServerActive | Gate::ServerStopped => (p.server, t.server_active),
            Gate::SshPort => (p.ssh_port, t.ssh_port),
            Gate::KubernetesReady => (p.k8s, t.k8s_convergence),
            Gate::Controllers => (p.k8s, t.controllers),
            Gate::LoadBalancersSettled | Gate::Failover => (p.failover, t.failover),
            Gate::ServerGone => (p.server, t.server_deleted),
            Gate::CapoAvailable | Gate::MagnumHealthy => (p.k8s, t.capo_resync),
        };
        GateFigures { interval, deadline }
    }
}

/// Poll intervals.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PollIntervals {
    /// Server status.
    #[serde(with = "human_nonzero")]
    pub server: Duration,
    /// TCP probe of the ssh port.
    #[serde(with = "human_nonzero")]
    pub ssh_port: Duration,
    /// `uptime` + `k8s status` over ssh. 30 s, not the runbook's 120 s: one ssh
    /// session running two short commands costs the VM a few milliseconds of CPU, even
    /// at load 100 on 2 vCPUs, and 30 s still gives two samples per load-average
    /// minute, which the trend needs; more often would only add sshd forks to the
    /// storm.
    #[serde(with = "human_nonzero")]
    pub k8s: Duration,
    /// Load balancer provisioning status during a failover.
    #[serde(with = "human_nonzero")]
    pub failover: Duration,
}

impl Default for PollIntervals {
    fn default() -> Self {
        PollIntervals {
            server: Duration::from_secs(5),
            ssh_port: Duration::from_secs(5),
            k8s: Duration::from_secs(30),
            failover: Duration::from_secs(10),
        }
    }
}

/// HTTP behaviour towards the OpenStack APIs.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    /// Timeout of one request.
    #[serde(with = "human_nonzero")]
    pub timeout: Duration,
    /// Retries of a read after a connection error or a 5xx.
    pub retries: u32,
    /// First backoff; it doubles per retry.
    #[serde(with = "human_nonzero")]
    pub backoff: Duration,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// A Keystone project id: 32 hex digits (or a dashed UUID, normalised).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectId(String);

impl ProjectId {
    /// Parses and normalises a project id.
    pub fn parse(text: &str) -> Result<ProjectId, String> {
        let hex: String = text.chars().filter(|c| *c != '-').collect();
        if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(ProjectId(hex.to_ascii_lowercase()))
        } else {
            Err(format!(
                "`{text}` is not a Keystone project id (32 hex digits, e.g. `674171fd28d446d3a37073b6a761e910`): find it with `openstack project show capi-mgmt -f value -c id`"
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProjectId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ProjectId::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for ProjectId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A dashed UUID (Nova, Octavia and Magnum ids).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(String);

impl Uuid {
    /// Parses a dashed UUID, lower-casing it.
    pub fn parse(text: &str) -> Result<Uuid, String> {
        let groups: Vec<&str> = text.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens == [8, 4, 4, 4, 12]
            && groups
                .iter()
                .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
        {
            Ok(Uuid(text.to_ascii_lowercase()))
        } else {
            Err(format!(
                "`{text}` is not a UUID (8-4-4-4-12 hex digits): the runbook abbreviates ids as `0f968008-...`; give the full id from `openstack loadbalancer list`"
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Uuid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Uuid::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Durations as `humantime` text (`20s`, `3m 30s`, `30m`).
/// Durations as `humantime` text, never zero (a zero timeout fails every call, a
/// zero poll interval spins).
mod human_nonzero {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        super::human::serialize(d, s)
    }

    /// The longest duration any setting may take: every wait, timeout and window of
    /// the runbook is minutes to hours. Anything longer is a typo (`30d` for `30m`),
    /// and a hundred years overflows the instants deadlines are computed with.
    pub const MAX: Duration = Duration::from_secs(7 * 86400);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match super::human::deserialize(d)? {
            d if d.is_zero() => Err(serde::de::Error::custom("must be longer than zero")),
            d if d > MAX => Err(serde::de::Error::custom(format!(
                "`{}` is too long: every wait and timeout here is minutes to hours, at most {}",
                humantime::format_duration(d),
                humantime::format_duration(MAX)
            ))),
            d => Ok(d),
        }
    }
}

mod human {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration like `20s`, `3m 30s` or `30m` ({e})"
            ))
        })
    }
}

fn default_server() -> String {
    "capi-mgmt-v2".into()
}

fn default_kubeconfig() -> PathBuf {
    "~/capi-mgmt.kubeconfig".into()
}

/// Why a site file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// No site file where one was looked for.
    #[error("no site file at `{}`: create one with `juju-capi-restore site template > {}` and fill in the values marked REQUIRED", path.display(), path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read the site file `{}`: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// YAML or a value in it is wrong.
    #[error("the site file `{}` is invalid: {message}\nfix that line (the template is `juju-capi-restore site template`), then run `juju-capi-restore site check`", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// serde-saphyr's message, with line and column.
        message: String,
    },
}

impl Site {
    /// A site for this management VM, every other value the runbook's default.
    pub fn new(management: Management) -> Site {
        Site {
            management,
            ssh: Ssh::default(),
            juju: Juju::default(),
            load_balancers: Vec::new(),
            magnum_clusters: Vec::new(),
            amphora_flavor: AmphoraFlavor::default(),
            octavia: Octavia::default(),
            timeouts: Timeouts::default(),
            poll: PollIntervals::default(),
            http: Http::default(),
            twin: None,
        }
    }

    /// How much faster than real time the cloud's clock runs: 1 for a real cloud.
    pub fn time_scale(&self) -> f64 {
        self.twin.map_or(1.0, |t| t.time_scale)
    }

    /// Which clock the times people read are on (`simulated, 600x`), or None for
    /// real time.
    pub fn clock_label(&self) -> Option<String> {
        self.twin.map(|t| format!("simulated, {}x", t.time_scale))
    }

    /// Reads and checks a site file.
    pub fn load(path: &Path) -> Result<Site, SiteError> {
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => SiteError::Missing {
                path: path.to_path_buf(),
            },
            _ => SiteError::Unreadable {
                path: path.to_path_buf(),
                source,
            },
        })?;
        Site::parse(&text).map_err(|message| SiteError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses site YAML; the error names the line, column and field.
    pub fn parse(text: &str) -> Result<Site, String> {
        let site: Site = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = site.load_balancers.iter().find(|lb| !seen.insert(*lb)) {
            return Err(format!(
                "`load_balancers` names {twice} twice: each load balancer once (a failover runs once per id)"
            ));
        }
        Ok(site)
    }

    /// Renders the site as YAML.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_else(|e| format!("# cannot render the site: {e}\n"))
    }
}

/// Expands a leading `~/` with `$HOME`.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "management:\n  project_id: 674171fd28d446d3a37073b6a761e910\n  floating_ip: 127.0.0.1\n";

    #[test]
    fn the_template_parses_and_defaults_follow_the_runbook() {
        let site = Site::parse(TEMPLATE).unwrap();
        assert_eq!(site.management.server, "capi-mgmt-v2");
        assert_eq!(
            site.management.namespace(),
            "magnum-674171fd28d446d3a37073b6a761e910"
        );
        assert_eq!(site.ssh.user, "ubuntu");
        assert_eq!(
            site.amphora_flavor,
            AmphoraFlavor {
                memory_mb: 1024,
                vcpus: 1,
                disk_gb: 8
            }
        );
        assert_eq!(site.timeouts.k8s_convergence, Duration::from_secs(1800));
    }

    #[test]
    fn a_minimal_site_takes_every_default() {
        let site = Site::parse(MINIMAL).unwrap();
        assert_eq!(site.timeouts, Timeouts::default());
        assert_eq!(site.poll.failover, Duration::from_secs(10));
        assert!(site.load_balancers.is_empty());
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let bad = "management:\n  project_id: 674171fd28d446d3a37073b6a761e910\n  floating_ip: 127.0.0.1\nload_balancers:\n  - 0f968008-...\n";
        let e = Site::parse(bad).unwrap_err();
        assert!(e.contains("line 5"), "{e}");
        assert!(e.contains("not a UUID"), "{e}");

        let e = Site::parse("management:\n  project_id: capi-mgmt\n  floating_ip: 127.0.0.1\n")
            .unwrap_err();
        assert!(e.contains("line 2") && e.contains("project id"), "{e}");

        let e = Site::parse(&format!("{MINIMAL}timeouts:\n  failover: soon\n")).unwrap_err();
        assert!(e.contains("line 5") && e.contains("not a duration"), "{e}");

        let e = Site::parse(&format!("{MINIMAL}flaovr: 1\n")).unwrap_err();
        assert!(e.contains("flaovr"), "{e}");
    }

    #[test]
    fn sizes_and_durations_that_cannot_work_are_refused() {
        let e = Site::parse(&format!("{MINIMAL}amphora_flavor:\n  memory_mb: 0\n")).unwrap_err();
        assert!(e.contains("line 5") && e.contains("at least 1"), "{e}");
        let e = Site::parse(&format!("{MINIMAL}http:\n  timeout: 0s\n")).unwrap_err();
        assert!(e.contains("longer than zero"), "{e}");
        assert!(
            Site::parse(&format!("{MINIMAL}amphora_flavor:\n  disk_gb: 0\n")).is_ok(),
            "boot-from-volume amphorae"
        );
        // Absurd durations are refused here, never a panic later.
        for absurd in ["100years", "30d"] {
            let e =
                Site::parse(&format!("{MINIMAL}timeouts:\n  failover: {absurd}\n")).unwrap_err();
            assert!(
                e.contains("line 5") && e.contains("too long"),
                "{absurd}: {e}"
            );
        }
        let e = Site::parse(&format!("{MINIMAL}poll:\n  k8s: 584942417355years\n")).unwrap_err();
        assert!(e.contains("line 5") && e.contains("too large"), "{e}");
    }

    #[test]
    fn a_load_balancer_named_twice_is_refused() {
        let lb = "0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17";
        let e =
            Site::parse(&format!("{MINIMAL}load_balancers:\n  - {lb}\n  - {lb}\n")).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let e = Site::parse(&format!("{MINIMAL}twin:\n  time_scale: 0.5\n")).unwrap_err();
        assert!(e.contains("from 1 to"), "{e}");
    }

    #[test]
    fn a_round_trip_keeps_every_value() {
        let site = Site::parse(TEMPLATE).unwrap();
        assert_eq!(Site::parse(&site.to_yaml()).unwrap(), site);
    }
}
