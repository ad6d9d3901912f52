//! Compute headroom for one amphora (runbook Step 5b). Reads Placement in admin scope
//! and computes, as the scheduler does, how many amphora-flavor instances fit on
//! each enabled compute host. Changes nothing.
//!
//! Placement's rule: `capacity = (total - reserved) * allocation_ratio`, a request fits
//! when `used + amount <= capacity` and `min_unit <= amount <= max_unit` (and is a
//! multiple of `step_size`). The runbook's `physical * 1.5 - reserved` differs by
//! `0.5 * reserved`, so it can say yes where the scheduler says no.

use serde::Serialize;

use crate::cloud::ApiError;
use crate::cloud::placement::{self, Inventory, ProviderCapacity};
use crate::site::AmphoraFlavor;

use super::{Decision, Health, Layer, Probe, Row};

/// The disabled-compute-service trait Nova sets and its scheduler skips.
pub const DISABLED_TRAIT: &str = "COMPUTE_STATUS_DISABLED";

/// One resource class on one host.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassFit {
    /// Schedulable capacity.
    pub capacity: u64,
    /// Used.
    pub used: u64,
    /// Free.
    pub free: u64,
    /// How many of the amount fit (null: the flavor does not use this class).
    #[serde(serialize_with = "unlimited_as_null")]
    pub slots: u64,
}

fn unlimited_as_null<S: serde::Serializer>(slots: &u64, s: S) -> Result<S::Ok, S::Error> {
    match *slots {
        u64::MAX => s.serialize_none(),
        n => s.serialize_u64(n),
    }
}

/// One host's room for amphorae.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostHeadroom {
    /// Provider name.
    pub host: String,
    /// Skipped: compute service disabled.
    pub disabled: bool,
    /// MEMORY_MB.
    pub memory: Option<ClassFit>,
    /// VCPU.
    pub vcpu: Option<ClassFit>,
    /// DISK_GB.
    pub disk: Option<ClassFit>,
    /// Amphorae that fit (0 when disabled).
    pub slots: u64,
    /// What the runbook's memory formula says fits.
    pub runbook_memory_slots: u64,
}

/// How many `amount`s fit in an inventory, as Placement decides.
pub fn fit(inventory: &Inventory, used: u64, amount: u64) -> ClassFit {
    let capacity = ((inventory.total.saturating_sub(inventory.reserved)) as f64
        * inventory.allocation_ratio) as u64;
    let free = capacity.saturating_sub(used);
    let allowed = amount >= inventory.min_unit
        && amount <= inventory.max_unit
        && amount.is_multiple_of(inventory.step_size.max(1));
    let slots = match amount {
        // A class the flavor does not use (disk on boot-from-volume amphorae) never limits.
        0 => u64::MAX,
        _ if allowed => free / amount,
        _ => 0,
    };
    ClassFit {
        capacity,
        used,
        free,
        slots,
    }
}

/// Headroom of every provider for the amphora flavor.
pub fn compute(providers: &[ProviderCapacity], flavor: &AmphoraFlavor) -> Vec<HostHeadroom> {
    providers
        .iter()
        .filter(|p| p.inventories.contains_key("MEMORY_MB"))
        .map(|p| {
            let class = |name: &str, amount: u64| {
                p.inventories
                    .get(name)
                    .map(|inv| fit(inv, p.usages.get(name).copied().unwrap_or(0), amount))
            };
            let memory = class("MEMORY_MB", flavor.memory_mb);
            let vcpu = class("VCPU", flavor.vcpus);
            let disk = class("DISK_GB", flavor.disk_gb);
            let disabled = p.traits.iter().any(|t| t == DISABLED_TRAIT);
            let slots = if disabled {
                0
            } else {
                [memory, vcpu, disk]
                    .iter()
                    .map(|c| c.map_or(u64::MAX, |c| c.slots))
                    .min()
                    .unwrap_or(0)
            };
            let runbook_memory_slots = p.inventories.get("MEMORY_MB").map_or(0, |inv| {
                let ceiling = (inv.total as f64 * 1.5) as u64;
                let ceiling = ceiling.saturating_sub(inv.reserved);
                let used = p.usages.get("MEMORY_MB").copied().unwrap_or(0);
                ceiling.saturating_sub(used) / flavor.memory_mb.max(1)
            });
            HostHeadroom {
                host: p.provider.name.clone(),
                disabled,
                memory,
                vcpu,
                disk,
                slots,
                runbook_memory_slots,
            }
        })
        .collect()
}

/// Reads Placement.
pub async fn probe(p: Probe<'_>) -> Result<Vec<ProviderCapacity>, ApiError> {
    placement::provider_capacities(p.session).await
}

/// Green with a slot somewhere; without one, red when a failover is needed (`needed`),
/// else yellow.
pub fn assess(providers: &[ProviderCapacity], flavor: &AmphoraFlavor, needed: bool) -> Row {
    let hosts = compute(providers, flavor);
    let total: u64 = hosts.iter().map(|h| h.slots).sum();
    let state = match (total, needed) {
        (0, true) => Health::Red,
        (0, false) => Health::Yellow,
        _ => Health::Green,
    };
    let mut row = Row::new(
        Layer::Headroom,
        state,
        format!(
            "{total} amphora slot(s) free ({} MB / {} vCPU / {} GB each)",
            flavor.memory_mb, flavor.vcpus, flavor.disk_gb
        ),
    );
    for h in &hosts {
        let line = if h.disabled {
            format!(
                "{}: skipped, compute service disabled ({DISABLED_TRAIT})",
                h.host
            )
        } else {
            // Name the class that limits this host, with its figures.
            let classes = [
                ("MEMORY_MB", h.memory),
                ("VCPU", h.vcpu),
                ("DISK_GB", h.disk),
            ];
            match classes
                .iter()
                .filter_map(|(n, c)| c.map(|c| (*n, c)))
                .min_by_key(|(_, c)| c.slots)
            {
                Some((name, c)) => format!(
                    "{}: {} slot(s), limited by {name}: free {} of {}",
                    h.host, h.slots, c.free, c.capacity
                ),
                None => format!("{}: {} slot(s)", h.host, h.slots),
            }
        };
        row = row.evidence(line);
        if !h.disabled && h.slots == 0 && h.runbook_memory_slots > 0 {
            row = row.evidence(format!(
                "{}: the runbook's formula (physical × 1.5 − reserved) says {} slot(s); Placement, which the scheduler uses, says none",
                h.host, h.runbook_memory_slots
            ));
        }
    }
    if total == 0 {
        row = row.next("free an amphora's worth first: the orphan sweep usually does it; never start a failover without a slot (it fails with NoValidHost and mints another orphan)");
    }
    // No slot matters only when a failover needs one: then it is measured again
    // after the sweep, which may free one.
    let decision = match state {
        Health::Red => Decision::Recheck,
        _ => Decision::Nothing,
    };
    row.decided(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::placement::ResourceProvider;
    use std::collections::BTreeMap;

    fn inv(total: u64, reserved: u64, ratio: f64) -> Inventory {
        Inventory {
            total,
            reserved,
            min_unit: 1,
            max_unit: total,
            step_size: 1,
            allocation_ratio: ratio,
        }
    }

    fn provider(name: &str, used_mb: u64, traits: &[&str]) -> ProviderCapacity {
        ProviderCapacity {
            provider: ResourceProvider {
                uuid: name.into(),
                name: name.into(),
                generation: 1,
                root_provider_uuid: None,
            },
            inventories: BTreeMap::from([
                ("MEMORY_MB".to_string(), inv(65536, 8192, 1.5)),
                ("VCPU".to_string(), inv(16, 0, 4.0)),
                ("DISK_GB".to_string(), inv(1000, 0, 1.0)),
            ]),
            usages: BTreeMap::from([
                ("MEMORY_MB".to_string(), used_mb),
                ("VCPU".to_string(), 10),
                ("DISK_GB".to_string(), 100),
            ]),
            traits: traits.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn placement_capacity_is_total_minus_reserved_times_ratio() {
        let f = fit(&inv(65536, 8192, 1.5), 85000, 1024);
        assert_eq!((f.capacity, f.free, f.slots), (86016, 1016, 0));
        assert_eq!(fit(&inv(65536, 8192, 1.5), 84992, 1024).slots, 1);
        let mut small = inv(65536, 0, 1.0);
        small.max_unit = 512;
        assert_eq!(
            fit(&small, 0, 1024).slots,
            0,
            "an amount above max_unit never fits"
        );
    }

    #[test]
    fn a_class_the_flavor_does_not_use_never_limits() {
        let boot_from_volume = AmphoraFlavor {
            memory_mb: 1024,
            vcpus: 1,
            disk_gb: 0,
        };
        let hosts = compute(&[provider("roomy", 84_000, &[])], &boot_from_volume);
        assert_eq!(hosts[0].slots, 1);
    }

    #[test]
    fn disabled_hosts_are_skipped_and_the_runbook_formula_is_called_out() {
        let flavor = AmphoraFlavor::default();
        let providers = [
            provider("busy", 85500, &[]),
            provider("off", 0, &[DISABLED_TRAIT]),
        ];
        let row = assess(&providers, &flavor, true);
        assert_eq!(row.state, Health::Red);
        assert!(row.evidence.iter().any(|e| e.contains("off: skipped")));
        assert!(
            row.evidence
                .iter()
                .any(|e| e.contains("runbook's formula") && e.contains("says 4 slot(s)")),
            "{:?}",
            row.evidence
        );
        assert_eq!(assess(&providers, &flavor, false).state, Health::Yellow);
        assert_eq!(
            assess(&[provider("roomy", 1000, &[])], &flavor, true).state,
            Health::Green
        );
    }
}
