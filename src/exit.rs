//! Exit codes, decided in one place.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: every layer green (or yellow) |
//! | 1 | internal error |
//! | 2 | bad input or configuration: site file, clouds.yaml, credentials, arguments |
//! | 3 | refused: another run holds the lock, a pre-check refused, or a destructive step was not confirmed (no terminal and no `--yes`) |
//! | 4 | a cloud API failed or answered garbage |
//! | 10–18 | a layer is still red: 10 vm, 11 ssh, 12 kubernetes, 13 capi-controllers, 14 amphorae, 15 headroom, 16 load-balancers, 17 capo, 18 magnum (the lowest one) |
//! | 130 / 143 | interrupted (Ctrl-C) / terminated (SIGTERM) |

use std::process::ExitCode;

use crate::cloud::ApiError;
use crate::cloud::credentials::CredentialError;
use crate::engine::restore::{StopCause, Stopped};
use crate::exec::ExecError;
use crate::host::kubeconfig::KubeconfigError;
use crate::host::ssh::SshError;
use crate::layers::Layer;
use crate::site::SiteError;

/// Success.
pub const SUCCESS: u8 = 0;
/// Internal error.
pub const INTERNAL: u8 = 1;
/// Bad input or configuration.
pub const BAD_INPUT: u8 = 2;
/// Refused.
pub const REFUSED: u8 = 3;
/// A cloud API failed.
pub const CLOUD: u8 = 4;

/// How a run ended: the one value its closing line, the end of its journal and its
/// exit code all come from, so they cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Ending {
    /// Every layer in scope is green (or yellow).
    Green,
    /// A layer could not be made green (the lowest one, where a branch stopped or
    /// what is still red).
    Red {
        /// The layer.
        layer: Layer,
    },
    /// Nothing failed, but a destructive step was not confirmed: run again with
    /// `--yes` (or answer on a terminal).
    NotConfirmed,
    /// The lowest layer that is not green could not be observed: a cloud API failed.
    Unobserved {
        /// The layer.
        layer: Layer,
    },
}

impl Ending {
    /// From where a run's branches stopped and what is still red in scope: a fault
    /// outranks "not confirmed", so a cron job is never told to add `--yes` when
    /// something is broken.
    pub fn of(stops: &[Stopped], still_red: Option<Layer>) -> Ending {
        Ending::observed(stops, still_red.as_slice(), None)
    }

    /// As [`Ending::of`], from every layer still red and the lowest one a failed
    /// call left unobserved. A red layer that rests on a step nobody confirmed is
    /// that step's doing, not a fault; an unobserved layer below every red one means
    /// "could not see", not "red".
    pub fn observed(stops: &[Stopped], red: &[Layer], unobserved: Option<Layer>) -> Ending {
        let unconfirmed: Vec<Layer> = stops
            .iter()
            .filter(|s| s.cause == StopCause::NotConfirmed)
            .map(|s| s.layer)
            .collect();
        let excused = |layer: &Layer| {
            unconfirmed
                .iter()
                .any(|u| crate::engine::plan::rests_on(*layer, *u))
        };
        let fault = stops
            .iter()
            .filter(|s| s.cause == StopCause::Fault)
            .map(|s| s.layer)
            .chain(red.iter().copied().filter(|l| !excused(l)))
            .min();
        match (fault, unobserved) {
            (red, Some(layer)) if red.is_none_or(|r| layer < r) => Ending::Unobserved { layer },
            (Some(layer), _) => Ending::Red { layer },
            (None, _) if stops.iter().any(|s| s.cause == StopCause::NotConfirmed) => {
                Ending::NotConfirmed
            }
            (None, _) => Ending::Green,
        }
    }

    /// The exit code (README's table).
    pub fn code(&self) -> u8 {
        match self {
            Ending::Green => SUCCESS,
            Ending::Red { layer } => layer.exit_code(),
            Ending::NotConfirmed => REFUSED,
            Ending::Unobserved { .. } => CLOUD,
        }
    }

    /// The exit code as the process's.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// One line for people: what the end is, and the code.
    pub fn line(&self, stops: &[Stopped]) -> String {
        let code = self.code();
        match self {
            Ending::Green => format!("ended green (exit code {code})"),
            Ending::Red { layer } => match stops
                .iter()
                .find(|s| s.layer == *layer && s.cause == StopCause::Fault)
            {
                Some(s) => format!("stopped at {}: {} (exit code {code})", layer.name(), s.why),
                None => format!("ended with `{}` red (exit code {code})", layer.name()),
            },
            Ending::Unobserved { layer } => format!(
                "`{}` could not be observed: a cloud API failed (exit code {code}); the row above says which and what it answered",
                layer.name()
            ),
            Ending::NotConfirmed => format!(
                "not confirmed: {} (exit code {code}: run again with `--yes`, or answer on a terminal)",
                stops
                    .iter()
                    .filter(|s| s.cause == StopCause::NotConfirmed)
                    .map(|s| s.why.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
}

/// The exit code for a report's lowest red layer.
pub fn for_layer(lowest_red: Option<Layer>) -> ExitCode {
    ExitCode::from(lowest_red.map_or(SUCCESS, Layer::exit_code))
}

/// The exit code for an error that ended a command.
pub fn for_error(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<SiteError>() || cause.is::<CredentialError>() {
            return BAD_INPUT;
        }
        if let Some(api) = cause.downcast_ref::<ApiError>() {
            return match api {
                ApiError::AuthRefused { .. } | ApiError::Setup(_) | ApiError::Tls { .. } => {
                    BAD_INPUT
                }
                _ => CLOUD,
            };
        }
        // Only another run's lock is a refusal; a lock file that cannot be opened is
        // a path problem, like any other file.
        if let Some(crate::engine::lock::LockError::Io { .. }) =
            cause.downcast_ref::<crate::engine::lock::LockError>()
        {
            return BAD_INPUT;
        }
        if cause.is::<crate::files::FileError>() {
            return BAD_INPUT;
        }
        if cause.is::<crate::engine::lock::LockError>()
            || cause.is::<crate::commands::park::Refused>()
            || cause.is::<crate::commands::park::ParkRefused>()
        {
            return REFUSED;
        }
        if cause.is::<crate::cli::UsageError>() {
            return BAD_INPUT;
        }
        // A command that needed the host failed at a layer: exit as that layer.
        if let Some(e) = cause.downcast_ref::<KubeconfigError>() {
            return match e {
                KubeconfigError::Ssh(SshError::Exec(ExecError::NotFound { .. })) => BAD_INPUT,
                // Refused, timed out, killed: the host could not be reached.
                KubeconfigError::Ssh(_) => Layer::Ssh.exit_code(),
                KubeconfigError::Remote { .. } | KubeconfigError::NotAKubeconfig { .. } => {
                    Layer::Kubernetes.exit_code()
                }
                // The kubeconfig path the site names cannot be written: bad input.
                KubeconfigError::Write { .. } => BAD_INPUT,
            };
        }
        if let Some(ExecError::NotFound { .. }) = cause.downcast_ref::<ExecError>() {
            return BAD_INPUT;
        }
    }
    INTERNAL
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::restore::{StopCause, Stopped};

    fn stop(layer: Layer, cause: StopCause) -> Stopped {
        Stopped {
            layer,
            why: "why".into(),
            cause,
        }
    }

    /// (stops, still red, unobserved) → exit code: what a cron job reads.
    #[test]
    fn one_ending_per_run_and_its_code() {
        use Layer::*;
        use StopCause::*;
        type Row<'a> = (&'a [Stopped], &'a [Layer], Option<Layer>, u8);
        let table: &[Row] = &[
            (&[], &[], None, 0),
            (&[], &[Magnum], None, 18),
            // Headroom refused for want of a confirmed delete: what rests on it is
            // excused, so the run says "needs --yes".
            (
                &[stop(Headroom, NotConfirmed)],
                &[Headroom, LoadBalancers, Capo, Magnum],
                None,
                3,
            ),
            // A real fault below it wins: never "add --yes" when something is broken.
            (
                &[stop(Headroom, NotConfirmed), stop(Kubernetes, Fault)],
                &[],
                None,
                12,
            ),
            // Red that does not rest on the unconfirmed step is a fault.
            (
                &[stop(LoadBalancers, NotConfirmed)],
                &[CapiControllers],
                None,
                13,
            ),
            // Could not see the VM, headroom red above it: a cloud API failed.
            (&[], &[Headroom], Some(Vm), 4),
            (&[], &[Vm], Some(Headroom), 10),
        ];
        for (stops, red, unobserved, code) in table {
            let ending = Ending::observed(stops, red, *unobserved);
            assert_eq!(ending.code(), *code, "{ending:?}");
            assert!(ending.line(stops).contains(&format!("exit code {code}")));
        }
    }
}
