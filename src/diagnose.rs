//! The runbook's observation table as code: each rule is a pure function from observed
//! facts to a [`Diagnosis`] saying what it means and what to do. `status`, `restore`
//! and the journal all show these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::status::{HealthStatus, OperatingStatus, ProvisioningStatus};

/// Which row of the observation table (DESIGN §5) matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Magnum UNHEALTHY with an empty reason.
    ConductorUnreachable,
    /// Magnum UNHEALTHY, reason populated, all Ready but `Infrastructure resource not found.`
    D042,
    /// Cluster not available with CAPO's load-balancer timeout.
    CapoRacedTheStorm,
    /// LB provisioning ERROR, operating ONLINE.
    LoadBalancerControlPlaneFailed,
    /// An empty server list: the wrong project scope.
    WrongScope,
    /// k8sd `control.socket` deadlines, apiserver TLS handshake timeouts, mount
    /// failures in the first ~20 minutes after boot.
    ColdStartNoise,
    /// Magnum's API (Horizon's Container Infra panel) answers 504 right after the VM
    /// starts: the conductor stalled mid-reconnect.
    ConductorStalled,
    /// `juju ssh` says `cannot get discharge ... EOF`: a stale macaroon, and stdin
    /// from /dev/null ate the password prompt.
    StaleJujuLogin,
}

/// What an observation means, and the next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The rule that matched.
    pub rule: Rule,
    /// What it means.
    pub finding: String,
    /// What to do.
    pub next: String,
}

/// Magnum's text for D-042's failed OpenStackCluster lookup.
pub const D042_INFRASTRUCTURE: &str = "Infrastructure resource not found.";

/// CAPO's load-balancer wait error, as wrapped in conditions.
pub const CAPO_LB_TIMEOUT: &str = "is not active after timeout";

/// Magnum health: an empty reason means the conductor cannot reach the management
/// API; the D-042 signature is a known-good false negative; a component carrying
/// CAPO's LB timeout points at Octavia.
pub fn magnum_health(
    health_status: Option<&HealthStatus>,
    reason: &BTreeMap<String, String>,
) -> Option<Diagnosis> {
    let unhealthy = matches!(
        health_status,
        Some(HealthStatus::Unhealthy) | Some(HealthStatus::Unknown) | None
    );
    if !unhealthy {
        return None;
    }
    if reason.is_empty() {
        return Some(Diagnosis {
            rule: Rule::ConductorUnreachable,
            finding: "Magnum's conductor cannot reach the management cluster's API (VM down or still booting); this is not D-042".into(),
            next: "bring the management VM and its Kubernetes back (runbook: start, ssh-port gate, k8s readiness); the reason fills in once the API answers".into(),
        });
    }
    if let Some((component, message)) = reason.iter().find(|(_, v)| v.contains(CAPO_LB_TIMEOUT)) {
        return Some(Diagnosis {
            rule: Rule::CapoRacedTheStorm,
            finding: format!("`{component}` carries CAPO's load-balancer timeout ({}): CAPO's reconcile raced a broken kube-api load balancer", short(message)),
            next: "check the load balancer first (`juju-capi-restore status`, Octavia rows) and fail it over if it is in ERROR; the condition clears itself afterwards".into(),
        });
    }
    if is_d042(reason) {
        return Some(Diagnosis {
            rule: Rule::D042,
            finding: format!("D-042 cosmetic false negative: every component is Ready and `infrastructure` says `{D042_INFRASTRUCTURE}` (the driver's OpenStackCluster lookup 404s); known good"),
            next: "nothing to do; `kubectl get crd openstackclusters.infrastructure.cluster.x-k8s.io` shows which API versions CAPO still serves".into(),
        });
    }
    None
}

/// Whether a Magnum reason is exactly D-042's signature.
pub fn is_d042(reason: &BTreeMap<String, String>) -> bool {
    reason.get("infrastructure").map(String::as_str) == Some(D042_INFRASTRUCTURE)
        && reason
            .iter()
            .filter(|(k, _)| k.as_str() != "infrastructure")
            .all(|(_, v)| v == "Ready")
        && reason.len() > 1
}

/// A load balancer in provisioning ERROR: the control-plane operation failed.
pub fn load_balancer(
    provisioning: &ProvisioningStatus,
    operating: &OperatingStatus,
) -> Option<Diagnosis> {
    (*provisioning == ProvisioningStatus::Error).then(|| Diagnosis {
        rule: Rule::LoadBalancerControlPlaneFailed,
        finding: if *operating == OperatingStatus::Online {
            "provisioning ERROR with operating ONLINE: a control-plane operation failed, the dataplane is fine; no urgency".into()
        } else {
            format!("provisioning ERROR with operating {operating}: a control-plane operation failed and the dataplane is not healthy either")
        },
        next: "admin failover, one load balancer at a time, after the amphora sweep and a headroom check (runbook Step 5)".into(),
    })
}

/// A server that was not found where it was searched. `scope_listing_empty` is true
/// when the searched scope lists no servers at all; `found_in` names another project
/// holding a server of that name.
pub fn server_not_found(
    name: &str,
    project: &str,
    scope_listing_empty: bool,
    found_in: Option<&str>,
) -> Diagnosis {
    let finding = match (found_in, scope_listing_empty) {
        (Some(other), _) => format!(
            "no server `{name}` in project `{project}`, but project `{other}` has one: the site file names the wrong project"
        ),
        (None, true) => format!(
            "project `{project}` lists no servers at all: this is the wrong project scope, not a missing VM (CAPI VMs live in capi-mgmt)"
        ),
        (None, false) => format!("project `{project}` has servers, none named `{name}`"),
    };
    let next = match found_in {
        Some(other) => format!("set `management.project_id: {other}` in the site file if that is the management VM"),
        None => "check `management.project_id` and `management.server` in the site file (`juju-capi-restore site check`)".into(),
    };
    Diagnosis {
        rule: Rule::WrongScope,
        finding,
        next,
    }
}

/// A Cluster not available because CAPO's load-balancer wait timed out: the load
/// balancer is the cause, not CAPI.
pub fn capo_load_balancer_timeout(
    cluster: &str,
    problem: &str,
    load_balancer: Option<&str>,
) -> Diagnosis {
    let lb = load_balancer
        .map(|id| format!(" `{id}`"))
        .unwrap_or_default();
    Diagnosis {
        rule: Rule::CapoRacedTheStorm,
        finding: format!(
            "Cluster `{cluster}` is not available with CAPO's load-balancer timeout ({}): CAPO's reconcile raced the cold start or a broken load balancer; the cause is in Octavia, not CAPI",
            short(problem)
        ),
        next: format!(
            "check the kube-api load balancer{lb} in Octavia first (the `load-balancers` layer); once it is ACTIVE the condition clears itself (allow ~10 min for CAPO to resync)"
        ),
    }
}

/// Errors from `k8s status` inside the convergence window are the cold start, not a
/// fault: the runbook says judge by load trend and `k8s status`, and never restart.
pub fn cold_start_noise(
    lines: &[String],
    minutes_since_boot: u64,
    trend: &str,
    vcpus: u32,
) -> Option<Diagnosis> {
    (!lines.is_empty()).then(|| Diagnosis {
        rule: Rule::ColdStartNoise,
        finding: format!(
            "cold-start convergence noise ({}), {minutes_since_boot} min after boot with the load {trend}: expected on a {vcpus}-vCPU flavor",
            lines.join("; ")
        ),
        next: "wait for `cluster status: ready`; do not restart services or re-bootstrap inside the window".into(),
    })
}

/// A 504 from Magnum (or Horizon's Container Infra panel in front of it) while the
/// management cluster is coming back: the conductor stalled mid-reconnect.
pub fn magnum_gateway_timeout(status: u16, management_up: bool) -> Option<Diagnosis> {
    (status == 504).then(|| Diagnosis {
        rule: Rule::ConductorStalled,
        finding: if management_up {
            "Magnum answered 504: its conductor stalled reconnecting to the management cluster that just came back".into()
        } else {
            "Magnum answered 504 while the management cluster is down: its conductor is stuck waiting for it".into()
        },
        next: "retry after the Kubernetes gate (`cluster status: ready`); no action on Magnum is needed".into(),
    })
}

/// Classifies `juju` stderr: an expired login (never retried; re-run with the
/// terminal as stdin or `juju login`), or a controller outage (worth retrying).
pub fn juju_stderr(stderr: &str) -> Option<Diagnosis> {
    let s = stderr.to_ascii_lowercase();
    if s.contains("cannot get discharge")
        || s.contains("please enter password for")
        || s.contains("interaction required")
    {
        Some(Diagnosis {
            rule: Rule::StaleJujuLogin,
            finding: "the juju login expired: `cannot get discharge ... EOF` means a stale macaroon, and stdin from /dev/null ate the password prompt; this is not a controller outage if `juju status` works interactively".into(),
            next: "run `juju login` (or re-run with the terminal as stdin), then retry".into(),
        })
    } else {
        None
    }
}

/// Whether `juju` stderr says the controller is unreachable (retry with backoff).
pub fn juju_controller_unreachable(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("unable to connect to api")
        || s.contains("connection refused")
        || s.contains("i/o timeout")
        || s.contains("no route to host")
}

fn short(message: &str) -> String {
    let m: String = message.chars().take(120).collect();
    if m.len() < message.len() {
        format!("{m}...")
    } else {
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_reason_is_the_conductor_not_d042() {
        let d = magnum_health(Some(&HealthStatus::Unhealthy), &BTreeMap::new()).unwrap();
        assert_eq!(d.rule, Rule::ConductorUnreachable);
        assert!(d.finding.contains("not D-042"));
    }

    #[test]
    fn the_d042_signature_is_known_good() {
        let r = reason(&[
            ("cluster", "Ready"),
            ("controlplane", "Ready"),
            ("nodegroup", "Ready"),
            ("infrastructure", D042_INFRASTRUCTURE),
        ]);
        assert_eq!(
            magnum_health(Some(&HealthStatus::Unhealthy), &r)
                .unwrap()
                .rule,
            Rule::D042
        );
        let not_ready = reason(&[
            ("cluster", "Provisioning"),
            ("infrastructure", D042_INFRASTRUCTURE),
        ]);
        assert_eq!(
            magnum_health(Some(&HealthStatus::Unhealthy), &not_ready),
            None
        );
        assert_eq!(magnum_health(Some(&HealthStatus::Healthy), &r), None);
    }

    #[test]
    fn a_capo_lb_timeout_points_at_octavia() {
        let r = reason(&[
            (
                "cluster",
                "InfrastructureReady: failed to reconcile load balancer: load balancer \"k8s\" with id x is not active after timeout: timed out waiting for the condition",
            ),
            ("infrastructure", D042_INFRASTRUCTURE),
        ]);
        let d = magnum_health(Some(&HealthStatus::Unhealthy), &r).unwrap();
        assert_eq!(d.rule, Rule::CapoRacedTheStorm);
        assert!(d.next.contains("load balancer first"));
    }

    #[test]
    fn lb_error_online_needs_failover_without_urgency() {
        let d = load_balancer(&"ERROR".into(), &"ONLINE".into()).unwrap();
        assert!(d.finding.contains("no urgency") && d.next.contains("failover"));
        assert_eq!(load_balancer(&"ACTIVE".into(), &"ONLINE".into()), None);
    }

    #[test]
    fn a_504_right_after_the_vm_started_is_a_stalled_conductor() {
        let d = magnum_gateway_timeout(504, true).unwrap();
        assert_eq!(d.rule, Rule::ConductorStalled);
        assert!(d.next.contains("after the Kubernetes gate"));
        assert_eq!(magnum_gateway_timeout(500, true), None);
    }

    #[test]
    fn juju_login_problems_are_not_outages() {
        let d = juju_stderr(
            "ERROR cannot get discharge from \"https://10.0.0.2:17070/auth\": Post ...: EOF",
        )
        .unwrap();
        assert_eq!(d.rule, Rule::StaleJujuLogin);
        assert!(d.next.contains("juju login"));
        assert!(juju_stderr("please enter password for admin on cloud:").is_some());
        assert!(juju_stderr("ERROR unable to connect to API: dial tcp: i/o timeout").is_none());
        assert!(juju_controller_unreachable(
            "ERROR unable to connect to API: dial tcp: i/o timeout"
        ));
    }

    #[test]
    fn an_empty_listing_is_the_wrong_scope() {
        let d = server_not_found("capi-mgmt-v2", "p", true, None);
        assert!(d.finding.contains("wrong project scope"));
        let d = server_not_found("capi-mgmt-v2", "p", false, Some("q"));
        assert!(d.next.contains("project_id: q"));
    }
}
