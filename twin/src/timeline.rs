//! The cloud's one timeline: everything that happens later by itself (a server
//! task finishing, a failover flow ending, a world fault striking) is an [`Event`]
//! scheduled here at its due instant, and `Cloud::settle` takes them in order.
//! Adding something that happens later is one variant and one arm in `settle`.

use jiff::Timestamp;

use crate::cloud::TaskState;

/// Something that happens by itself at its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Nova finishes `task` on a server (ACTIVE after powering on, SHUTOFF after
    /// powering off, gone after deleting). Stale when the server has another task by
    /// then, or is gone.
    ServerTask {
        /// The server.
        server_id: String,
        /// The task it finishes.
        task: TaskState,
    },
    /// Octavia's failover flow for a load balancer ends (its outcome was decided when
    /// it started).
    FailoverEnds {
        /// The load balancer.
        load_balancer_id: String,
    },
    /// A world fault of the scenario strikes (its index among the armed faults).
    WorldFault {
        /// Index into `Faults::armed`.
        fault: usize,
    },
}

/// Events by due instant; ties keep the order they were scheduled in.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    events: Vec<(Timestamp, u64, Event)>,
    scheduled: u64,
}

impl Timeline {
    /// Schedules `event` at `due`.
    pub fn schedule(&mut self, due: Timestamp, event: Event) {
        self.events.push((due, self.scheduled, event));
        self.scheduled += 1;
    }

    /// Takes the earliest event due at or before `now`, with its due instant.
    pub fn next_due(&mut self, now: Timestamp) -> Option<(Timestamp, Event)> {
        let (index, _) = self
            .events
            .iter()
            .enumerate()
            .filter(|(_, (due, _, _))| *due <= now)
            .min_by_key(|(_, (due, seq, _))| (*due, *seq))?;
        let (due, _, event) = self.events.remove(index);
        Some((due, event))
    }

    /// Brings every event matching `which` forward to `due` at the latest (steering:
    /// a test, or the twin's shell, that need not wait for it).
    pub fn bring_forward(&mut self, which: impl Fn(&Event) -> bool, due: Timestamp) {
        for (at, _, event) in &mut self.events {
            if which(event) {
                *at = (*at).min(due);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn world(fault: usize) -> Event {
        Event::WorldFault { fault }
    }

    #[test]
    fn events_come_in_due_order_ties_in_scheduling_order_and_only_when_due() {
        let mut t = Timeline::default();
        t.schedule(at(30), world(0));
        t.schedule(at(10), world(1));
        t.schedule(at(10), world(2));
        assert_eq!(t.next_due(at(5)), None);
        assert_eq!(t.next_due(at(40)), Some((at(10), world(1))));
        assert_eq!(t.next_due(at(40)), Some((at(10), world(2))));
        t.bring_forward(|e| *e == world(0), at(20));
        assert_eq!(t.next_due(at(20)), Some((at(20), world(0))));
        assert_eq!(t.next_due(at(99)), None);
    }
}
