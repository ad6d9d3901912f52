//! Simulated time: real time multiplied by the scenario's time scale.
//!
//! Every transition in the twin is stored as the simulated instant it becomes due
//! and applied lazily when the state is next read, so the twin needs no timers and
//! behaves the same however often it is polled.

use std::time::{Duration, Instant};

use jiff::Timestamp;

/// The twin's clock.
#[derive(Debug, Clone)]
pub struct Clock {
    real_start: Instant,
    sim_start: Timestamp,
    scale: f64,
}

impl Clock {
    /// A clock that starts now and runs `scale` times faster than real time.
    pub fn new(scale: f64) -> Clock {
        Clock {
            real_start: Instant::now(),
            sim_start: Timestamp::now(),
            scale,
        }
    }

    /// The current simulated instant.
    pub fn now(&self) -> Timestamp {
        let real = self.real_start.elapsed();
        let sim = Duration::from_secs_f64(real.as_secs_f64() * self.scale);
        after(self.sim_start, sim)
    }

    /// Real time since the twin started.
    pub fn real_elapsed(&self) -> Duration {
        self.real_start.elapsed()
    }

    /// The simulated instant the twin started at.
    pub fn start(&self) -> Timestamp {
        self.sim_start
    }

    /// The time scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// `instant + duration`, saturating.
pub fn after(instant: Timestamp, duration: Duration) -> Timestamp {
    instant.saturating_add(duration).unwrap_or(Timestamp::MAX)
}

/// `instant - duration`, saturating.
pub fn before(instant: Timestamp, duration: Duration) -> Timestamp {
    instant.saturating_sub(duration).unwrap_or(Timestamp::MIN)
}

/// Formats a timestamp as OpenStack services do (`2026-06-10T08:15:02Z`).
pub fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats a timestamp with microseconds (Keystone's `expires_at` style).
pub fn iso_micros(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
}
