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
    Router::new()
        .route("/exec", post(exec))
        .route("/juju-ssh", post(juju_ssh))
        .route("/juju-status", post(juju_status))
        .route("/juju-login", post(juju_login))
}

/// The discharge error juju prints when its macaroon is stale and stdin cannot take
/// the password prompt (juju's own wording).
const DISCHARGE_EOF: &str = "ERROR cannot get discharge from https://127.0.0.1:17070/auth: third party refused discharge: cannot start interactive session: EOF\n";

#[derive(Deserialize)]
struct JujuStatus {
    #[serde(default)]
    model: Option<String>,
}

/// What `juju status [-m MODEL]` answers: the login error while the login is
/// expired (status needs the API as `ssh` does), else a one-line model summary.
async fn juju_status(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let request = serde_json::from_slice::<JujuStatus>(&body).unwrap_or(JujuStatus { model: None });
    let mut cloud = state.cloud().0;
    cloud.juju_calls.push(crate::cloud::JujuCall {
        command: "status".into(),
        model: request.model.clone(),
    });
    let (stdout, stderr, code) = if cloud.juju_login_expired {
        (String::new(), DISCHARGE_EOF.to_string(), 1)
    } else {
        (
            format!(
                "- octavia/0: 127.0.0.1 (agent:idle, workload:active) [model {}]\n",
                request.model.as_deref().unwrap_or("current")
            ),
            String::new(),
            0,
        )
    };
    json_response(
        StatusCode::OK,
        json!({"stdout": stdout, "stderr": stderr, "exit_code": code}),
    )
}

/// A password typed at juju's prompt (only a terminal can): the login is fresh.
async fn juju_login(State(state): State<AppState>) -> Response {
    state.cloud().0.juju_login_expired = false;
    json_response(
        StatusCode::OK,
        json!({"stdout": "", "stderr": "", "exit_code": 0}),
    )
}

#[derive(Deserialize)]
struct JujuSsh {
    unit: String,
    argv: Vec<String>,
    #[serde(default)]
    model: Option<String>,
}

/// What `juju ssh UNIT -- ARGV` answers on the twin's octavia units: `sudo tail -n N`
/// of the worker or health-manager log. There is no Juju here: this stands in for
/// it, for the one thing the tool asks of it.
async fn juju_ssh(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<JujuSsh>(&body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "expected {\"unit\": ..., \"argv\": [...]}"}),
        );
    };
    let answer = |stdout: String, stderr: String, code: i32| {
        json_response(
            StatusCode::OK,
            json!({"stdout": stdout, "stderr": stderr, "exit_code": code}),
        )
    };
    if !request.unit.starts_with("octavia/") {
        return answer(
            String::new(),
            format!(
                "ERROR unit \"{}\" not found (the twin models only octavia units)\n",
                request.unit
            ),
            1,
        );
    }
    {
        let mut cloud = state.cloud().0;
        cloud.juju_calls.push(crate::cloud::JujuCall {
            command: "ssh".into(),
            model: request.model.clone(),
        });
        if cloud.juju_login_expired {
            // The macaroon is stale and stdin (here /dev/null) cannot take the prompt.
            return answer(String::new(), DISCHARGE_EOF.into(), 1);
        }
    }
    let argv: Vec<&str> = request.argv.iter().map(String::as_str).collect();
    let (n, path) = match argv.as_slice() {
        ["sudo", "tail", "-n", n, path] => (n.parse::<usize>().unwrap_or(10), *path),
        _ => {
            return answer(
                String::new(),
                format!(
                    "twin: `{}` is not modelled on octavia units (only `sudo tail -n N LOG`)\n",
                    request.argv.join(" ")
                ),
                127,
            );
        }
    };
    let (cloud, now) = state.cloud();
    let lines = match path.rsplit('/').next() {
        Some("octavia-worker.log") => cloud.worker_log.clone(),
        Some("octavia-health-manager.log") => cloud.health_manager_log(now),
        _ => {
            return answer(
                String::new(),
                format!("tail: cannot open '{path}' for reading: No such file or directory\n"),
                1,
            );
        }
    };
    let tail = &lines[lines.len().saturating_sub(n)..];
    answer(
        tail.iter().map(|l| format!("{l}\n")).collect(),
        String::new(),
        0,
    )
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
