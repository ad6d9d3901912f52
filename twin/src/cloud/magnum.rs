//! Magnum's state and rules: clusters and their health as Magnum's CAPI driver
//! reports it (empty until the management Kubernetes answers, then per component,
//! with D-042's lookup failure); built from the scenario's `magnum_clusters`.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::Cloud;
use super::identity::{Project, project_id};
use crate::clock::after;
use crate::scenario::{Provisioning, Scenario};

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

impl Cloud {
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

/// Clusters as the scenario's `magnum_clusters` give them.
pub(super) fn build(
    scenario: &Scenario,
    projects: &[Project],
    started: Timestamp,
) -> Vec<MagnumCluster> {
    let project_id = |name: &str| project_id(projects, name);
    scenario
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
        .collect()
}
