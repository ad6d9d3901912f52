//! Magnum v1: cluster show, with microversion negotiation (`latest`, then whatever
//! the service says it used).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::{ApiError, Call, Scope, Service, Session};

pub use crate::status::HealthStatus;

/// A cluster's health as Magnum reports it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Cluster {
    /// UUID.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// CREATE_COMPLETE, UPDATE_IN_PROGRESS, ...
    pub status: String,
    /// HEALTHY, UNHEALTHY, UNKNOWN, or null.
    #[serde(default)]
    pub health_status: Option<HealthStatus>,
    /// Component → state (the CAPI Helm driver: `cluster`, `infrastructure`,
    /// `controlplane`, `nodegroup`). Empty while the conductor cannot reach the
    /// management cluster.
    #[serde(default, deserialize_with = "reason_map")]
    pub health_status_reason: BTreeMap<String, String>,
}

/// The reason is a string→string dict; older drivers send null or a JSON string.
fn reason_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    let object = match value {
        serde_json::Value::Object(o) => o,
        serde_json::Value::String(s) => match serde_json::from_str::<serde_json::Value>(&s) {
            Ok(serde_json::Value::Object(o)) => o,
            _ if s.trim().is_empty() => Default::default(),
            _ => return Ok(BTreeMap::from([("reason".to_string(), s)])),
        },
        _ => Default::default(),
    };
    Ok(object
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect())
}

/// A cluster with the API version Magnum answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAnswer {
    /// The cluster.
    pub cluster: Cluster,
    /// `OpenStack-API-Version` of the answer (e.g. `container-infrastructure-management 1.14`).
    pub api_version: Option<String>,
}

/// `GET /v1/clusters/{uuid-or-name}` (names resolve in the token's project).
pub async fn show_cluster(
    session: &Session,
    scope: Scope,
    ident: &str,
) -> Result<ClusterAnswer, ApiError> {
    let call = Call::get(scope, Service::ContainerInfra, format!("/clusters/{ident}"));
    let answer = session.send(&call).await?;
    let cluster = answer.json::<Cluster>(Service::ContainerInfra, "GET")?;
    Ok(ClusterAnswer {
        cluster,
        api_version: answer.header("openstack-api-version").map(str::to_string),
    })
}

/// A cluster as Magnum lists it (no health reason in lists).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ClusterSummary {
    /// UUID.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
}

#[derive(Deserialize)]
struct ClusterList {
    clusters: Vec<ClusterSummary>,
}

/// `GET /v1/clusters`: the clusters of the token's project.
pub async fn list_clusters(
    session: &Session,
    scope: Scope,
) -> Result<Vec<ClusterSummary>, ApiError> {
    let list: ClusterList = session
        .json(&Call::get(scope, Service::ContainerInfra, "/clusters"))
        .await?;
    Ok(list.clusters)
}
