//! The management VM's side door: `POST /host/exec` runs one of the commands the tool
//! sends over ssh (a `;`-separated line, or an argv for the scripts behind a real
//! sshd) and answers with stdout, stderr and the exit code. No token: it stands for
//! the VM itself, on loopback.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::{AppState, json_response};

/// Routes under `/host`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/exec", post(exec))
}

#[derive(Deserialize)]
struct ExecRequest {
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    argv: Option<Vec<String>>,
}

async fn exec(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<ExecRequest>(&body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "expected {\"command\": \"...\"} or {\"argv\": [...]}"}),
        );
    };
    let kube = crate::host::KubeEndpoint {
        url: state.kube_url.clone(),
        ca_pem: state.kube_tls.ca_pem.clone(),
    };
    let (cloud, now) = state.cloud();
    let out = match (request.command, request.argv) {
        (Some(line), _) => cloud.host_shell(&line, now, &kube),
        (None, Some(argv)) => cloud.host_exec(&argv, now, &kube),
        (None, None) => {
            return json_response(StatusCode::BAD_REQUEST, json!({"error": "nothing to run"}));
        }
    };
    json_response(
        StatusCode::OK,
        json!({"stdout": out.stdout, "stderr": out.stderr, "exit_code": out.code}),
    )
}
