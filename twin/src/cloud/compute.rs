//! Nova's state and rules, and Placement's view of them: servers with Nova's
//! start/stop/delete state machine (a task ends on the timeline), hypervisors, and
//! the usage and free slots Placement reports; built from the scenario's `servers`
//! and `hypervisors`. Glance's images are named here too.

use jiff::Timestamp;
use uuid::Uuid;

use super::identity::{Project, project_id};
use super::{Change, Cloud, Refusal, derived_hex, derived_uuid};
use crate::clock::{after, before};
use crate::scenario::{FlavorSpec, HypervisorSpec, Scenario, ServerStatus, Usage};
use crate::timeline::Event;

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

/// Nova's NoValidHost fault message.
pub const NO_VALID_HOST: &str = "No valid host was found. There are not enough hosts available.";

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

/// A compute host.
#[derive(Debug, Clone)]
pub struct Hypervisor {
    /// Resource provider uuid.
    pub uuid: String,
    /// Scenario data.
    pub spec: HypervisorSpec,
}

/// Nova's check_instance_state: the server's vm_state must be one `action` allows,
/// and then no task may be in flight (so the vm_state is what a refusal names first).
fn check_instance_state(server: &Server, action: &str, allowed: &[VmState]) -> Result<(), Refusal> {
    let (field, value) = if !allowed.contains(&server.vm_state) {
        ("vm_state", server.vm_state.as_str())
    } else if let Some(task) = server.task_state {
        ("task_state", task.as_str())
    } else {
        return Ok(());
    };
    Err(Refusal::Conflict(format!(
        "Cannot '{action}' instance {} while it is in {field} {value}",
        server.id
    )))
}

impl Cloud {
    /// Nova finishes `task` on a server, unless it is gone or doing another by now.
    pub(super) fn finish_server_task(&mut self, id: &str, task: TaskState, at: Timestamp) {
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

    /// Finds a server by id.
    pub fn server(&self, id: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.id == id)
    }

    /// `os-start`: needs vm_state stopped and no task.
    pub fn start_server(&mut self, id: &str, now: Timestamp) -> Result<(), Refusal> {
        let delay = self.timings.server_start;
        let server = self.server_mut(id)?;
        check_instance_state(server, "start", &[VmState::Stopped])?;
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
        check_instance_state(server, "stop", &[VmState::Active, VmState::Error])?;
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
}

/// Servers and hypervisors as the scenario's `servers` and `hypervisors` give them,
/// and the management VM's id.
pub(super) fn build(
    scenario: &Scenario,
    projects: &[Project],
    started: Timestamp,
    now: Timestamp,
) -> (Vec<Server>, Vec<Hypervisor>, String) {
    let project_id = |name: &str| project_id(projects, name);
    let servers: Vec<Server> = scenario
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

    let hypervisors = scenario
        .hypervisors
        .iter()
        .map(|h| Hypervisor {
            uuid: derived_uuid("rp", &h.name).to_string(),
            spec: h.clone(),
        })
        .collect();
    (servers, hypervisors, management_server_id)
}
