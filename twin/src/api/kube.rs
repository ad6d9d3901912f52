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

/// The bearer token the twin's kubeconfig carries.
pub const TOKEN: &str = "twin-kube-admin-token";

/// (group, version, plural, kind, namespaced, printer columns as (name, JSON path))
type ResourceDef = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [(&'static str, &'static str)],
);

const RESOURCES: &[ResourceDef] = &[
    (
        "",
        "v1",
        "nodes",
        "Node",
        false,
        &[
            ("Status", "ready"),
            ("Version", ".status.nodeInfo.kubeletVersion"),
        ],
    ),
    (
        "",
        "v1",
        "pods",
        "Pod",
        true,
        &[("Ready", "ready"), ("Status", ".status.phase")],
    ),
    (
        "",
        "v1",
        "namespaces",
        "Namespace",
        false,
        &[("Status", ".status.phase")],
    ),
    (
        "cluster.x-k8s.io",
        "v1beta1",
        "clusters",
        "Cluster",
        true,
        &[
            ("ClusterClass", ".spec.topology.class"),
            ("Phase", ".status.phase"),
            ("Version", ".spec.topology.version"),
        ],
    ),
    (
        "cluster.x-k8s.io",
        "v1beta1",
        "machines",
        "Machine",
        true,
        &[
            ("Cluster", ".spec.clusterName"),
            ("NodeName", ".status.nodeRef.name"),
            ("ProviderID", ".spec.providerID"),
            ("Phase", ".status.phase"),
            ("Version", ".spec.version"),
        ],
    ),
    (
        "cluster.x-k8s.io",
        "v1beta1",
        "machinehealthchecks",
        "MachineHealthCheck",
        true,
        &[
            ("Cluster", ".spec.clusterName"),
            ("ExpectedMachines", ".status.expectedMachines"),
            ("CurrentHealthy", ".status.currentHealthy"),
        ],
    ),
    (
        "infrastructure.cluster.x-k8s.io",
        "v1beta1",
        "openstackclusters",
        "OpenStackCluster",
        true,
        &[
            (
                "Cluster",
                ".metadata.labels.cluster\\.x-k8s\\.io/cluster-name",
            ),
            ("Ready", ".status.ready"),
            ("Network", ".status.network.id"),
            ("Endpoint", ".spec.controlPlaneEndpoint.host"),
        ],
    ),
];

/// The API's routes (served on the kube port, at its root).
pub fn router(state: Arc<Shared>) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route("/apis", get(api_groups))
        .route("/api/v1", get(|h| resource_list(h, "", "v1")))
        .route(
            "/apis/{group}/{version}",
            get(
                |h: HeaderMap, Path((g, v)): Path<(String, String)>| async move {
                    resource_list_owned(h, g, v)
                },
            ),
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

async fn api_groups(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let mut groups: Vec<&str> = RESOURCES
        .iter()
        .map(|r| r.0)
        .filter(|g| !g.is_empty())
        .collect();
    groups.dedup();
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            let gv = format!("{g}/v1beta1");
            json!({"name": g, "versions": [{"groupVersion": gv, "version": "v1beta1"}], "preferredVersion": {"groupVersion": gv, "version": "v1beta1"}})
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

fn resource_list_owned(headers: HeaderMap, group: String, version: String) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.0 == group && r.1 == version)
        .map(|(_, _, plural, kind, namespaced, _)| {
            json!({"name": plural, "singularName": kind.to_lowercase(), "namespaced": namespaced, "kind": kind, "verbs": ["get", "list", "watch"]})
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

async fn resource_list(headers: HeaderMap, group: &'static str, version: &'static str) -> Response {
    resource_list_owned(headers, group.into(), version.into())
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
    let Some(def) = RESOURCES
        .iter()
        .find(|r| r.0 == group && r.1 == version && r.2 == plural)
    else {
        return not_found(&format!(
            "the server could not find the requested resource ({plural})"
        ));
    };
    let (cloud, now) = state.cloud();
    let items: Vec<Value> = objects(&cloud, now, def.3)
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
        json!({"kind": format!("{}List", def.3), "apiVersion": api_version, "metadata": {"resourceVersion": "1"}, "items": items}),
    )
}

/// A `meta.k8s.io/v1` Table with NAME, the CRD's printer columns and AGE.
fn table(def: &ResourceDef, items: &[Value], now: Timestamp) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}),
    ];
    columns.extend(def.5.iter().map(|(name, _)| json!({"name": name, "type": "string", "format": "", "description": name, "priority": 0})));
    columns.push(
        json!({"name": "Age", "type": "date", "format": "", "description": "Age", "priority": 0}),
    );
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            for (_, path) in def.5 {
                cells.push(cell(o, path));
            }
            let created: Timestamp = o["metadata"]["creationTimestamp"].as_str().and_then(|t| t.parse().ok()).unwrap_or(now);
            let age = now.duration_since(created).as_secs().max(0);
            cells.push(json!(if age >= 86400 { format!("{}d", age / 86400) } else if age >= 3600 { format!("{}h", age / 3600) } else { format!("{}m", age / 60) }));
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "1"}, "columnDefinitions": columns, "rows": rows})
}

fn cell(o: &Value, path: &str) -> Value {
    if path == "ready" {
        return match o["kind"].as_str() {
            Some("Node") => json!(if condition(o, "Ready") == Some("True") {
                "Ready"
            } else {
                "NotReady"
            }),
            _ => {
                let statuses = o["status"]["containerStatuses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                json!(format!(
                    "{}/{}",
                    statuses.iter().filter(|c| c["ready"] == true).count(),
                    statuses.len()
                ))
            }
        };
    }
    let mut value = o;
    let unescaped = path.replace("\\.", "\u{0}");
    for key in unescaped.trim_start_matches('.').split('.') {
        value = &value[key.replace('\u{0}', ".")];
    }
    match value {
        Value::Null => json!("<none>"),
        Value::String(_) => value.clone(),
        other => json!(other.to_string()),
    }
}

fn condition<'a>(o: &'a Value, kind: &str) -> Option<&'a str> {
    o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)?["status"]
        .as_str()
}

/// Every object of `kind`, as the cloud's state makes them now.
fn objects(cloud: &Cloud, now: Timestamp, kind: &str) -> Vec<Value> {
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
    let cond = |kind: &str, ok: bool, reason: &str, message: &str| {
        let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastTransitionTime": iso(now)});
        if !ok {
            c["reason"] = json!(reason);
            c["message"] = json!(message);
            c["severity"] = json!("Error");
        }
        c
    };
    match kind {
        "Node" => vec![json!({"apiVersion": "v1", "kind": "Node", "metadata": meta(node, None),
            "status": {"conditions": [cond("Ready", true, "", "")], "nodeInfo": {"kubeletVersion": "v1.31.4"}, "addresses": [{"type": "InternalIP", "address": cloud.host.node_address}]}})],
        "Namespace" => cloud.clusters.iter().map(|c| format!("magnum-{}", c.project_id)).chain(["capi-system", "capo-system", "cert-manager", "orc-system", "capi-janitor-system", "capi-addon-system", "kube-system"].map(String::from))
            .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(&n, None), "status": {"phase": "Active"}}))
            .collect(),
        "Pod" => [
            ("capi-system", "capi-controller-manager-6d8b9c7f5-x2k4p"),
            ("capo-system", "capo-controller-manager-5f7c8d9b6-q8w3r"),
            ("cert-manager", "cert-manager-7d9f8b6c5-m4n7t"),
            ("cert-manager", "cert-manager-cainjector-5c6b7d8f9-h2j5k"),
            ("cert-manager", "cert-manager-webhook-6f8d9c7b5-p9r2s"),
            ("orc-system", "orc-controller-manager-7b8c9d6f5-t4v6w"),
            ("capi-janitor-system", "capi-janitor-openstack-5d6f7c8b9-y3z5a"),
            ("capi-addon-system", "capi-addon-provider-6c7d8f9b5-b7c9d"),
            ("kube-system", "coredns-5d78c9869d-f2g4h"),
        ]
        .iter()
        .map(|(ns, name)| json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, Some(ns)),
            "spec": {"nodeName": node},
            "status": {"phase": "Running", "conditions": [cond("Ready", true, "", "")], "containerStatuses": [{"name": "manager", "ready": true, "restartCount": 3, "state": {"running": {"startedAt": iso(now)}}}]}}))
        .collect(),
        _ => cloud.clusters.iter().flat_map(|c| capi_objects(cloud, now, c, kind, &meta, &cond)).collect(),
    }
}

fn capi_objects(
    cloud: &Cloud,
    now: Timestamp,
    c: &crate::cloud::MagnumCluster,
    kind: &str,
    meta: &dyn Fn(&str, Option<&str>) -> Value,
    cond: &dyn Fn(&str, bool, &str, &str) -> Value,
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
    match kind {
        "Cluster" => vec![json!({"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Cluster", "metadata": labelled(&name),
            "spec": {"controlPlaneEndpoint": {"host": vip, "port": 6443}, "topology": {"class": "magnum-v0.26.0", "version": "v1.31.4"}},
            "status": {"phase": "Provisioned", "infrastructureReady": lb_ok, "controlPlaneReady": true,
                "conditions": [cond("Ready", lb_ok, "LoadBalancerReconcileFailed", &lb_message), cond("ControlPlaneInitialized", true, "", ""), cond("ControlPlaneReady", true, "", ""), cond("InfrastructureReady", lb_ok, "LoadBalancerReconcileFailed", &lb_message)]}})],
        "OpenStackCluster" => vec![json!({"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1", "kind": "OpenStackCluster", "metadata": labelled(&name),
            "spec": {"controlPlaneEndpoint": {"host": vip, "port": 6443}},
            "status": {"ready": lb_ok, "network": {"id": derived_uuid("network", &c.project_id).to_string()},
                "apiServerLoadBalancer": {"name": lb_name, "id": lb_id, "ip": vip, "internalIP": vip},
                "conditions": [cond("Ready", lb_ok, "LoadBalancerReconcileFailed", &lb_message)]}})],
        "Machine" => ["control-plane-7xk2p", "default-worker-4mq8s", "default-worker-9vr3t"]
            .iter()
            .map(|suffix| {
                let m = format!("{name}-{suffix}");
                json!({"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Machine", "metadata": labelled(&m),
                    "spec": {"clusterName": name, "version": "v1.31.4", "providerID": format!("openstack:///{}", derived_uuid("machine", &m))},
                    "status": {"phase": "Running", "nodeRef": {"name": m}, "conditions": [cond("Ready", true, "", "")]}})
            })
            .collect(),
        "MachineHealthCheck" => vec![json!({"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "MachineHealthCheck", "metadata": labelled(&format!("{name}-workers")),
            "spec": {"clusterName": name},
            "status": {"expectedMachines": 2, "currentHealthy": 2, "remediationsAllowed": 1, "conditions": [cond("RemediationAllowed", true, "", "")]}})],
        _ => Vec::new(),
    }
}
