//! Exit codes, decided in one place.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: every layer green (or yellow) |
//! | 1 | internal error |
//! | 2 | bad input or configuration: site file, clouds.yaml, credentials, arguments |
//! | 3 | refused (lock held, no confirmation) |
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
        if cause.is::<crate::engine::lock::LockError>()
            || cause.is::<crate::commands::park::Refused>()
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
                _ => INTERNAL,
            };
        }
        if let Some(ExecError::NotFound { .. }) = cause.downcast_ref::<ExecError>() {
            return BAD_INPUT;
        }
    }
    INTERNAL
}
