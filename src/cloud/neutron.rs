//! Neutron, only for what a failover must keep: the floating IPs on a load
//! balancer's VIP port.

use serde::Deserialize;

use super::{ApiError, Call, Scope, Service, Session};

#[derive(Deserialize)]
struct FloatingIps {
    floatingips: Vec<FloatingIp>,
}

#[derive(Deserialize)]
struct FloatingIp {
    floating_ip_address: String,
}

/// `GET /v2.0/floatingips?port_id=` (admin scope): the addresses on a port, sorted.
pub async fn floating_ips_on_port(
    session: &Session,
    port_id: &str,
) -> Result<Vec<String>, ApiError> {
    let call = Call::get(Scope::Admin, Service::Network, "/floatingips").query("port_id", port_id);
    let body: FloatingIps = session.json(&call).await?;
    let mut ips: Vec<String> = body
        .floatingips
        .into_iter()
        .map(|f| f.floating_ip_address)
        .collect();
    ips.sort();
    Ok(ips)
}
