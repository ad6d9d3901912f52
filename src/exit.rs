//! Exit codes, decided in one place: every command returns an [`ExitStatus`], and
//! only [`ExitStatus::code`] turns it into a number.
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
use crate::exec::ExecError;
use crate::host::kubeconfig::KubeconfigError;
use crate::host::ssh::SshError;
use crate::layers::Layer;
use crate::site::SiteError;

/// How the process ends: what every command returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every layer green (or yellow); or the command had nothing to judge.
    Success,
    /// A bug: an error nothing below classified.
    Internal,
    /// Bad input or configuration.
    BadInput,
    /// Refused: the lock, a pre-check, or a destructive step not confirmed.
    Refused,
    /// A cloud API failed or answered garbage.
    Cloud,
    /// A layer is still red (the lowest one).
    Red(Layer),
    /// Ctrl-C (SIGINT).
    Interrupted,
    /// SIGTERM.
    Terminated,
    /// A child's own code, passed through (the twin's `ssh` and `juju` stand-ins).
    Child(u8),
}

impl ExitStatus {
    /// The code (README's table).
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Internal => 1,
            ExitStatus::BadInput => 2,
            ExitStatus::Refused => 3,
            ExitStatus::Cloud => 4,
            ExitStatus::Red(layer) => {
                10 + Layer::ALL.iter().position(|l| *l == layer).unwrap_or(0) as u8
            }
            ExitStatus::Interrupted => 130,
            ExitStatus::Terminated => 143,
            ExitStatus::Child(code) => code,
        }
    }

    /// One word for it, as an action's `result` says it.
    pub fn word(self) -> &'static str {
        match self {
            ExitStatus::Success => "green",
            ExitStatus::Internal => "internal-error",
            ExitStatus::BadInput => "bad-input",
            ExitStatus::Refused => "refused",
            ExitStatus::Cloud => "cloud-error",
            ExitStatus::Red(_) => "red",
            ExitStatus::Interrupted => "interrupted",
            ExitStatus::Terminated => "terminated",
            ExitStatus::Child(_) => "failed",
        }
    }

    /// A run stopped by `signal` (2 SIGINT, 15 SIGTERM; anything else, as the shell
    /// reports it, 128 + the signal).
    pub fn of_signal(signal: i32) -> ExitStatus {
        match signal {
            2 => ExitStatus::Interrupted,
            15 => ExitStatus::Terminated,
            other => ExitStatus::Child((128 + other).clamp(0, 255) as u8),
        }
    }

    /// The status of a report whose lowest red layer is `lowest_red`.
    pub fn of_layer(lowest_red: Option<Layer>) -> ExitStatus {
        lowest_red.map_or(ExitStatus::Success, ExitStatus::Red)
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

impl ExitStatus {
    /// The status of an error that ended a command.
    pub fn of_error(error: &anyhow::Error) -> ExitStatus {
        for cause in error.chain() {
            if cause.is::<SiteError>()
                || cause.is::<CredentialError>()
                || cause.is::<crate::window::WindowError>()
            {
                return ExitStatus::BadInput;
            }
            if let Some(api) = cause.downcast_ref::<ApiError>() {
                return match api {
                    ApiError::AuthRefused { .. } | ApiError::Setup(_) | ApiError::Tls { .. } => {
                        ExitStatus::BadInput
                    }
                    _ => ExitStatus::Cloud,
                };
            }
            // Only another run's lock is a refusal; a lock file that cannot be opened is
            // a path problem, like any other file.
            if let Some(crate::lock::LockError::Io { .. }) =
                cause.downcast_ref::<crate::lock::LockError>()
            {
                return ExitStatus::BadInput;
            }
            // A state directory this run cannot write is a path to fix, as any file's.
            if cause.is::<crate::files::FileError>() || cause.is::<crate::state::StateError>() {
                return ExitStatus::BadInput;
            }
            if cause.is::<crate::lock::LockError>()
                || cause.is::<crate::error::Refused>()
                || cause.is::<crate::error::NotConfirmed>()
            {
                return ExitStatus::Refused;
            }
            if cause.is::<crate::error::UsageError>() {
                return ExitStatus::BadInput;
            }
            // A command that needed the host failed at a layer: exit as that layer.
            if let Some(e) = cause.downcast_ref::<KubeconfigError>() {
                return match e {
                    KubeconfigError::Ssh(SshError::Exec(ExecError::NotFound { .. })) => {
                        ExitStatus::BadInput
                    }
                    // Refused, timed out, killed: the host could not be reached.
                    KubeconfigError::Ssh(_) => ExitStatus::Red(Layer::Ssh),
                    KubeconfigError::Remote { .. } | KubeconfigError::NotAKubeconfig { .. } => {
                        ExitStatus::Red(Layer::Kubernetes)
                    }
                    // The kubeconfig path the site names cannot be written: bad input.
                    KubeconfigError::Write { .. } => ExitStatus::BadInput,
                };
            }
            if let Some(ExecError::NotFound { .. }) = cause.downcast_ref::<ExecError>() {
                return ExitStatus::BadInput;
            }
        }
        ExitStatus::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_the_readmes_code() {
        assert_eq!(ExitStatus::Red(Layer::Vm).code(), 10);
        assert_eq!(ExitStatus::Red(Layer::LoadBalancers).code(), 16);
        assert_eq!(ExitStatus::Red(Layer::Magnum).code(), 18);
        assert_eq!(ExitStatus::of_signal(2).code(), 130);
        assert_eq!(ExitStatus::of_signal(15).code(), 143);
        assert_eq!(ExitStatus::of_layer(None), ExitStatus::Success);
    }
}
