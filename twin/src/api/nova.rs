//! Nova (compute API v2.1, microversions up to 2.96): servers list/detail with
//! `all_tenants`, regex `name`, `limit`/`marker` paging; show; `os-start`/`os-stop`
//! with Nova's 409 state rules; delete; flavors and hypervisors (2.88 shapes).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{
    AppState, Authenticated, Microversion, empty, json_response, page, requested_microversion, url,
};
use crate::Shared;
use crate::clock::iso;
use crate::cloud::{Refusal, Server, Token, VmState, derived_uuid};

const MAX: Microversion = Microversion(2, 96);
const PAGE_MAX: usize = 1000;

/// Routes under `/compute`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(versions))
        .route("/v2.1", get(version))
        .route("/v2.1/", get(version))
        .route("/v2.1/servers", get(list_servers))
        .route("/v2.1/servers/detail", get(list_servers_detail))
        .route("/v2.1/servers/{id}", get(show_server).delete(delete_server))
        .route("/v2.1/servers/{id}/action", post(server_action))
        .route("/v2.1/flavors", get(list_flavors))
        .route("/v2.1/flavors/detail", get(list_flavors))
        .route("/v2.1/os-hypervisors", get(list_hypervisors))
        .route("/v2.1/os-hypervisors/detail", get(list_hypervisors_detail))
        .route("/v2.1/os-hypervisors/{id}", get(show_hypervisor))
        .route("/v2.1/os-aggregates", get(list_aggregates))
}

fn version_doc(state: &Shared) -> Value {
    json!({
        "id": "v2.1", "status": "CURRENT", "version": MAX.to_string(), "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": url(state, "/compute/v2.1/")}],
    })
}

async fn versions(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, json!({"versions": [version_doc(&state)]}))
}

async fn version(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, json!({"version": version_doc(&state)}))
}

/// Nova's fault body: `{"<name>": {"code": N, "message": ...}}`.
fn fault(status: StatusCode, message: &str) -> Response {
    let name = match status {
        StatusCode::NOT_FOUND => "itemNotFound",
        StatusCode::CONFLICT => "conflictingRequest",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_ACCEPTABLE => "notAcceptable",
        _ => "badRequest",
    };
    json_response(
        status,
        json!({name: {"code": status.as_u16(), "message": message}}),
    )
}

/// An authenticated compute request and the microversion it negotiated (every Nova
/// answer carries it): a handler that takes one never runs for a bad token or an
/// unsupported microversion.
struct Compute {
    token: Token,
    version: Microversion,
}

impl FromRequestParts<AppState> for Compute {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Authenticated(token) = Authenticated::from_request_parts(parts, state).await?;
        let version = requested_microversion(
            &parts.headers,
            &["compute"],
            Some("x-openstack-nova-api-version"),
            MAX,
        )
        .map_err(|m| fault(StatusCode::NOT_ACCEPTABLE, &m))?
        .unwrap_or(Microversion(2, 1));
        Ok(Compute { token, version })
    }
}

fn versioned(mut response: Response, version: Microversion) -> Response {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("compute {version}")) {
        h.insert("openstack-api-version", v);
    }
    if let Ok(v) = HeaderValue::from_str(&version.to_string()) {
        h.insert("x-openstack-nova-api-version", v);
    }
    h.insert(
        "vary",
        HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    );
    response
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "false" | "f" | "no" | "off"
        )
    })
}

fn server_links(state: &Shared, id: &str) -> Value {
    json!([
        {"rel": "self", "href": url(state, &format!("/compute/v2.1/servers/{id}"))},
        {"rel": "bookmark", "href": url(state, &format!("/compute/servers/{id}"))},
    ])
}

fn server_json(state: &Shared, s: &Server, admin: bool, version: Microversion) -> Value {
    let mut addresses = Vec::new();
    let hex = derived_uuid("mac", &s.id).simple().to_string();
    let mac = format!("fa:16:3e:{}:{}:{}", &hex[0..2], &hex[2..4], &hex[4..6]);
    if let Some(ip) = &s.fixed_ip {
        let version = if ip.contains(':') { 6 } else { 4 };
        addresses.push(json!({"version": version, "addr": ip, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": mac}));
    }
    if let Some(ip) = &s.floating_ip {
        addresses.push(json!({"version": 4, "addr": ip, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": mac}));
    }
    let network = &s.network;
    let flavor = if version >= Microversion(2, 47) {
        json!({"vcpus": s.flavor.vcpus, "ram": s.flavor.ram, "disk": s.flavor.disk, "ephemeral": 0, "swap": 0, "original_name": s.flavor.name, "extra_specs": {}})
    } else {
        let id = derived_uuid("flavor", &s.flavor.name).to_string();
        json!({"id": id, "links": [{"rel": "bookmark", "href": url(state, &format!("/compute/flavors/{id}"))}]})
    };
    let mut v = json!({
        "id": s.id,
        "name": s.name,
        "status": s.vm_state.status(),
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "metadata": {},
        "hostId": s.host.as_ref().map(|h| derived_uuid("host-id", &format!("{}{h}", s.project_id)).simple().to_string()).unwrap_or_default(),
        "image": match &s.image {
            Some(name) => {
                let id = crate::cloud::image_id(name);
                json!({"id": id, "links": [{"rel": "bookmark", "href": url(state, &format!("/compute/images/{id}"))}]})
            }
            None => json!(""),
        },
        "flavor": flavor,
        "created": iso(s.created),
        "updated": iso(s.updated),
        "addresses": if addresses.is_empty() { json!({}) } else { json!({network: addresses}) },
        "accessIPv4": "",
        "accessIPv6": "",
        "links": server_links(state, &s.id),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": if s.host.is_some() { "nova" } else { "" },
        "config_drive": "",
        "key_name": if s.name.starts_with("amphora-") { Value::Null } else { json!("capi-mgmt-key") },
        // Nova sets launched_at when the server is spawned (not on each power-on).
        "OS-SRV-USG:launched_at": s.host.as_ref().map(|_| iso(s.created)),
        "OS-SRV-USG:terminated_at": null,
        "OS-EXT-STS:task_state": s.task_state.map(|t| t.as_str()),
        "OS-EXT-STS:vm_state": s.vm_state.as_str(),
        "OS-EXT-STS:power_state": s.power_state(),
        "os-extended-volumes:volumes_attached": [],
    });
    // Nova asks Neutron for the security groups of a server's ports: none without one.
    if s.fixed_ip.is_some() {
        v["security_groups"] = json!([{"name": "default"}]);
    }
    if admin {
        v["OS-EXT-SRV-ATTR:host"] = json!(s.host);
        v["OS-EXT-SRV-ATTR:hypervisor_hostname"] =
            json!(s.host.as_ref().map(|h| format!("{h}.maas")));
        v["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("instance-{}", &s.id[..8]));
        if version >= Microversion(2, 3) {
            let hostname: String = s
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .take(63)
                .collect();
            v["OS-EXT-SRV-ATTR:hostname"] = json!(hostname);
            v["OS-EXT-SRV-ATTR:reservation_id"] = json!(format!(
                "r-{}",
                &derived_uuid("reservation", &s.id).simple().to_string()[..8]
            ));
            v["OS-EXT-SRV-ATTR:launch_index"] = json!(0);
            v["OS-EXT-SRV-ATTR:kernel_id"] = json!("");
            v["OS-EXT-SRV-ATTR:ramdisk_id"] = json!("");
            v["OS-EXT-SRV-ATTR:root_device_name"] = json!("/dev/vda");
            v["OS-EXT-SRV-ATTR:user_data"] = Value::Null;
        }
        if version >= Microversion(2, 16) {
            // The compute service's state as the servicegroup sees it ("" unscheduled).
            v["host_status"] = json!(if s.host.is_some() { "UP" } else { "" });
        }
    }
    if version >= Microversion(2, 9) {
        v["locked"] = json!(false);
    }
    if version >= Microversion(2, 19) {
        v["description"] = Value::Null;
    }
    if version >= Microversion(2, 26) {
        v["tags"] = json!([]);
    }
    if version >= Microversion(2, 73) {
        v["locked_reason"] = Value::Null;
    }
    if let Some(f) = &s.fault
        && s.vm_state == VmState::Error
    {
        v["fault"] = json!({"code": f.code, "created": iso(f.created), "message": f.message});
    }
    v
}

/// Servers visible to `token` under Nova's list policy and filters, newest first.
fn visible_servers(
    state: &Shared,
    token: &Token,
    query: &HashMap<String, String>,
) -> Result<(Vec<Server>, bool), Response> {
    let all = truthy(query.get("all_tenants"));
    if all && !token.is_admin() {
        return Err(fault(
            StatusCode::FORBIDDEN,
            "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed.",
        ));
    }
    let name = match query.get("name") {
        Some(n) => Some(regex::Regex::new(n).map_err(|_| {
            fault(
                StatusCode::BAD_REQUEST,
                &format!("Invalid regular expression in name filter: {n}"),
            )
        })?),
        None => None,
    };
    let project = query
        .get("project_id")
        .or(query.get("tenant_id"))
        .filter(|_| all);
    let (cloud, _) = state.cloud();
    let mut servers: Vec<Server> = cloud
        .servers
        .iter()
        .filter(|s| {
            if all {
                project.is_none_or(|p| &s.project_id == p)
            } else {
                s.project_id == token.project_id
            }
        })
        .filter(|s| name.as_ref().is_none_or(|re| re.is_match(&s.name)))
        .filter(|s| {
            query
                .get("status")
                .is_none_or(|st| st.eq_ignore_ascii_case(s.vm_state.status()))
        })
        .filter(|s| {
            query
                .get("host")
                .filter(|_| token.is_admin())
                .is_none_or(|h| s.host.as_deref() == Some(h.as_str()))
        })
        .cloned()
        .collect();
    drop(cloud);
    servers.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    let limit = match query.get("limit") {
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| fault(StatusCode::BAD_REQUEST, "limit param must be an integer"))?,
        ),
        None => None,
    };
    page(
        servers,
        |s| &s.id,
        limit,
        query.get("marker").map(String::as_str),
        PAGE_MAX,
    )
    .map_err(|m| fault(StatusCode::BAD_REQUEST, &m))
}

fn next_link(
    state: &Shared,
    path: &str,
    query: &HashMap<String, String>,
    last: Option<&str>,
) -> Value {
    let mut q: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "marker")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    q.sort();
    if let Some(m) = last {
        q.push(("marker".into(), m.into()));
    }
    let qs = q
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&");
    json!([{"rel": "next", "href": url(state, &format!("/compute/v2.1/{path}?{qs}"))}])
}

fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn list_servers(
    State(state): State<AppState>,
    request: Compute,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    list(&state, request, &query, false)
}

async fn list_servers_detail(
    State(state): State<AppState>,
    request: Compute,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    list(&state, request, &query, true)
}

fn list(
    state: &Shared,
    Compute { token, version }: Compute,
    query: &HashMap<String, String>,
    detail: bool,
) -> Response {
    let (servers, full) = match visible_servers(state, &token, query) {
        Ok(v) => v,
        Err(r) => return versioned(r, version),
    };
    let items: Vec<Value> = servers
        .iter()
        .map(|s| {
            if detail {
                server_json(state, s, token.is_admin(), version)
            } else {
                json!({"id": s.id, "name": s.name, "links": server_links(state, &s.id)})
            }
        })
        .collect();
    let mut body = json!({"servers": items});
    if full {
        let path = if detail { "servers/detail" } else { "servers" };
        body["servers_links"] =
            next_link(state, path, query, servers.last().map(|s| s.id.as_str()));
    }
    versioned(json_response(StatusCode::OK, body), version)
}

fn find_visible(state: &Shared, token: &Token, id: &str) -> Result<Server, Response> {
    let (cloud, _) = state.cloud();
    cloud
        .server(id)
        .filter(|s| token.is_admin() || s.project_id == token.project_id)
        .cloned()
        .ok_or_else(|| {
            fault(
                StatusCode::NOT_FOUND,
                &format!("Instance {id} could not be found."),
            )
        })
}

async fn show_server(
    State(state): State<AppState>,
    Compute { token, version }: Compute,
    Path(id): Path<String>,
) -> Response {
    let r = match find_visible(&state, &token, &id) {
        Ok(s) => json_response(
            StatusCode::OK,
            json!({"server": server_json(&state, &s, token.is_admin(), version)}),
        ),
        Err(r) => r,
    };
    versioned(r, version)
}

fn refusal(r: Refusal) -> Response {
    match r {
        Refusal::NotFound(m) => fault(StatusCode::NOT_FOUND, &m),
        Refusal::Conflict(m) => fault(StatusCode::CONFLICT, &m),
    }
}

async fn delete_server(
    State(state): State<AppState>,
    Compute { token, version }: Compute,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = find_visible(&state, &token, &id) {
        return versioned(r, version);
    }
    let (mut cloud, now) = state.cloud();
    let r = match cloud.delete_server(&id, now) {
        Ok(()) => empty(StatusCode::NO_CONTENT),
        Err(e) => refusal(e),
    };
    versioned(r, version)
}

async fn server_action(
    State(state): State<AppState>,
    Compute { token, version }: Compute,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(Value::Object(action)) = serde_json::from_slice::<Value>(&body) else {
        return versioned(
            fault(StatusCode::BAD_REQUEST, "Malformed request body"),
            version,
        );
    };
    if state.cloud().0.server(&id).is_none() {
        // An action looks the server up through its cell mapping first, and says so
        // (show and delete say "could not be found").
        return versioned(
            fault(
                StatusCode::NOT_FOUND,
                &format!("Instance {id} has no mapping to a cell."),
            ),
            version,
        );
    }
    if let Err(r) = find_visible(&state, &token, &id) {
        return versioned(r, version);
    }
    let (mut cloud, now) = state.cloud();
    let result = match action.keys().next().map(String::as_str) {
        Some("os-start") => cloud.start_server(&id, now),
        Some("os-stop") => cloud.stop_server(&id, now),
        Some(other) => {
            return versioned(
                fault(
                    StatusCode::BAD_REQUEST,
                    &format!("There is no such action: {other}"),
                ),
                version,
            );
        }
        None => {
            return versioned(
                fault(StatusCode::BAD_REQUEST, "Malformed request body"),
                version,
            );
        }
    };
    let r = match result {
        Ok(()) => empty(StatusCode::ACCEPTED),
        Err(e) => refusal(e),
    };
    versioned(r, version)
}

async fn list_flavors(State(state): State<AppState>, Compute { version, .. }: Compute) -> Response {
    let (cloud, _) = state.cloud();
    let mut flavors: Vec<Value> = Vec::new();
    for s in &cloud.servers {
        let id = derived_uuid("flavor", &s.flavor.name).to_string();
        if flavors.iter().any(|f| f["id"] == id) {
            continue;
        }
        flavors.push(json!({
            "id": id, "name": s.flavor.name, "ram": s.flavor.ram, "vcpus": s.flavor.vcpus, "disk": s.flavor.disk,
            "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0, "rxtx_factor": 1.0, "os-flavor-access:is_public": true,
            "OS-FLV-DISABLED:disabled": false, "links": [{"rel": "self", "href": url(&state, &format!("/compute/v2.1/flavors/{id}"))}],
        }));
    }
    versioned(
        json_response(StatusCode::OK, json!({"flavors": flavors})),
        version,
    )
}

/// Which hypervisor view a request asks for.
#[derive(Clone, Copy, PartialEq)]
enum HypervisorView {
    /// `GET /os-hypervisors`: id, name, state, status.
    List,
    /// `GET /os-hypervisors/detail` and `/os-hypervisors/{id}`.
    Detail,
}

async fn list_hypervisors(
    State(state): State<AppState>,
    request: Compute,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    hypervisors(&state, request, &query, HypervisorView::List)
}

async fn list_hypervisors_detail(
    State(state): State<AppState>,
    request: Compute,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    hypervisors(&state, request, &query, HypervisorView::Detail)
}

/// The hypervisor list, filtered by `hypervisor_hostname_pattern` (a substring, as
/// `openstack hypervisor show NAME` looks one up) as Nova does from 2.53.
fn hypervisors(
    state: &Shared,
    Compute { token, version }: Compute,
    query: &HashMap<String, String>,
    view: HypervisorView,
) -> Response {
    let rule = match view {
        HypervisorView::List => "os-hypervisors:list",
        HypervisorView::Detail => "os-hypervisors:list-detail",
    };
    if let Err(refused) = admin_only(&token, version, rule) {
        return refused;
    }
    let (cloud, _) = state.cloud();
    let pattern = query.get("hypervisor_hostname_pattern");
    let items: Vec<Value> = cloud
        .hypervisors
        .iter()
        .enumerate()
        .filter(|(_, h)| pattern.is_none_or(|p| hypervisor_hostname(h).contains(p.as_str())))
        .map(|(i, h)| hypervisor_json(&cloud, i, h, version, view))
        .collect();
    if pattern.is_some() && items.is_empty() {
        return versioned(
            fault(
                StatusCode::NOT_FOUND,
                &format!(
                    "No hypervisor matching '{}' could be found.",
                    pattern.map(String::as_str).unwrap_or_default()
                ),
            ),
            version,
        );
    }
    versioned(
        json_response(StatusCode::OK, json!({"hypervisors": items})),
        version,
    )
}

async fn show_hypervisor(
    State(state): State<AppState>,
    Compute { token, version }: Compute,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = admin_only(&token, version, "os-hypervisors:show") {
        return refused;
    }
    let (cloud, _) = state.cloud();
    let Some((i, h)) = cloud
        .hypervisors
        .iter()
        .enumerate()
        .find(|(_, h)| h.uuid == id)
    else {
        return versioned(
            fault(
                StatusCode::NOT_FOUND,
                &format!("Hypervisor with ID {id} could not be found."),
            ),
            version,
        );
    };
    let body = hypervisor_json(&cloud, i, h, version, HypervisorView::Detail);
    versioned(
        json_response(StatusCode::OK, json!({"hypervisor": body})),
        version,
    )
}

/// Nova's answer to a non-admin token for an admin-only `rule`.
fn admin_only(token: &Token, version: Microversion, rule: &str) -> Result<(), Response> {
    if token.is_admin() {
        return Ok(());
    }
    Err(versioned(
        fault(
            StatusCode::FORBIDDEN,
            &format!("Policy doesn't allow os_compute_api:{rule} to be performed."),
        ),
        version,
    ))
}

/// Host aggregates: none on this cloud (`hypervisor show` lists a host's).
async fn list_aggregates(Compute { token, version }: Compute) -> Response {
    if let Err(refused) = admin_only(&token, version, "os-aggregates:index") {
        return refused;
    }
    versioned(
        json_response(StatusCode::OK, json!({"aggregates": []})),
        version,
    )
}

fn hypervisor_hostname(h: &crate::cloud::Hypervisor) -> String {
    format!("{}.maas", h.spec.name)
}

/// One hypervisor as Nova shows it at `version`: from 2.88 the resource fields are
/// gone (Placement has them) and `uptime` is in the detail.
fn hypervisor_json(
    cloud: &crate::cloud::Cloud,
    index: usize,
    h: &crate::cloud::Hypervisor,
    version: Microversion,
    view: HypervisorView,
) -> Value {
    let mut v = json!({
        "id": h.uuid, "hypervisor_hostname": hypervisor_hostname(h), "state": "up",
        "status": if h.spec.disabled { "disabled" } else { "enabled" },
    });
    if view == HypervisorView::List {
        return v;
    }
    // Each compute host has its own address on the MAAS network.
    v["host_ip"] = json!(format!("192.0.2.{}", 11 + index));
    v["hypervisor_type"] = json!("QEMU");
    v["hypervisor_version"] = json!(8002000);
    v["service"] = json!({
        "host": h.spec.name, "id": derived_uuid("service", &h.spec.name).to_string(),
        "disabled_reason": if h.spec.disabled { json!("maintenance") } else { Value::Null },
    });
    if version >= Microversion(2, 88) {
        v["uptime"] = Value::Null;
        return v;
    }
    let used = cloud.usage(&h.spec.name);
    let memory_used = used.memory_mb + h.spec.reserved_memory_mb;
    let running = cloud
        .servers
        .iter()
        .filter(|s| {
            s.host.as_deref() == Some(h.spec.name.as_str()) && s.vm_state == VmState::Active
        })
        .count();
    v["cpu_info"] = json!({"arch": "x86_64", "model": "EPYC-Rome", "vendor": "AMD", "features": ["pge", "clflush"], "topology": {"cores": h.spec.vcpus, "threads": 1, "sockets": 1}});
    v["current_workload"] = json!(0);
    v["running_vms"] = json!(running);
    v["memory_mb"] = json!(h.spec.memory_mb);
    v["memory_mb_used"] = json!(memory_used);
    v["free_ram_mb"] = json!(h.spec.memory_mb as i64 - memory_used as i64);
    v["vcpus"] = json!(h.spec.vcpus);
    v["vcpus_used"] = json!(used.vcpus);
    v["local_gb"] = json!(h.spec.disk_gb);
    v["local_gb_used"] = json!(used.disk_gb);
    v["free_disk_gb"] = json!(h.spec.disk_gb as i64 - used.disk_gb as i64);
    v["disk_available_least"] = json!(h.spec.disk_gb as i64 - used.disk_gb as i64);
    v
}
