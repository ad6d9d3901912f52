//! One frame for every command that changes something (`restore`, `park`, `sweep`,
//! `failover`) and for `verify`: the connection, the run lock, the signal handler,
//! the journal from its start to its end, and the progress lines. The commands
//! differ in their middle only; how a run starts, is interrupted, ends or fails is
//! written (and journaled) here once.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::cloud::Session;
use crate::ending::{Ending, Stopped};
use crate::engine::run::Run;
use crate::env::Env;
use crate::error::ConfirmBy;
use crate::error::{NotConfirmed, Refused};
use crate::exit::ExitStatus;
use crate::journal::{End, Journal, Start};
use crate::layers::Probe;
use crate::lock::RunLock;
use crate::settings::{Settings, Verbosity};
use crate::site::Site;
use crate::ui::progress::{Progress, Sink};

/// A command's own options, as its journal's start records them.
pub type Options = BTreeMap<String, Value>;

/// The options `pairs` name, for [`Frame::open`].
pub fn options<const N: usize>(pairs: [(&str, Value); N]) -> Options {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// One command's frame.
pub struct Frame {
    /// The site file.
    pub site: Site,
    /// OpenStack, logged in to both scopes.
    pub session: Session,
    /// This run's journal.
    pub journal: Journal,
    /// Progress on stderr.
    pub progress: Progress,
    /// The state directory: the lock, the journals, the reports.
    pub state: std::path::PathBuf,
    /// How the operator confirms here: `--yes`, or an action's `confirm=true`.
    pub confirm_by: ConfirmBy,
    _lock: Option<RunLock>,
}

impl Frame {
    /// Connects, takes the run lock (another run holding it refuses, exit 3), listens
    /// for signals, and opens the journal with the run's start.
    pub async fn open(
        settings: &Settings,
        env: &Env,
        command: &str,
        options: Options,
    ) -> anyhow::Result<Frame> {
        let (site, session) = super::connect(settings, env).await?;
        let state = crate::state::for_site(env, &site);
        state.writable()?;
        Frame::on(site, session, settings, &state.path, command, options, true)
    }

    /// As [`Frame::open`] for a command that only observes (`verify`): no lock.
    pub async fn observing(settings: &Settings, env: &Env, command: &str) -> anyhow::Result<Frame> {
        let (site, session) = super::connect(settings, env).await?;
        let state = crate::state::for_site(env, &site);
        state.writable()?;
        Frame::on(
            site,
            session,
            settings,
            &state.path,
            command,
            Options::new(),
            false,
        )
    }

    /// The frame on a session already logged in, with its state under `state`
    /// (`demo`'s own directory).
    pub fn on(
        site: Site,
        session: Session,
        settings: &Settings,
        state: &Path,
        command: &str,
        options: Options,
        lock: bool,
    ) -> anyhow::Result<Frame> {
        let lock = if lock {
            Some(RunLock::acquire(state, command)?)
        } else {
            None
        };
        crate::interrupt::install();
        let mut journal = Journal::create_on(state, command, session.clock())?;
        if let Some(dir) = &settings.prometheus_dir {
            journal = journal.exporting(dir.clone(), crate::prometheus::export);
        }
        journal.start(Start {
            command: command.to_string(),
            time_scale: site.twin.map(|t| t.time_scale),
            cloud: Some(session.config().name.clone()),
            project: Some(site.management.project_id.to_string()),
            server: Some(site.management.server.clone()),
            options,
        });
        let mut progress =
            Progress::with(settings.verbosity == Verbosity::Quiet, !settings.progress)
                .on_clock(site.time_scale());
        if settings.action_log {
            progress = progress.with_sink(Sink::new(crate::charm::hook_tools::log_line));
        }
        Ok(Frame {
            site,
            session,
            journal,
            progress,
            state: state.to_path_buf(),
            confirm_by: if settings.action_log {
                ConfirmBy::Param
            } else {
                ConfirmBy::Flag
            },
            _lock: lock,
        })
    }

    /// The site and the session, once the run is over (`demo` verifies on them).
    pub fn into_parts(self) -> (Site, Session) {
        (self.site, self.session)
    }

    /// What a probe needs.
    pub fn probe(&self) -> Probe<'_> {
        Probe {
            session: &self.session,
            site: &self.site,
        }
    }

    /// A run of changes in this frame (`yes`: destructive steps confirmed up front).
    pub(crate) fn run(&self, yes: bool) -> Run<'_> {
        Run {
            confirm_by: self.confirm_by,
            ..Run::new(self.probe(), &self.journal, &self.progress, yes)
        }
    }

    /// When a signal asked the run to stop: its end journaled (with `end`'s facts)
    /// and its status (130/143).
    pub fn interrupted(&self, end: End) -> Option<ExitStatus> {
        let signal = crate::interrupt::requested()?;
        self.journal.end(End {
            interrupted_by_signal: Some(signal),
            ..end
        });
        Some(ExitStatus::of_signal(signal))
    }

    /// Ends the run with `ending`: journaled with its exit code, the stops and
    /// `end`'s facts; the journal's path said last. Returns its status.
    pub fn finish(&self, ending: &Ending, stops: &[Stopped], end: End) -> ExitStatus {
        self.journal.end(End {
            ending: Some(ending.clone()),
            exit_code: Some(ending.code()),
            stopped: Some(stops.to_vec()),
            ..end
        });
        eprintln!("journal: {}", self.journal.path().display());
        ending.status()
    }

    /// Journals the error that ended the command, by kind (not confirmed, a
    /// refusal, an error): every way out leaves an end in the journal.
    pub fn failed(&self, error: anyhow::Error) -> anyhow::Error {
        let first = error
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let end = if error.is::<NotConfirmed>() {
            let ending = Ending::NotConfirmed;
            let mut more = Options::new();
            more.insert("why".into(), Value::String(first));
            End {
                exit_code: Some(ending.code()),
                ending: Some(ending),
                more,
                ..End::default()
            }
        } else if let Some(Refused(why)) = error.downcast_ref::<Refused>() {
            // The reason alone: the journal's rendering says "refused: " itself.
            End {
                refused: Some(why.clone()),
                ..End::default()
            }
        } else {
            End {
                error: Some(first),
                ..End::default()
            }
        };
        self.journal.end(end);
        error
    }
}
