//! Placement: resource providers with their inventories, usages and traits: the
//! scheduler's own view of free capacity.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ApiError, Call, Scope, Service, Session};

/// A resource provider.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ResourceProvider {
    /// UUID.
    pub uuid: String,
    /// Name (the compute node's hypervisor hostname).
    pub name: String,
    /// Generation.
    pub generation: u64,
    /// Root provider (1.14+).
    #[serde(default)]
    pub root_provider_uuid: Option<String>,
}

/// One inventory record.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Inventory {
    /// Total.
    pub total: u64,
    /// Reserved.
    #[serde(default)]
    pub reserved: u64,
    /// Smallest allocation.
    #[serde(default = "one")]
    pub min_unit: u64,
    /// Largest allocation.
    pub max_unit: u64,
    /// Allocation granularity.
    #[serde(default = "one")]
    pub step_size: u64,
    /// Overcommit ratio.
    pub allocation_ratio: f64,
}

fn one() -> u64 {
    1
}

#[derive(Deserialize)]
struct Providers {
    resource_providers: Vec<ResourceProvider>,
}

#[derive(Deserialize)]
struct Inventories {
    inventories: BTreeMap<String, Inventory>,
}

#[derive(Deserialize)]
struct Usages {
    usages: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Traits {
    traits: Vec<String>,
}

/// A provider with everything headroom needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderCapacity {
    /// The provider.
    pub provider: ResourceProvider,
    /// Inventories by resource class.
    pub inventories: BTreeMap<String, Inventory>,
    /// Usages by resource class.
    pub usages: BTreeMap<String, u64>,
    /// Traits.
    pub traits: Vec<String>,
}

/// `GET /resource_providers`.
pub async fn list_providers(session: &Session) -> Result<Vec<ResourceProvider>, ApiError> {
    let body: Providers = session
        .json(&Call::get(
            Scope::Admin,
            Service::Placement,
            "/resource_providers",
        ))
        .await?;
    Ok(body.resource_providers)
}

/// Inventories, usages and traits of every provider (admin scope).
pub async fn provider_capacities(session: &Session) -> Result<Vec<ProviderCapacity>, ApiError> {
    let providers = list_providers(session).await?;
    let mut out = Vec::with_capacity(providers.len());
    for provider in providers {
        let base = format!("/resource_providers/{}", provider.uuid);
        let get =
            |what: &str| Call::get(Scope::Admin, Service::Placement, format!("{base}/{what}"));
        let (inventories, usages, traits) = (get("inventories"), get("usages"), get("traits"));
        let (inventories, usages, traits) = tokio::try_join!(
            session.json::<Inventories>(&inventories),
            session.json::<Usages>(&usages),
            session.json::<Traits>(&traits),
        )?;
        out.push(ProviderCapacity {
            provider,
            inventories: inventories.inventories,
            usages: usages.usages,
            traits: traits.traits,
        });
    }
    Ok(out)
}
