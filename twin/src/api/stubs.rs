//! Neutron and Glance, only as far as the real `openstack` CLI reaches for them while
//! running the runbook's commands: version discovery and empty listings. The one
//! Neutron listing with content is floating IPs: those on load-balancer VIP ports,
//! which a failover must keep.

use axum::Router;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::{AppState, authenticate, json_response, url};

/// Routes under `/networking`.
pub fn network_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(network_versions))
        .route("/v2.0/networks", get(|s, h| empty_list(s, h, "networks")))
        .route("/v2.0/subnets", get(|s, h| empty_list(s, h, "subnets")))
        .route("/v2.0/ports", get(|s, h| empty_list(s, h, "ports")))
        .route("/v2.0/floatingips", get(floating_ips))
        .route(
            "/v2.0/extensions",
            get(|s, h| empty_list(s, h, "extensions")),
        )
}

/// Routes under `/image`.
pub fn image_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(image_versions))
        .route("/v2/images", get(|s, h| empty_list(s, h, "images")))
}

async fn network_versions(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": url(&state, "/networking/v2.0/")}]}]}),
    )
}

async fn image_versions(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::MULTIPLE_CHOICES,
        json!({"versions": [{"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": url(&state, "/image/v2/")}]}]}),
    )
}

async fn empty_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    key: &'static str,
) -> Response {
    match authenticate(&state, &headers) {
        Ok(_) => json_response(StatusCode::OK, json!({key: []})),
        Err(r) => r,
    }
}

/// `GET /v2.0/floatingips` with Neutron's `port_id` and `floating_ip_address` filters.
async fn floating_ips(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = match authenticate(&state, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (cloud, _) = state.cloud();
    let ips: Vec<serde_json::Value> = cloud
        .load_balancers
        .iter()
        .filter(|lb| super::octavia::visible(&token, lb))
        .filter_map(|lb| lb.floating_ip.as_ref().map(|ip| (lb, ip)))
        .filter(|(lb, _)| query.get("port_id").is_none_or(|p| *p == lb.vip_port_id))
        .filter(|(_, ip)| query.get("floating_ip_address").is_none_or(|a| a == *ip))
        .map(|(lb, ip)| {
            json!({"id": crate::cloud::derived_uuid("floatingip", ip).to_string(), "floating_ip_address": ip,
                "fixed_ip_address": lb.vip_address, "port_id": lb.vip_port_id, "project_id": lb.project_id,
                "tenant_id": lb.project_id, "status": "ACTIVE", "router_id": crate::cloud::derived_uuid("router", &lb.project_id).to_string(),
                "floating_network_id": crate::cloud::derived_uuid("network", "ext-net").to_string(), "description": "", "tags": []})
        })
        .collect();
    json_response(StatusCode::OK, json!({"floatingips": ips}))
}
