//! Injected faults and when they strike: the scenario's `faults`, each armed for a
//! service (and a path), from a simulated instant, after so many requests, with a
//! probability drawn from the scenario's seed, for so many hits.
//!
//! One model for every fault, drawn by the part of the twin it reaches
//! ([`Reach`]): the HTTP middleware asks [`Faults::strike`] which request fault
//! meets a request and answers in the service's place; Octavia's worker asks the
//! same for its own faults when a failover starts (NoValidHost, a replacement that
//! never answers); a world fault (sshd dying, Kubernetes breaking, a Juju login
//! expiring) needs no request: [`Faults::world_schedule`] puts it on the cloud's
//! timeline at Cloud::new and [`Faults::take_world`] fires it once when its time
//! comes. A schedule drawn from a seed is replayed exactly by the same seed.

use jiff::Timestamp;

use crate::scenario::{FaultKind, FaultSpec, Reach};

/// A fault with hits left.
#[derive(Debug, Clone)]
pub struct ArmedFault {
    /// What, where and when.
    pub spec: FaultSpec,
    /// Hits left.
    pub remaining: u32,
    /// Matching requests met so far (the first `after_requests` pass untouched).
    pub seen: u32,
}

/// One fault that struck a request: the twin's own record of what it injected.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Strike {
    /// Simulated time.
    pub at: Timestamp,
    /// The service whose request it hit.
    pub service: String,
    /// The request's path.
    pub path: String,
    /// What it did.
    pub kind: FaultKind,
}

/// Every fault of a scenario and the seeded draw that decides probabilistic ones.
#[derive(Debug, Clone)]
pub struct Faults {
    /// The scenario's faults, in its order (the first that matches strikes).
    pub armed: Vec<ArmedFault>,
    /// Every strike so far.
    pub struck: Vec<Strike>,
    /// When the cloud started (a fault's `from` counts from here).
    started: Timestamp,
    /// xorshift64 state, from the scenario's seed.
    rng: u64,
}

impl Faults {
    /// The scenario's faults, armed at `started`, drawing from `seed`.
    pub fn new(specs: &[FaultSpec], seed: u64, started: Timestamp) -> Faults {
        Faults {
            armed: specs
                .iter()
                .map(|spec| ArmedFault {
                    spec: spec.clone(),
                    remaining: spec.count,
                    seen: 0,
                })
                .collect(),
            struck: Vec::new(),
            started,
            // xorshift must not start at zero; mix the seed so 0, 1, 2… differ widely.
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// The fault of reach `reach` that strikes this request (or failover) of
    /// `service` at `path`, if any. Every armed fault that matches counts it; the
    /// first that is due, past its `after_requests` and wins its draw strikes (and
    /// spends one hit).
    pub fn strike(
        &mut self,
        reach: Reach,
        service: &str,
        path: &str,
        now: Timestamp,
    ) -> Option<FaultSpec> {
        let since_start = self.since_start(now);
        let mut chosen = None;
        for i in 0..self.armed.len() {
            let fault = &self.armed[i];
            let matches = fault.remaining > 0
                && fault.spec.kind.reach() == reach
                && reach != Reach::World
                && fault.spec.service == service
                && since_start >= fault.spec.from
                && fault
                    .spec
                    .path_contains
                    .as_deref()
                    .is_none_or(|p| path.contains(p));
            if !matches {
                continue;
            }
            self.armed[i].seen += 1;
            if chosen.is_some() || self.armed[i].seen <= self.armed[i].spec.after_requests {
                continue;
            }
            let probability = self.armed[i].spec.probability;
            if probability < 1.0 && self.draw() >= probability {
                continue;
            }
            self.armed[i].remaining -= 1;
            chosen = Some(self.armed[i].spec.clone());
        }
        let spec = chosen?;
        self.struck.push(Strike {
            at: now,
            service: service.to_string(),
            path: path.to_string(),
            kind: spec.kind,
        });
        Some(spec)
    }

    /// When each world fault is due: (its index, the instant), for the timeline.
    pub fn world_schedule(&self) -> Vec<(usize, Timestamp)> {
        self.armed
            .iter()
            .enumerate()
            .filter(|(_, f)| f.spec.kind.reach() == Reach::World)
            .map(|(i, f)| (i, crate::clock::after(self.started, f.spec.from)))
            .collect()
    }

    /// Fires world fault `index` at `now`: its kind, once, unless it was cleared or
    /// already spent (recorded as struck).
    pub fn take_world(&mut self, index: usize, now: Timestamp) -> Option<FaultKind> {
        let fault = self.armed.get_mut(index)?;
        if fault.spec.kind.reach() != Reach::World || fault.remaining == 0 {
            return None;
        }
        fault.remaining = 0;
        let kind = fault.spec.kind;
        self.struck.push(Strike {
            at: now,
            service: "world".into(),
            path: String::new(),
            kind,
        });
        Some(kind)
    }

    fn since_start(&self, now: Timestamp) -> std::time::Duration {
        now.duration_since(self.started)
            .try_into()
            .unwrap_or_default()
    }

    /// Disarms every fault (what a "the cloud is fixed now" step does).
    pub fn clear(&mut self) {
        for fault in &mut self.armed {
            fault.remaining = 0;
        }
    }

    /// A uniform draw in [0, 1).
    fn draw(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spec(kind: FaultKind) -> FaultSpec {
        FaultSpec::new("compute", kind)
    }

    fn t0() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    #[test]
    fn a_fault_waits_for_its_time_and_its_requests_then_strikes_count_times() {
        let f = FaultKind::ServiceUnavailable;
        let mut s = spec(f);
        s.count = 2;
        s.after_requests = 1;
        s.from = Duration::from_secs(60);
        let mut faults = Faults::new(&[s], 7, t0());
        let later = t0()
            .checked_add(jiff::SignedDuration::from_secs(61))
            .unwrap();
        assert!(
            faults
                .strike(Reach::Request, "compute", "/servers", t0())
                .is_none(),
            "not yet due"
        );
        assert!(
            faults
                .strike(Reach::Request, "identity", "/auth", later)
                .is_none(),
            "other service"
        );
        assert!(
            faults
                .strike(Reach::Request, "compute", "/servers", later)
                .is_none(),
            "first passes"
        );
        let kind = |s: Option<FaultSpec>| s.map(|s| s.kind);
        assert_eq!(
            kind(faults.strike(Reach::Request, "compute", "/servers", later)),
            Some(f)
        );
        assert_eq!(
            kind(faults.strike(Reach::Request, "compute", "/servers", later)),
            Some(f)
        );
        assert!(
            faults
                .strike(Reach::Request, "compute", "/servers", later)
                .is_none(),
            "spent"
        );
        assert_eq!(faults.struck.len(), 2);
    }

    #[test]
    fn a_world_fault_comes_once_at_its_time_and_never_meets_a_request() {
        let mut s = spec(FaultKind::SshdDies);
        s.from = Duration::from_secs(600);
        let mut faults = Faults::new(&[s], 1, t0());
        let at = |secs| {
            t0().checked_add(jiff::SignedDuration::from_secs(secs))
                .unwrap()
        };
        assert!(
            faults
                .strike(Reach::Request, "compute", "/servers", at(700))
                .is_none()
        );
        assert_eq!(faults.world_schedule(), vec![(0, at(600))]);
        assert_eq!(faults.take_world(0, at(600)), Some(FaultKind::SshdDies));
        assert_eq!(faults.take_world(0, at(900)), None, "once");
        assert_eq!(faults.struck.len(), 1);
    }

    #[test]
    fn a_worker_fault_meets_the_worker_never_a_request_and_a_cleared_one_nothing() {
        let mut faults = Faults::new(
            &[
                FaultSpec::new("load-balancer", FaultKind::NoValidHost),
                FaultSpec::new("compute", FaultKind::K8sBreaks),
            ],
            1,
            t0(),
        );
        let path = "loadbalancers/x/failover";
        assert!(
            faults
                .strike(Reach::Request, "load-balancer", path, t0())
                .is_none()
        );
        let struck = faults.strike(Reach::Worker, "load-balancer", path, t0());
        assert_eq!(struck.map(|s| s.kind), Some(FaultKind::NoValidHost));
        assert!(
            faults
                .strike(Reach::Worker, "load-balancer", path, t0())
                .is_none()
        );
        faults.clear();
        assert_eq!(faults.take_world(1, t0()), None, "cleared before its time");
    }

    #[test]
    fn a_probabilistic_fault_is_the_same_for_the_same_seed() {
        let mut s = spec(FaultKind::GarbageJson);
        s.count = 1000;
        s.probability = 0.3;
        let run = |seed| {
            let mut faults = Faults::new(&[s.clone()], seed, t0());
            (0..200)
                .map(|_| {
                    faults
                        .strike(Reach::Request, "compute", "/x", t0())
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let hits = run(42).iter().filter(|h| **h).count();
        assert!((30..=90).contains(&hits), "{hits} of 200 at p=0.3");
    }
}
