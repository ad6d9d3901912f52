//! Juju's hook tools for an action, as the unit agent puts them on PATH:
//! `action-get --format json` (params, validated and defaulted by Juju), `action-set`
//! (results), `action-log` (progress for `juju run`), `action-fail` (the failure
//! message: a non-zero exit would replace it with "exit status N"). Each runs through
//! the one process runner, arguments as a vector, stdin from /dev/null.

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
    /// `action-get` printed something that is not JSON.
    #[error("`action-get --format json` printed no JSON: {0}")]
    Garbage(String),
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

/// The hook tools of one action.
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

    /// The action's params.
    pub async fn params(&self) -> Result<Value, HookToolError> {
        let out = self
            .run(vec!["action-get".into(), "--format".into(), "json".into()])
            .await?;
        serde_json::from_str(out.trim()).map_err(|e| HookToolError::Garbage(e.to_string()))
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
