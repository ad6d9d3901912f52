//! Waiting for a condition: a check run every `interval` until it is met or the
//! deadline passes, reporting each attempt. Time is tokio's, so tests run it on
//! paused time instead of sleeping.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// What a check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Check<T> {
    /// The condition holds.
    Done(T),
    /// Not yet, with the evidence.
    NotYet(String),
}

/// A wait's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    /// What is awaited, for messages (`ssh port 10.12.7.40:22`).
    pub what: String,
    /// Time between attempts.
    pub interval: Duration,
    /// Give up after this long, on the cloud's clock.
    pub deadline: Duration,
    /// How much faster than real time the cloud's clock runs (the twin's time scale;
    /// 1 for a real cloud). Deadlines and elapsed times are on the cloud's clock; the
    /// interval between attempts is real time (it is how often this tool asks).
    pub scale: f64,
}

impl Wait {
    /// The wait at `gate`, with the interval and deadline the site file gives it.
    pub fn at(site: &crate::site::Site, gate: crate::site::Gate, what: impl Into<String>) -> Wait {
        let figures = site.gate(gate);
        Wait {
            what: what.into(),
            interval: figures.interval,
            deadline: figures.deadline,
            scale: site.time_scale(),
        }
    }
}

pub use crate::ui::progress::Attempt;

/// A condition met.
#[derive(Debug, Clone, PartialEq)]
pub struct Waited<T> {
    /// What the check returned.
    pub value: T,
    /// Attempts made.
    pub attempts: u32,
    /// Time taken.
    pub elapsed: Duration,
}

/// A wait that ended without the condition.
#[derive(Debug, thiserror::Error)]
pub enum WaitError<E: std::error::Error> {
    /// The deadline passed.
    #[error("{what}: not reached within {} ({attempts} attempts, {} elapsed{clock}); last seen: {last}", humantime::format_duration(*deadline), humantime::format_duration(round(*elapsed)))]
    Deadline {
        /// What was awaited.
        what: String,
        /// The deadline.
        deadline: Duration,
        /// Attempts made.
        attempts: u32,
        /// Time waited.
        elapsed: Duration,
        /// The last evidence.
        last: String,
        /// Which clock the times are on, when not real time (` on the twin's clock, 600x`).
        clock: String,
    },
    /// Ctrl-C or SIGTERM asked the run to stop.
    #[error("stopped by signal {signal} while waiting for {what} ({attempts} attempts)")]
    Interrupted {
        /// What was awaited.
        what: String,
        /// The signal.
        signal: i32,
        /// Attempts made.
        attempts: u32,
    },
    /// The check itself failed in a way waiting cannot fix.
    #[error(transparent)]
    Failed(E),
}

/// On a simulated clock, no deadline is shorter than this in real time.
pub const MIN_REAL: Duration = Duration::from_secs(10);

fn round(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

impl Wait {
    /// Runs `check` until it is [`Check::Done`], calling `progress` after each
    /// attempt; the last attempt comes no later than the deadline.
    pub async fn until<T, E, F, Fut>(
        &self,
        mut check: F,
        mut progress: impl FnMut(&Attempt<'_>),
    ) -> Result<Waited<T>, WaitError<E>>
    where
        E: std::error::Error,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Check<T>, E>>,
    {
        let started = Instant::now();
        let scale = self.scale();
        let elapsed_on_cloud = || started.elapsed().mul_f64(scale);
        let real_deadline = self.real_deadline();
        let mut attempts = 0;
        loop {
            if let Some(signal) = crate::interrupt::requested() {
                return Err(WaitError::Interrupted {
                    what: self.what.clone(),
                    signal,
                    attempts,
                });
            }
            attempts += 1;
            // An attempt never runs past the deadline (a slow ssh session included).
            let left = real_deadline
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(1));
            let outcome = match tokio::time::timeout(left, check()).await {
                Ok(outcome) => outcome.map_err(WaitError::Failed)?,
                Err(_) => {
                    Check::NotYet("the last attempt was still running at the deadline".into())
                }
            };
            let real_elapsed = started.elapsed();
            let elapsed = elapsed_on_cloud();
            match outcome {
                Check::Done(value) => {
                    return Ok(Waited {
                        value,
                        attempts,
                        elapsed,
                    });
                }
                Check::NotYet(evidence) => {
                    progress(&Attempt {
                        what: &self.what,
                        number: attempts,
                        elapsed,
                        evidence: &evidence,
                    });
                    if real_elapsed >= real_deadline {
                        return Err(WaitError::Deadline {
                            what: self.what.clone(),
                            deadline: self.deadline,
                            attempts,
                            elapsed,
                            last: evidence,
                            clock: if scale != 1.0 {
                                format!(" on the twin's clock, {scale}x")
                            } else {
                                String::new()
                            },
                        });
                    }
                    self.pause(real_deadline - real_elapsed).await;
                }
            }
        }
    }

    /// How much faster than real time the cloud's clock runs (1 when unset or odd).
    fn scale(&self) -> f64 {
        if self.scale.is_finite() && self.scale > 0.0 {
            self.scale
        } else {
            1.0
        }
    }

    /// The real time the deadline takes: on a fast (simulated) clock never less than
    /// MIN_REAL, nor more than the deadline itself, so a loaded machine's process
    /// start-up cannot decide it.
    fn real_deadline(&self) -> Duration {
        let scale = self.scale();
        if scale > 1.0 {
            self.deadline
                .div_f64(scale)
                .max(MIN_REAL)
                .min(self.deadline)
        } else {
            self.deadline
        }
    }

    /// Sleeps until the next attempt (at most `remaining`), in short slices so a
    /// signal is seen promptly.
    async fn pause(&self, remaining: Duration) {
        let until = Instant::now() + self.interval.min(remaining);
        while Instant::now() < until && crate::interrupt::requested().is_none() {
            tokio::time::sleep((until - Instant::now()).min(Duration::from_millis(200))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(deadline: u64) -> Wait {
        Wait {
            what: "the thing".into(),
            interval: Duration::from_secs(10),
            deadline: Duration::from_secs(deadline),
            scale: 1.0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_condition_met_in_time_reports_attempts_and_elapsed() {
        let mut n = 0;
        let mut seen = Vec::new();
        let waited = wait(200)
            .until(
                || {
                    n += 1;
                    let k = n;
                    async move {
                        Ok::<_, std::io::Error>(if k == 4 {
                            Check::Done(k)
                        } else {
                            Check::NotYet(format!("try {k}"))
                        })
                    }
                },
                |a| seen.push((a.number, a.elapsed.as_secs(), a.evidence.to_string())),
            )
            .await
            .unwrap();
        assert_eq!(
            (waited.value, waited.attempts, waited.elapsed),
            (4, 4, Duration::from_secs(30))
        );
        assert_eq!(
            seen,
            [
                (1, 0, "try 1".to_string()),
                (2, 10, "try 2".into()),
                (3, 20, "try 3".into())
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_ends_it_with_the_last_evidence() {
        let e = wait(45)
            .until(
                || async {
                    Ok::<Check<()>, std::io::Error>(Check::NotYet("connection refused".into()))
                },
                |_| {},
            )
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, WaitError::Deadline { attempts: 6, .. }),
            "{text}"
        );
        assert!(
            text.contains(
                "not reached within 45s (6 attempts, 45s elapsed); last seen: connection refused"
            ),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_attempt_does_not_overrun_the_deadline() {
        let e = wait(30)
            .until(
                || async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<Check<()>, std::io::Error>(Check::NotYet("never".into()))
                },
                |_| {},
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, WaitError::Deadline { elapsed, .. } if elapsed <= Duration::from_secs(31)),
            "{e}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_check_stops_at_once() {
        let e = wait(100)
            .until(
                || async { Err::<Check<()>, _>(std::io::Error::other("no ssh")) },
                |_| {},
            )
            .await
            .unwrap_err();
        assert!(matches!(e, WaitError::Failed(_)));
    }
}
