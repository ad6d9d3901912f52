//! The twin's own record, readable from outside (`GET /twin/...`, off every service's
//! path, no token): the requests it served, the changes clients made with what the
//! cloud knew then, and the faults it injected. Tests, benchmarks and chaos runs
//! judge a run by these, and a standalone `twin` shows them to anyone on loopback.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::{AppState, json_response};

/// Where the record is served.
pub const PREFIX: &str = "/twin";

/// `/twin/requests`, `/twin/changes`, `/twin/faults`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/requests", get(requests))
        .route("/changes", get(changes))
        .route("/faults", get(faults))
}

async fn requests(State(state): State<AppState>) -> Response {
    let requests: Vec<_> = state
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|r| {
            json!({
                "at_s": (r.at.as_secs_f64() * 1000.0).round() / 1000.0,
                "method": r.method,
                "path": r.path,
                "status": r.status,
            })
        })
        .collect();
    json_response(StatusCode::OK, json!({ "requests": requests }))
}

async fn changes(State(state): State<AppState>) -> Response {
    let (cloud, _) = state.cloud();
    json_response(StatusCode::OK, json!({ "changes": cloud.changes }))
}

async fn faults(State(state): State<AppState>) -> Response {
    let (cloud, _) = state.cloud();
    json_response(StatusCode::OK, json!({ "struck": cloud.faults.struck }))
}
