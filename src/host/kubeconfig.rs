//! The management kubeconfig (runbook: "kubeconfig missing? Re-emit", phase-06 Step
//! 6.5). Fetched over ssh with `sudo k8s config --server https://FIP:6443`: the
//! runbook's `server=https://...` is a bare argument the CLI ignores, which leaves
//! the node's internal address in the file; `--server` is the flag it reads.

use std::path::Path;

use super::ssh::{RemoteCommand, SshError, SshTarget};
use crate::files::replace_private;
use crate::site::Site;

/// Why no kubeconfig could be had.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// ssh failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// `k8s config` failed on the VM (k8sd not up yet, usually).
    #[error(
        "`{command_line}` failed on the management VM (exit {code}): {stderr_tail}\nKubernetes must be up first (the `kubernetes` layer)"
    )]
    Remote {
        /// The full command line.
        command_line: String,
        /// Exit code, or how the process ended.
        code: String,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// It printed something that is not a kubeconfig.
    #[error("`sudo k8s config` printed no kubeconfig (it starts: {start:?})")]
    NotAKubeconfig {
        /// The first characters.
        start: String,
    },
    /// The file could not be written.
    #[error("cannot write the kubeconfig to `{path}`: {source}")]
    Write {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Fetches a fresh admin kubeconfig from the management VM.
pub async fn fetch(site: &Site) -> Result<String, KubeconfigError> {
    let target = SshTarget::from_site(site);
    let finished = target
        .run(RemoteCommand::Kubeconfig(site.management.floating_ip))
        .await?;
    if finished.code() != Some(0) {
        return Err(KubeconfigError::Remote {
            command_line: finished.command_line.clone(),
            code: finished
                .code()
                .map_or_else(|| finished.status.to_string(), |c| c.to_string()),
            stderr_tail: finished.stderr_tail(),
        });
    }
    if !finished.stdout.contains("apiVersion") || !finished.stdout.contains("clusters") {
        // Only the first words: a kubeconfig-like answer may carry credentials.
        return Err(KubeconfigError::NotAKubeconfig {
            start: finished.stdout.chars().take(20).collect(),
        });
    }
    Ok(finished.stdout)
}

/// Fetches and writes it to `path`, atomically, mode 0600; returns what it wrote.
pub async fn emit(site: &Site, path: &Path) -> Result<String, KubeconfigError> {
    let text = fetch(site).await?;
    replace_private(path, &text).map_err(|source| KubeconfigError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text)
}

/// The server URL a kubeconfig points at.
pub fn server(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("server:"))
        .map(str::trim)
}
