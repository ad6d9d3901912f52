//! The as-executed log: every run writes JSON lines under the XDG state directory
//! (`$XDG_STATE_HOME/juju-capi-restore/runs/`, mode 0600): each probe's evidence,
//! each decision, each action with its result, waits with their timings, and the
//! operator's confirmations. Never a secret: only rows, summaries and ids go in.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cloud::credentials::Env;

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
    /// `(run, outcome)`: `ACTIVE ...`, `ERROR ...`, a request error whose effect is
    /// unknown, or `no outcome recorded` when the run ended (or was killed) before it
    /// knew. A request recorded as `not started` does not count: nothing happened.
    pub fn last_failover(&self, lb: &str) -> Option<(String, String)> {
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
                    last = Some((run, "no outcome recorded".to_string()));
                } else if d["load_balancer"] == lb
                    && let Some(result) = d["result"].as_str()
                    && result != "accepted"
                {
                    last = if result.starts_with(NOT_STARTED) {
                        prior.clone()
                    } else {
                        Some((run, result.to_string()))
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
        failover(Some("ERROR after 15s"));
        assert_eq!(current.last_failover(lb).unwrap().1, "ERROR after 15s");
        // Refused by Octavia: nothing happened, the ERROR before it still stands.
        failover(Some("not started: 409 Conflict"));
        assert_eq!(current.last_failover(lb).unwrap().1, "ERROR after 15s");
        // Killed before the outcome: unknown, which is not a success.
        failover(None);
        assert_eq!(current.last_failover(lb).unwrap().1, "no outcome recorded");
        failover(Some("ACTIVE after 1m 48s"));
        assert!(current.last_failover(lb).unwrap().1.starts_with("ACTIVE"));
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
