//! Neutron and Glance, only as far as the real `openstack` CLI reaches for them while
//! running the runbook's commands: version discovery and empty listings. The twin
//! models no networks or images; these exist so the catalog is complete.

use axum::Router;
use axum::extract::State;
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
        .route(
            "/v2.0/floatingips",
            get(|s, h| empty_list(s, h, "floatingips")),
        )
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
