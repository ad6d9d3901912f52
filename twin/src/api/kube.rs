//! The management cluster's Kubernetes API, as far as the runbook reads it: nodes,
//! the CAPI controllers' pods, and in `magnum-<project>` the `Cluster`,
//! `OpenStackCluster`, `Machine` and `MachineHealthCheck` objects. It serves
//! discovery (`/api`, `/apis`, per-group resource lists) so the real `kubectl get`
//! works, and `meta.k8s.io/v1` Tables with the CRDs' printer columns.
//!
//! It listens on a port of its own only while the cluster is up, and the CAPI
//! objects follow the cloud: while the kube-api load balancer is not ACTIVE the
//! Cluster carries CAPO's load-balancer timeout.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::json_response;
use crate::Shared;
use crate::clock::iso;
use crate::cloud::{Cloud, derived_uuid};
use crate::scenario::CapiApi;

/// The bearer token the twin's kubeconfig carries.
pub const TOKEN: &str = "twin-kube-admin-token";

/// A printer column: (name, type, what fills it, priority). Priority 0 columns show
/// always; others only with `-o wide`, as kubectl prints a Table. What fills it is a
/// JSONPath (`.a.b`, `[?(@.type=="X")]`) or one of the built-in printers' cells:
/// `@age`, `@node-status`, `@roles`, `@pod-ready`, `@restarts`.
type Column = (&'static str, &'static str, &'static str, u8);

/// A resource the API serves.
#[derive(Debug)]
struct Resource {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    columns: &'static [Column],
    /// Served only by CAPI 1.11 and later.
    since_v1beta2: bool,
}

/// Kubernetes' own printers (pkg/printers/internalversion) and the CRDs'
/// `additionalPrinterColumns` (CAPI release-1.11, CAPO release-0.12).
const RESOURCES: &[Resource] = &[
    Resource {
        group: "",
        version: "v1",
        plural: "nodes",
        kind: "Node",
        namespaced: false,
        columns: &[
            ("Status", "string", "@node-status", 0),
            ("Roles", "string", "@roles", 0),
            ("Age", "string", "@age", 0),
            ("Version", "string", ".status.nodeInfo.kubeletVersion", 0),
            (
                "Internal-IP",
                "string",
                ".status.addresses[?(@.type==\"InternalIP\")].address",
                1,
            ),
            (
                "External-IP",
                "string",
                ".status.addresses[?(@.type==\"ExternalIP\")].address",
                1,
            ),
            ("OS-Image", "string", ".status.nodeInfo.osImage", 1),
            (
                "Kernel-Version",
                "string",
                ".status.nodeInfo.kernelVersion",
                1,
            ),
            (
                "Container-Runtime",
                "string",
                ".status.nodeInfo.containerRuntimeVersion",
                1,
            ),
        ],
        since_v1beta2: false,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "pods",
        kind: "Pod",
        namespaced: true,
        columns: &[
            ("Ready", "string", "@pod-ready", 0),
            ("Status", "string", ".status.phase", 0),
            ("Restarts", "string", "@restarts", 0),
            ("Age", "string", "@age", 0),
            ("IP", "string", ".status.podIP", 1),
            ("Node", "string", ".spec.nodeName", 1),
            ("Nominated Node", "string", ".status.nominatedNodeName", 1),
            ("Readiness Gates", "string", "@readiness-gates", 1),
        ],
        since_v1beta2: false,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "namespaces",
        kind: "Namespace",
        namespaced: false,
        columns: &[
            ("Status", "string", ".status.phase", 0),
            ("Age", "string", "@age", 0),
        ],
        since_v1beta2: false,
    },
    Resource {
        group: "cluster.x-k8s.io",
        version: "v1beta1",
        plural: "clusters",
        kind: "Cluster",
        namespaced: true,
        columns: &[
            ("ClusterClass", "string", ".spec.topology.class", 0),
            ("Phase", "string", ".status.phase", 0),
            ("Age", "date", "@age", 0),
            ("Version", "string", ".spec.topology.version", 0),
        ],
        since_v1beta2: false,
    },
    Resource {
        group: "cluster.x-k8s.io",
        version: "v1beta2",
        plural: "clusters",
        kind: "Cluster",
        namespaced: true,
        columns: &[
            ("ClusterClass", "string", ".spec.topology.classRef.name", 0),
            (
                "Available",
                "string",
                ".status.conditions[?(@.type==\"Available\")].status",
                0,
            ),
            (
                "CP Desired",
                "integer",
                ".status.controlPlane.desiredReplicas",
                0,
            ),
            ("CP Current", "integer", ".status.controlPlane.replicas", 10),
            (
                "CP Ready",
                "integer",
                ".status.controlPlane.readyReplicas",
                10,
            ),
            (
                "CP Available",
                "integer",
                ".status.controlPlane.availableReplicas",
                0,
            ),
            (
                "CP Up-to-date",
                "integer",
                ".status.controlPlane.upToDateReplicas",
                0,
            ),
            ("W Desired", "integer", ".status.workers.desiredReplicas", 0),
            ("W Current", "integer", ".status.workers.replicas", 10),
            ("W Ready", "integer", ".status.workers.readyReplicas", 10),
            (
                "W Available",
                "integer",
                ".status.workers.availableReplicas",
                0,
            ),
            (
                "W Up-to-date",
                "integer",
                ".status.workers.upToDateReplicas",
                0,
            ),
            (
                "Paused",
                "string",
                ".status.conditions[?(@.type==\"Paused\")].status",
                10,
            ),
            ("Phase", "string", ".status.phase", 0),
            ("Age", "date", "@age", 0),
            ("Version", "string", ".spec.topology.version", 0),
        ],
        since_v1beta2: true,
    },
    Resource {
        group: "cluster.x-k8s.io",
        version: "v1beta1",
        plural: "machines",
        kind: "Machine",
        namespaced: true,
        columns: &[
            ("Cluster", "string", ".spec.clusterName", 0),
            ("NodeName", "string", ".status.nodeRef.name", 0),
            ("ProviderID", "string", ".spec.providerID", 0),
            ("Phase", "string", ".status.phase", 0),
            ("Age", "date", "@age", 0),
            ("Version", "string", ".spec.version", 0),
        ],
        since_v1beta2: false,
    },
    Resource {
        group: "cluster.x-k8s.io",
        version: "v1beta2",
        plural: "machines",
        kind: "Machine",
        namespaced: true,
        columns: &[
            ("Cluster", "string", ".spec.clusterName", 0),
            ("Node Name", "string", ".status.nodeRef.name", 0),
            ("Provider ID", "string", ".spec.providerID", 10),
            (
                "Ready",
                "string",
                ".status.conditions[?(@.type==\"Ready\")].status",
                0,
            ),
            (
                "Available",
                "string",
                ".status.conditions[?(@.type==\"Available\")].status",
                0,
            ),
            (
                "Up-to-date",
                "string",
                ".status.conditions[?(@.type==\"UpToDate\")].status",
                0,
            ),
            (
                "Internal-IP",
                "string",
                ".status.addresses[?(@.type==\"InternalIP\")].address",
                10,
            ),
            (
                "External-IP",
                "string",
                ".status.addresses[?(@.type==\"ExternalIP\")].address",
                10,
            ),
            ("OS-Image", "string", ".status.nodeInfo.osImage", 10),
            (
                "Paused",
                "string",
                ".status.conditions[?(@.type==\"Paused\")].status",
                10,
            ),
            ("Phase", "string", ".status.phase", 0),
            ("Age", "date", "@age", 0),
            ("Version", "string", ".spec.version", 0),
        ],
        since_v1beta2: true,
    },
    Resource {
        group: "cluster.x-k8s.io",
        version: "v1beta1",
        plural: "machinehealthchecks",
        kind: "MachineHealthCheck",
        namespaced: true,
        columns: &[
            ("Cluster", "string", ".spec.clusterName", 0),
            ("ExpectedMachines", "integer", ".status.expectedMachines", 0),
            ("CurrentHealthy", "integer", ".status.currentHealthy", 0),
            ("Age", "date", "@age", 0),
        ],
        since_v1beta2: false,
    },
    Resource {
        group: "infrastructure.cluster.x-k8s.io",
        version: "v1beta1",
        plural: "openstackclusters",
        kind: "OpenStackCluster",
        namespaced: true,
        columns: &[
            (
                "Cluster",
                "string",
                ".metadata.labels.cluster\\.x-k8s\\.io/cluster-name",
                0,
            ),
            ("Ready", "string", ".status.ready", 0),
            ("Network", "string", ".status.network.id", 0),
            ("Endpoint", "string", ".spec.controlPlaneEndpoint.host", 1),
            ("Bastion IP", "string", ".status.bastion.floatingIP", 0),
            ("Age", "date", "@age", 0),
        ],
        since_v1beta2: false,
    },
];

/// The resources this cluster serves.
fn served(capi: CapiApi) -> impl Iterator<Item = &'static Resource> {
    RESOURCES
        .iter()
        .filter(move |r| capi == CapiApi::V1beta2 || !r.since_v1beta2)
}

/// A group's versions, preferred first.
fn versions(capi: CapiApi, group: &str) -> Vec<&'static str> {
    let mut versions: Vec<&'static str> = served(capi)
        .filter(|r| r.group == group)
        .map(|r| r.version)
        .collect();
    versions.sort_unstable_by(|a, b| b.cmp(a));
    versions.dedup();
    versions
}

/// The API's routes (served on the kube port, at its root).
pub fn router(state: Arc<Shared>) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route("/apis", get(api_groups))
        .route(
            "/api/v1",
            get(|s, h| resource_list(s, h, String::new(), "v1".into())),
        )
        .route(
            "/apis/{group}/{version}",
            get(|s, h, Path((g, v)): Path<(String, String)>| resource_list(s, h, g, v)),
        )
        .route(
            "/api/v1/{plural}",
            get(|s, h, Path(p): Path<String>| list(s, h, String::new(), "v1".into(), None, p)),
        )
        .route(
            "/api/v1/namespaces/{ns}/{plural}",
            get(|s, h, Path((ns, p)): Path<(String, String)>| {
                list(s, h, String::new(), "v1".into(), Some(ns), p)
            }),
        )
        .route(
            "/apis/{group}/{version}/{plural}",
            get(|s, h, Path((g, v, p)): Path<(String, String, String)>| list(s, h, g, v, None, p)),
        )
        .route(
            "/apis/{group}/{version}/namespaces/{ns}/{plural}",
            get(
                |s, h, Path((g, v, ns, p)): Path<(String, String, String, String)>| {
                    list(s, h, g, v, Some(ns), p)
                },
            ),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::record,
        ))
        .with_state(state)
}

fn unauthorized() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
    )
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn capi_api(state: &Shared) -> CapiApi {
    state.cloud().0.host.capi_api
}

async fn version(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    json_response(
        StatusCode::OK,
        json!({"major": "1", "minor": "31", "gitVersion": "v1.31.4", "gitCommit": "", "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc", "platform": "linux/amd64"}),
    )
}

async fn api_versions(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    json_response(
        StatusCode::OK,
        json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
    )
}

async fn api_groups(State(state): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let capi = capi_api(&state);
    let mut groups: Vec<&str> = served(capi)
        .map(|r| r.group)
        .filter(|g| !g.is_empty())
        .collect();
    groups.dedup();
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            let listed: Vec<Value> = versions(capi, g)
                .iter()
                .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                .collect();
            json!({"name": g, "versions": listed, "preferredVersion": listed[0]})
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

async fn resource_list(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    group: String,
    version: String,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let resources: Vec<Value> = served(capi_api(&state))
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "list", "watch"]})
        })
        .collect();
    if resources.is_empty() {
        return not_found(&format!(
            "the server could not find the requested resource ({group}/{version})"
        ));
    }
    let gv = if group.is_empty() {
        version
    } else {
        format!("{group}/{version}")
    };
    json_response(
        StatusCode::OK,
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn not_found(message: &str) -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": "NotFound", "code": 404}),
    )
}

async fn list(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    group: String,
    version: String,
    ns: Option<String>,
    plural: String,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let (cloud, now) = state.cloud();
    let Some(def) = served(cloud.host.capi_api)
        .find(|r| r.group == group && r.version == version && r.plural == plural)
    else {
        return not_found(&format!(
            "the server could not find the requested resource ({plural})"
        ));
    };
    let items: Vec<Value> = objects(&cloud, now, def)
        .into_iter()
        .filter(|o| {
            ns.as_deref()
                .is_none_or(|n| o["metadata"]["namespace"] == n)
        })
        .collect();
    let api_version = if group.is_empty() {
        version.clone()
    } else {
        format!("{group}/{version}")
    };
    let wants_table = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"));
    if wants_table {
        return json_response(StatusCode::OK, table(def, &items, now));
    }
    json_response(
        StatusCode::OK,
        json!({"kind": format!("{}List", def.kind), "apiVersion": api_version, "metadata": {"resourceVersion": "1"}, "items": items}),
    )
}

/// A `meta.k8s.io/v1` Table: NAME, then the resource's columns in their order.
fn table(def: &Resource, items: &[Value], now: Timestamp) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    columns.extend(def.columns.iter().map(|(name, kind, _, priority)| json!({"name": name, "type": kind, "format": "", "description": name, "priority": priority})));
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            for (_, kind, path, _) in def.columns {
                cells.push(cell(o, path, kind, now));
            }
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "1"}, "columnDefinitions": columns, "rows": rows})
}

/// One cell: a built-in printer's, or the value at a JSONPath (`<none>` when absent,
/// numbers as numbers).
fn cell(o: &Value, path: &str, kind: &str, now: Timestamp) -> Value {
    let since = |at: &Value| -> String {
        at.as_str()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map_or_else(
                || "<unknown>".into(),
                |t| human_duration(now.duration_since(t).as_secs()),
            )
    };
    match path {
        "@age" => return json!(since(&o["metadata"]["creationTimestamp"])),
        "@node-status" => {
            let mut status = match condition(o, "Ready") {
                Some("True") => "Ready",
                Some(_) => "NotReady",
                None => "Unknown",
            }
            .to_string();
            if o["spec"]["unschedulable"] == true {
                status.push_str(",SchedulingDisabled");
            }
            return json!(status);
        }
        "@roles" => {
            let mut roles: Vec<&str> = o["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
                .collect();
            roles.sort_unstable();
            return json!(if roles.is_empty() {
                "<none>".to_string()
            } else {
                roles.join(",")
            });
        }
        "@pod-ready" | "@restarts" => {
            let statuses = o["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if path == "@pod-ready" {
                return json!(format!(
                    "{}/{}",
                    statuses.iter().filter(|c| c["ready"] == true).count(),
                    statuses.len()
                ));
            }
            let restarts: u64 = statuses
                .iter()
                .filter_map(|c| c["restartCount"].as_u64())
                .sum();
            let last = statuses
                .iter()
                .filter_map(|c| c["lastState"]["terminated"]["finishedAt"].as_str())
                .max();
            return json!(match (restarts, last) {
                (0, _) | (_, None) => restarts.to_string(),
                (n, Some(at)) => format!("{n} ({} ago)", since(&json!(at))),
            });
        }
        "@readiness-gates" => return json!("<none>"),
        _ => {}
    }
    match (json_path(o, path), kind) {
        (None | Some(Value::Null), _) => json!("<none>"),
        (Some(v @ Value::Number(_)), "integer") => v.clone(),
        (Some(v @ Value::String(_)), _) => v.clone(),
        (Some(other), _) => json!(other.to_string()),
    }
}

/// The value at a printer column's JSONPath: `.key` steps (`\.` escapes a dot in a
/// key) and `[?(@.field=="value")]` filters, which pick the first match.
fn json_path<'a>(o: &'a Value, path: &str) -> Option<&'a Value> {
    let mut value = o;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(filter) = rest.strip_prefix("[?(@.") {
            let (cond, after) = filter.split_once(")]")?;
            let (field, wanted) = cond.split_once("==")?;
            let wanted = wanted.trim_matches('"');
            value = value
                .as_array()?
                .iter()
                .find(|item| item[field] == wanted)?;
            rest = after;
            continue;
        }
        let step = rest.strip_prefix('.')?;
        // A key runs to the next unescaped `.` or `[`.
        let mut key = String::new();
        let mut chars = step.char_indices().peekable();
        let mut end = step.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        key.push(next);
                    }
                }
                '.' | '[' => {
                    end = i;
                    break;
                }
                c => key.push(c),
            }
        }
        value = value.get(&key)?;
        rest = &step[end..];
    }
    Some(value)
}

/// apimachinery's `duration.HumanDuration`, as kubectl's AGE column shows it.
fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    let y = d / 365;
    let join = |a: i64, ua: &str, b: i64, ub: &str| {
        if b == 0 {
            format!("{a}{ua}")
        } else {
            format!("{a}{ua}{b}{ub}")
        }
    };
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        join(m, "m", s % 60, "s")
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        join(h, "h", m % 60, "m")
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        join(d, "d", h % 24, "h")
    } else if y < 2 {
        format!("{d}d")
    } else if y < 8 {
        join(y, "y", d % 365, "d")
    } else {
        format!("{y}y")
    }
}

fn condition<'a>(o: &'a Value, kind: &str) -> Option<&'a str> {
    o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)?["status"]
        .as_str()
}

/// Every object of `def`'s kind, in its version, as the cloud's state makes them now.
fn objects(cloud: &Cloud, now: Timestamp, def: &Resource) -> Vec<Value> {
    let kind = def.kind;
    let node = &cloud.host.node_name;
    let created = cloud
        .server(&cloud.management_server_id)
        .map(|s| iso(s.created))
        .unwrap_or_else(|| iso(now));
    let meta = |name: &str, ns: Option<&str>| {
        let mut m = json!({"name": name, "uid": derived_uuid("kube", &format!("{kind}/{name}")).to_string(), "resourceVersion": "1", "creationTimestamp": created});
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        m
    };
    // The VM's boot: the pods' containers restarted with it.
    let booted = cloud
        .server(&cloud.management_server_id)
        .and_then(|s| s.booted_at)
        .map_or_else(|| iso(now), iso);
    match kind {
        "Node" => vec![json!({"apiVersion": "v1", "kind": "Node",
            "metadata": node_meta(meta(node, None), node),
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastTransitionTime": iso(now)}],
                "nodeInfo": {"kubeletVersion": "v1.31.4", "osImage": "Ubuntu 22.04.5 LTS", "kernelVersion": "5.15.0-126-generic", "containerRuntimeVersion": "containerd://1.6.36"},
                "addresses": [{"type": "InternalIP", "address": cloud.host.node_address}, {"type": "Hostname", "address": node}]}})],
        "Namespace" => cloud.clusters.iter().map(|c| format!("magnum-{}", c.project_id)).chain(["capi-system", "capo-system", "cert-manager", "orc-system", "capi-janitor-system", "capi-addon-system", "kube-system"].map(String::from))
            .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(&n, None), "status": {"phase": "Active"}}))
            .collect(),
        "Pod" => [
            ("capi-system", "capi-controller-manager-6d8b9c7f5-x2k4p", "198.51.100.12"),
            ("capo-system", "capo-controller-manager-5f7c8d9b6-q8w3r", "198.51.100.13"),
            ("cert-manager", "cert-manager-7d9f8b6c5-m4n7t", "198.51.100.14"),
            ("cert-manager", "cert-manager-cainjector-5c6b7d8f9-h2j5k", "198.51.100.15"),
            ("cert-manager", "cert-manager-webhook-6f8d9c7b5-p9r2s", "198.51.100.16"),
            ("orc-system", "orc-controller-manager-7b8c9d6f5-t4v6w", "198.51.100.17"),
            ("capi-janitor-system", "capi-janitor-openstack-5d6f7c8b9-y3z5a", "198.51.100.18"),
            ("capi-addon-system", "capi-addon-provider-6c7d8f9b5-b7c9d", "198.51.100.19"),
            ("kube-system", "coredns-5d78c9869d-f2g4h", "198.51.100.20"),
        ]
        .iter()
        .map(|(ns, name, ip)| json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, Some(ns)),
            "spec": {"nodeName": node},
            "status": {"phase": "Running", "podIP": ip, "hostIP": cloud.host.node_address,
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": iso(now)}],
                "containerStatuses": [{"name": "manager", "ready": true, "restartCount": 3, "state": {"running": {"startedAt": booted}}, "lastState": {"terminated": {"exitCode": 255, "reason": "Unknown", "finishedAt": booted}}}]}}))
        .collect(),
        _ => cloud.clusters.iter().flat_map(|c| capi_objects(cloud, now, c, def, &meta)).collect(),
    }
}

/// A node's metadata: its roles are labels (`kubectl get nodes` prints them).
fn node_meta(mut meta: Value, node: &str) -> Value {
    meta["labels"] = json!({"kubernetes.io/hostname": node, "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": ""});
    meta
}

/// A condition in v1beta1's shape (with `severity`) or, `current`, in
/// `metav1.Condition`'s (`reason` always, `observedGeneration`).
fn condition_of(
    now: Timestamp,
    kind: &str,
    ok: bool,
    reason: &str,
    message: &str,
    current: bool,
) -> Value {
    if current {
        let (reason, message) = if ok { (kind, "") } else { (reason, message) };
        return json!({"type": kind, "status": if ok { "True" } else { "False" }, "observedGeneration": 1, "lastTransitionTime": iso(now), "reason": reason, "message": message});
    }
    let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastTransitionTime": iso(now)});
    if !ok {
        c["reason"] = json!(reason);
        c["message"] = json!(message);
        c["severity"] = json!("Error");
    }
    c
}

fn capi_objects(
    cloud: &Cloud,
    now: Timestamp,
    c: &crate::cloud::MagnumCluster,
    def: &Resource,
    meta: &dyn Fn(&str, Option<&str>) -> Value,
) -> Vec<Value> {
    let ns = format!("magnum-{}", c.project_id);
    let name = format!("{}-{}", c.name, &c.uuid[..6]);
    let lb = cloud
        .load_balancers
        .iter()
        .find(|lb| lb.id == c.api_load_balancer);
    // CAPO's view, which lags the load balancer by its backoff when it met it broken.
    let lb_ok = cloud.capo_sees_active(&c.api_load_balancer, now);
    let (lb_name, lb_id, vip) = lb
        .map(|lb| (lb.name.clone(), lb.id.clone(), lb.vip_address.clone()))
        .unwrap_or_default();
    let lb_message = format!(
        "failed to reconcile load balancer: load balancer \"{lb_name}\" with id {lb_id} is not active after timeout: timed out waiting for the condition"
    );
    let labelled = |n: &str| {
        let mut m = meta(n, Some(&ns));
        m["labels"] = json!({"cluster.x-k8s.io/cluster-name": name});
        m
    };
    let v1beta2 = def.version == "v1beta2";
    // CAPI 1.11 serves both: each version carries the other's conditions aside.
    let both = cloud.host.capi_api == CapiApi::V1beta2;
    let old = |kinds: &[(&str, bool)]| -> Vec<Value> {
        kinds
            .iter()
            .map(|(k, ok)| {
                condition_of(
                    now,
                    k,
                    *ok,
                    "LoadBalancerReconcileFailed",
                    &lb_message,
                    false,
                )
            })
            .collect()
    };
    let new = |kinds: &[(&str, bool)]| -> Vec<Value> {
        kinds
            .iter()
            .map(|(k, ok)| {
                let reason = if *k == "Available" || *k == "Ready" {
                    "NotAvailable"
                } else {
                    "LoadBalancerReconcileFailed"
                };
                let message = if *k == "Available" || *k == "Ready" {
                    format!("* InfrastructureReady: {lb_message}")
                } else {
                    lb_message.clone()
                };
                condition_of(now, k, *ok, reason, &message, true)
            })
            .collect()
    };
    let with_conditions =
        |mut status: Value, old_kinds: &[(&str, bool)], new_kinds: &[(&str, bool)]| {
            if v1beta2 {
                status["conditions"] = json!(new(new_kinds));
                status["deprecated"] = json!({"v1beta1": {"conditions": old(old_kinds)}});
            } else {
                status["conditions"] = json!(old(old_kinds));
                if both {
                    status["v1beta2"] = json!({"conditions": new(new_kinds)});
                }
            }
            status
        };
    let api_version = format!("{}/{}", def.group, def.version);
    match def.kind {
        "Cluster" => {
            let topology = if v1beta2 {
                json!({"classRef": {"name": "magnum-v0.26.0"}, "version": "v1.31.4"})
            } else {
                json!({"class": "magnum-v0.26.0", "version": "v1.31.4"})
            };
            let mut status = json!({"phase": "Provisioned"});
            if v1beta2 {
                status["initialization"] = json!({"infrastructureProvisioned": lb_ok, "controlPlaneInitialized": true});
                status["controlPlane"] = json!({"desiredReplicas": 1, "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "upToDateReplicas": 1});
                status["workers"] = json!({"desiredReplicas": 2, "replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "upToDateReplicas": 2});
            } else {
                status["infrastructureReady"] = json!(lb_ok);
                status["controlPlaneReady"] = json!(true);
            }
            let status = with_conditions(
                status,
                &[("Ready", lb_ok), ("ControlPlaneInitialized", true), ("ControlPlaneReady", true), ("InfrastructureReady", lb_ok)],
                &[("Available", lb_ok), ("InfrastructureReady", lb_ok), ("ControlPlaneInitialized", true), ("ControlPlaneAvailable", true), ("WorkersAvailable", true), ("RemoteConnectionProbe", true), ("Paused", false)],
            );
            vec![json!({"apiVersion": api_version, "kind": "Cluster", "metadata": labelled(&name),
                "spec": {"controlPlaneEndpoint": {"host": vip, "port": 6443}, "topology": topology},
                "status": status})]
        }
        "OpenStackCluster" => vec![json!({"apiVersion": api_version, "kind": "OpenStackCluster", "metadata": labelled(&name),
            "spec": {"controlPlaneEndpoint": {"host": vip, "port": 6443}},
            "status": {"ready": lb_ok, "network": {"id": derived_uuid("network", &c.project_id).to_string()},
                "apiServerLoadBalancer": {"name": lb_name, "id": lb_id, "ip": vip, "internalIP": vip},
                "conditions": [condition_of(now, "Ready", lb_ok, "LoadBalancerReconcileFailed", &lb_message, false)]}})],
        "Machine" => ["control-plane-7xk2p", "default-worker-4mq8s", "default-worker-9vr3t"]
            .iter()
            .enumerate()
            .map(|(i, suffix)| {
                let m = format!("{name}-{suffix}");
                let mut status = json!({"phase": "Running", "nodeRef": {"name": m},
                    "addresses": [{"type": "InternalIP", "address": format!("198.51.100.{}", 121 + i)}],
                    "nodeInfo": {"osImage": "Ubuntu 22.04.5 LTS", "kubeletVersion": "v1.31.4"}});
                if !v1beta2 {
                    status["nodeRef"] = json!({"apiVersion": "v1", "kind": "Node", "name": m, "uid": derived_uuid("node", &m).to_string()});
                }
                let status = with_conditions(
                    status,
                    &[("Ready", true), ("InfrastructureReady", true), ("NodeHealthy", true)],
                    &[("Available", true), ("Ready", true), ("UpToDate", true), ("InfrastructureReady", true), ("NodeReady", true), ("Paused", false)],
                );
                json!({"apiVersion": api_version, "kind": "Machine", "metadata": labelled(&m),
                    "spec": {"clusterName": name, "version": "v1.31.4", "providerID": format!("openstack:///{}", derived_uuid("machine", &m))},
                    "status": status})
            })
            .collect(),
        "MachineHealthCheck" => vec![json!({"apiVersion": api_version, "kind": "MachineHealthCheck", "metadata": labelled(&format!("{name}-workers")),
            "spec": {"clusterName": name},
            "status": {"expectedMachines": 2, "currentHealthy": 2, "remediationsAllowed": 1, "conditions": [condition_of(now, "RemediationAllowed", true, "", "", false)]}})],
        _ => Vec::new(),
    }
}
