//! The charm's configuration (`config.yaml`: `credentials`, `ssh-key`, `site`) and
//! the Juju secrets it names, made into what every command takes: the cloud's
//! credentials (in memory only), the site file and the ssh key (root-only files,
//! 0600 in a 0700 directory, in the unit's state directory). Reading it changes
//! nothing in the cloud; every way it can be wrong says what to run.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_json::{Map, Value};

use super::hook_tools::{HookToolError, HookTools};
use crate::cloud::credentials::{
    AuthMethod, CloudConfig, DomainRef, Interface, ProjectRef, Tls, UserRef,
};
use crate::env::Env;
use crate::files::replace_private;
use crate::site::{KubectlAt, Site};

/// The options, as `config.yaml` names them.
pub const CREDENTIALS: &str = "credentials";
/// The ssh key option.
pub const SSH_KEY: &str = "ssh-key";
/// The site option.
pub const SITE: &str = "site";

/// The keys of the `credentials` secret.
const CREDENTIAL_KEYS: [&str; 13] = [
    "auth-url",
    "region",
    "interface",
    "ca-cert",
    "username",
    "password",
    "user-domain-name",
    "project-name",
    "project-domain-name",
    "admin-application-credential-id",
    "admin-application-credential-secret",
    "management-application-credential-id",
    "management-application-credential-secret",
];

/// The key of the `ssh-key` secret.
const PRIVATE_KEY: &str = "private-key";

/// What the charm's configuration gives every command.
#[derive(Debug, Clone)]
pub struct Configured {
    /// The cloud and how to log in (the secret's values stay in memory).
    pub cloud: CloudConfig,
    /// The site file written from the `site` option, with the key from `ssh-key`.
    pub site_path: PathBuf,
}

/// Why the charm's configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An option is not set.
    #[error("no `{option}` configured: {how}")]
    Missing {
        /// The option.
        option: &'static str,
        /// What to run.
        how: String,
    },
    /// The option is not a secret URI.
    #[error(
        "option `{option}` is not a secret URI: set it to the URI `juju add-secret` printed: `juju config {app} {option}=secret:...`"
    )]
    NotAUri {
        /// The option.
        option: &'static str,
        /// The application.
        app: String,
    },
    /// Juju would not give the secret to this application.
    #[error(
        "cannot read the secret `{uri}` of option `{option}` ({said}): grant it to this application with `juju grant-secret {uri} {app}` (`juju secrets` lists the secrets there are)"
    )]
    NotGranted {
        /// The option.
        option: &'static str,
        /// The secret's URI (not a secret itself).
        uri: String,
        /// The application.
        app: String,
        /// Juju's one line.
        said: String,
    },
    /// The secret holds something this charm cannot use.
    #[error(
        "the secret `{uri}` of option `{option}` {problem}: fix it with `juju update-secret {uri} ...`"
    )]
    BadContent {
        /// The option.
        option: &'static str,
        /// The secret's URI.
        uri: String,
        /// What is wrong (never a value).
        problem: String,
    },
    /// The `site` option is not a valid site file.
    #[error(
        "the `site` option is not a valid site file: {message}; fix the file and set it again with `juju config {app} site=@site.yaml` (`juju-capi-restore site check --site site.yaml` checks it first)"
    )]
    Site {
        /// What is wrong, at which line.
        message: String,
        /// The application.
        app: String,
    },
    /// A hook tool failed.
    #[error(transparent)]
    Tool(#[from] HookToolError),
    /// A file in the state directory could not be written.
    #[error("cannot write `{}`: {source}; the unit's state directory must be writable by root", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The application's name, for the commands an error gives (`capi-restore/0` →
/// `capi-restore`).
pub fn application(env: &Env) -> String {
    env.get("JUJU_UNIT_NAME")
        .and_then(|u| u.split('/').next())
        .unwrap_or("capi-restore")
        .to_string()
}

/// Reads the configuration and its secrets and writes the site file and the ssh key
/// (root-only) into `dir` ([`crate::state::charm_dir`]). Called by every action but
/// `journal` and by the hooks.
pub async fn configure(
    tools: &HookTools,
    env: &Env,
    dir: &Path,
) -> Result<Configured, ConfigError> {
    let app = application(env);
    let config = tools.config().await?;
    let option = |name: &str| {
        config
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let site_text = option(SITE).ok_or_else(|| ConfigError::Missing {
        option: SITE,
        how: format!(
            "write the site file with `juju-capi-restore site template > site.yaml` (or `site discover`), check it with `juju-capi-restore site check --site site.yaml`, then `juju config {app} site=@site.yaml`"
        ),
    })?;
    let mut site = Site::parse(&site_text).map_err(|message| ConfigError::Site {
        message,
        app: app.clone(),
    })?;
    let credentials = read_secret(tools, &option(CREDENTIALS), CREDENTIALS, &app).await?;
    let ssh_key = read_secret(tools, &option(SSH_KEY), SSH_KEY, &app).await?;
    create_private_dir(&dir.join("ssh"))?;
    let cloud = cloud_of(&credentials, dir)?;
    let key = private_key(&ssh_key)?;
    let key_path = dir.join("ssh").join("id");
    write(&key_path, &key)?;
    // The unit has no kubectl: the VM's own reads the cluster; the key and the host
    // keys it learns are the charm's, whatever the site file says.
    site.ssh.key = key_path;
    site.ssh.known_hosts = dir.join("ssh").join("known_hosts");
    site.management.kubectl = KubectlAt::OnHost;
    site.management.kubeconfig = dir.join("capi-mgmt.kubeconfig");
    let site_path = dir.join("site.yaml");
    write(&site_path, &site.to_yaml())?;
    Ok(Configured { cloud, site_path })
}

/// Removes what [`configure`] wrote into `dir` (the `remove` hook): the ssh key, the
/// site file and the CA. The journals stay: they are the record of what was done.
pub fn forget(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// A secret named by an option: its URI checked, its content read.
struct Secret {
    option: &'static str,
    uri: String,
    content: Map<String, Value>,
}

impl Secret {
    fn text(&self, key: &str) -> Option<String> {
        self.content
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    fn bad(&self, problem: String) -> ConfigError {
        ConfigError::BadContent {
            option: self.option,
            uri: self.uri.clone(),
            problem,
        }
    }
}

async fn read_secret(
    tools: &HookTools,
    value: &Option<String>,
    option: &'static str,
    app: &str,
) -> Result<Secret, ConfigError> {
    let Some(uri) = value else {
        return Err(ConfigError::Missing {
            option,
            how: match option {
                CREDENTIALS => format!(
                    "`juju add-secret {app}-credentials auth-url=https://keystone.example:5000/v3 username=admin password#file=admin-password project-name=admin`, then `juju grant-secret {app}-credentials {app}` and `juju config {app} credentials=<the secret: URI it printed>`"
                ),
                _ => format!(
                    "`juju add-secret {app}-ssh-key private-key#file=$HOME/.ssh/id_ed25519` (the key the management VM trusts), then `juju grant-secret {app}-ssh-key {app}` and `juju config {app} ssh-key=<the secret: URI it printed>`"
                ),
            },
        });
    };
    // A secret URI is `secret:` and an id of letters and digits (or a bare id).
    let id = uri.strip_prefix("secret:").unwrap_or(uri);
    let id = id.rsplit('/').next().unwrap_or(id);
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ConfigError::NotAUri {
            option,
            app: app.to_string(),
        });
    }
    let content = match tools.secret(uri).await {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(ConfigError::BadContent {
                option,
                uri: uri.clone(),
                problem: "is not a set of keys and values".into(),
            });
        }
        Err(HookToolError::Refused { stderr, .. }) => {
            return Err(ConfigError::NotGranted {
                option,
                uri: uri.clone(),
                app: app.to_string(),
                said: stderr.lines().last().unwrap_or_default().trim().to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Secret {
        option,
        uri: uri.clone(),
        content,
    })
}

/// The cloud from the `credentials` secret: password auth for both scopes, or one
/// application credential per scope.
fn cloud_of(secret: &Secret, dir: &Path) -> Result<CloudConfig, ConfigError> {
    if let Some(unknown) = secret
        .content
        .keys()
        .find(|k| !CREDENTIAL_KEYS.contains(&k.as_str()))
    {
        return Err(secret.bad(format!(
            "has a key `{unknown}` this charm does not read (its keys: {})",
            CREDENTIAL_KEYS.join(", ")
        )));
    }
    let auth_url = secret.text("auth-url").ok_or_else(|| {
        secret
            .bad("has no `auth-url` (Keystone's URL, e.g. https://keystone.example:5000/v3)".into())
    })?;
    let domain = |key: &str| DomainRef::Name(secret.text(key).unwrap_or_else(|| "Default".into()));
    let app_credential = |scope: &str| -> Result<Option<AuthMethod>, ConfigError> {
        let id = secret.text(&format!("{scope}-application-credential-id"));
        let value = secret.text(&format!("{scope}-application-credential-secret"));
        match (id, value) {
            (None, None) => Ok(None),
            (Some(id), Some(value)) => Ok(Some(AuthMethod::ApplicationCredential {
                id: Some(id),
                name: None,
                user: None,
                secret: SecretString::from(value),
            })),
            _ => Err(secret.bad(format!(
                "has half of the {scope} application credential: give both `{scope}-application-credential-id` and `{scope}-application-credential-secret`"
            ))),
        }
    };
    let (auth, management_auth) = match (
        secret.text("username"),
        secret.text("password"),
        app_credential("admin")?,
        app_credential("management")?,
    ) {
        (Some(name), Some(password), None, None) => (
            AuthMethod::Password {
                user: UserRef::Name {
                    name,
                    domain: domain("user-domain-name"),
                },
                password: SecretString::from(password),
                project: Some(ProjectRef::Name {
                    name: secret.text("project-name").ok_or_else(|| {
                        secret.bad("has no `project-name` (the admin project, `admin` on a charmed OpenStack)".into())
                    })?,
                    domain: domain("project-domain-name"),
                }),
            },
            None,
        ),
        (None, None, Some(admin), Some(management)) => (admin, Some(management)),
        _ => {
            return Err(secret.bad(
                "holds neither a password login (`username`, `password`, `project-name`) nor two application credentials (`admin-application-credential-id`/`-secret` made in the admin project, `management-application-credential-id`/`-secret` made in the management project); give exactly one of the two".into(),
            ));
        }
    };
    let interface = match secret.text("interface") {
        None => Interface::Public,
        Some(text) => Interface::parse(&text).ok_or_else(|| {
            secret.bad("has an `interface` that is not public, internal or admin".into())
        })?,
    };
    let cacert = match secret.text("ca-cert") {
        None => None,
        Some(pem) => {
            let path = dir.join("ca.pem");
            write(&path, &pem)?;
            Some(path)
        }
    };
    Ok(CloudConfig {
        name: "juju-secret".into(),
        origin: format!("the Juju secret `{}` (option `credentials`)", secret.uri),
        auth_url: auth_url.trim_end_matches('/').to_string(),
        auth,
        management_auth,
        region: secret.text("region"),
        interface,
        tls: Tls {
            insecure: false,
            cacert,
            client_cert: None,
        },
    })
}

/// The private key of the `ssh-key` secret, with the newline ssh needs at its end.
fn private_key(secret: &Secret) -> Result<String, ConfigError> {
    let key = secret.text(PRIVATE_KEY).ok_or_else(|| {
        secret.bad(format!(
            "has no `{PRIVATE_KEY}`: add the key as `{PRIVATE_KEY}#file=$HOME/.ssh/id_ed25519`"
        ))
    })?;
    let trimmed = key.trim();
    if !(trimmed.starts_with("-----BEGIN ") && trimmed.ends_with("PRIVATE KEY-----")) {
        return Err(secret.bad(format!(
            "has a `{PRIVATE_KEY}` that is not a private key file (it must run from `-----BEGIN ...` to `... PRIVATE KEY-----`)"
        )));
    }
    Ok(format!("{trimmed}\n"))
}

fn create_private_dir(dir: &Path) -> Result<(), ConfigError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| ConfigError::Write {
            path: dir.to_path_buf(),
            source,
        })
}

fn write(path: &Path, text: &str) -> Result<(), ConfigError> {
    replace_private(path, text).map_err(|source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            option: CREDENTIALS,
            uri: "secret:d5fj493sf2bh7nljq620".into(),
            content: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        }
    }

    #[test]
    fn a_password_login_holds_both_scopes_and_two_application_credentials_one_each() {
        let dir = tempfile::tempdir().unwrap();
        let password = secret(&[
            ("auth-url", "https://keystone.example:5000/v3/"),
            ("username", "admin"),
            ("password", "s3cret-planted"),
            ("project-name", "admin"),
        ]);
        let cloud = cloud_of(&password, dir.path()).unwrap();
        assert_eq!(cloud.auth_url, "https://keystone.example:5000/v3");
        assert!(matches!(cloud.auth, AuthMethod::Password { .. }));
        assert!(cloud.management_auth.is_none());
        assert!(!format!("{cloud:?}").contains("s3cret-planted"));

        let two = secret(&[
            ("auth-url", "https://keystone.example:5000/v3"),
            ("admin-application-credential-id", "a1"),
            ("admin-application-credential-secret", "s1"),
            ("management-application-credential-id", "m1"),
            ("management-application-credential-secret", "s2"),
        ]);
        let cloud = cloud_of(&two, dir.path()).unwrap();
        assert!(matches!(
            cloud.auth,
            AuthMethod::ApplicationCredential { .. }
        ));
        assert!(cloud.management_auth.is_some());
    }

    #[test]
    fn a_wrong_secret_says_what_is_wrong_and_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        for (pairs, says) in [
            (vec![("username", "admin")], "has no `auth-url`"),
            (
                vec![("auth-url", "u"), ("pasword", "s3cret-planted")],
                "key `pasword`",
            ),
            (
                vec![
                    ("auth-url", "u"),
                    ("username", "a"),
                    ("password", "s3cret-planted"),
                ],
                "has no `project-name`",
            ),
            (
                vec![
                    ("auth-url", "u"),
                    ("admin-application-credential-id", "a1"),
                    ("admin-application-credential-secret", "s3cret-planted"),
                ],
                "neither a password login",
            ),
            (
                vec![
                    ("auth-url", "u"),
                    ("admin-application-credential-secret", "s3cret-planted"),
                ],
                "half of the admin application credential",
            ),
        ] {
            let e = cloud_of(&secret(&pairs), dir.path())
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
            assert!(!e.contains("s3cret-planted"), "{e}");
            assert!(
                e.contains("juju update-secret secret:d5fj493sf2bh7nljq620"),
                "{e}"
            );
        }
        let key = Secret {
            option: SSH_KEY,
            ..secret(&[(PRIVATE_KEY, "ssh-ed25519 AAAA public-not-private")])
        };
        let e = private_key(&key).unwrap_err().to_string();
        assert!(
            e.contains("not a private key file") && !e.contains("AAAA"),
            "{e}"
        );
    }
}
