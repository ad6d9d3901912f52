//! Octavia v2: load balancers (list with filters and paging, show, failover) and the
//! admin amphora list, with Octavia's `faultstring` errors and its policy (amphorae
//! and failover are admin-only; a project sees only its own load balancers).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::{Value, json};

use super::{AppState, Authenticated, empty, json_response, page, url};
use crate::Shared;
use crate::clock::iso;
use crate::cloud::{Amphora, LoadBalancer, Refusal, Token};

const PAGE_MAX: usize = 1000;

/// Routes under `/load-balancer`: the API answers under both `/v2` and `/v2.0`, as
/// Octavia does (the `openstack` CLI's plugin uses `/v2.0`).
pub fn routes() -> Router<AppState> {
    let api = Router::new()
        .route("/", get(version))
        .route("/lbaas/loadbalancers", get(list_load_balancers))
        .route("/lbaas/loadbalancers/{id}", get(show_load_balancer))
        .route("/lbaas/loadbalancers/{id}/failover", put(failover))
        .route("/octavia/amphorae", get(list_amphorae))
        .route("/octavia/amphorae/{id}", get(show_amphora));
    Router::new()
        .route("/", get(versions))
        .nest("/v2", api.clone())
        .nest("/v2.0", api)
}

async fn versions(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        json!({"versions": [
            {"id": "v2.0", "status": "SUPPORTED", "updated": "2016-12-11T00:00:00Z", "links": [{"rel": "self", "href": url(&state, "/load-balancer/v2.0")}]},
            {"id": "v2.28", "status": "CURRENT", "updated": "2023-11-08T00:00:00Z", "links": [{"rel": "self", "href": url(&state, "/load-balancer/v2")}]},
        ]}),
    )
}

async fn version(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        json!({"version": {"id": "v2.28", "status": "CURRENT", "updated": "2023-11-08T00:00:00Z", "links": [{"rel": "self", "href": url(&state, "/load-balancer/v2")}]}}),
    )
}

/// Octavia's (WSME) error body.
fn fault(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        json!({"faultcode": if status.is_server_error() { "Server" } else { "Client" }, "faultstring": message, "debuginfo": null}),
    )
}

/// An authenticated request with the admin role (amphorae and failover are
/// admin-only in Octavia's policy): a handler that takes one never runs otherwise.
struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Authenticated(token) = Authenticated::from_request_parts(parts, state).await?;
        if !token.is_admin() {
            return Err(fault(
                StatusCode::FORBIDDEN,
                "Policy does not allow this request to be performed.",
            ));
        }
        Ok(Admin)
    }
}

fn lb_json(lb: &LoadBalancer) -> Value {
    json!({
        "id": lb.id, "name": lb.name, "description": "Created by cluster-api-provider-openstack",
        "provisioning_status": lb.provisioning_status, "operating_status": lb.operating_status,
        "admin_state_up": true, "project_id": lb.project_id, "tenant_id": lb.project_id,
        "created_at": iso(lb.created), "updated_at": iso(lb.updated),
        "vip_address": lb.vip_address, "vip_port_id": lb.vip_port_id, "vip_subnet_id": lb.vip_subnet_id,
        "vip_network_id": lb.vip_network_id, "vip_qos_policy_id": null, "vip_vnic_type": "normal", "vip_sg_ids": [],
        "additional_vips": [], "listeners": [{"id": crate::cloud::derived_uuid("listener", &lb.id).to_string()}],
        "pools": [{"id": crate::cloud::derived_uuid("pool", &lb.id).to_string()}],
        "provider": "amphora", "flavor_id": null, "tags": [], "availability_zone": null,
    })
}

fn amphora_json(a: &Amphora) -> Value {
    json!({
        "id": a.id, "loadbalancer_id": a.loadbalancer_id, "compute_id": a.compute_id,
        "lb_network_ip": a.lb_network_ip, "vrrp_ip": a.vrrp_ip, "ha_ip": a.ha_ip,
        "vrrp_port_id": crate::cloud::derived_uuid("vrrp-port", &a.id).to_string(),
        "ha_port_id": crate::cloud::derived_uuid("vip-port", &a.loadbalancer_id).to_string(),
        "cert_expiration": iso(a.cert_expiration), "cert_busy": false, "role": a.role, "status": a.status,
        "vrrp_interface": null, "vrrp_id": 1, "vrrp_priority": null, "cached_zone": "nova",
        "created_at": iso(a.created), "updated_at": iso(a.updated),
        "image_id": crate::cloud::image_id(crate::cloud::AMPHORA_IMAGE),
        "compute_flavor": crate::cloud::derived_uuid("flavor", "charm-octavia").to_string(),
    })
}

/// Applies Octavia's generic `?field=value` filters, then paging, and renders links.
fn listing(
    state: &Shared,
    path: &str,
    key: &str,
    items: Vec<Value>,
    query: &HashMap<String, String>,
) -> Response {
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        Some(Ok(l)) => Some(l),
        Some(Err(_)) => {
            return fault(
                StatusCode::BAD_REQUEST,
                "Invalid input for field/attribute limit.",
            );
        }
        None => None,
    };
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|v| {
            query
                .iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "limit" | "marker" | "page_reverse" | "fields" | "sort"
                    )
                })
                .all(|(k, want)| match v.get(k) {
                    Some(Value::String(s)) => s == want,
                    Some(other) => *other.to_string() == **want,
                    None => true,
                })
        })
        .collect();
    if query
        .get("page_reverse")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        items.reverse();
    }
    let marker = query.get("marker").map(String::as_str);
    let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_string();
    let (page, full) = match page(
        items,
        |v| v["id"].as_str().unwrap_or_default(),
        limit,
        marker,
        PAGE_MAX,
    ) {
        Ok(p) => p,
        Err(_) => {
            return fault(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Invalid input for field/attribute marker. Value: '{}'.",
                    marker.unwrap_or("")
                ),
            );
        }
    };
    let mut links = Vec::new();
    if full && let Some(last) = page.last() {
        let mut q: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "marker")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        q.sort();
        q.push(format!("marker={}", id(last)));
        links.push(json!({"rel": "next", "href": url(state, &format!("/load-balancer/v2/{path}?{}", q.join("&")))}));
    }
    json_response(
        StatusCode::OK,
        json!({key: page, format!("{key}_links"): links}),
    )
}

/// Octavia's policy: admin sees every load balancer, a project its own.
pub(crate) fn visible(token: &Token, lb: &LoadBalancer) -> bool {
    token.is_admin() || lb.project_id == token.project_id
}

async fn list_load_balancers(
    State(state): State<AppState>,
    Authenticated(token): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (cloud, _) = state.cloud();
    let mut lbs: Vec<LoadBalancer> = cloud
        .load_balancers
        .iter()
        .filter(|lb| visible(&token, lb))
        .cloned()
        .collect();
    drop(cloud);
    lbs.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    listing(
        &state,
        "lbaas/loadbalancers",
        "loadbalancers",
        lbs.iter().map(lb_json).collect(),
        &query,
    )
}

fn find_lb(state: &Shared, token: &Token, id: &str) -> Result<LoadBalancer, Response> {
    let (cloud, _) = state.cloud();
    cloud
        .load_balancers
        .iter()
        .find(|lb| lb.id == id && visible(token, lb))
        .cloned()
        .ok_or_else(|| {
            fault(
                StatusCode::NOT_FOUND,
                &format!("Load Balancer {id} not found."),
            )
        })
}

async fn show_load_balancer(
    State(state): State<AppState>,
    Authenticated(token): Authenticated,
    Path(id): Path<String>,
) -> Response {
    match find_lb(&state, &token, &id) {
        Ok(lb) => json_response(StatusCode::OK, json!({"loadbalancer": lb_json(&lb)})),
        Err(r) => r,
    }
}

async fn failover(State(state): State<AppState>, _: Admin, Path(id): Path<String>) -> Response {
    let (mut cloud, now) = state.cloud();
    match cloud.failover_load_balancer(&id, now) {
        Ok(()) => empty(StatusCode::ACCEPTED),
        Err(Refusal::NotFound(m)) => fault(StatusCode::NOT_FOUND, &m),
        Err(Refusal::Conflict(m)) => fault(StatusCode::CONFLICT, &m),
    }
}

async fn list_amphorae(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (cloud, _) = state.cloud();
    let mut amphorae = cloud.amphorae.clone();
    drop(cloud);
    amphorae.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    listing(
        &state,
        "octavia/amphorae",
        "amphorae",
        amphorae.iter().map(amphora_json).collect(),
        &query,
    )
}

async fn show_amphora(State(state): State<AppState>, _: Admin, Path(id): Path<String>) -> Response {
    let (cloud, _) = state.cloud();
    match cloud.amphorae.iter().find(|a| a.id == id) {
        Some(a) => json_response(StatusCode::OK, json!({"amphora": amphora_json(a)})),
        None => fault(StatusCode::NOT_FOUND, &format!("Amphora {id} not found.")),
    }
}
