//! Magnum v1: cluster show and list with `OpenStack-API-Version: container-infra`
//! negotiation. Health is computed from the cloud: an empty reason while the
//! management API is down, the component dict (with D-042's lookup failure) once up.

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{AppState, Authenticated, Microversion, json_response, requested_microversion, url};
use crate::Shared;
use crate::clock::iso;
use crate::cloud::{Cloud, MagnumCluster, Token};

const MAX: Microversion = Microversion(1, 14);
const NAMES: &[&str] = &["container-infra", "container-infrastructure-management"];
/// The service name Magnum's version headers carry, whichever name a client asked by.
const ANSWERS_AS: &str = "container-infrastructure-management";

/// Routes under `/container-infra`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(versions))
        .route("/v1", get(version))
        .route("/v1/", get(version))
        .route("/v1/clusters", get(list_clusters))
        .route("/v1/clusters/{ident}", get(show_cluster))
}

fn version_doc(state: &Shared) -> Value {
    json!({"id": "v1", "status": "CURRENT", "max_version": MAX.to_string(), "min_version": "1.1",
           "links": [{"rel": "self", "href": url(state, "/container-infra/v1/")}]})
}

async fn versions(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        json!({"versions": [version_doc(&state)], "name": "OpenStack Magnum API", "description": "Magnum is an OpenStack project which aims to provide container cluster management."}),
    )
}

async fn version(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        json!({"id": "v1", "media_types": [{"base": "application/json", "type": "application/vnd.openstack.magnum.v1+json"}], "links": [{"rel": "self", "href": url(&state, "/container-infra/v1/")}], "clusters": [{"rel": "self", "href": url(&state, "/container-infra/v1/clusters/")}]}),
    )
}

/// Magnum's error body.
fn error(status: StatusCode, detail: &str) -> Response {
    json_response(
        status,
        json!({"errors": [{"request_id": "", "code": "client", "status": status.as_u16(), "title": status.canonical_reason().unwrap_or(""), "detail": detail, "links": []}]}),
    )
}

/// An authenticated container-infra request and the microversion it negotiated: a
/// handler that takes one never runs for a bad token or an unsupported version.
struct ContainerInfra {
    token: Token,
    version: Microversion,
}

impl FromRequestParts<AppState> for ContainerInfra {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Authenticated(token) = Authenticated::from_request_parts(parts, state).await?;
        let version = requested_microversion(&parts.headers, NAMES, None, MAX)
            .map_err(|_| {
                versioned(
                    error(StatusCode::NOT_ACCEPTABLE, &format!("Version was requested but is not supported by this service. The supported version range is: [1.1, {MAX}].")),
                    Microversion(1, 1),
                )
            })?
            .unwrap_or(Microversion(1, 1));
        Ok(ContainerInfra { token, version })
    }
}

fn versioned(mut r: Response, version: Microversion) -> Response {
    let h = r.headers_mut();
    h.insert(
        "openstack-api-minimum-version",
        HeaderValue::from_static("container-infrastructure-management 1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{ANSWERS_AS} {MAX}")) {
        h.insert("openstack-api-maximum-version", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{ANSWERS_AS} {version}")) {
        h.insert("openstack-api-version", v);
    }
    h.insert("vary", HeaderValue::from_static("OpenStack-API-Version"));
    r
}

fn cluster_json(
    state: &Shared,
    cloud: &Cloud,
    c: &MagnumCluster,
    now: jiff::Timestamp,
    detail: bool,
) -> Value {
    let (health, reason) = cloud.cluster_health(c, now);
    // Magnum 23 (API 1.14): the list's fields, then show's; `faults` only for a
    // cluster in a *_FAILED status.
    let mut v = json!({
        "uuid": c.uuid, "name": c.name, "status": "CREATE_COMPLETE", "health_status": health,
        "cluster_template_id": crate::cloud::derived_uuid("template", "k8s-capi").to_string(),
        "keypair": "capi-mgmt-key", "master_count": 1, "node_count": 2, "create_timeout": 60,
        "cluster_id": format!("{}-{}", c.name, &c.uuid[..6]), "docker_volume_size": null,
        "labels": {"kube_tag": "v1.31.4"}, "master_flavor_id": "gp.mid", "flavor_id": "gp.mid",
        "merge_labels": false,
        "links": [{"rel": "self", "href": url(state, &format!("/container-infra/v1/clusters/{}", c.uuid))},
                  {"rel": "bookmark", "href": url(state, &format!("/container-infra/clusters/{}", c.uuid))}],
    });
    if detail {
        let extra = json!({
            "health_status_reason": reason, "status_reason": null, "coe_version": "v1.31.4",
            "project_id": c.project_id, "user_id": crate::cloud::derived_hex("user", "capi-operator"),
            "container_version": null, "labels_overridden": {},
            "labels_skipped": {}, "labels_added": {}, "fixed_network": null, "fixed_subnet": null,
            "floating_ip_enabled": true, "api_address": "https://192.0.2.100:6443",
            "master_addresses": [], "node_addresses": [], "master_lb_enabled": true,
            "discovery_url": null, "created_at": iso(c.created), "updated_at": iso(now),
        });
        if let (Value::Object(v), Value::Object(extra)) = (&mut v, extra) {
            v.extend(extra);
        }
    }
    v
}

async fn list_clusters(
    State(state): State<AppState>,
    ContainerInfra { token, version }: ContainerInfra,
) -> Response {
    let (cloud, now) = state.cloud();
    let items: Vec<Value> = cloud
        .clusters
        .iter()
        .filter(|c| c.project_id == token.project_id)
        .map(|c| cluster_json(&state, &cloud, c, now, false))
        .collect();
    versioned(
        json_response(StatusCode::OK, json!({"clusters": items})),
        version,
    )
}

async fn show_cluster(
    State(state): State<AppState>,
    ContainerInfra { token, version }: ContainerInfra,
    Path(ident): Path<String>,
) -> Response {
    let (cloud, now) = state.cloud();
    // By uuid an admin sees any project's cluster; names resolve in the token's project.
    let found = cloud.clusters.iter().find(|c| {
        (c.uuid == ident && (token.is_admin() || c.project_id == token.project_id))
            || (c.name == ident && c.project_id == token.project_id)
    });
    let r = match found {
        Some(c) => json_response(StatusCode::OK, cluster_json(&state, &cloud, c, now, true)),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("Cluster {ident} could not be found."),
        ),
    };
    versioned(r, version)
}
