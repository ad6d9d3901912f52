//! Octavia v2: load balancers (list, show, failover) and the admin amphora list,
//! every page.

use reqwest::Method;
use serde::Deserialize;

use super::{ApiError, Call, Link, Scope, Service, Session, collect_pages};

pub use crate::status::{AmphoraStatus, OperatingStatus, ProvisioningStatus};

/// A load balancer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LoadBalancer {
    /// UUID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// ACTIVE, ERROR, PENDING_UPDATE, ...
    pub provisioning_status: ProvisioningStatus,
    /// ONLINE, OFFLINE, DEGRADED, ERROR, ...
    pub operating_status: OperatingStatus,
    /// Owning project.
    pub project_id: String,
    /// VIP address.
    #[serde(default)]
    pub vip_address: Option<String>,
    /// VIP port (Octavia-owned).
    #[serde(default)]
    pub vip_port_id: Option<String>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl LoadBalancer {
    /// When it last changed (`updated_at`), read as UTC: Octavia writes
    /// `2026-06-10T08:00:00` with no zone.
    pub fn updated(&self) -> Option<jiff::Timestamp> {
        let text = self.updated_at.as_deref()?;
        text.parse::<jiff::Timestamp>()
            .ok()
            .or_else(|| format!("{text}Z").parse().ok())
    }
}

/// An amphora row.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Amphora {
    /// UUID (its server is `amphora-<id>`).
    pub id: String,
    /// Load balancer (Octavia's code uses this key, not the reference's `load_balancer_id`).
    #[serde(default)]
    pub loadbalancer_id: Option<String>,
    /// Nova server id.
    #[serde(default)]
    pub compute_id: Option<String>,
    /// ALLOCATED, BOOTING, READY, ERROR, FAILOVER_STOPPED, ...
    pub status: AmphoraStatus,
    /// STANDALONE, MASTER, BACKUP.
    #[serde(default)]
    pub role: Option<String>,
    /// lb-mgmt-net address.
    #[serde(default)]
    pub lb_network_ip: Option<String>,
    /// The Glance image its server was built from.
    #[serde(default)]
    pub image_id: Option<String>,
}

#[derive(Deserialize)]
struct LbBody {
    loadbalancer: LoadBalancer,
}

#[derive(Deserialize)]
struct LbPage {
    loadbalancers: Vec<LoadBalancer>,
    #[serde(default)]
    loadbalancers_links: Vec<Link>,
}

#[derive(Deserialize)]
struct AmphoraPage {
    amphorae: Vec<Amphora>,
    #[serde(default)]
    amphorae_links: Vec<Link>,
}

/// Page size: Octavia's default maximum.
pub const PAGE_SIZE: usize = 1000;

/// `GET /v2/lbaas/loadbalancers` (a project sees its own; admin sees all), every page,
/// optionally only one project's.
pub async fn list_load_balancers(
    session: &Session,
    scope: Scope,
    project_id: Option<&str>,
) -> Result<Vec<LoadBalancer>, ApiError> {
    let mut call = Call::get(scope, Service::LoadBalancer, "/lbaas/loadbalancers");
    if let Some(p) = project_id {
        call = call.query("project_id", p);
    }
    collect_pages(
        session,
        call,
        PAGE_SIZE,
        |p: LbPage| (p.loadbalancers, p.loadbalancers_links),
        |lb| lb.id.clone(),
    )
    .await
}

/// `GET /v2/lbaas/loadbalancers/{id}`.
pub async fn show_load_balancer(
    session: &Session,
    scope: Scope,
    id: &str,
) -> Result<LoadBalancer, ApiError> {
    let body: LbBody = session
        .json(&Call::get(
            scope,
            Service::LoadBalancer,
            format!("/lbaas/loadbalancers/{id}"),
        ))
        .await?;
    Ok(body.loadbalancer)
}

/// `PUT /v2/lbaas/loadbalancers/{id}/failover` (admin; 409 unless ACTIVE or ERROR).
pub async fn failover_load_balancer(session: &Session, id: &str) -> Result<(), ApiError> {
    let call = Call::with(
        Scope::Admin,
        Service::LoadBalancer,
        Method::PUT,
        format!("/lbaas/loadbalancers/{id}/failover"),
        None,
    );
    session.send(&call).await.map(|_| ())
}

/// `GET /v2/octavia/amphorae` (admin), every page.
pub async fn list_amphorae(session: &Session) -> Result<Vec<Amphora>, ApiError> {
    list_amphorae_paged(session, PAGE_SIZE).await
}

/// `GET /v2/octavia/amphorae` with a given page size.
pub async fn list_amphorae_paged(
    session: &Session,
    page_size: usize,
) -> Result<Vec<Amphora>, ApiError> {
    let call = Call::get(Scope::Admin, Service::LoadBalancer, "/octavia/amphorae");
    collect_pages(
        session,
        call,
        page_size,
        |p: AmphoraPage| (p.amphorae, p.amphorae_links),
        |a| a.id.clone(),
    )
    .await
}
