//! Cluster API objects as `kubectl get -o json` returns them (runbook block
//! "post-start CAPI + LB verify"), in both condition dialects:
//!
//! - v1beta1: `status.conditions` with `Ready`, `InfrastructureReady`,
//!   `ControlPlaneReady` (and `severity`);
//! - v1beta2 (CAPI ≥ 1.11 storage): `status.conditions` with `Available`,
//!   `InfrastructureReady`, ..., and the old ones under
//!   `status.deprecated.v1beta1.conditions`.
//!
//! Reading only: this module never changes an object.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::diagnose::CAPO_LB_TIMEOUT;
use crate::exec::{ExecError, Invocation};
use crate::host::ssh::{SshError, SshTarget};
use crate::site::Site;

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// `Ready`, `Available`, `InfrastructureReady`, ...
    pub kind: String,
    /// `True`, `False`, `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    pub reason: Option<String>,
    /// Human message.
    pub message: Option<String>,
}

impl Condition {
    /// Whether it is `True`.
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// Every condition of an object, current dialect first, then v1beta1's deprecated
/// copies (so a v1beta2 object still answers `Ready` and `InfrastructureReady`).
pub fn conditions(object: &Value) -> Vec<Condition> {
    let read = |v: &Value| -> Vec<Condition> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some(Condition {
                    kind: c.get("type")?.as_str()?.to_string(),
                    status: c
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("Unknown")
                        .to_string(),
                    reason: c.get("reason").and_then(Value::as_str).map(str::to_string),
                    message: c
                        .get("message")
                        .and_then(Value::as_str)
                        .filter(|m| !m.is_empty())
                        .map(str::to_string),
                })
            })
            .collect()
    };
    let mut all = read(&object["status"]["conditions"]);
    for old in read(&object["status"]["deprecated"]["v1beta1"]["conditions"]) {
        if !all.iter().any(|c| c.kind == old.kind) {
            all.push(old);
        }
    }
    all
}

pub use crate::status::Phase;

/// A CAPI `Cluster`, in either dialect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterView {
    /// Name.
    pub name: String,
    /// `Provisioned`, `Provisioning`, ...
    pub phase: Option<Phase>,
    /// v1beta2 `Available`, else v1beta1 `Ready`.
    pub available: Option<bool>,
    /// `InfrastructureReady`.
    pub infrastructure_ready: Option<bool>,
    /// Messages of conditions that are not True.
    pub problems: Vec<String>,
    /// The problem that is CAPO's load-balancer timeout, if one is.
    pub lb_timeout: Option<String>,
}

/// Reads a Cluster.
pub fn cluster(object: &Value) -> ClusterView {
    let conds = conditions(object);
    let find = |kind: &str| {
        conds
            .iter()
            .find(|c| c.kind == kind)
            .map(Condition::is_true)
    };
    let problems: Vec<String> = conds
        .iter()
        .filter(|c| !c.is_true() && c.message.is_some())
        .map(|c| format!("{}: {}", c.kind, c.message.as_deref().unwrap_or_default()))
        .collect();
    ClusterView {
        name: name(object),
        phase: object["status"]["phase"].as_str().map(Phase::parse),
        available: find("Available").or_else(|| find("Ready")),
        infrastructure_ready: find("InfrastructureReady")
            .or_else(|| object["status"]["initialization"]["infrastructureProvisioned"].as_bool())
            .or_else(|| object["status"]["infrastructureReady"].as_bool()),
        lb_timeout: problems
            .iter()
            .find(|p| p.contains(CAPO_LB_TIMEOUT))
            .cloned(),
        problems,
    }
}

/// An `OpenStackCluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenStackClusterView {
    /// Name.
    pub name: String,
    /// `status.ready`.
    pub ready: bool,
    /// `status.apiServerLoadBalancer.id`.
    pub load_balancer_id: Option<String>,
    /// `status.apiServerLoadBalancer.ip`.
    pub load_balancer_ip: Option<String>,
}

/// Reads an OpenStackCluster.
pub fn openstack_cluster(object: &Value) -> OpenStackClusterView {
    let lb = &object["status"]["apiServerLoadBalancer"];
    OpenStackClusterView {
        name: name(object),
        ready: object["status"]["ready"].as_bool().unwrap_or(false),
        load_balancer_id: lb["id"].as_str().map(str::to_string),
        load_balancer_ip: lb["ip"].as_str().map(str::to_string),
    }
}

/// Whether an object's `Ready` condition is True (a node's, a pod's).
pub fn is_ready(object: &Value) -> bool {
    conditions(object)
        .iter()
        .any(|c| c.kind == "Ready" && c.is_true())
}

/// A `Machine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineView {
    /// Name.
    pub name: String,
    /// `Running`, `Provisioning`, `Deleting`, `Failed`, ...
    pub phase: Phase,
}

/// Reads a Machine.
pub fn machine(object: &Value) -> MachineView {
    MachineView {
        name: name(object),
        phase: Phase::parse(object["status"]["phase"].as_str().unwrap_or("Unknown")),
    }
}

/// A `MachineHealthCheck`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheckView {
    /// Name.
    pub name: String,
    /// Machines it watches.
    pub expected: u64,
    /// Of those, healthy.
    pub healthy: u64,
}

/// Reads a MachineHealthCheck.
pub fn health_check(object: &Value) -> HealthCheckView {
    HealthCheckView {
        name: name(object),
        expected: object["status"]["expectedMachines"].as_u64().unwrap_or(0),
        healthy: object["status"]["currentHealthy"].as_u64().unwrap_or(0),
    }
}

fn name(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// `kubectl` for the management cluster: this machine's with the kubeconfig, or the
/// VM's own over ssh (`management.kubectl`).
#[derive(Debug, Clone)]
pub struct Kubectl {
    /// Which kubectl.
    pub via: Via,
    /// Deadline of one call.
    pub timeout: Duration,
}

/// Which kubectl runs.
#[derive(Debug, Clone)]
pub enum Via {
    /// `kubectl --kubeconfig PATH` here.
    Kubeconfig(PathBuf),
    /// `sudo -n k8s kubectl` on the management VM.
    Host(SshTarget),
}

/// A failed `kubectl` call.
#[derive(Debug, thiserror::Error)]
pub enum KubectlError {
    /// kubectl could not be run.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// ssh to the VM whose kubectl reads the cluster failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// kubectl ran and failed.
    #[error("`{command_line}` failed (exit {code}): {stderr_tail}{}", hint(.stderr_tail))]
    Failed {
        /// The command line.
        command_line: String,
        /// Exit code.
        code: i32,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// It printed something that is not JSON.
    #[error("`{command_line}` printed something that is not JSON: {detail}")]
    Garbage {
        /// The command line.
        command_line: String,
        /// Parser message.
        detail: String,
    },
}

/// What a failed kubectl call says about the kubeconfig, from kubectl's stderr (its
/// only report): the one place that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubectlTrouble {
    /// The cluster's CA or credentials are not the kubeconfig's (x509, 401): the
    /// kubeconfig is stale.
    Credentials,
    /// Nothing answers at the kubeconfig's server: the API is down, or (when
    /// Kubernetes is ready) the kubeconfig points at another server.
    Unreachable,
    /// The server answered too slowly: a busy API, not a wrong kubeconfig.
    Slow,
    /// Anything else.
    Other,
}

impl KubectlTrouble {
    /// Classifies kubectl's stderr.
    pub fn of(stderr: &str) -> KubectlTrouble {
        let s = stderr.to_ascii_lowercase();
        if s.contains("x509")
            || s.contains("certificate")
            || s.contains("unauthorized")
            || s.contains("provide credentials")
        {
            KubectlTrouble::Credentials
        } else if s.contains("connection refused")
            || s.contains("no route")
            || s.contains("no such host")
        {
            KubectlTrouble::Unreachable
        } else if s.contains("timeout") || s.contains("timed out") {
            KubectlTrouble::Slow
        } else {
            KubectlTrouble::Other
        }
    }
}

impl KubectlError {
    /// What the failure says about the kubeconfig.
    pub fn trouble(&self) -> KubectlTrouble {
        match self {
            KubectlError::Failed { stderr_tail, .. } => KubectlTrouble::of(stderr_tail),
            _ => KubectlTrouble::Other,
        }
    }
}

fn hint(stderr: &str) -> &'static str {
    match KubectlTrouble::of(stderr) {
        KubectlTrouble::Credentials => {
            "\nthe kubeconfig is stale (the cluster's CA or credentials changed): re-emit it with `juju-capi-restore kubeconfig`"
        }
        KubectlTrouble::Unreachable => {
            "\nthe management cluster's API does not answer at the kubeconfig's server: check the `kubernetes` layer first; if it is ready, the kubeconfig points elsewhere: re-emit it with `juju-capi-restore kubeconfig`"
        }
        KubectlTrouble::Slow => {
            "\nthe management cluster's API answers too slowly: during the cold start that is expected (the `kubernetes` layer)"
        }
        KubectlTrouble::Other => "",
    }
}

impl Kubectl {
    /// This machine's kubectl with `kubeconfig`.
    pub fn new(kubeconfig: &Path, timeout: Duration) -> Kubectl {
        Kubectl {
            via: Via::Kubeconfig(kubeconfig.to_path_buf()),
            timeout,
        }
    }

    /// The VM's own kubectl, over the site's ssh.
    pub fn on_host(site: &Site) -> Kubectl {
        Kubectl {
            via: Via::Host(SshTarget::from_site(site)),
            timeout: site.timeouts.kubectl,
        }
    }

    /// `kubectl get ARGS -o json`: a List's `items`, or a single object in a list.
    pub async fn get(&self, args: &[&str]) -> Result<Vec<Value>, KubectlError> {
        let mut argv = vec![
            format!("--request-timeout={}s", self.timeout.as_secs().max(1)),
            "get".to_string(),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv.extend(["-o".into(), "json".into()]);
        let finished = match &self.via {
            Via::Kubeconfig(kubeconfig) => {
                let mut local = vec![
                    "kubectl".to_string(),
                    "--kubeconfig".into(),
                    kubeconfig.display().to_string(),
                ];
                local.extend(argv);
                Invocation::new(local, self.timeout + Duration::from_secs(5))
                    .run()
                    .await?
            }
            Via::Host(target) => target.kubectl(&argv).await?,
        };
        if finished.code() != Some(0) {
            return Err(KubectlError::Failed {
                command_line: finished.command_line.clone(),
                code: finished.code().unwrap_or(-1),
                stderr_tail: finished.stderr_tail(),
            });
        }
        let value: Value =
            serde_json::from_str(&finished.stdout).map_err(|e| KubectlError::Garbage {
                command_line: finished.command_line.clone(),
                detail: e.to_string(),
            })?;
        Ok(match value.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![value],
        })
    }
}

/// Whether a load balancer's name is CAPO's for a workload cluster's API server
/// (`k8s-clusterapi-cluster-<namespace>-<cluster>-kubeapi`): how `site discover`
/// proposes the site's load balancers. A proposal only: what is acted on is what the
/// site file lists.
pub fn is_capo_api_load_balancer(name: &str) -> bool {
    name.starts_with("k8s-clusterapi-cluster-") && name.ends_with("-kubeapi")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v1beta1_clusters_read_ready_and_the_lb_timeout() {
        let c = cluster(
            &json!({"metadata": {"name": "capi-test-1-2e6a4f"}, "status": {"phase": "Provisioned", "conditions": [
            {"type": "Ready", "status": "False", "reason": "LoadBalancerReconcileFailed", "severity": "Error", "message": "failed to reconcile load balancer: load balancer \"k8s\" with id x is not active after timeout: timed out waiting for the condition"},
            {"type": "ControlPlaneReady", "status": "True"},
            {"type": "InfrastructureReady", "status": "False", "message": "failed to reconcile load balancer: load balancer \"k8s\" with id x is not active after timeout: timed out waiting for the condition"}]}}),
        );
        assert_eq!(c.available, Some(false));
        assert_eq!(c.infrastructure_ready, Some(false));
        assert!(c.lb_timeout.is_some());
        assert_eq!(c.phase, Some(Phase::Provisioned));
    }

    #[test]
    fn v1beta2_clusters_read_available_and_fall_back_to_deprecated_conditions() {
        let c = cluster(&json!({"metadata": {"name": "c"}, "status": {
            "conditions": [{"type": "Available", "status": "True", "reason": "Available"}, {"type": "RemoteConnectionProbe", "status": "True"}],
            "deprecated": {"v1beta1": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "InfrastructureReady", "status": "True"}]}}}}));
        assert_eq!(c.available, Some(true));
        assert_eq!(c.infrastructure_ready, Some(true));
        assert!(c.problems.is_empty());
    }

    #[test]
    fn openstack_clusters_machines_and_health_checks() {
        let o = openstack_cluster(
            &json!({"metadata": {"name": "c"}, "status": {"ready": false, "apiServerLoadBalancer": {"id": "0f968008", "ip": "192.0.2.100"}}}),
        );
        assert_eq!(
            (o.ready, o.load_balancer_id.as_deref()),
            (false, Some("0f968008"))
        );
        assert_eq!(
            machine(&json!({"metadata": {"name": "m"}, "status": {"phase": "Running"}})).phase,
            Phase::Running
        );
        let h = health_check(
            &json!({"metadata": {"name": "h"}, "status": {"expectedMachines": 2, "currentHealthy": 1}}),
        );
        assert_eq!((h.expected, h.healthy), (2, 1));
    }

    #[test]
    fn stale_kubeconfigs_are_named() {
        assert!(
            hint("error: You must be logged in to the server (Unauthorized)")
                .contains("juju-capi-restore kubeconfig")
        );
        assert!(hint("Unable to connect to the server: dial tcp 127.0.0.1:6443: connect: connection refused").contains("kubernetes"));
    }
}
