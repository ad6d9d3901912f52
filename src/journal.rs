//! The as-executed log: every run writes JSON lines under the XDG state directory
//! (`$XDG_STATE_HOME/juju-capi-restore/runs/`, mode 0600): each probe's evidence,
//! each decision, each action with its result, waits with their timings, and the
//! operator's confirmations. Never a secret: only rows, summaries and ids go in.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::env::Env;

/// The tool's state directory (`$XDG_STATE_HOME` or `~/.local/state`).
pub fn state_dir(env: &Env) -> PathBuf {
    // The XDG spec ignores a relative XDG_STATE_HOME; so does this, rather than put the
    // lock and the journal wherever the command happens to run.
    env.get("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env.get("HOME").map(|h| Path::new(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("juju-capi-restore")
}

/// How a failover request that changed nothing is recorded (Octavia refused it).
pub const NOT_STARTED: &str = "not started";

/// How a failover ended: what the journal records and the never-retry rule reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum FailoverOutcome {
    /// Back to ACTIVE after `took_s` seconds.
    Active {
        /// Seconds, by Octavia's clock where it gives one; null when the run that
        /// sent it did not see its end.
        took_s: Option<u64>,
    },
    /// Ended in provisioning ERROR after `took_s` seconds.
    Failed {
        /// Seconds, by Octavia's clock where it gives one; null when the run that
        /// sent it did not see its end.
        took_s: Option<u64>,
        /// Early (NoValidHost) or late.
        class: FailureClass,
    },
    /// The request changed nothing: refused, or unchanged after a failed request.
    NotStarted,
    /// The run ended before it knew (killed, interrupted, a lost answer).
    Unknown,
}

impl FailoverOutcome {
    /// Whether this outcome bars an automatic failover: anything but ACTIVE
    /// (a request that started nothing is not a failover at all).
    pub fn bars_a_retry(&self) -> bool {
        matches!(
            self,
            FailoverOutcome::Failed { .. } | FailoverOutcome::Unknown
        )
    }
}

impl FailoverOutcome {
    /// The outcome an action entry records: its typed `outcome`, else (journals
    /// written before it was typed) read from its `result` words. `None`: not an
    /// outcome (the request was only accepted).
    fn recorded(detail: &Value) -> Option<FailoverOutcome> {
        if let Ok(outcome) = FailoverOutcome::deserialize(&detail["outcome"]) {
            return Some(outcome);
        }
        let result = detail["result"].as_str()?;
        let took_s = detail["took_s"].as_u64();
        Some(if result == "accepted" {
            return None;
        } else if result.starts_with("ACTIVE") {
            FailoverOutcome::Active { took_s }
        } else if result.starts_with("ERROR") {
            FailoverOutcome::Failed {
                took_s,
                class: match took_s {
                    Some(s) if s <= 20 => FailureClass::FastFail,
                    Some(_) => FailureClass::Late,
                    None => FailureClass::Unseen,
                },
            }
        } else if result.starts_with(NOT_STARTED) {
            FailoverOutcome::NotStarted
        } else {
            // A request error: whether Octavia started it is not known.
            FailoverOutcome::Unknown
        })
    }
}

/// Where in Octavia's flow a failover failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// Within the fast-fail figure (20 s): an early-flow failure, usually NoValidHost.
    FastFail,
    /// Later: amphora boot, network plumbing or the amphora agent.
    Late,
    /// Its end was seen afterwards, by another run: when it failed is not known.
    Unseen,
}

/// One run's journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    started: Instant,
    run: String,
}

/// A journal entry's kind.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// The run began.
    Start,
    /// A layer was observed.
    Probe,
    /// What was decided for a layer.
    Decision,
    /// Something was changed.
    Action,
    /// A wait's progress or end.
    Wait,
    /// The operator confirmed or declined.
    Confirmation,
    /// The run ended.
    End,
}

impl Journal {
    /// Opens a new journal for a run of `command` under `dir`/runs.
    pub fn create(dir: &Path, command: &str) -> Result<Journal, crate::files::FileError> {
        let runs = dir.join("runs");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&runs)
            .map_err(crate::files::FileError::on(
                &runs,
                "create the journal directory",
            ))?;
        let now = jiff::Timestamp::now();
        let run = format!(
            "{}-{command}-{}",
            now.strftime("%Y%m%dT%H%M%SZ"),
            std::process::id()
        );
        let path = runs.join(format!("{run}.jsonl"));
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(crate::files::FileError::on(&path, "create the journal"))?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
            started: Instant::now(),
            run,
        })
    }

    /// Where it is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run's id.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// A change, journaled as requested before it is sent and with its result after
    /// (`accepted`, or the error's first line): a kill between the two leaves a
    /// journal that says the change may have happened. `request` names it
    /// (`"request"`) and its target (`"server"` or `"load_balancer"`).
    pub async fn change<T, E: std::fmt::Display>(
        &self,
        layer: &str,
        request: Value,
        call: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.record(Event::Action, Some(layer), json!({"requested": request}));
        let result = call.await;
        let mut outcome = json!({
            "request": request["request"],
            "result": match &result {
                Ok(_) => "accepted".to_string(),
                Err(e) => e.to_string().lines().next().unwrap_or_default().to_string(),
            },
        });
        for key in ["server", "load_balancer"] {
            if !request[key].is_null() {
                outcome[key] = request[key].clone();
            }
        }
        self.record(Event::Action, Some(layer), outcome);
        result
    }

    /// The last failover of load balancer `lb` recorded by an earlier run, as
    /// `(run, outcome)`: unknown when the run ended (or was killed) before it knew,
    /// or its request failed with an effect nobody saw. A request that started
    /// nothing does not count: nothing happened.
    pub fn last_failover(&self, lb: &str) -> Option<(String, FailoverOutcome)> {
        let dir = self.path.parent()?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p != &self.path && p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        // Run ids start with their UTC start time: name order is time order.
        files.sort();
        let mut last = None;
        let mut prior = None;
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for line in text.lines().filter(|l| l.contains("loadbalancer failover")) {
                let Ok(entry) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                let d = &entry["detail"];
                let run = entry["run"].as_str().unwrap_or_default().to_string();
                if d["requested"]["load_balancer"] == lb {
                    prior = last.clone();
                    last = Some((run, FailoverOutcome::Unknown));
                } else if d["load_balancer"] == lb
                    && let Some(outcome) = FailoverOutcome::recorded(d)
                {
                    last = match outcome {
                        FailoverOutcome::NotStarted => prior.clone(),
                        outcome => Some((run, outcome)),
                    };
                }
            }
        }
        last
    }

    /// Appends one entry; a journal that cannot be written is reported once on
    /// stderr and never stops the run.
    pub fn record(&self, event: Event, layer: Option<&str>, detail: Value) {
        let entry = json!({
            "at": jiff::Timestamp::now().to_string(),
            "elapsed_s": (self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "run": self.run,
            "event": event,
            "layer": layer,
            "detail": detail,
        });
        // One write per entry: a kill never leaves half a line.
        let line = format!("{entry}\n");
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            tracing::warn!("cannot write the journal `{}`: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_last_failover_is_read_across_runs_and_a_refusal_does_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let lb = "0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17";
        let current = Journal::create(dir.path(), "restore").unwrap();
        let runs = current.path().parent().unwrap().to_path_buf();
        // Earlier runs, written as Journal writes them; their names sort by time.
        let mut n = 0;
        let mut failover = |result: Option<&str>| {
            n += 1;
            let run = format!("20260101T0000{n:02}Z-failover-1");
            let entry = |detail: Value| {
                format!(
                    "{}\n",
                    json!({"run": run, "event": "action", "layer": "load-balancers", "detail": detail})
                )
            };
            let mut text = entry(
                json!({"requested": {"request": "loadbalancer failover", "load_balancer": lb}}),
            );
            text += &entry(
                json!({"request": "loadbalancer failover", "load_balancer": lb, "result": "accepted"}),
            );
            if let Some(r) = result {
                text += &entry(
                    json!({"request": "loadbalancer failover", "load_balancer": lb, "result": r}),
                );
            }
            std::fs::write(runs.join(format!("{run}.jsonl")), text).unwrap();
        };
        assert_eq!(current.last_failover(lb), None);
        let failed = FailoverOutcome::Failed {
            took_s: None,
            class: FailureClass::Unseen,
        };
        failover(Some("ERROR after 15s"));
        assert_eq!(current.last_failover(lb).unwrap().1, failed);
        // Refused by Octavia: nothing happened, the ERROR before it still stands.
        failover(Some("not started: 409 Conflict"));
        assert_eq!(current.last_failover(lb).unwrap().1, failed);
        // Killed before the outcome: unknown, which is not a success.
        failover(None);
        assert_eq!(
            current.last_failover(lb).unwrap().1,
            FailoverOutcome::Unknown
        );
        // A request error: its effect unknown.
        failover(Some("octavia answered 503"));
        assert_eq!(
            current.last_failover(lb).unwrap().1,
            FailoverOutcome::Unknown
        );
        failover(Some("ACTIVE after 1m 48s"));
        assert_eq!(
            current.last_failover(lb).unwrap().1,
            FailoverOutcome::Active { took_s: None }
        );
        assert_eq!(current.last_failover("another"), None);
    }

    #[test]
    fn entries_are_json_lines_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), "restore").unwrap();
        j.record(
            Event::Decision,
            Some("vm"),
            json!({"action": "start-server"}),
        );
        let text = std::fs::read_to_string(j.path()).unwrap();
        let entry: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(
            (entry["event"].as_str(), entry["layer"].as_str()),
            (Some("decision"), Some("vm"))
        );
        assert_eq!(
            std::fs::metadata(j.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(dir.path().join("runs"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
}
