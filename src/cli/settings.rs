//! The command line's global options resolved into [`Settings`], with the
//! environment's defaults applied.

use std::path::PathBuf;

use crate::env::Env;
use crate::settings::{Settings, Verbosity};
use crate::ui::Format;

use super::args::{FormatArg, GlobalArgs};

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
        action_log: false,
        credentials: None,
        prometheus_dir: env.get(crate::prometheus::DIR_VAR).map(PathBuf::from),
    }
}
