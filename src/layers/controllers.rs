//! Layer 4, the CAPI controllers (runbook block "post-start CAPI + LB verify":
//! `kubectl get nodes`, `kubectl get pods -A | egrep 'capi-|capo-|cert-manager|
//! orc-system|janitor|addon'`). Reads through kubectl; changes nothing.

use serde_json::Value;

use crate::capi::{self, Kubectl, KubectlError, Phase};

use super::{Health, Layer, Row};

/// The controller groups the runbook greps for, as (label, matches namespace/name).
/// `capi` covers the core manager and the bootstrap and control-plane providers
/// (kubeadm or Canonical Kubernetes) that live beside it.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "capi",
        &[
            "capi-system/",
            "capi-kubeadm",
            "capi-controller-manager",
            "ck8s-",
        ],
    ),
    ("capo", &["capo-controller-manager"]),
    ("cert-manager", &["cert-manager"]),
    ("orc", &["orc-system", "orc-controller"]),
    ("janitor", &["janitor"]),
    ("addon", &["addon"]),
];

/// Nodes and pods.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllersObservation {
    /// `kubectl get nodes`.
    pub nodes: Vec<Value>,
    /// `kubectl get pods -A`.
    pub pods: Vec<Value>,
}

/// Reads nodes and every namespace's pods.
pub async fn probe(kubectl: &Kubectl) -> Result<ControllersObservation, KubectlError> {
    let (nodes, pods) = tokio::try_join!(
        kubectl.get(&["nodes"]),
        kubectl.get(&["pods", "--all-namespaces"])
    )?;
    Ok(ControllersObservation { nodes, pods })
}

/// Every node Ready and every controller group Running and ready is green; a group
/// still starting is yellow; a missing group or an unready node is red.
pub fn assess(o: &ControllersObservation) -> Row {
    let ready_nodes = o.nodes.iter().filter(|n| capi::is_ready(n)).count();
    let mut state = if ready_nodes == o.nodes.len() && !o.nodes.is_empty() {
        Health::Green
    } else {
        Health::Red
    };
    let mut evidence = vec![format!("nodes: {ready_nodes} of {} Ready", o.nodes.len())];
    let mut missing = Vec::new();
    for (label, patterns) in GROUPS {
        let pods: Vec<&Value> = o
            .pods
            .iter()
            .filter(|p| {
                let id = format!(
                    "{}/{}",
                    p["metadata"]["namespace"].as_str().unwrap_or(""),
                    p["metadata"]["name"].as_str().unwrap_or("")
                );
                // Finished jobs (cert-manager's start-up check, addon installs) are done, not down.
                phase(p) != Phase::Succeeded && patterns.iter().any(|pat| id.contains(pat))
            })
            .collect();
        if pods.is_empty() {
            missing.push(*label);
            continue;
        }
        let running = pods
            .iter()
            .filter(|p| phase(p) == Phase::Running && capi::is_ready(p))
            .count();
        if running < pods.len() {
            state = state.max(Health::Yellow);
        }
        evidence.push(format!(
            "{label}: {running} of {} pods Running and ready",
            pods.len()
        ));
    }
    if !missing.is_empty() {
        state = Health::Red;
        evidence.push(format!("no pods for: {}", missing.join(", ")));
    }
    let summary = match state {
        Health::Green => "nodes Ready, controllers Running".to_string(),
        Health::Yellow => "controllers starting".to_string(),
        _ => "nodes or controllers missing".to_string(),
    };
    let mut row = Row::new(Layer::CapiControllers, state, summary);
    for e in evidence {
        row = row.evidence(e);
    }
    if state == Health::Red {
        row = row.next("check the pods with `kubectl get pods -A` on the management cluster; after a cold start give them a few minutes past `cluster status: ready`");
    }
    row
}
/// A pod's phase (`Unknown` when it has none yet).
fn phase(pod: &Value) -> Phase {
    Phase::parse(pod["status"]["phase"].as_str().unwrap_or("Unknown"))
}
