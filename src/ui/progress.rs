//! Progress of a running restore on stderr: one plain line per change of state, with
//! the time since the run began. A wait prints when what it sees changes, not on
//! every poll, so a 20-minute cold start is a dozen lines, fit for cron mail.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::engine::wait::Attempt;
use crate::layers::Layer;

/// The progress printer.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    quiet: bool,
    last: Mutex<HashMap<Layer, String>>,
}

impl Progress {
    /// A printer; `quiet` prints nothing.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            started: Instant::now(),
            quiet,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Prints one line for `layer`.
    pub fn line(&self, layer: Layer, text: &str) {
        if !self.quiet {
            let t = self.started.elapsed().as_secs();
            eprintln!("[{:02}:{:02}] {:<16} {text}", t / 60, t % 60, layer.name());
        }
    }

    /// Reports a wait's attempt when what it sees changed.
    pub fn waiting(&self, layer: Layer, attempt: &Attempt<'_>, expected: &str) {
        // Compare without figures that change every poll (minutes, load averages).
        let gist: String = attempt
            .evidence
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.get(&layer) == Some(&gist) {
            return;
        }
        last.insert(layer, gist);
        let expected = if expected.is_empty() {
            String::new()
        } else {
            format!(", expected {expected}")
        };
        self.line(
            layer,
            &format!(
                "waiting ({} elapsed{expected}): {}",
                humantime::format_duration(Duration::from_secs(attempt.elapsed.as_secs())),
                attempt.evidence
            ),
        );
    }
}
