//! Command-line types resolved into plain settings, with the environment's defaults
//! applied. Commands take these, never clap types.

use std::path::PathBuf;

use crate::cloud::credentials::Env;
use crate::ui::Format;

use super::args::{FormatArg, GlobalArgs};

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
}

impl Settings {
    /// Applies defaults: the site file lives in the user's config directory.
    pub fn resolve(args: GlobalArgs, env: &Env) -> Settings {
        let site_path = args.site.unwrap_or_else(|| {
            env.config_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("juju-capi-restore")
                .join("site.yaml")
        });
        Settings {
            site_path,
            cloud: args.cloud,
            format: match args.format {
                None | Some(FormatArg::Table) => Format::Table,
                Some(FormatArg::Json) => Format::Json,
                Some(FormatArg::Yaml) => Format::Yaml,
            },
            summary: {
                use std::io::IsTerminal;
                args.format.is_none()
                    && args.verbose == 0
                    && !std::io::stdout().is_terminal()
                    && !std::io::stderr().is_terminal()
            },
            verbosity: match (args.quiet, args.verbose) {
                (true, _) => Verbosity::Quiet,
                (false, 0) => Verbosity::Normal,
                (false, 1) => Verbosity::Verbose,
                _ => Verbosity::Debug,
            },
            progress: !args.no_progress,
        }
    }
}
