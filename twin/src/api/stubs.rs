//! Neutron and Glance, only as far as the real `openstack` CLI reaches for them while
//! running the runbook's commands: version discovery and empty listings. The
//! listings with content are Neutron's floating IPs (those on load-balancer VIP
//! ports, which a failover must keep) and Glance's images (the amphora image, tagged
//! `octavia-amphora`, that the sweep's identity rule checks).

use axum::Router;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{AppState, Authenticated, json_response, url};

/// Routes under `/networking`.
pub fn network_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(network_versions))
        .route(
            "/v2.0/networks",
            get(|_: Authenticated| async { empty_list("networks") }),
        )
        .route(
            "/v2.0/subnets",
            get(|_: Authenticated| async { empty_list("subnets") }),
        )
        .route(
            "/v2.0/ports",
            get(|_: Authenticated| async { empty_list("ports") }),
        )
        .route("/v2.0/floatingips", get(floating_ips))
        .route(
            "/v2.0/extensions",
            get(|_: Authenticated| async { empty_list("extensions") }),
        )
}

/// Routes under `/image`.
pub fn image_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(image_versions))
        .route("/v2/images", get(list_images))
        .route("/v2/images/{id}", get(show_image))
}

/// Glance's image JSON for one of the twin's images, visible to `token`: admin sees
/// all, others public ones and their own.
fn image_json(
    state: &AppState,
    token: &crate::cloud::Token,
    (name, tags, owner): (&str, &[&str], &str),
) -> Option<serde_json::Value> {
    let (cloud, _) = state.cloud();
    let owner = cloud.projects.iter().find(|p| p.name == owner)?.id.clone();
    let public = tags.is_empty();
    if !(token.is_admin() || public || token.project_id == owner) {
        return None;
    }
    let id = crate::cloud::image_id(name);
    Some(json!({
        "id": id, "name": name, "status": "active",
        "visibility": if public { "public" } else { "private" },
        "owner": owner, "tags": tags, "protected": false,
        "container_format": "bare", "disk_format": "qcow2", "min_disk": 0, "min_ram": 0,
        "size": 1_073_741_824u64, "checksum": null, "os_hidden": false,
        "created_at": "2026-06-01T00:00:00Z", "updated_at": "2026-06-01T00:00:00Z",
        "self": format!("/v2/images/{id}"), "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image",
    }))
}

/// `GET /v2/images` with Glance's `tag`, `owner` and `name` filters.
async fn list_images(
    State(state): State<AppState>,
    Authenticated(token): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let images: Vec<serde_json::Value> = crate::cloud::IMAGES
        .iter()
        .filter_map(|i| image_json(&state, &token, *i))
        .filter(|i| {
            query.get("tag").is_none_or(|t| {
                i["tags"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == t.as_str()))
            })
        })
        .filter(|i| query.get("owner").is_none_or(|o| i["owner"] == o.as_str()))
        .filter(|i| query.get("name").is_none_or(|n| i["name"] == n.as_str()))
        .collect();
    json_response(
        StatusCode::OK,
        json!({"images": images, "first": "/v2/images", "schema": "/v2/schemas/images"}),
    )
}

/// `GET /v2/images/{id}`: 404 as Glance words it for an unknown or invisible image.
async fn show_image(
    State(state): State<AppState>,
    Authenticated(token): Authenticated,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match crate::cloud::IMAGES
        .iter()
        .filter(|(name, ..)| crate::cloud::image_id(name) == id)
        .find_map(|i| image_json(&state, &token, *i))
    {
        Some(image) => json_response(StatusCode::OK, image),
        None => (
            StatusCode::NOT_FOUND,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=UTF-8",
            )],
            format!("404 Not Found\n\nNo image found with ID {id}\n\n   "),
        )
            .into_response(),
    }
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

/// An empty listing (the twin has no networks, subnets or ports of its own).
fn empty_list(key: &'static str) -> Response {
    json_response(StatusCode::OK, json!({key: []}))
}

/// `GET /v2.0/floatingips` with Neutron's `port_id` and `floating_ip_address` filters.
async fn floating_ips(
    State(state): State<AppState>,
    Authenticated(token): Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
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
