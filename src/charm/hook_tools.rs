//! Juju's hook tools, as the unit agent puts them on PATH. For an action:
//! `action-get --format json` (params, validated and defaulted by Juju), `action-set`
//! (results), `action-log` (progress for `juju run`), `action-fail` (the failure
//! message: a non-zero exit would replace it with "exit status N"). For hooks and
//! actions alike: `config-get`, `secret-get` (a secret's content, never logged),
//! `status-set` and `juju-log`. Each runs through the one process runner, arguments
//! as a vector, stdin from /dev/null.

use std::time::Duration;

use serde_json::Value;

use super::results::Results;
use crate::exec::{ExecError, Invocation};

/// How long one hook tool may take (they answer from the local agent).
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// A hook tool that failed.
#[derive(Debug, thiserror::Error)]
pub enum HookToolError {
    /// It could not be run (not in a hook or action context: not on PATH).
    #[error("{0}; the charm's actions run only under Juju (`juju run capi-restore/0 ...`)")]
    Exec(#[from] ExecError),
    /// It ran and refused.
    #[error("`{command}` failed: {stderr}")]
    Refused {
        /// The command line.
        command: String,
        /// What it said.
        stderr: String,
    },
    /// A tool asked for JSON printed something else.
    #[error("`{tool} --format json` printed no JSON: {detail}")]
    Garbage {
        /// Which tool.
        tool: &'static str,
        /// The parser's message.
        detail: String,
    },
}

/// Sends one progress line to `action-log`, from wherever the run is (blocking, a
/// few milliseconds: the tool answers from the local agent). A line that cannot be
/// sent is dropped: progress never stops a run.
pub fn log_line(line: &str) {
    let _ = std::process::Command::new("action-log")
        .arg(line)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// A unit's workload status, as `status-set` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadStatus {
    /// The charm is doing something to the unit.
    Maintenance,
    /// An operator must act.
    Blocked,
    /// Waiting on something outside the operator's hands.
    Waiting,
    /// All is well.
    Active,
}

impl WorkloadStatus {
    /// The word `status-set` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadStatus::Maintenance => "maintenance",
            WorkloadStatus::Blocked => "blocked",
            WorkloadStatus::Waiting => "waiting",
            WorkloadStatus::Active => "active",
        }
    }
}

/// The hook tools of one hook or action.
#[derive(Debug, Clone, Default)]
pub struct HookTools;

impl HookTools {
    async fn run(&self, argv: Vec<String>) -> Result<String, HookToolError> {
        let finished = Invocation::new(argv, TOOL_TIMEOUT).run().await?;
        if finished.code() != Some(0) {
            return Err(HookToolError::Refused {
                command: finished.command_line.clone(),
                stderr: finished.stderr_tail(),
            });
        }
        Ok(finished.stdout)
    }

    async fn json(&self, tool: &'static str, args: &[&str]) -> Result<Value, HookToolError> {
        let mut argv = vec![tool.to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv.extend(["--format".into(), "json".into()]);
        let out = self.run(argv).await?;
        serde_json::from_str(out.trim()).map_err(|e| HookToolError::Garbage {
            tool,
            // serde's message names a position, never the text.
            detail: e.to_string(),
        })
    }

    /// The action's params (their types checked again by [`super::params::Params`]).
    pub async fn params(&self) -> Result<Value, HookToolError> {
        self.json("action-get", &[]).await
    }

    /// The charm's configuration (`config-get --format json`).
    pub async fn config(&self) -> Result<Value, HookToolError> {
        self.json("config-get", &[]).await
    }

    /// The content of the secret `uri` (`secret-get URI --format json`). Its value
    /// is a secret: callers keep it in memory or in a root-only file, nowhere else.
    /// A refusal's stderr is Juju's one line (`ERROR permission denied`, `ERROR
    /// secret "..." not found`), which holds no content.
    pub async fn secret(&self, uri: &str) -> Result<Value, HookToolError> {
        self.json("secret-get", &[uri]).await
    }

    /// Sets the unit's workload status (`maintenance`, `blocked`, `waiting`, `active`).
    pub async fn status(&self, status: WorkloadStatus, message: &str) -> Result<(), HookToolError> {
        self.run(vec![
            "status-set".into(),
            status.as_str().into(),
            message.into(),
        ])
        .await
        .map(|_| ())
    }

    /// One line to the unit's log (`juju debug-log`).
    pub async fn juju_log(&self, level: &str, message: &str) -> Result<(), HookToolError> {
        self.run(vec![
            "juju-log".into(),
            "-l".into(),
            level.into(),
            message.into(),
        ])
        .await
        .map(|_| ())
    }

    /// Sets the results, in one call.
    pub async fn set(&self, results: &Results) -> Result<(), HookToolError> {
        let mut argv = vec!["action-set".to_string()];
        argv.extend(results.arguments());
        self.run(argv).await.map(|_| ())
    }

    /// Streams one progress message to `juju run`.
    pub async fn log(&self, message: &str) -> Result<(), HookToolError> {
        self.run(vec!["action-log".into(), message.into()])
            .await
            .map(|_| ())
    }

    /// Fails the action with `message` (the process then exits 0).
    pub async fn fail(&self, message: &str) -> Result<(), HookToolError> {
        self.run(vec!["action-fail".into(), message.into()])
            .await
            .map(|_| ())
    }
}
