//! The as-executed log: every run writes JSON lines under the XDG state directory
//! (`$XDG_STATE_HOME/juju-capi-restore/runs/`, mode 0600): each probe's evidence,
//! each decision, each action with its result, waits with their timings, and the
//! operator's confirmations, as typed [`Entry`] values ([`entry`]), written and read
//! back as those types. Never a secret: only rows, summaries and ids go in.

pub mod entry;

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

pub use entry::{
    Action, ActionResult, Confirmation, Decided, End, Entry, FailoverOutcome, FailureClass, Line,
    Probe, Request, Start, Wait,
};

use crate::clock::Clock;
use crate::layers::Layer;

/// How a failover request that changed nothing is recorded (Octavia refused it).
pub const NOT_STARTED: &str = "not started";

/// One run's journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    started: Instant,
    run: String,
    clock: Clock,
    /// Called with a directory and this journal's path once the end is written
    /// (the Prometheus textfile).
    on_end: Option<(PathBuf, Export)>,
}

/// What is called with a directory and a journal's path once its end is written.
pub type Export = fn(&Path, &Path);

impl Request {
    /// A request with no target yet.
    pub fn new(request: &str) -> Request {
        Request {
            request: request.to_string(),
            server: None,
            load_balancer: None,
            more: Default::default(),
        }
    }

    /// Aimed at a server.
    pub fn server(mut self, id: &str) -> Request {
        self.server = Some(id.to_string());
        self
    }

    /// Aimed at a load balancer.
    pub fn load_balancer(mut self, id: &str) -> Request {
        self.load_balancer = Some(id.to_string());
        self
    }

    /// With one more fact (`scope`, `name`, `from`, ...).
    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Request {
        add_fact(&mut self.more, key, value);
        self
    }
}

impl ActionResult {
    /// The result of `request`, in words.
    pub fn of(request: &Request, result: impl Into<String>) -> ActionResult {
        ActionResult {
            request: request.request.clone(),
            result: result.into(),
            server: request.server.clone(),
            load_balancer: request.load_balancer.clone(),
            outcome: None,
            more: Default::default(),
        }
    }

    /// With a failover's outcome.
    pub fn outcome(mut self, outcome: FailoverOutcome) -> ActionResult {
        self.outcome = Some(outcome);
        self
    }

    /// With one more fact (`took_s`, `vip`, ...).
    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> ActionResult {
        add_fact(&mut self.more, key, value);
        self
    }
}

/// One more fact in an entry's open map.
fn add_fact(
    more: &mut std::collections::BTreeMap<String, serde_json::Value>,
    key: &str,
    value: impl serde::Serialize,
) {
    more.insert(
        key.to_string(),
        serde_json::to_value(value).unwrap_or_default(),
    );
}

impl Journal {
    /// Opens a new journal for a run of `command` under `dir`/runs.
    pub fn create(dir: &Path, command: &str) -> Result<Journal, crate::files::FileError> {
        Journal::create_on(dir, command, Clock::system())
    }

    /// As [`Journal::create`], on `clock` (its timestamps and the run's id).
    pub fn create_on(
        dir: &Path,
        command: &str,
        clock: Clock,
    ) -> Result<Journal, crate::files::FileError> {
        let runs = dir.join("runs");
        crate::state::make_dir(&runs, 0o700).map_err(crate::files::FileError::on(
            &runs,
            "create the journal directory",
        ))?;
        let now = clock.now();
        let run = format!(
            "{}-{command}-{}",
            now.strftime("%Y%m%dT%H%M%SZ"),
            std::process::id()
        );
        let path = runs.join(format!("{run}.jsonl"));
        // Owner-only; the group's too in the shared site-wide directory, where the
        // other entry points read it for the never-retry memory.
        let mode = crate::state::file_mode(&runs, 0o600);
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(crate::files::FileError::on(&path, "create the journal"))?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(crate::files::FileError::on(&path, "set the journal's mode"))?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
            started: Instant::now(),
            run,
            clock,
            on_end: None,
        })
    }

    /// Calls `export(dir, path)` once the run's end is journaled.
    pub fn exporting(mut self, dir: PathBuf, export: Export) -> Journal {
        self.on_end = Some((dir, export));
        self
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
    /// journal that says the change may have happened.
    pub async fn change<T, E: std::fmt::Display>(
        &self,
        layer: Layer,
        request: Request,
        call: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.record(
            Some(layer),
            Entry::Action(Action::Requested {
                requested: request.clone(),
            }),
        );
        let result = call.await;
        let said = match &result {
            Ok(_) => "accepted".to_string(),
            Err(e) => e.to_string().lines().next().unwrap_or_default().to_string(),
        };
        self.action(layer, ActionResult::of(&request, said));
        result
    }

    /// Records a change's result (or what became of it).
    pub fn action(&self, layer: Layer, result: ActionResult) {
        self.record(Some(layer), Entry::Action(Action::Result(result)));
    }

    /// Records a layer's row as observed.
    pub fn probe(&self, row: &crate::layers::Row) {
        self.record(Some(row.layer), Entry::Probe(Probe::row(row)));
    }

    /// Records a decision.
    pub fn decided(&self, layer: Option<Layer>, decided: Decided) {
        self.record(layer, Entry::Decision(decided));
    }

    /// Records a question and its answer.
    pub fn confirmation(&self, question: &str, answer: &str) {
        self.record(
            None,
            Entry::Confirmation(Confirmation {
                question: question.to_string(),
                answer: answer.to_string(),
            }),
        );
    }

    /// Records the run's start.
    pub fn start(&self, start: Start) {
        self.record(None, Entry::Start(start));
    }

    /// Records the run's end.
    pub fn end(&self, end: End) {
        self.record(None, Entry::End(end));
        if let Some((dir, export)) = &self.on_end {
            export(dir, &self.path);
        }
    }

    /// The last failover of load balancer `lb` recorded by an earlier run, as
    /// `(run, outcome)`: unknown when the run ended (or was killed) before it knew,
    /// or its request failed with an effect nobody saw. A request that started
    /// nothing does not count: nothing happened.
    pub fn last_failover(&self, lb: &str) -> Option<Remembered> {
        let dir = self.path.parent()?;
        let mut last = None;
        let mut prior = None;
        for file in runs(dir).into_iter().filter(|p| p != &self.path) {
            for line in read(&file).lines {
                match line.entry {
                    Entry::Action(Action::Requested { requested })
                        if requested.request == FAILOVER
                            && requested.load_balancer.as_deref() == Some(lb) =>
                    {
                        prior = last.clone();
                        last = Some(Remembered {
                            run: line.run,
                            outcome: FailoverOutcome::Unknown,
                            said: "no outcome recorded".into(),
                        });
                    }
                    Entry::Action(Action::Result(result))
                        if result.request == FAILOVER
                            && result.load_balancer.as_deref() == Some(lb) =>
                    {
                        last = match FailoverOutcome::recorded(&result) {
                            None => last,
                            Some(FailoverOutcome::NotStarted) => prior.clone(),
                            Some(outcome) => Some(Remembered {
                                run: line.run,
                                outcome,
                                said: result.result,
                            }),
                        };
                    }
                    _ => {}
                }
            }
        }
        last
    }

    /// Appends one entry; a journal that cannot be written is reported once on
    /// stderr and never stops the run.
    pub fn record(&self, layer: Option<Layer>, entry: Entry) {
        let line = Line {
            at: self.clock.now().to_string(),
            elapsed_s: (self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            run: self.run.clone(),
            layer,
            entry,
        };
        let Ok(text) = serde_json::to_string(&line) else {
            return;
        };
        // One write per entry: a kill never leaves half a line.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(format!("{text}\n").as_bytes()) {
            tracing::warn!("cannot write the journal `{}`: {e}", self.path.display());
        }
    }
}

/// What the journal remembers of a load balancer's last failover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// The run that recorded it.
    pub run: String,
    /// How it ended.
    pub outcome: FailoverOutcome,
    /// As that run said it (its `result`).
    pub said: String,
}

/// The request a failover is journaled as.
pub const FAILOVER: &str = "loadbalancer failover";

/// The journals under a `runs` directory, oldest first (run ids start with their UTC
/// start time: name order is time order).
pub fn runs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A journal read back.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// Its lines, typed.
    pub lines: Vec<Line>,
    /// Lines that are not an entry this release knows (a torn write, another
    /// tool's line): counted, never guessed at.
    pub unreadable: usize,
}

/// Reads a journal (an unreadable file reads as empty).
pub fn read(path: &Path) -> Read {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut read = Read::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Line>(line) {
            Ok(l) => read.lines.push(l),
            Err(_) => read.unreadable += 1,
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
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
                    json!({"at": "2026-01-01T00:00:00Z", "elapsed_s": 1.0, "run": run, "event": "action", "layer": "load-balancers", "detail": detail})
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
        assert_eq!(current.last_failover(lb).unwrap().outcome, failed);
        // Refused by Octavia: nothing happened, the ERROR before it still stands.
        failover(Some("not started: 409 Conflict"));
        assert_eq!(current.last_failover(lb).unwrap().outcome, failed);
        // Killed before the outcome: unknown, which is not a success.
        failover(None);
        assert_eq!(
            current.last_failover(lb).unwrap().outcome,
            FailoverOutcome::Unknown
        );
        // A request error: its effect unknown.
        failover(Some("octavia answered 503"));
        assert_eq!(
            current.last_failover(lb).unwrap().outcome,
            FailoverOutcome::Unknown
        );
        failover(Some("ACTIVE after 1m 48s"));
        assert_eq!(
            current.last_failover(lb).unwrap().outcome,
            FailoverOutcome::Active { took_s: None }
        );
        assert_eq!(current.last_failover("another"), None);
    }

    /// A journal written by release 0.1 (before entries were typed): a restore whose
    /// failover failed fast.
    const V0_1: &str = include_str!("../../tests/fixtures/journal-v0.1-restore-fast-fail.jsonl");

    #[test]
    fn a_journal_from_the_release_before_reads_typed_and_still_bars_a_retry() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        std::fs::create_dir_all(&runs).unwrap();
        let old = runs.join("20261201T190257Z-restore-12942.jsonl");
        std::fs::write(&old, V0_1).unwrap();
        let read = read(&old);
        assert_eq!(
            read.unreadable, 0,
            "every line of the older release reads typed"
        );
        assert_eq!(read.lines.len(), V0_1.lines().count());
        assert!(matches!(&read.lines[0].entry, Entry::Start(s) if s.command == "restore"));
        assert!(read.lines.iter().any(|l| matches!(
            &l.entry,
            Entry::End(End {
                ending: Some(crate::ending::Ending::Red {
                    layer: Layer::LoadBalancers
                }),
                ..
            })
        )));
        // Written back, each line is the line it was read from (as JSON values).
        for (line, text) in read.lines.iter().zip(V0_1.lines()) {
            let again = serde_json::to_value(line).unwrap();
            let was: Value = serde_json::from_str(text).unwrap();
            assert_eq!(again, was);
        }
        // The never-retry memory reads its failover as the fast fail it was.
        let now = Journal::create(dir.path(), "restore").unwrap();
        assert_eq!(
            now.last_failover("0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17"),
            Some(Remembered {
                run: "20261201T190257Z-restore-12942".to_string(),
                outcome: FailoverOutcome::Failed {
                    took_s: Some(15),
                    class: FailureClass::FastFail
                },
                said: "ERROR after 15s".into(),
            })
        );
    }

    #[test]
    fn an_older_parks_filing_reads_without_a_result() {
        // Release 0.1 journaled the filing as a request with no result.
        let line = r#"{"at":"2026-11-30T07:00:00Z","elapsed_s":0.5,"run":"r","event":"action","layer":null,"detail":{"request":"file secrets","destination":"/root/sweep-20261130/secrets/capi-mgmt.kubeconfig"}}"#;
        let read: Line = serde_json::from_str(line).unwrap();
        assert!(matches!(
            &read.entry,
            Entry::Action(Action::Result(r)) if r.request == "file secrets" && r.more["destination"] == "/root/sweep-20261130/secrets/capi-mgmt.kubeconfig"
        ));
        let again = serde_json::to_value(&read).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(line).unwrap());
    }

    #[test]
    fn a_fixed_clock_dates_the_run_and_its_entries() {
        let dir = tempfile::tempdir().unwrap();
        let at: jiff::Timestamp = "2026-06-10T07:00:00Z".parse().unwrap();
        let j = Journal::create_on(dir.path(), "restore", Clock::fixed(at)).unwrap();
        assert!(
            j.run().starts_with("20260610T070000Z-restore-"),
            "{}",
            j.run()
        );
        j.confirmation("go?", "yes");
        let read = read(j.path());
        assert_eq!(read.lines[0].at, "2026-06-10T07:00:00Z");
    }

    #[test]
    fn entries_are_json_lines_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), "restore").unwrap();
        j.decided(
            Some(Layer::Vm),
            Decided::Step {
                action: "start-server".into(),
                what: "start it".into(),
                decision: Some(crate::layers::Decision::Start),
            },
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
