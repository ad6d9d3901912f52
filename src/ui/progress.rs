//! Progress of a running restore on stderr.
//!
//! On a terminal each wait is a live line: the layer, time waited against the
//! runbook's figure, the latest evidence, and during the Kubernetes cold start a
//! sparkline of the load. Without a terminal (cron, CI, a pipe): one plain line per
//! change of state, with the time since the run began, fit for cron mail.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::layers::Layer;

/// One attempt, as progress shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt<'a> {
    /// What is awaited.
    pub what: &'a str,
    /// 1, 2, ...
    pub number: u32,
    /// Since the wait began.
    pub elapsed: Duration,
    /// What the check saw.
    pub evidence: &'a str,
}

/// Where every line also goes (a charm action's `action-log`).
pub struct Sink(Box<dyn Fn(&str) + Send + Sync>);

impl Sink {
    /// Lines to `send`.
    pub fn new(send: impl Fn(&str) + Send + Sync + 'static) -> Sink {
        Sink(Box::new(send))
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

/// How often a wait tells the sink that it is still waiting.
const SINK_WAIT_EVERY: Duration = Duration::from_secs(10);

/// The progress printer.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    sink: Option<Sink>,
    /// The cloud's clock against real time (the twin's time scale; 1 for a real
    /// cloud): the stamps people read are on the same clock as the waits.
    scale: f64,
    quiet: bool,
    live: Option<MultiProgress>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Per layer: what its last plain line said (digits dropped).
    last: HashMap<Layer, String>,
    /// Per layer: its live line.
    bars: HashMap<Layer, ProgressBar>,
    /// Per layer: the 1-minute loads seen.
    loads: HashMap<Layer, Vec<f64>>,
    /// While a question is on the terminal: lines held back, printed after it.
    held: Option<Vec<(Layer, String)>>,
    /// Per layer: when the sink last heard of its wait.
    sunk: HashMap<Layer, Instant>,
}

impl Progress {
    /// A printer: live on a terminal unless `plain`; nothing at all when `quiet`.
    pub fn new(quiet: bool) -> Progress {
        Progress::with(quiet, false)
    }

    /// A printer choosing plain lines even on a terminal when `plain` (`--no-progress`).
    pub fn with(quiet: bool, plain: bool) -> Progress {
        let live = (!quiet && !plain && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            started: Instant::now(),
            sink: None,
            scale: 1.0,
            quiet,
            live,
            state: Mutex::new(State::default()),
        }
    }

    /// Stamps on the cloud's clock: `scale` times real time (the twin's).
    pub fn on_clock(mut self, scale: f64) -> Progress {
        if scale.is_finite() && scale > 0.0 {
            self.scale = scale;
        }
        self
    }

    /// Every line also to `sink`, and each wait at most every 10 s.
    pub fn with_sink(mut self, sink: Sink) -> Progress {
        self.sink = Some(sink);
        self
    }

    fn stamp(&self) -> String {
        let t = self.started.elapsed().mul_f64(self.scale).as_secs();
        format!("[{:02}:{:02}]", t / 60, t % 60)
    }

    /// Prints one line for `layer` (closing its live line, if any).
    pub fn line(&self, layer: Layer, text: &str) {
        let line = format!("{} {:<16} {text}", self.stamp(), layer.name());
        if let Some(Sink(send)) = &self.sink {
            send(&line);
        }
        if self.quiet {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = &mut state.held {
            held.push((layer, line));
            return;
        }
        self.print(&mut state, layer, line);
    }

    fn print(&self, state: &mut State, layer: Layer, line: String) {
        match &self.live {
            Some(multi) => {
                if let Some(bar) = state.bars.remove(&layer) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                let _ = multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// Runs `work` (a program that talks to the terminal itself) with the live lines
    /// hidden and other lines held back, then shows them again.
    pub async fn paused<F: std::future::Future>(&self, work: F) -> F::Output {
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.held = Some(Vec::new());
            if let Some(multi) = &self.live {
                let _ = multi.clear();
                multi.set_draw_target(ProgressDrawTarget::hidden());
            }
        }
        let output = work.await;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(multi) = &self.live {
            multi.set_draw_target(ProgressDrawTarget::stderr());
        }
        for (layer, line) in state.held.take().unwrap_or_default() {
            self.print(&mut state, layer, line);
        }
        output
    }

    /// Asks `question` on the terminal and returns the answer, or None when Ctrl-C
    /// or SIGTERM came first. The live lines are hidden and other lines held back
    /// meanwhile, and the read runs on a blocking thread, so the other lane keeps
    /// working (its lines follow the answer) and the signal handler keeps running.
    pub async fn ask(&self, question: &str) -> Option<String> {
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.held = Some(Vec::new());
            if let Some(multi) = &self.live {
                let _ = multi.clear();
                multi.set_draw_target(ProgressDrawTarget::hidden());
            }
        }
        let question = question.to_string();
        let mut read = tokio::task::spawn_blocking(move || crate::ui::confirm::ask(&question));
        let answer = loop {
            tokio::select! {
                answer = &mut read => break answer.ok(),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if crate::interrupt::requested().is_some() {
                        eprintln!();
                        break None;
                    }
                }
            }
        };
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(multi) = &self.live {
            multi.set_draw_target(ProgressDrawTarget::stderr());
        }
        for (layer, line) in state.held.take().unwrap_or_default() {
            self.print(&mut state, layer, line);
        }
        answer
    }

    /// Reports a wait's attempt: updates the live line, or prints a plain line when
    /// what the wait sees changed.
    pub fn waiting(&self, layer: Layer, attempt: &Attempt<'_>, expected: &str) {
        self.sink_wait(layer, attempt, expected);
        if self.quiet {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // A question is on the terminal: the next attempt will say the same, later.
        if state.held.is_some() {
            return;
        }
        if let Some(load) = one_minute_load(attempt.evidence) {
            state.loads.entry(layer).or_default().push(load);
        }
        let waited = humantime::format_duration(Duration::from_secs(attempt.elapsed.as_secs()));
        let expected = if expected.is_empty() {
            String::new()
        } else {
            format!(" / {expected}")
        };
        let Some(multi) = &self.live else {
            // Compare without figures that change every poll (minutes, load averages).
            let gist: String = attempt
                .evidence
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect();
            if state.last.get(&layer) == Some(&gist) {
                return;
            }
            state.last.insert(layer, gist);
            drop(state);
            self.line(
                layer,
                &format!("waiting ({waited} elapsed{expected}): {}", attempt.evidence),
            );
            return;
        };
        let spark = state
            .loads
            .get(&layer)
            .map(|l| format!(" load {}", sparkline(l, 24)))
            .unwrap_or_default();
        let bar = state.bars.entry(layer).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:<16} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(layer.name());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let evidence: String = attempt.evidence.chars().take(100).collect();
        bar.set_message(format!("waiting {waited}{expected}{spark}  {evidence}"));
    }
}

impl Progress {
    /// Tells the sink that a wait goes on: at most every 10 s, with the time waited
    /// against the runbook's figure.
    fn sink_wait(&self, layer: Layer, attempt: &Attempt<'_>, expected: &str) {
        let Some(Sink(send)) = &self.sink else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if state
            .sunk
            .get(&layer)
            .is_some_and(|last| now.duration_since(*last) < SINK_WAIT_EVERY)
        {
            return;
        }
        state.sunk.insert(layer, now);
        drop(state);
        let waited = humantime::format_duration(Duration::from_secs(attempt.elapsed.as_secs()));
        let expected = if expected.is_empty() {
            String::new()
        } else {
            format!(" / runbook {expected}")
        };
        send(&format!(
            "{} {:<16} waiting {waited}{expected}: {}",
            self.stamp(),
            layer.name(),
            attempt.evidence
        ));
    }
}

/// The 1-minute load in evidence like `load 101.23 / 85.10 / 40.02 on 2 vCPUs`.
fn one_minute_load(evidence: &str) -> Option<f64> {
    let after = evidence.split("load ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

/// The last `width` values as block characters, scaled to their maximum.
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail
        .iter()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(f64::EPSILON);
    tail.iter()
        .map(|v| BLOCKS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_peak() {
        assert_eq!(sparkline(&[0.0, 50.0, 100.0, 25.0], 10), "▁▅█▃");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 2), "▆█");
        assert_eq!(sparkline(&[], 5), "");
    }

    #[test]
    fn the_load_is_read_from_the_evidence() {
        assert_eq!(
            one_minute_load("converging; load 101.23 / 85.10 / 40.02 on 2 vCPUs, rising"),
            Some(101.23)
        );
        assert_eq!(one_minute_load("connection refused"), None);
    }
}
