//! Resolved settings: what every command takes, with the environment's defaults
//! applied (the command line resolves into these; commands never see clap types).

use std::path::PathBuf;

use crate::ui::Format;

/// How chatty stderr is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Progress and warnings.
    Normal,
    /// Decisions and calls.
    Verbose,
    /// Every HTTP request.
    Debug,
}

/// Resolved global settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The site file.
    pub site_path: PathBuf,
    /// The clouds.yaml cloud asked for.
    pub cloud: Option<String>,
    /// Output format.
    pub format: Format,
    /// stderr verbosity.
    pub verbosity: Verbosity,
    /// Live progress allowed.
    pub progress: bool,
    /// Unattended (no terminal on stdout or stderr), no `-f` and no `-v`: `restore`
    /// and `park` end with a summary fit for cron mail instead of the whole report.
    pub summary: bool,
    /// A charm action: every progress line also goes to `action-log` (waits at most
    /// every 10 s), so `juju run` shows it as it happens.
    pub action_log: bool,
    /// The cloud as the charm's `credentials` secret gives it (kept in memory);
    /// None: from clouds.yaml, `OS_*` or the keyring.
    pub credentials: Option<crate::cloud::credentials::CloudConfig>,
    /// Where each run's metrics go for node-exporter's textfile collector
    /// (`$JUJU_CAPI_RESTORE_PROM_DIR`); None: nowhere.
    pub prometheus_dir: Option<PathBuf>,
}
