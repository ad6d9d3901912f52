//! The kube-api load balancers (runbook block "post-start CAPI + LB verify", LB half,
//! and the DECISION after it). Reads Octavia: the management project's load balancers
//! in its own scope, and each load balancer the site names (admin scope, so one in
//! another project is still seen). Changes nothing.

use crate::cloud::octavia::{self, LoadBalancer};
use crate::cloud::{ApiError, Scope};
use crate::diagnose;

use super::{Health, Layer, Probe, Row};

/// What Octavia says.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerObservation {
    /// The management project's load balancers, as its own scope lists them.
    pub in_project: Vec<LoadBalancer>,
    /// Load balancers the site names that the project listing lacks (found via admin).
    pub elsewhere: Vec<LoadBalancer>,
    /// Load balancers the site names that Octavia does not know.
    pub missing: Vec<String>,
    /// The management project id.
    pub project_id: String,
}

impl LoadBalancerObservation {
    /// Every load balancer seen.
    pub fn all(&self) -> impl Iterator<Item = &LoadBalancer> {
        self.in_project.iter().chain(&self.elsewhere)
    }

    /// Whether Octavia is still working on any (provisioning PENDING_*).
    pub fn pending(&self) -> bool {
        self.all()
            .any(|lb| lb.provisioning_status.starts_with("PENDING_"))
    }

    /// Whether any needs a failover (provisioning ERROR).
    pub fn needs_failover(&self) -> bool {
        self.all().any(|lb| lb.provisioning_status == "ERROR")
    }
}

/// Lists the project's load balancers and looks up the site's.
pub async fn probe(p: Probe<'_>) -> Result<LoadBalancerObservation, ApiError> {
    let project_id = p.site.management.project_id.to_string();
    // Always filtered by project: Octavia lists every project's load balancers to a
    // token with the admin role, and another project's ERROR is not this layer's.
    let scope = if p.in_management_project().await? {
        Scope::Management
    } else {
        Scope::Admin
    };
    let mut in_project = octavia::list_load_balancers(p.session, scope, Some(&project_id)).await?;
    in_project.retain(|lb| lb.project_id == project_id);
    let mut elsewhere = Vec::new();
    let mut missing = Vec::new();
    for id in &p.site.load_balancers {
        if in_project.iter().any(|lb| lb.id == id.as_str()) {
            continue;
        }
        match octavia::show_load_balancer(p.session, Scope::Admin, id.as_str()).await {
            Ok(lb) => elsewhere.push(lb),
            Err(e) if e.status() == Some(404) => missing.push(id.to_string()),
            Err(e) => return Err(e),
        }
    }
    Ok(LoadBalancerObservation {
        in_project,
        elsewhere,
        missing,
        project_id,
    })
}

/// All ACTIVE is green; PENDING_* yellow; ERROR or missing red.
pub fn assess(o: &LoadBalancerObservation) -> Row {
    let all: Vec<&LoadBalancer> = o.all().collect();
    let errors: Vec<&&LoadBalancer> = all
        .iter()
        .filter(|lb| lb.provisioning_status == "ERROR")
        .collect();
    let state = if !errors.is_empty() || !o.missing.is_empty() {
        Health::Red
    } else if o.pending() || all.is_empty() {
        Health::Yellow
    } else {
        Health::Green
    };
    let summary = if all.is_empty() && o.missing.is_empty() {
        "no load balancers in the management project".to_string()
    } else if !errors.is_empty() {
        format!("{} of {} in provisioning ERROR", errors.len(), all.len())
    } else {
        format!(
            "{} load balancer(s), {} ACTIVE",
            all.len(),
            all.iter()
                .filter(|lb| lb.provisioning_status == "ACTIVE")
                .count()
        )
    };
    let mut row = Row::new(Layer::LoadBalancers, state, summary);
    for lb in &all {
        row = row.evidence(format!(
            "{} `{}`: provisioning {}, operating {}, VIP {}",
            lb.id,
            lb.name,
            lb.provisioning_status,
            lb.operating_status,
            lb.vip_address.as_deref().unwrap_or("-")
        ));
    }
    if let Some(lb) = errors.first() {
        row = row.diagnosed(diagnose::load_balancer(
            &lb.provisioning_status,
            &lb.operating_status,
        ));
    }
    for id in &o.missing {
        row = row.evidence(format!("{id}: named in the site file, unknown to Octavia"));
        row = row.next("remove or correct it in `load_balancers` of the site file (`openstack loadbalancer list` in the capi-mgmt scope)");
    }
    if !o.elsewhere.is_empty() {
        row = row.evidence(format!(
            "{} named in the site file belong to another project than `{}`",
            o.elsewhere
                .iter()
                .map(|lb| lb.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            o.project_id
        ));
    }
    if all.is_empty() && o.missing.is_empty() {
        row = row.next("CAPO creates one kube-api load balancer per workload cluster in the management project: an empty list usually means the wrong project scope; check `management.project_id`");
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb(prov: &str, op: &str) -> LoadBalancer {
        LoadBalancer {
            id: "0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17".into(),
            name: "kubeapi".into(),
            provisioning_status: prov.into(),
            operating_status: op.into(),
            project_id: "p".into(),
            vip_address: None,
            vip_port_id: None,
            updated_at: None,
        }
    }

    fn obs(lbs: Vec<LoadBalancer>) -> LoadBalancerObservation {
        LoadBalancerObservation {
            in_project: lbs,
            elsewhere: vec![],
            missing: vec![],
            project_id: "p".into(),
        }
    }

    #[test]
    fn error_online_is_red_with_the_failover_diagnosis() {
        let row = assess(&obs(vec![lb("ERROR", "ONLINE")]));
        assert_eq!(row.state, Health::Red);
        assert_eq!(
            row.diagnosis[0].rule,
            diagnose::Rule::LoadBalancerControlPlaneFailed
        );
    }

    #[test]
    fn active_is_green_pending_yellow_empty_is_a_scope_question() {
        assert_eq!(
            assess(&obs(vec![lb("ACTIVE", "ONLINE")])).state,
            Health::Green
        );
        assert_eq!(
            assess(&obs(vec![lb("PENDING_UPDATE", "ONLINE")])).state,
            Health::Yellow
        );
        let empty = assess(&obs(vec![]));
        assert!(empty.next.unwrap().contains("wrong project scope"));
    }
}
