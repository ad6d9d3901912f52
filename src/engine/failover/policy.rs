//! The failover's policy (runbook Step 5c and its DECISION, DESIGN §4.7), pure: what
//! to learn or do next from the facts gathered so far ([`decide`]), what a failed
//! request means ([`after_failed_request`]), how a failover ended ([`classify`]) and
//! whether the endpoint moved ([`endpoint_changes`]). No I/O: the executor in
//! [`super`] gathers the facts, performs the step and records it.

use std::time::Duration;

use serde::Serialize;

use crate::cloud::octavia::{LoadBalancer, ProvisioningStatus};
use crate::engine::never_retry::FailedFailover;
pub use crate::journal::{FailoverOutcome, FailureClass, Remembered};
use crate::layers::Health;

/// A failover that ends in ERROR this soon is an early-flow failure (runbook: a
/// 10–20 s fast fail, usually NoValidHost).
pub const FAST_FAIL: Duration = Duration::from_secs(20);

/// The free amphora slots, measured after the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Green: a slot; red: none; unknown: Placement could not say.
    pub state: Health,
    /// Orphans the operator did not let the sweep delete that hold a slot each.
    pub held_by_orphans: usize,
}

/// What is known about one load balancer's failover so far. `None`: not learnt yet.
#[derive(Debug, Clone, Default)]
pub struct FailoverFacts {
    /// The operator named it (`failover <LB>`): ACTIVE is allowed, as Octavia allows,
    /// and an earlier failed failover is no bar.
    pub named: bool,
    /// The journal's memory of its last failover.
    pub remembered: Option<Remembered>,
    /// The cloud's evidence, once the amphorae were read (`Some(None)`: none).
    pub cloud: Option<Option<FailedFailover>>,
    /// The slots, once swept and measured.
    pub room: Option<Room>,
    /// The destructive step was confirmed (a refusal ends the run before this).
    pub confirmed: bool,
    /// Its provisioning status, read again right before the request.
    pub now: Option<ProvisioningStatus>,
    /// Others of the project's load balancers Octavia is busy with (PENDING_*).
    pub busy: Option<Vec<String>>,
}

/// What to learn next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read both amphora inventories (the cloud's evidence and the sweep's input).
    Amphorae,
    /// Sweep the orphans, then measure the headroom.
    Room,
    /// Ask (or take `--yes`).
    Confirmation,
    /// Read the load balancer again: it may have moved meanwhile.
    State,
    /// List the project's load balancers: one failover at a time.
    Busy,
}

/// Why no failover is started.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The journal remembers that its last failover did not end ACTIVE.
    FailedBefore(Remembered),
    /// The cloud shows a recent failed failover of it.
    CloudShowsFailed(FailedFailover),
    /// No amphora slot on any enabled compute host.
    NoSlot,
    /// No slot, but orphans the operator kept hold some: a delete nobody confirmed.
    SlotHeldByOrphans(usize),
    /// Placement could not say whether there is a slot.
    RoomUnknown,
    /// Octavia is working on it (PENDING_*, or a status it does not fail over from).
    Working(ProvisioningStatus),
    /// Octavia is busy with another load balancer.
    Busy(Vec<String>),
}

/// The next step of one failover.
#[derive(Debug, Clone, PartialEq)]
pub enum FailoverStep {
    /// Learn this first.
    Learn(Need),
    /// Start no failover, for this reason.
    Refuse(Refusal),
    /// It is ACTIVE now and nobody named it: nothing to fail over.
    Nothing,
    /// Send the failover.
    Start,
}

/// The next step, in the runbook's order: never retry a failed failover (the
/// journal's memory, then the cloud's evidence), sweep and measure (no slot, no
/// failover), confirm, look again (only from ACTIVE or ERROR, never while another
/// is in flight), then start.
pub fn decide(facts: &FailoverFacts) -> FailoverStep {
    use FailoverStep::{Learn, Refuse};
    if !facts.named
        && let Some(remembered) = &facts.remembered
        && remembered.outcome.bars_a_retry()
    {
        return Refuse(Refusal::FailedBefore(remembered.clone()));
    }
    match &facts.cloud {
        None => return Learn(Need::Amphorae),
        Some(Some(failed)) if !facts.named => {
            return Refuse(Refusal::CloudShowsFailed(failed.clone()));
        }
        Some(_) => {}
    }
    match facts.room {
        None => return Learn(Need::Room),
        Some(Room {
            state: Health::Green | Health::Yellow,
            ..
        }) => {}
        Some(Room {
            state: Health::Red,
            held_by_orphans: 0,
        }) => return Refuse(Refusal::NoSlot),
        Some(Room {
            state: Health::Red,
            held_by_orphans,
        }) => return Refuse(Refusal::SlotHeldByOrphans(held_by_orphans)),
        Some(Room {
            state: Health::Unknown,
            ..
        }) => return Refuse(Refusal::RoomUnknown),
    }
    if !facts.confirmed {
        return Learn(Need::Confirmation);
    }
    match &facts.now {
        None => return Learn(Need::State),
        Some(ProvisioningStatus::Error) => {}
        Some(ProvisioningStatus::Active) if facts.named => {}
        Some(ProvisioningStatus::Active) => return FailoverStep::Nothing,
        Some(other) => return Refuse(Refusal::Working(other.clone())),
    }
    match &facts.busy {
        None => Learn(Need::Busy),
        Some(busy) if !busy.is_empty() => Refuse(Refusal::Busy(busy.clone())),
        Some(_) => FailoverStep::Start,
    }
}

/// What a failover request that failed (5xx, lost connection) did, from the load
/// balancer as read afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedRequest {
    /// It has moved since (PENDING_*, or changed): Octavia started it; follow it.
    Started,
    /// Unchanged since: not started; never re-sent automatically.
    NotStarted,
    /// It cannot be read: the failover may have started; never re-send it.
    Unknown,
}

/// Reads a failed request's effect: `now` is the load balancer read afterwards
/// (`None`: it could not be read).
pub fn after_failed_request(before: &LoadBalancer, now: Option<&LoadBalancer>) -> FailedRequest {
    match now {
        None => FailedRequest::Unknown,
        Some(now)
            if now.provisioning_status.is_pending() || now.updated_at != before.updated_at =>
        {
            FailedRequest::Started
        }
        Some(_) => FailedRequest::NotStarted,
    }
}

/// How long the flow ran: by Octavia's own clock (first seen PENDING → its last
/// change) when it gives one, else the run's own watch.
pub fn took(
    pending_since: Option<jiff::Timestamp>,
    ended: Option<jiff::Timestamp>,
    watched: Duration,
) -> Duration {
    match (pending_since, ended) {
        (Some(a), Some(b)) if b >= a => {
            Duration::from_secs(b.duration_since(a).as_secs().max(0) as u64)
        }
        _ => watched,
    }
}

/// How a failover that left PENDING ended, `after` being the load balancer then and
/// `took` how long it ran (`None`: its end was seen afterwards, by another run).
pub fn classify(after: &LoadBalancer, took: Option<Duration>) -> FailoverOutcome {
    let took_s = took.map(|t| t.as_secs());
    match after.provisioning_status {
        ProvisioningStatus::Active => FailoverOutcome::Active { took_s },
        _ => FailoverOutcome::Failed {
            took_s,
            class: match took {
                Some(t) if t <= FAST_FAIL => FailureClass::FastFail,
                Some(_) => FailureClass::Late,
                None => FailureClass::Unseen,
            },
        },
    }
}

/// Something about the endpoint that a failover must keep and did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointChange {
    /// The VIP address moved.
    Vip {
        /// Before.
        from: Option<String>,
        /// After.
        to: Option<String>,
    },
    /// The VIP port was replaced.
    VipPort,
    /// The floating IPs on the VIP port changed.
    FloatingIp {
        /// Before.
        from: Vec<String>,
        /// After.
        to: Vec<String>,
    },
}

impl std::fmt::Display for EndpointChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or_dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        match self {
            EndpointChange::Vip { from, to } => {
                write!(f, "VIP {} → {}", or_dash(from), or_dash(to))
            }
            EndpointChange::VipPort => f.write_str("VIP port replaced"),
            EndpointChange::FloatingIp { from, to } => {
                write!(f, "floating IP {} → {}", from.join(","), to.join(","))
            }
        }
    }
}

/// What moved between `before` and `after` (floating IPs only when both were read).
pub fn endpoint_changes(
    before: &LoadBalancer,
    after: &LoadBalancer,
    fips_before: Option<&[String]>,
    fips_after: Option<&[String]>,
) -> Vec<EndpointChange> {
    let mut changed = Vec::new();
    if after.vip_address != before.vip_address {
        changed.push(EndpointChange::Vip {
            from: before.vip_address.clone(),
            to: after.vip_address.clone(),
        });
    }
    if after.vip_port_id != before.vip_port_id {
        changed.push(EndpointChange::VipPort);
    }
    if let (Some(a), Some(b)) = (fips_before, fips_after)
        && a != b
    {
        changed.push(EndpointChange::FloatingIp {
            from: a.to_vec(),
            to: b.to_vec(),
        });
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb(status: &str, updated: &str) -> LoadBalancer {
        LoadBalancer {
            id: "lb".into(),
            name: "kube-api".into(),
            provisioning_status: status.into(),
            operating_status: "ONLINE".into(),
            project_id: "p".into(),
            vip_address: Some("192.0.2.5".into()),
            vip_port_id: Some("port".into()),
            updated_at: Some(updated.into()),
        }
    }

    fn evidence() -> FailedFailover {
        FailedFailover {
            ended: "2026-06-10T11:40:00Z".parse().unwrap(),
            servers: vec!["s".into()],
            evidence: vec!["went to ERROR".into()],
        }
    }

    fn memory(outcome: FailoverOutcome) -> Remembered {
        Remembered {
            run: "run-1".into(),
            said: "as run-1 said it".into(),
            outcome,
        }
    }

    const GREEN: Room = Room {
        state: Health::Green,
        held_by_orphans: 0,
    };

    /// Facts up to the request, all clear.
    fn clear() -> FailoverFacts {
        FailoverFacts {
            named: false,
            remembered: None,
            cloud: Some(None),
            room: Some(GREEN),
            confirmed: true,
            now: Some(ProvisioningStatus::Error),
            busy: Some(vec![]),
        }
    }

    #[test]
    fn the_runbooks_step_5_as_a_table() {
        use FailoverStep::*;
        let failed = FailoverOutcome::Failed {
            took_s: Some(14),
            class: FailureClass::FastFail,
        };
        let rows: Vec<(&str, FailoverFacts, FailoverStep)> = vec![
            ("all clear: start", clear(), Start),
            (
                "nothing read yet: the amphorae first",
                FailoverFacts::default(),
                Learn(Need::Amphorae),
            ),
            (
                "amphorae read: sweep and measure",
                FailoverFacts {
                    room: None,
                    ..clear()
                },
                Learn(Need::Room),
            ),
            (
                "measured: ask",
                FailoverFacts {
                    confirmed: false,
                    ..clear()
                },
                Learn(Need::Confirmation),
            ),
            (
                "confirmed: look again",
                FailoverFacts {
                    now: None,
                    ..clear()
                },
                Learn(Need::State),
            ),
            (
                "still ERROR: is another in flight?",
                FailoverFacts {
                    busy: None,
                    ..clear()
                },
                Learn(Need::Busy),
            ),
            (
                "no slot: refused, never attempted",
                FailoverFacts {
                    room: Some(Room {
                        state: Health::Red,
                        held_by_orphans: 0,
                    }),
                    ..clear()
                },
                Refuse(Refusal::NoSlot),
            ),
            (
                "no slot while kept orphans hold one: a delete nobody confirmed",
                FailoverFacts {
                    room: Some(Room {
                        state: Health::Red,
                        held_by_orphans: 2,
                    }),
                    ..clear()
                },
                Refuse(Refusal::SlotHeldByOrphans(2)),
            ),
            (
                "Placement cannot say: no failover without knowing",
                FailoverFacts {
                    room: Some(Room {
                        state: Health::Unknown,
                        held_by_orphans: 0,
                    }),
                    ..clear()
                },
                Refuse(Refusal::RoomUnknown),
            ),
            (
                "another load balancer PENDING: one at a time",
                FailoverFacts {
                    busy: Some(vec!["lb2 (PENDING_UPDATE)".into()]),
                    ..clear()
                },
                Refuse(Refusal::Busy(vec!["lb2 (PENDING_UPDATE)".into()])),
            ),
            (
                "this one PENDING now: Octavia is on it",
                FailoverFacts {
                    now: Some(ProvisioningStatus::PendingUpdate),
                    ..clear()
                },
                Refuse(Refusal::Working(ProvisioningStatus::PendingUpdate)),
            ),
            (
                "an unknown status is not ERROR",
                FailoverFacts {
                    now: Some("DEGRADED_ISH".into()),
                    ..clear()
                },
                Refuse(Refusal::Working("DEGRADED_ISH".into())),
            ),
            (
                "ACTIVE meanwhile: nothing to do",
                FailoverFacts {
                    now: Some(ProvisioningStatus::Active),
                    ..clear()
                },
                Nothing,
            ),
            (
                "ACTIVE but named by the operator: as Octavia allows",
                FailoverFacts {
                    named: true,
                    now: Some(ProvisioningStatus::Active),
                    ..clear()
                },
                Start,
            ),
            (
                "an earlier failed failover in the journal: never retried",
                FailoverFacts {
                    remembered: Some(memory(failed.clone())),
                    ..clear()
                },
                Refuse(Refusal::FailedBefore(memory(failed.clone()))),
            ),
            (
                "an earlier failover whose end nobody saw: never retried",
                FailoverFacts {
                    remembered: Some(memory(FailoverOutcome::Unknown)),
                    ..clear()
                },
                Refuse(Refusal::FailedBefore(memory(FailoverOutcome::Unknown))),
            ),
            (
                "an earlier failover that ended ACTIVE is no bar",
                FailoverFacts {
                    remembered: Some(memory(FailoverOutcome::Active { took_s: Some(108) })),
                    ..clear()
                },
                Start,
            ),
            (
                "a request that started nothing is no bar",
                FailoverFacts {
                    remembered: Some(memory(FailoverOutcome::NotStarted)),
                    ..clear()
                },
                Start,
            ),
            (
                "the operator's `failover <LB>` after a failed one: once, on purpose",
                FailoverFacts {
                    named: true,
                    remembered: Some(memory(failed.clone())),
                    cloud: Some(Some(evidence())),
                    ..clear()
                },
                Start,
            ),
            (
                "the cloud shows a failed failover another run made: never retried",
                FailoverFacts {
                    cloud: Some(Some(evidence())),
                    ..clear()
                },
                Refuse(Refusal::CloudShowsFailed(evidence())),
            ),
            (
                "the journal's bar comes before reading anything",
                FailoverFacts {
                    remembered: Some(memory(failed.clone())),
                    ..FailoverFacts::default()
                },
                Refuse(Refusal::FailedBefore(memory(failed))),
            ),
        ];
        for (what, facts, expected) in rows {
            assert_eq!(decide(&facts), expected, "{what}");
        }
    }

    #[test]
    fn a_failed_request_is_read_from_the_load_balancer_afterwards() {
        let before = lb("ERROR", "2026-06-10T11:00:00");
        let rows = [
            (
                "5xx, LB unchanged: not started",
                Some(lb("ERROR", "2026-06-10T11:00:00")),
                FailedRequest::NotStarted,
            ),
            (
                "5xx, LB PENDING: started",
                Some(lb("PENDING_UPDATE", "2026-06-10T11:00:00")),
                FailedRequest::Started,
            ),
            (
                "5xx, LB changed (a fast fail already over): started",
                Some(lb("ERROR", "2026-06-10T11:00:14")),
                FailedRequest::Started,
            ),
            ("5xx, LB unreadable: unknown", None, FailedRequest::Unknown),
        ];
        for (what, now, expected) in rows {
            assert_eq!(
                after_failed_request(&before, now.as_ref()),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn an_outcome_is_classified_by_octavias_clock() {
        let since: jiff::Timestamp = "2026-06-10T11:00:00Z".parse().unwrap();
        let at = |s: u64| Some(since + jiff::SignedDuration::from_secs(s as i64));
        let watched = Duration::from_secs(999);
        let rows = [
            (
                "ACTIVE after ~108 s",
                "ACTIVE",
                at(108),
                FailoverOutcome::Active { took_s: Some(108) },
            ),
            (
                "ERROR in 14 s: a fast fail",
                "ERROR",
                at(14),
                FailoverOutcome::Failed {
                    took_s: Some(14),
                    class: FailureClass::FastFail,
                },
            ),
            (
                "ERROR in exactly 20 s: still fast",
                "ERROR",
                at(20),
                FailoverOutcome::Failed {
                    took_s: Some(20),
                    class: FailureClass::FastFail,
                },
            ),
            (
                "ERROR after 5 min: a late failure",
                "ERROR",
                at(300),
                FailoverOutcome::Failed {
                    took_s: Some(300),
                    class: FailureClass::Late,
                },
            ),
        ];
        for (what, status, ended, expected) in rows {
            let took = took(Some(since), ended, watched);
            assert_eq!(classify(&lb(status, "-"), Some(took)), expected, "{what}");
        }
        assert_eq!(
            classify(&lb("ERROR", "-"), None),
            FailoverOutcome::Failed {
                took_s: None,
                class: FailureClass::Unseen
            },
            "seen afterwards: a failure, when unknown"
        );
        assert_eq!(
            took(None, at(5), watched),
            watched,
            "no PENDING seen: our own watch"
        );
        assert_eq!(
            took(at(10), at(5), watched),
            watched,
            "a clock running backwards: our own watch"
        );
    }

    #[test]
    fn a_moved_vip_or_floating_ip_is_named() {
        let before = lb("ERROR", "-");
        let mut moved = lb("ACTIVE", "-");
        assert!(
            endpoint_changes(
                &before,
                &moved,
                Some(&["203.0.113.9".into()]),
                Some(&["203.0.113.9".into()])
            )
            .is_empty()
        );
        assert!(
            endpoint_changes(&before, &moved, None, Some(&[])).is_empty(),
            "floating IPs unread: not compared"
        );
        moved.vip_address = Some("192.0.2.6".into());
        moved.vip_port_id = Some("port2".into());
        let changes = endpoint_changes(
            &before,
            &moved,
            Some(&["203.0.113.9".into()]),
            Some(&["203.0.113.7".into()]),
        );
        assert_eq!(
            changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "VIP 192.0.2.5 → 192.0.2.6",
                "VIP port replaced",
                "floating IP 203.0.113.9 → 203.0.113.7"
            ]
        );
    }
}
