//! Placement: resource providers, inventories, usages and traits, one provider per
//! compute host. Usage follows every server's allocation, so deleting a zombie
//! amphora frees capacity here exactly as it does in a real cloud.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{AppState, Authenticated, Microversion, json_response, requested_microversion, url};
use crate::Shared;
use crate::cloud::{Cloud, Hypervisor, Token};

const MAX: Microversion = Microversion(1, 39);

/// Routes under `/placement`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/resource_providers", get(list_providers))
        .route("/resource_providers/{uuid}", get(show_provider))
        .route("/resource_providers/{uuid}/inventories", get(inventories))
        .route("/resource_providers/{uuid}/usages", get(usages))
        .route("/resource_providers/{uuid}/traits", get(traits))
}

async fn root() -> Response {
    json_response(
        StatusCode::OK,
        json!({"versions": [{"id": "v1.0", "max_version": MAX.to_string(), "min_version": "1.0", "status": "CURRENT", "links": [{"rel": "self", "href": ""}]}]}),
    )
}

/// Placement's error body.
fn error(status: StatusCode, detail: &str) -> Response {
    json_response(
        status,
        json!({"errors": [{"status": status.as_u16(), "title": status.canonical_reason().unwrap_or(""), "detail": detail, "request_id": format!("req-{}", uuid::Uuid::new_v4())}]}),
    )
}

fn versioned(mut response: Response, version: Microversion) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("placement {version}")) {
        response.headers_mut().insert("openstack-api-version", v);
    }
    response
        .headers_mut()
        .insert("vary", HeaderValue::from_static("openstack-api-version"));
    response
}

/// An authenticated Placement request and the microversion it negotiated; which
/// policy it must pass is the handler's ([`Placement::admitted`]).
struct Placement {
    token: Token,
    version: Microversion,
}

impl FromRequestParts<AppState> for Placement {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Authenticated(token) = Authenticated::from_request_parts(parts, state).await?;
        let version = requested_microversion(&parts.headers, &["placement"], None, MAX)
            .map_err(|m| error(StatusCode::NOT_ACCEPTABLE, &m))?
            .unwrap_or(Microversion(1, 0));
        Ok(Placement { token, version })
    }
}

impl Placement {
    /// Its microversion once `policy` admits it (admin only, as Placement's default
    /// policy), or Placement's 403 naming the policy.
    fn admitted(&self, policy: &str) -> Result<Microversion, Response> {
        if !self.token.is_admin() {
            return Err(versioned(
                error(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "Access was denied to this resource.\n\n Policy does not allow {policy} to be performed.  "
                    ),
                ),
                self.version,
            ));
        }
        Ok(self.version)
    }
}

fn generation(cloud: &Cloud, h: &Hypervisor) -> usize {
    1 + cloud
        .servers
        .iter()
        .filter(|s| s.host.as_deref() == Some(h.spec.name.as_str()))
        .count()
}

fn provider_json(state: &Shared, cloud: &Cloud, h: &Hypervisor, version: Microversion) -> Value {
    let base = format!("/placement/resource_providers/{}", h.uuid);
    let mut links = vec![
        json!({"rel": "self", "href": url(state, &base)}),
        json!({"rel": "inventories", "href": url(state, &format!("{base}/inventories"))}),
        json!({"rel": "usages", "href": url(state, &format!("{base}/usages"))}),
    ];
    if version >= Microversion(1, 6) {
        links.push(json!({"rel": "traits", "href": url(state, &format!("{base}/traits"))}));
    }
    let mut v = json!({"uuid": h.uuid, "name": format!("{}.maas", h.spec.name), "generation": generation(cloud, h), "links": links});
    if version >= Microversion(1, 14) {
        v["parent_provider_uuid"] = Value::Null;
        v["root_provider_uuid"] = json!(h.uuid);
    }
    v
}

async fn list_providers(
    State(state): State<AppState>,
    request: Placement,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let version = match request.admitted("placement:resource_providers:list") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (cloud, _) = state.cloud();
    let items: Vec<Value> = cloud
        .hypervisors
        .iter()
        .filter(|h| {
            query
                .get("name")
                .is_none_or(|n| *n == format!("{}.maas", h.spec.name))
        })
        .filter(|h| query.get("uuid").is_none_or(|u| *u == h.uuid))
        .map(|h| provider_json(&state, &cloud, h, version))
        .collect();
    versioned(
        json_response(StatusCode::OK, json!({"resource_providers": items})),
        version,
    )
}

fn with_provider(
    state: &Shared,
    request: Placement,
    uuid: &str,
    policy: &str,
    min: Option<Microversion>,
    render: impl FnOnce(&Cloud, &Hypervisor, Microversion) -> Value,
) -> Response {
    let version = match request.admitted(policy) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if min.is_some_and(|m| version < m) {
        return versioned(
            error(StatusCode::NOT_FOUND, "The resource could not be found."),
            version,
        );
    }
    let (cloud, _) = state.cloud();
    let r = match cloud.hypervisors.iter().find(|h| h.uuid == uuid) {
        Some(h) => json_response(StatusCode::OK, render(&cloud, h, version)),
        None => error(
            StatusCode::NOT_FOUND,
            &format!(
                "The resource could not be found.\n\n No resource provider with uuid {uuid} found  "
            ),
        ),
    };
    versioned(r, version)
}

async fn show_provider(
    State(state): State<AppState>,
    request: Placement,
    Path(uuid): Path<String>,
) -> Response {
    with_provider(
        &state,
        request,
        &uuid,
        "placement:resource_providers:show",
        None,
        |cloud, h, v| provider_json(&state, cloud, h, v),
    )
}

async fn inventories(
    State(state): State<AppState>,
    request: Placement,
    Path(uuid): Path<String>,
) -> Response {
    with_provider(
        &state,
        request,
        &uuid,
        "placement:resource_providers:inventories:list",
        None,
        |cloud, h, _| {
            let s = &h.spec;
            let inv = |total: u64, reserved: u64, ratio: f64| json!({"total": total, "reserved": reserved, "min_unit": 1, "max_unit": total, "step_size": 1, "allocation_ratio": ratio});
            json!({
                "resource_provider_generation": generation(cloud, h),
                "inventories": {
                    "MEMORY_MB": inv(s.memory_mb, s.reserved_memory_mb, s.ram_allocation_ratio),
                    "VCPU": inv(s.vcpus, 0, s.cpu_allocation_ratio),
                    "DISK_GB": inv(s.disk_gb, 0, s.disk_allocation_ratio),
                }
            })
        },
    )
}

async fn usages(
    State(state): State<AppState>,
    request: Placement,
    Path(uuid): Path<String>,
) -> Response {
    with_provider(
        &state,
        request,
        &uuid,
        "placement:resource_providers:usages",
        None,
        |cloud, h, _| {
            let u = cloud.usage(&h.spec.name);
            json!({
                "resource_provider_generation": generation(cloud, h),
                "usages": {"MEMORY_MB": u.memory_mb, "VCPU": u.vcpus, "DISK_GB": u.disk_gb},
            })
        },
    )
}

async fn traits(
    State(state): State<AppState>,
    request: Placement,
    Path(uuid): Path<String>,
) -> Response {
    with_provider(
        &state,
        request,
        &uuid,
        "placement:resource_providers:traits:list",
        Some(Microversion(1, 6)),
        |cloud, h, _| {
            let mut traits = vec![
                "COMPUTE_NET_ATTACH_INTERFACE",
                "COMPUTE_VOLUME_EXTEND",
                "HW_CPU_X86_AVX2",
            ];
            if h.spec.disabled {
                traits.push("COMPUTE_STATUS_DISABLED");
            }
            json!({"resource_provider_generation": generation(cloud, h), "traits": traits})
        },
    )
}
