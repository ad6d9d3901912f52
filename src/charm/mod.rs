//! The charm's side of the binary (DESIGN §3, "Actions"): how Juju starts it (a
//! `dispatch` shim with `JUJU_DISPATCH_PATH`, or an entry point named after an
//! action), its hook tools, and action results as Juju takes them. What each action
//! does lives with the commands ([`crate::commands::action`]).

pub mod config;
pub mod hook_tools;
pub mod params;
pub mod results;

use std::ffi::OsStr;
use std::path::Path;

use crate::env::Env;

/// The actions, as `actions.yaml` names them.
pub const ACTIONS: [&str; 9] = [
    "status", "plan", "restore", "park", "verify", "sweep", "headroom", "failover", "journal",
];

/// What Juju started the binary for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatched {
    /// An action, by name.
    Action(String),
    /// A hook, by name.
    Hook(String),
}

/// Whether Juju started it: run with no arguments (as the `dispatch` shim and an
/// action's entry point run it), `JUJU_DISPATCH_PATH` (`actions/<name>`,
/// `hooks/<name>`) first, then the name it was run as. With arguments it is the
/// command line, even inside a hook's environment (`juju exec`, debug-hooks). A
/// terminal or `TERM` decides nothing (Juju sets `TERM` for actions).
pub fn dispatched(env: &Env, argv0: &OsStr, arguments: usize) -> Option<Dispatched> {
    if arguments > 0 {
        return None;
    }
    if let Some(path) = env.get("JUJU_DISPATCH_PATH") {
        return match path.split_once('/') {
            Some(("actions", name)) => Some(Dispatched::Action(name.to_string())),
            Some(("hooks", name)) => Some(Dispatched::Hook(name.to_string())),
            _ => None,
        };
    }
    let name = Path::new(argv0).file_name()?.to_str()?;
    ACTIONS
        .contains(&name)
        .then(|| Dispatched::Action(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn juju_dispatches_by_path_then_by_name() {
        let env = |path: &str| Env::from_pairs([("JUJU_DISPATCH_PATH", path)]);
        let bin =
            OsStr::new("/var/lib/juju/agents/unit-capi-restore-0/charm/bin/juju-capi-restore");
        assert_eq!(
            dispatched(&env("actions/restore"), bin, 0),
            Some(Dispatched::Action("restore".into()))
        );
        assert_eq!(
            dispatched(&env("hooks/install"), bin, 0),
            Some(Dispatched::Hook("install".into()))
        );
        assert_eq!(
            dispatched(&Env::default(), bin, 0),
            None,
            "the plugin, run directly"
        );
        assert_eq!(
            dispatched(&Env::default(), OsStr::new("actions/status"), 0),
            Some(Dispatched::Action("status".into()))
        );
        // TERM is no sign of anything.
        assert_eq!(
            dispatched(&Env::from_pairs([("TERM", "tmux-256color")]), bin, 0),
            None
        );
        // With arguments, the command line, even in a hook's environment.
        assert_eq!(dispatched(&env("actions/restore"), bin, 1), None);
    }
}
