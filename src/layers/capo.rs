//! Layer 5, CAPO's view: `Cluster`, `OpenStackCluster`, `Machine` and
//! `MachineHealthCheck` objects in `magnum-<project id>` (runbook blocks "post-start
//! CAPI + LB verify" and "final verify": Cluster `Available=True`). Reads through
//! kubectl; changes nothing and never remediates.

use serde_json::Value;

use crate::capi::{self, Kubectl, KubectlError};
use crate::diagnose;

use super::{Health, Layer, Row};

/// The objects of the CAPI namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct CapoObservation {
    /// The namespace read.
    pub namespace: String,
    /// Every object, any kind.
    pub objects: Vec<Value>,
}

/// Reads the namespace's CAPI objects in one call.
pub async fn probe(kubectl: &Kubectl, namespace: &str) -> Result<CapoObservation, KubectlError> {
    let kinds = "clusters.cluster.x-k8s.io,openstackclusters.infrastructure.cluster.x-k8s.io,machines.cluster.x-k8s.io,machinehealthchecks.cluster.x-k8s.io";
    let objects = kubectl.get(&["-n", namespace, kinds]).await?;
    Ok(CapoObservation {
        namespace: namespace.to_string(),
        objects,
    })
}

fn of_kind<'a>(o: &'a CapoObservation, kind: &'a str) -> impl Iterator<Item = &'a Value> {
    o.objects.iter().filter(move |v| v["kind"] == kind)
}

/// Every Cluster available is green; CAPO's load-balancer timeout is red and points
/// at Octavia; Machines not Running or a health check seeing unhealthy Machines are
/// reported, never acted on.
pub fn assess(o: &CapoObservation) -> Row {
    let clusters: Vec<capi::ClusterView> = of_kind(o, "Cluster").map(capi::cluster).collect();
    if clusters.is_empty() {
        return Row::new(Layer::Capo, Health::Red, format!("no Cluster objects in `{}`", o.namespace))
            .next("check `management.project_id` (the namespace is `magnum-<project id>`) or set `management.capi_namespace`");
    }
    let mut row = Row::new(Layer::Capo, Health::Green, "");
    let mut summaries = Vec::new();
    for c in &clusters {
        let state = match c.available {
            Some(true) => Health::Green,
            _ => Health::Red,
        };
        row.state = row.state.max(state);
        summaries.push(format!(
            "{} {}",
            c.name,
            if state == Health::Green {
                "Available"
            } else {
                "not Available"
            }
        ));
        row = row.evidence(format!(
            "Cluster {}: phase {}, available {}, infrastructure ready {}",
            c.name,
            c.phase.as_ref().map_or("?", |p| p.as_str()),
            c.available.map_or("unknown".into(), |b| b.to_string()),
            c.infrastructure_ready
                .map_or("unknown".into(), |b| b.to_string())
        ));
        for p in &c.problems {
            row = row.evidence(format!("  {p}"));
        }
        if let Some(problem) = &c.lb_timeout {
            // CAPO names the OpenStackCluster after the Cluster; it records the LB's id.
            let lb = of_kind(o, "OpenStackCluster")
                .map(capi::openstack_cluster)
                .find(|osc| osc.name == c.name)
                .and_then(|osc| osc.load_balancer_id);
            row = row.diagnosed(Some(diagnose::capo_load_balancer_timeout(
                &c.name,
                problem,
                lb.as_deref(),
            )));
        }
    }
    for osc in of_kind(o, "OpenStackCluster").map(capi::openstack_cluster) {
        row = row.evidence(format!(
            "OpenStackCluster {}: ready {}, API load balancer {} ({})",
            osc.name,
            osc.ready,
            osc.load_balancer_id.as_deref().unwrap_or("-"),
            osc.load_balancer_ip.as_deref().unwrap_or("-")
        ));
    }
    let machines: Vec<capi::MachineView> = of_kind(o, "Machine").map(capi::machine).collect();
    let running = machines
        .iter()
        .filter(|m| m.phase == capi::Phase::Running)
        .count();
    row = row.evidence(format!("Machines: {running} of {} Running", machines.len()));
    for m in machines.iter().filter(|m| m.phase != capi::Phase::Running) {
        row.state = row.state.max(Health::Yellow);
        row = row.evidence(format!("  Machine {} is {}", m.name, m.phase));
    }
    for h in of_kind(o, "MachineHealthCheck").map(capi::health_check) {
        row = row.evidence(format!(
            "MachineHealthCheck {}: {} of {} healthy",
            h.name, h.healthy, h.expected
        ));
        if h.healthy < h.expected {
            row.state = row.state.max(Health::Yellow);
            row = row.next("a MachineHealthCheck sees unhealthy Machines: CAPI may remediate (replace) them while nodes come back; this tool never remediates");
        }
    }
    row.summary = summaries.join(", ");
    row
}
