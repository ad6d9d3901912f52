//! The one wall clock: what "now" is for the journal (its timestamps and run ids),
//! the session (a token's expiry, the cloud's time before it has said its own) and,
//! through the session, the engine. Injected, never read from the system directly
//! elsewhere, so a test may fix it. Waits measure durations on tokio's clock, which
//! tests pause and advance.

use jiff::Timestamp;

/// A wall clock: the system's, or a fixed instant (tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    fixed: Option<Timestamp>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    /// A clock that always says `at`.
    pub fn fixed(at: Timestamp) -> Clock {
        Clock { fixed: Some(at) }
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        self.fixed.unwrap_or_else(Timestamp::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_still_and_the_system_one_moves_on() {
        let at: Timestamp = "2026-06-10T07:00:00Z".parse().unwrap();
        assert_eq!(Clock::fixed(at).now(), at);
        assert!(Clock::system().now() > at);
    }
}
