//! The kube-api load balancers (runbook block "post-start CAPI + LB verify", LB half,
//! and the DECISION after it). Reads Octavia: each load balancer the site file names
//! (admin scope, so one in another project is still seen) and the management
//! project's listing. Only the site's load balancers count and are ever acted on;
//! any other in the project (another application's) is reported as "not this site's:
//! left alone". Changes nothing.

use crate::cloud::octavia::{self, LoadBalancer, ProvisioningStatus};
use crate::cloud::{ApiError, Scope};
use crate::diagnose;
use crate::words::count;

use super::{Decision, Health, Layer, Probe, Row};
use crate::site::Gate;

/// What Octavia says.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerObservation {
    /// The load balancers the site file names, as Octavia shows them.
    pub site: Vec<LoadBalancer>,
    /// Load balancers in the management project that the site file does not name:
    /// another application's; reported, never acted on.
    pub others: Vec<LoadBalancer>,
    /// Ids of the site's load balancers that live in another project.
    pub elsewhere: Vec<String>,
    /// Load balancers the site names that Octavia does not know.
    pub missing: Vec<String>,
    /// The management project id.
    pub project_id: String,
}

impl LoadBalancerObservation {
    /// The site's load balancers: the only ones ever acted on.
    pub fn all(&self) -> impl Iterator<Item = &LoadBalancer> {
        self.site.iter()
    }

    /// Whether Octavia is still working on any load balancer seen, the site's or
    /// another's (provisioning PENDING_*): failovers run one at a time, whoever's.
    pub fn pending(&self) -> bool {
        self.site
            .iter()
            .chain(&self.others)
            .any(|lb| lb.provisioning_status.is_pending())
    }

    /// Whether any of the site's needs a failover (provisioning ERROR).
    pub fn needs_failover(&self) -> bool {
        self.all()
            .any(|lb| lb.provisioning_status == ProvisioningStatus::Error)
    }
}

/// Looks up the site's load balancers and lists the project's.
pub async fn probe(p: Probe<'_>) -> Result<LoadBalancerObservation, ApiError> {
    let project_id = p.site.management.project_id.to_string();
    // Always filtered by project: Octavia lists every project's load balancers to a
    // token with the admin role, and another project's are not this layer's.
    let scope = if p.in_management_project().await? {
        Scope::Management
    } else {
        Scope::Admin
    };
    let mut in_project = octavia::list_load_balancers(p.session, scope, Some(&project_id)).await?;
    in_project.retain(|lb| lb.project_id == project_id);
    let mut site = Vec::new();
    let mut elsewhere = Vec::new();
    let mut missing = Vec::new();
    for id in &p.site.load_balancers {
        if let Some(i) = in_project
            .iter()
            .position(|lb| lb.id.eq_ignore_ascii_case(id.as_str()))
        {
            site.push(in_project.remove(i));
            continue;
        }
        match octavia::show_load_balancer(p.session, Scope::Admin, id.as_str()).await {
            Ok(lb) => {
                elsewhere.push(lb.id.clone());
                site.push(lb);
            }
            Err(e) if e.status() == Some(404) => missing.push(id.to_string()),
            Err(e) => return Err(e),
        }
    }
    Ok(LoadBalancerObservation {
        site,
        others: in_project,
        elsewhere,
        missing,
        project_id,
    })
}

/// The site's load balancers: all ACTIVE is green; PENDING_* yellow; ERROR or
/// missing red. Others in the project are evidence only.
pub fn assess(o: &LoadBalancerObservation) -> Row {
    let all: Vec<&LoadBalancer> = o.all().collect();
    let errors: Vec<&&LoadBalancer> = all
        .iter()
        .filter(|lb| lb.provisioning_status == ProvisioningStatus::Error)
        .collect();
    let state = if !errors.is_empty() || !o.missing.is_empty() {
        Health::Red
    } else if o.pending() || all.is_empty() {
        Health::Yellow
    } else {
        Health::Green
    };
    let summary = if all.is_empty() && o.missing.is_empty() && o.others.is_empty() {
        "no load balancers in the management project".to_string()
    } else if all.is_empty() && o.missing.is_empty() {
        // `plan` reads "no load balancers" as a manual step (the site file's to fix).
        "no load balancers named in the site file".to_string()
    } else if !errors.is_empty() {
        format!("{} of {} in provisioning ERROR", errors.len(), all.len())
    } else {
        format!(
            "{}, {} ACTIVE",
            count(all.len(), "load balancer", "load balancers"),
            all.iter()
                .filter(|lb| lb.provisioning_status == ProvisioningStatus::Active)
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
    for lb in &o.others {
        row = row.evidence(format!(
            "{} `{}`: provisioning {}: not this site's (not in the site file's `load_balancers`): left alone",
            lb.id, lb.name, lb.provisioning_status
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
            o.elsewhere.join(", "),
            o.project_id
        ));
    }
    if all.is_empty() && o.missing.is_empty() {
        row = row.next(if o.others.is_empty() {
            "CAPO creates one kube-api load balancer per workload cluster in the management project: an empty list usually means the wrong project scope; check `management.project_id`"
        } else {
            "name the kube-api load balancers in `load_balancers` of the site file (`juju-capi-restore site discover` finds CAPO's); only those are ever failed over"
        });
    }
    let decision = if !errors.is_empty() {
        Decision::Failover(errors.iter().map(|lb| lb.id.clone()).collect())
    } else if !o.missing.is_empty() || all.is_empty() {
        // The site file names none, or names one Octavia does not know.
        Decision::Operator
    } else if o.pending() {
        Decision::Wait(Gate::LoadBalancersSettled)
    } else {
        Decision::Nothing
    };
    row.decided(decision)
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
            site: lbs,
            others: vec![],
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

    #[test]
    fn another_applications_load_balancer_in_error_is_reported_not_counted() {
        let mut other = lb("ERROR", "ONLINE");
        other.id = "9d2e4c1a-0b3f-4a5e-8c7d-6e5f4a3b2c1d".into();
        other.name = "web-frontend".into();
        let o = LoadBalancerObservation {
            others: vec![other],
            ..obs(vec![lb("ACTIVE", "ONLINE")])
        };
        let row = assess(&o);
        assert_eq!(row.state, Health::Green, "{row:?}");
        assert_eq!(row.summary, "1 load balancer, 1 ACTIVE");
        assert!(!o.needs_failover());
        assert!(
            row.evidence.iter().any(|e| e.contains("web-frontend")
                && e.contains("not this site's")
                && e.contains("left alone")),
            "{row:?}"
        );
    }
}
