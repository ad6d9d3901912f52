//! `credentials store`: read a secret from stdin and keep it in the OS keyring, so
//! clouds.yaml needs no password.

use std::io::Read;

use secrecy::SecretString;

use crate::cloud::credentials::Env;
use crate::cloud::keyring::Keyring;
use crate::error::UsageError;
use crate::exit::ExitStatus;
use crate::settings::Settings;

/// What `credentials` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsAction {
    /// Read a secret from stdin and store it in the keyring.
    Store,
}

/// Stores the secret for `--cloud` (or `OS_CLOUD`).
pub fn run(
    settings: &Settings,
    env: &Env,
    action: CredentialsAction,
) -> anyhow::Result<ExitStatus> {
    match action {
        CredentialsAction::Store => {
            let cloud = settings
                .cloud
                .clone()
                .or_else(|| env.get("OS_CLOUD").map(str::to_string))
                .ok_or_else(|| UsageError("name the cloud the secret belongs to with `--cloud NAME` (the clouds.yaml name)".into()))?;
            eprintln!(
                "reading the password or application-credential secret for cloud `{cloud}` from stdin (one line)"
            );
            let mut line = String::new();
            std::io::stdin().read_to_string(&mut line)?;
            let secret = line.lines().next().unwrap_or_default().to_string();
            if secret.is_empty() {
                return Err(UsageError("no secret on stdin: pipe it in, e.g. `juju-capi-restore credentials store --cloud NAME < secret-file`".into()).into());
            }
            let store = Keyring::store(&cloud, &SecretString::from(secret))
                .map_err(|e| anyhow::anyhow!("no keyring accepted the secret: {e}\nkeep it in secure.yaml (mode 0600) instead"))?;
            eprintln!(
                "stored in the {store} keyring (service `juju-capi-restore`, user `{cloud}`)"
            );
            Ok(ExitStatus::Success)
        }
    }
}
