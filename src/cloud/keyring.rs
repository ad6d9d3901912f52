//! The OS keyring as a place for a secret that is in no file: the kernel keyutils
//! cache (always built in; it lives as long as the login session, or the persistent
//! keyring where the kernel lets us link into it) and, with the `secret-service`
//! feature, the freedesktop Secret Service through keyring-core.
//!
//! Keys are described as keyring-core's keyutils store names them
//! (`keyring:<cloud>@juju-capi-restore`), so either tool finds the other's entries.
//! That store itself is not used: it fails outright where the persistent keyring
//! refuses a link (containers, CI), even when the session keyring works.

use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};
use secrecy::{ExposeSecret, SecretString};

use super::credentials::SecretStore;

/// The keyring service name secrets are stored under (user: the cloud name).
pub const KEYRING_SERVICE: &str = "juju-capi-restore";

/// The OS keyring.
#[derive(Debug, Default)]
pub struct Keyring;

fn description(cloud: &str) -> String {
    format!("keyring:{cloud}@{KEYRING_SERVICE}")
}

fn session() -> Result<KeyRing, String> {
    KeyRing::from_special_id(KeyRingIdentifier::Session, false)
        .map_err(|e| format!("no session keyring ({})", key_error(e)))
}

/// A kernel keyring error as a short lowercase phrase.
fn key_error(e: KeyError) -> String {
    match e {
        KeyError::AccessDenied => "access denied".into(),
        KeyError::KeyDoesNotExist => "no such key".into(),
        KeyError::QuotaExceeded => "the user's key quota is full".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Links `key` into the persistent keyring too, when the kernel allows it: then it
/// outlives the login session.
fn link_persistent(key: linux_keyutils::Key) {
    if let Ok(persistent) = KeyRing::get_persistent(KeyRingIdentifier::Session) {
        let _ = persistent.link_key(key);
    }
}

impl Keyring {
    /// Stores a secret for `cloud`; returns the name of the store that took it.
    pub fn store(cloud: &str, secret: &SecretString) -> Result<&'static str, String> {
        let mut errors = Vec::new();
        match session().and_then(|ring| {
            ring.add_key(&description(cloud), secret.expose_secret().as_bytes())
                .map_err(key_error)
        }) {
            Ok(key) => {
                link_persistent(key);
                return Ok("kernel keyutils");
            }
            Err(e) => errors.push(format!("kernel keyutils: {e}")),
        }
        #[cfg(feature = "secret-service")]
        match secret_service::store(cloud, secret) {
            Ok(()) => return Ok("Secret Service"),
            Err(e) => errors.push(format!("Secret Service: {e}")),
        }
        Err(errors.join("; "))
    }
}

impl SecretStore for Keyring {
    fn lookup(&self, cloud: &str) -> Result<Option<SecretString>, String> {
        let mut errors = Vec::new();
        match session().and_then(|ring| match ring.search(&description(cloud)) {
            Ok(key) => key.read_to_vec().map(Some).map_err(key_error),
            Err(KeyError::KeyDoesNotExist) => Ok(None),
            Err(e) => Err(key_error(e)),
        }) {
            Ok(Some(bytes)) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| "the stored secret is not UTF-8".to_string())?;
                return Ok(Some(SecretString::from(text)));
            }
            Ok(None) => {}
            Err(e) => errors.push(format!("kernel keyutils: {e}")),
        }
        #[cfg(feature = "secret-service")]
        match secret_service::lookup(cloud) {
            Ok(Some(s)) => return Ok(Some(s)),
            Ok(None) => {}
            Err(e) => errors.push(format!("Secret Service: {e}")),
        }
        if errors.is_empty() {
            Ok(None)
        } else {
            Err(errors.join("; "))
        }
    }

    fn describe(&self) -> String {
        let stores = if cfg!(feature = "secret-service") {
            "kernel keyutils, Secret Service"
        } else {
            "kernel keyutils"
        };
        format!("OS keyring ({stores}), service `{KEYRING_SERVICE}`")
    }
}

#[cfg(feature = "secret-service")]
mod secret_service {
    use keyring_core::api::CredentialStoreApi;
    use secrecy::{ExposeSecret, SecretString};

    use super::KEYRING_SERVICE;

    fn entry(cloud: &str) -> Result<keyring_core::Entry, String> {
        let store = dbus_secret_service_keyring_store::Store::new().map_err(|e| e.to_string())?;
        store
            .build(KEYRING_SERVICE, cloud, None)
            .map_err(|e| e.to_string())
    }

    pub fn store(cloud: &str, secret: &SecretString) -> Result<(), String> {
        entry(cloud)?
            .set_password(secret.expose_secret())
            .map_err(|e| e.to_string())
    }

    pub fn lookup(cloud: &str) -> Result<Option<SecretString>, String> {
        match entry(cloud)?.get_password() {
            Ok(s) => Ok(Some(SecretString::from(s))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}
