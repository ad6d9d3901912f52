//! Magnum health, the top layer (runbook block "final verify", Magnum half). Reads
//! each site cluster's `health_status` and `health_status_reason` in the management
//! project's scope. Changes nothing.

use crate::cloud::magnum::{self, ClusterAnswer, HealthStatus};
use crate::cloud::{ApiError, Scope};
use crate::diagnose::{self, Rule};

use super::{Health, Layer, Probe, Row};

/// Each configured cluster, or why it could not be read.
#[derive(Debug)]
pub struct MagnumObservation {
    /// Cluster name/uuid → answer.
    pub clusters: Vec<(String, Result<ClusterAnswer, ApiError>)>,
    /// The project the management-scope token is really scoped to, when it is not the
    /// management project (an application credential fixes its own scope).
    pub scoped_elsewhere: Option<String>,
    /// Whether the management VM is up (an empty reason is expected when it is not);
    /// set by the caller from the VM layer.
    pub vm_up: bool,
}

/// Reads every configured cluster.
pub async fn probe(p: Probe<'_>) -> MagnumObservation {
    let mut clusters = Vec::new();
    for ident in &p.site.magnum_clusters {
        clusters.push((
            ident.clone(),
            magnum::show_cluster(p.session, Scope::Management, ident).await,
        ));
    }
    let project = p.site.management.project_id.as_str();
    let scoped_elsewhere = match p.session.scope_info(Scope::Management).await {
        Ok(info) => info.project.map(|proj| proj.id).filter(|id| id != project),
        Err(_) => None,
    };
    MagnumObservation {
        clusters,
        vm_up: false,
        scoped_elsewhere,
    }
}

/// HEALTHY or the D-042 signature is green; anything else red, diagnosed.
pub fn assess(o: &MagnumObservation) -> Row {
    if o.clusters.is_empty() {
        return Row::new(Layer::Magnum, Health::Yellow, "no Magnum clusters in the site file")
            .next("list them under `magnum_clusters` (`openstack coe cluster list` in the capi-mgmt scope)");
    }
    let mut worst = Health::Green;
    let mut row = Row::new(Layer::Magnum, Health::Green, "");
    let mut summaries = Vec::new();
    for (ident, answer) in &o.clusters {
        match answer {
            Ok(ClusterAnswer {
                cluster,
                api_version,
            }) => {
                let health = cluster.health_status.as_ref();
                let diagnosis = diagnose::magnum_health(health, &cluster.health_status_reason);
                let state = match (health, diagnosis.as_ref().map(|d| d.rule)) {
                    (Some(HealthStatus::Healthy), _) => Health::Green,
                    (_, Some(Rule::D042)) => Health::Green,
                    _ => Health::Red,
                };
                worst = worst.max(state);
                let reason = if cluster.health_status_reason.is_empty() {
                    "EMPTY".to_string()
                } else {
                    cluster
                        .health_status_reason
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                // A green layer must not read as a failure: name the signature.
                let known_good = match diagnosis.as_ref().map(|d| d.rule) {
                    Some(Rule::D042) if health != Some(&HealthStatus::Healthy) => {
                        " (D-042: cosmetic, known good)"
                    }
                    _ => "",
                };
                summaries.push(format!(
                    "{} {}{known_good}",
                    cluster.name,
                    health.map_or("null", |h| h.as_str())
                ));
                row = row.evidence(format!(
                    "{} ({}): status {}, health {}, reason {reason}{}",
                    cluster.name,
                    cluster.uuid,
                    cluster.status,
                    health.map_or("null", |h| h.as_str()),
                    api_version
                        .as_ref()
                        .map(|v| format!(" [{v}]"))
                        .unwrap_or_default()
                ));
                if let Some(mut d) = diagnosis {
                    if d.rule == Rule::ConductorUnreachable && !o.vm_up {
                        d.finding.push_str("; expected while the VM is parked");
                    }
                    row = row.diagnosed(Some(d));
                }
            }
            Err(e) if e.status() == Some(404) => {
                worst = worst.max(Health::Red);
                summaries.push(format!("{ident} not found"));
                match &o.scoped_elsewhere {
                    Some(other) if crate::site::Uuid::parse(ident).is_err() => {
                        row = row.evidence(format!("{ident}: not found; the credential is fixed to project `{other}`, where Magnum resolves names"));
                        row = row.next("name the cluster by uuid in `magnum_clusters` (an application credential cannot switch to the management project's scope)");
                    }
                    _ => {
                        row = row.evidence(format!(
                            "{ident}: not found in the management project's scope"
                        ));
                        row = row.next("check `magnum_clusters` and `management.project_id` in the site file; cluster names resolve in the owning project only");
                    }
                }
            }
            Err(e) => {
                worst = worst.max(Health::Unknown);
                summaries.push(format!("{ident} unreadable"));
                row = row.evidence(format!(
                    "{ident}: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ));
                if let Some(status) = e.status() {
                    row = row.diagnosed(diagnose::magnum_gateway_timeout(status, o.vm_up));
                }
            }
        }
    }
    row.state = worst;
    row.summary = summaries.join(", ");
    row
}
