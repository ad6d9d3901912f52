//! Never retry a failed failover (runbook Steps 5b/5c: "DO NOT retry failover against
//! NoValidHost -- each attempt mints another zombie"): the cloud's own evidence that
//! the last thing to happen to a load balancer was a failover that failed.
//!
//! The journal remembers this tool's failovers, but only in one state directory: a
//! run by another user (sudo, cron, another jumphost) would not see it. The cloud
//! shows it to everyone: a failed failover leaves the load balancer in provisioning
//! ERROR with its `updated_at` at the end of the flow, and the replacement amphora it
//! built stays as an orphan server (an ERROR spawn with Nova's fault, or a zombie)
//! created during that flow. Both, recent, bar an automatic failover. Pure: the
//! caller reads the cloud; nothing here changes anything.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::cloud::octavia::LoadBalancer;

/// Clocks of the services involved may differ by this much.
const SKEW: Duration = Duration::from_secs(60);

/// The longest a failover flow runs before Octavia gives up on it: the compute wait
/// (`amp_active_retries` 30 × `amp_active_wait_sec` 10 s) plus the agent wait
/// (`connection_max_retries` 120 × `connection_retry_interval` 5 s) is 15 min at
/// Octavia's defaults; twice that covers tuned sites. Independent of this tool's own
/// failover deadline, which only says how long it watches.
pub const FLOW_MAX: Duration = Duration::from_secs(30 * 60);

pub use crate::layers::amphorae::Built;

/// The cloud's evidence that a failover of one load balancer failed recently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedFailover {
    /// When the load balancer went to ERROR (its `updated_at`).
    pub ended: Timestamp,
    /// The servers built during that flow.
    pub servers: Vec<String>,
    /// The evidence, one sentence per fact.
    pub evidence: Vec<String>,
}

/// What the cloud shows of `lb`'s last failover, if it failed within `window` of
/// `now` (the cloud's clock): the load balancer in provisioning ERROR since
/// `updated_at`, and a server with no amphora row created during a flow that ended
/// then (at most [`FLOW_MAX`] before it). Without such a server, an ERROR load
/// balancer is not evidence of a failover: any failed operation leaves one. Where the
/// facts cannot say (a change dated in the future), it counts as recent: barring a
/// retry is the safe side.
pub fn evidence(
    lb: &LoadBalancer,
    built: &[Built],
    now: Timestamp,
    window: Duration,
) -> Option<FailedFailover> {
    if lb.provisioning_status != crate::cloud::octavia::ProvisioningStatus::Error {
        return None;
    }
    let ended = lb.updated()?;
    let ago = now.duration_since(ended);
    if !ago.is_negative() && ago.unsigned_abs() > window {
        return None;
    }
    let earliest = ended.saturating_sub(FLOW_MAX + SKEW).ok()?;
    let latest = ended.saturating_add(SKEW).ok()?;
    let minted: Vec<(&Built, Timestamp)> = built
        .iter()
        .filter_map(|b| Some((b, b.created.parse::<Timestamp>().ok()?)))
        .filter(|(_, created)| (earliest..=latest).contains(created))
        .collect();
    if minted.is_empty() {
        return None;
    }
    let minutes = |d: jiff::SignedDuration| d.as_secs().max(0) / 60;
    let mut evidence = vec![format!(
        "load balancer {} went to provisioning ERROR at {ended} ({} min ago, within the {} window of `timeouts.failed_failover_window`)",
        lb.id,
        minutes(ago),
        humantime::format_duration(window)
    )];
    for (b, created) in &minted {
        evidence.push(format!(
            "{} was built at {created}, {} s before that: the replacement amphora of a failover that failed{}",
            b.what,
            ended.duration_since(*created).as_secs().max(0),
            b.fault
                .as_deref()
                .map(|f| format!("; Nova's fault: {f}"))
                .unwrap_or_default()
        ));
    }
    Some(FailedFailover {
        ended,
        servers: minted.iter().map(|(b, _)| b.server_id.clone()).collect(),
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-06-10T12:00:00Z";
    const HOUR: Duration = Duration::from_secs(3600);

    fn lb(status: &str, updated: &str) -> LoadBalancer {
        LoadBalancer {
            id: "0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17".into(),
            name: "kubeapi".into(),
            provisioning_status: status.into(),
            operating_status: "ONLINE".into(),
            project_id: "p".into(),
            vip_address: None,
            vip_port_id: None,
            // Octavia's format: no zone.
            updated_at: Some(updated.into()),
        }
    }

    fn built(created: &str) -> Built {
        Built {
            server_id: "s-1".into(),
            what: "ERROR orphan (failed spawn) s-1 `amphora-e4f5a6b7-8c9d-4e0f-a1b2-c3d4e5f6a7b8`"
                .into(),
            created: created.into(),
            fault: Some("No valid host was found. There are not enough hosts available.".into()),
        }
    }

    fn check(status: &str, updated: &str, created: &str) -> Option<FailedFailover> {
        evidence(
            &lb(status, updated),
            &[built(created)],
            NOW.parse().unwrap(),
            3 * HOUR,
        )
    }

    /// The runbook's patterns as a table: (LB status, LB updated, orphan built, barred?).
    #[test]
    fn a_recent_error_with_an_orphan_from_its_flow_bars_a_retry() {
        let table = [
            // A fast fail 20 min ago: the ERROR spawn 15 s before the LB went ERROR.
            ("ERROR", "2026-06-10T11:40:00", "2026-06-10T11:39:45Z", true),
            // A late failure: the zombie built 9 min before the end of the flow.
            ("ERROR", "2026-06-10T11:40:00", "2026-06-10T11:31:00Z", true),
            // A slow late failure, Octavia's own retries: 25 min of flow.
            ("ERROR", "2026-06-10T11:40:00", "2026-06-10T11:15:00Z", true),
            // A change dated in the future (clocks disagree): recent, not ignored.
            ("ERROR", "2026-06-10T12:10:00", "2026-06-10T12:09:45Z", true),
            // The runbook's parked state: LB and orphans from 5 h ago.
            (
                "ERROR",
                "2026-06-10T07:00:00",
                "2026-06-10T06:59:45Z",
                false,
            ),
            // An orphan older than any flow that ended at the LB's last change.
            (
                "ERROR",
                "2026-06-10T11:40:00",
                "2026-06-10T10:00:00Z",
                false,
            ),
            // An orphan built after the LB's last change: not from that flow.
            (
                "ERROR",
                "2026-06-10T11:40:00",
                "2026-06-10T11:50:00Z",
                false,
            ),
            // ACTIVE: whatever happened, the failover did not fail.
            (
                "ACTIVE",
                "2026-06-10T11:40:00",
                "2026-06-10T11:39:45Z",
                false,
            ),
        ];
        for (status, updated, created, barred) in table {
            let found = check(status, updated, created);
            assert_eq!(found.is_some(), barred, "{status} {updated} {created}");
            if let Some(f) = found.filter(|_| updated == "2026-06-10T11:40:00") {
                assert!(f.evidence[0].contains("20 min ago"), "{:?}", f.evidence);
                assert!(f.evidence[1].contains("No valid host"), "{:?}", f.evidence);
            }
        }
    }

    #[test]
    fn without_an_orphan_an_error_load_balancer_is_no_evidence() {
        let found = evidence(
            &lb("ERROR", "2026-06-10T11:59:00"),
            &[],
            NOW.parse().unwrap(),
            3 * HOUR,
        );
        assert_eq!(found, None);
    }
}
