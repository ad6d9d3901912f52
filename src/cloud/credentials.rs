//! Credentials, read as the `openstack` CLI reads them: `clouds.yaml` + `secure.yaml`
//! (same search path and precedence as openstacksdk, `--cloud`/`OS_CLOUD`), or the
//! `OS_*` variables of a sourced admin-openrc; then the OS keyring for a secret that
//! is in neither. Nothing here touches the network.
//!
//! Every source is tried in a fixed order, and a run that finds no credential fails at
//! once naming each source it tried.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_json::{Map, Value};

pub use crate::env::Env;

/// A Keystone domain, by id or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    /// `{"id": ...}`.
    Id(String),
    /// `{"name": ...}`.
    Name(String),
}

/// A user, by id or by name in a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// By id.
    Id(String),
    /// By name and domain.
    Name {
        /// User name.
        name: String,
        /// Its domain.
        domain: DomainRef,
    },
}

/// A project, by id or by name in a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    /// By id (wins when both are given, as keystoneauth does).
    Id(String),
    /// By name and domain.
    Name {
        /// Project name.
        name: String,
        /// Its domain.
        domain: DomainRef,
    },
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectRef::Id(id) => write!(f, "project id `{id}`"),
            ProjectRef::Name { name, .. } => write!(f, "project `{name}`"),
        }
    }
}

/// How to authenticate.
#[derive(Clone)]
pub enum AuthMethod {
    /// Password, optionally scoped to a project.
    Password {
        /// Who.
        user: UserRef,
        /// The password (never printed).
        password: SecretString,
        /// The scope the credentials name (the admin project for an admin-openrc).
        project: Option<ProjectRef>,
    },
    /// An application credential; its scope is fixed at creation.
    ApplicationCredential {
        /// By id, or
        id: Option<String>,
        /// by name with its user.
        name: Option<String>,
        /// The user, when identified by name.
        user: Option<UserRef>,
        /// The secret (never printed).
        secret: SecretString,
    },
}

impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::Password { user, project, .. } => f
                .debug_struct("Password")
                .field("user", user)
                .field("password", &"[redacted]")
                .field("project", project)
                .finish(),
            AuthMethod::ApplicationCredential { id, name, user, .. } => f
                .debug_struct("ApplicationCredential")
                .field("id", id)
                .field("name", name)
                .field("user", user)
                .field("secret", &"[redacted]")
                .finish(),
        }
    }
}

/// Which catalog endpoints to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// public.
    Public,
    /// internal.
    Internal,
    /// admin.
    Admin,
}

impl Interface {
    /// `public`, `internal` or `admin` (an `URL` suffix and case ignored).
    pub fn parse(text: &str) -> Option<Interface> {
        match text.trim_end_matches("URL").to_ascii_lowercase().as_str() {
            "public" => Some(Interface::Public),
            "internal" => Some(Interface::Internal),
            "admin" => Some(Interface::Admin),
            _ => None,
        }
    }

    /// The catalog's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

/// TLS settings for every OpenStack endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    /// Verify server certificates (`verify: false` or `insecure: true` turn it off).
    pub insecure: bool,
    /// Extra CA bundle (`cacert`, `OS_CACERT`).
    pub cacert: Option<PathBuf>,
    /// Client certificate (`cert`) and its key (`key`; may be in the cert file).
    pub client_cert: Option<(PathBuf, Option<PathBuf>)>,
}

/// One resolved cloud: where to authenticate and how.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// The cloud's name (`envvars` for `OS_*`).
    pub name: String,
    /// Where it was read from, for messages.
    pub origin: String,
    /// Keystone URL, ending in `/v3`.
    pub auth_url: String,
    /// How to authenticate.
    pub auth: AuthMethod,
    /// A second credential for the management scope alone: an application
    /// credential made in the management project (`auth` then holds the admin
    /// scope). None: `auth` holds both.
    pub management_auth: Option<AuthMethod>,
    /// Region of the endpoints.
    pub region: Option<String>,
    /// Interface of the endpoints.
    pub interface: Interface,
    /// TLS settings.
    pub tls: Tls,
}

impl CloudConfig {
    /// A short description of who authenticates, for messages.
    pub fn who(&self) -> String {
        match &self.auth {
            AuthMethod::Password {
                user: UserRef::Name { name, .. },
                ..
            } => format!("user `{name}`"),
            AuthMethod::Password {
                user: UserRef::Id(id),
                ..
            } => format!("user id `{id}`"),
            AuthMethod::ApplicationCredential { id: Some(id), .. } => {
                format!("application credential `{id}`")
            }
            AuthMethod::ApplicationCredential { name, .. } => {
                format!(
                    "application credential `{}`",
                    name.as_deref().unwrap_or("?")
                )
            }
        }
    }
}

/// A place a secret may be kept outside files: the OS keyring.
pub trait SecretStore {
    /// Looks up the secret for `cloud`; `Ok(None)` when there is no entry.
    fn lookup(&self, cloud: &str) -> Result<Option<SecretString>, String>;
    /// What it is, for the list of sources tried.
    fn describe(&self) -> String;
}

/// Why no usable credential was found.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Nothing anywhere.
    #[error("no OpenStack credentials found; tried:\n{}\nsource your admin-openrc, or pass `--cloud NAME` with a `clouds.yaml`, or run `juju-capi-restore twin` for a simulated cloud", bullet(.tried))]
    NoCredentials {
        /// Each source and what was found there.
        tried: Vec<String>,
    },
    /// `--cloud`/`OS_CLOUD` names a cloud that is not in the file.
    #[error("cloud `{name}` is not in {}; clouds there: {}\ncheck `--cloud` / `OS_CLOUD`", file.as_ref().map(|f| format!("`{}`", f.display())).unwrap_or_else(|| "any clouds.yaml (none found)".into()), if .available.is_empty() { "none".to_string() } else { .available.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ") })]
    UnknownCloud {
        /// The name asked for.
        name: String,
        /// The clouds.yaml read, if any.
        file: Option<PathBuf>,
        /// The clouds it has.
        available: Vec<String>,
    },
    /// `OS_CLIENT_CONFIG_FILE` or `OS_CLIENT_SECURE_FILE` names a file that is not there.
    #[error("`{var}` names `{}`, which does not exist (or is not a file): fix the path, or unset `{var}` to search the usual places", path.display())]
    MissingFile {
        /// The variable.
        var: &'static str,
        /// What it names.
        path: PathBuf,
    },
    /// A config file is not valid YAML/JSON or has the wrong shape.
    #[error("`{}` is invalid: {message}\nfix it, or point `OS_CLIENT_CONFIG_FILE` / `OS_CLIENT_SECURE_FILE` at good ones", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column where known.
        message: String,
    },
    /// The cloud is found but lacks something.
    #[error("cloud `{cloud}` ({origin}) {problem}")]
    Incomplete {
        /// Cloud name.
        cloud: String,
        /// Where it came from.
        origin: String,
        /// What is missing and how to add it.
        problem: String,
    },
}

fn bullet(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The file names openstacksdk looks for, in order, in each directory.
fn candidates(env: &Env, stem: &str, override_var: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(f) = env.get(override_var) {
        files.push(PathBuf::from(f));
    }
    let mut dirs = vec![PathBuf::from(".")];
    if let Some(c) = env.config_dir() {
        dirs.push(c.join("openstack"));
    }
    // The site config dir (appdirs: `$XDG_CONFIG_DIRS`, default /etc/xdg), then /etc.
    let xdg = env.get("XDG_CONFIG_DIRS").unwrap_or("/etc/xdg");
    dirs.extend(
        xdg.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join("openstack")),
    );
    dirs.push(PathBuf::from("/etc/openstack"));
    for dir in dirs {
        for ext in ["yaml", "yml", "json"] {
            files.push(dir.join(format!("{stem}.{ext}")));
        }
    }
    files
}

fn read_config(path: &Path) -> Result<Value, CredentialError> {
    let text = std::fs::read_to_string(path).map_err(|e| CredentialError::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let parsed: Result<Value, String> = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str(&text).map_err(|e| e.to_string())
    };
    let value = parsed.map_err(|message| CredentialError::Malformed {
        path: path.to_path_buf(),
        message,
    })?;
    match value.get("clouds") {
        Some(Value::Object(_)) => Ok(value),
        None | Some(Value::Null) => Ok(serde_json::json!({"clouds": {}})),
        Some(_) => Err(CredentialError::Malformed {
            path: path.to_path_buf(),
            message: "`clouds` must be a mapping of cloud names to settings".into(),
        }),
    }
}

/// Merges `over` into `base`, recursing into mappings (secure.yaml over clouds.yaml).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Resolves the cloud to use: `requested` (from `--cloud`), else `OS_CLOUD`, else the
/// `OS_*` variables, else the only cloud in clouds.yaml. A missing secret is looked
/// up in `secrets`.
pub fn resolve(
    requested: Option<&str>,
    env: &Env,
    secrets: &dyn SecretStore,
) -> Result<CloudConfig, CredentialError> {
    let mut tried = Vec::new();
    // A file named outright must be there: silently reading another one (or none)
    // would end in a confusing "no password" far from the typo.
    for var in ["OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE"] {
        if let Some(path) = env.get(var).map(PathBuf::from)
            && !path.is_file()
        {
            return Err(CredentialError::MissingFile { var, path });
        }
    }
    let clouds_file = candidates(env, "clouds", "OS_CLIENT_CONFIG_FILE")
        .into_iter()
        .find(|p| p.is_file());
    let secure_file = candidates(env, "secure", "OS_CLIENT_SECURE_FILE")
        .into_iter()
        .find(|p| p.is_file());
    let mut config = match &clouds_file {
        Some(p) => read_config(p)?,
        None => serde_json::json!({"clouds": {}}),
    };
    if let Some(p) = &secure_file {
        merge(&mut config, &read_config(p)?);
    }
    let clouds: Map<String, Value> = config
        .get("clouds")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let files_desc = match (&clouds_file, &secure_file) {
        (Some(c), Some(s)) => format!("`{}` + `{}`", c.display(), s.display()),
        (Some(c), None) => format!("`{}`", c.display()),
        (None, _) => "no clouds.yaml".into(),
    };

    let name = requested
        .map(str::to_string)
        .or_else(|| env.get("OS_CLOUD").map(str::to_string));
    let (name, settings, origin) = if let Some(name) = name {
        let Some(settings) = clouds.get(&name) else {
            return Err(CredentialError::UnknownCloud {
                name,
                file: clouds_file,
                available: clouds.keys().cloned().collect(),
            });
        };
        (name, settings.clone(), files_desc)
    } else if env.get("OS_AUTH_URL").is_some() {
        (
            "envvars".to_string(),
            env_cloud(env),
            "the `OS_*` environment".to_string(),
        )
    } else {
        tried.push("`--cloud` / `OS_CLOUD`: not set".to_string());
        tried.push("`OS_AUTH_URL` and the other `OS_*` variables: not set".to_string());
        match (&clouds_file, clouds.len()) {
            (Some(f), 1) => {
                let (n, s) = clouds.iter().next().expect("one cloud");
                (
                    n.clone(),
                    s.clone(),
                    format!("`{}`, its only cloud", f.display()),
                )
            }
            (Some(f), 0) => {
                tried.push(format!("`{}`: no clouds in it", f.display()));
                tried.push(format!(
                    "{}: not consulted without a cloud to look up",
                    secrets.describe()
                ));
                return Err(CredentialError::NoCredentials { tried });
            }
            (Some(f), n) => {
                let names: Vec<String> = clouds.keys().map(|k| format!("`{k}`")).collect();
                tried.push(format!(
                    "`{}`: {n} clouds ({}), none chosen: pass `--cloud NAME`",
                    f.display(),
                    names.join(", ")
                ));
                return Err(CredentialError::NoCredentials { tried });
            }
            (None, _) => {
                let searched: Vec<String> = candidates(env, "clouds", "OS_CLIENT_CONFIG_FILE")
                    .iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                    .map(|p| {
                        p.parent()
                            .map(|d| d.display().to_string())
                            .unwrap_or_default()
                    })
                    .collect();
                tried.push(format!(
                    "clouds.yaml / secure.yaml: none in {}",
                    searched.join(", ")
                ));
                tried.push(format!(
                    "{}: not consulted without a cloud to look up",
                    secrets.describe()
                ));
                return Err(CredentialError::NoCredentials { tried });
            }
        }
    };
    cloud_from_settings(&name, &origin, &settings, env, secrets)
}

/// The `envvars` cloud openstacksdk builds from `OS_*` variables.
fn env_cloud(env: &Env) -> Value {
    let mut auth = Map::new();
    let mut top = Map::new();
    for (key, value) in env.with_prefix("OS_") {
        let mut k = key["OS_".len()..].to_ascii_lowercase();
        let from_tenant = k.starts_with("tenant_");
        if let Some(rest) = k.strip_prefix("tenant_") {
            k = format!("project_{rest}");
        }
        if k.ends_with("endpoint_type") {
            k = "interface".into();
        }
        match k.as_str() {
            "region_name"
            | "interface"
            | "cacert"
            | "insecure"
            | "verify"
            | "cert"
            | "key"
            | "auth_type"
            | "identity_api_version" => {
                top.insert(k, Value::String(value.clone()));
            }
            "cloud" | "client_config_file" | "client_secure_file" => {}
            // openstacksdk: an `OS_PROJECT_*` beats the legacy `OS_TENANT_*`.
            _ if from_tenant => {
                auth.entry(k)
                    .or_insert_with(|| Value::String(value.clone()));
            }
            _ => {
                auth.insert(k, Value::String(value.clone()));
            }
        }
    }
    top.insert("auth".into(), Value::Object(auth));
    Value::Object(top)
}

fn text(map: &Value, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truthy(map: &Value, key: &str) -> Option<bool> {
    match map.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(
            s.to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )),
        _ => None,
    }
}

fn domain(auth: &Value, prefix: &str) -> DomainRef {
    text(auth, &format!("{prefix}_domain_id"))
        .map(DomainRef::Id)
        .or_else(|| text(auth, &format!("{prefix}_domain_name")).map(DomainRef::Name))
        .or_else(|| text(auth, "domain_id").map(DomainRef::Id))
        .or_else(|| text(auth, "domain_name").map(DomainRef::Name))
        // python-openstackclient's `--os-default-domain` (`OS_DEFAULT_DOMAIN`), `default`.
        .unwrap_or_else(|| {
            DomainRef::Id(text(auth, "default_domain").unwrap_or_else(|| "default".into()))
        })
}

fn cloud_from_settings(
    name: &str,
    origin: &str,
    settings: &Value,
    env: &Env,
    secrets: &dyn SecretStore,
) -> Result<CloudConfig, CredentialError> {
    let incomplete = |problem: String| CredentialError::Incomplete {
        cloud: name.into(),
        origin: origin.into(),
        problem,
    };
    if !settings.is_object() {
        return Err(incomplete("is not a mapping of settings".into()));
    }
    let empty = Value::Object(Map::new());
    let auth = settings.get("auth").unwrap_or(&empty);
    let auth_url = text(auth, "auth_url").ok_or_else(|| {
        incomplete("has no `auth_url`: add it under `auth:` (or set `OS_AUTH_URL`)".into())
    })?;
    let auth_url = normalise_auth_url(&auth_url);
    let auth_type = text(settings, "auth_type").unwrap_or_else(|| "password".into());
    let secret_from = |field: &str, var: &str| -> Result<SecretString, CredentialError> {
        if let Some(s) = text(auth, field) {
            return Ok(SecretString::from(s));
        }
        // As python-openstackclient: `OS_PASSWORD` fills in a named cloud's password.
        if let Some(s) = env.get(var) {
            return Ok(SecretString::from(s.to_string()));
        }
        match secrets.lookup(name) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(incomplete(format!(
                "has no `{field}`; tried: `{field}` in clouds.yaml/secure.yaml, `{var}`, and the {} (no entry for `{name}`)\nput it in secure.yaml (mode 0600), export `{var}`, or store it with `juju-capi-restore credentials store --cloud {name}`",
                secrets.describe()
            ))),
            Err(e) => Err(incomplete(format!(
                "has no `{field}`; tried: `{field}` in clouds.yaml/secure.yaml, `{var}`, and the {}, which failed: {e}\nput it in secure.yaml (mode 0600) or export `{var}`",
                secrets.describe()
            ))),
        }
    };
    let method = match auth_type.as_str() {
        "password" | "v3password" => {
            let user = text(auth, "user_id").map(UserRef::Id).or_else(|| {
                text(auth, "username").map(|n| UserRef::Name {
                    name: n,
                    domain: domain(auth, "user"),
                })
            });
            let user = user.ok_or_else(|| {
                incomplete("has no `username` or `user_id` (`OS_USERNAME`)".into())
            })?;
            // As keystoneauth: a project id wins over a name when both are set.
            let project = text(auth, "project_id").map(ProjectRef::Id).or_else(|| {
                text(auth, "project_name").map(|n| ProjectRef::Name {
                    name: n,
                    domain: domain(auth, "project"),
                })
            });
            AuthMethod::Password {
                user,
                password: secret_from("password", "OS_PASSWORD")?,
                project,
            }
        }
        "v3applicationcredential" | "applicationcredential" | "v3_application_credential" => {
            let id = text(auth, "application_credential_id");
            let app_name = text(auth, "application_credential_name");
            if id.is_none() && app_name.is_none() {
                return Err(incomplete("uses an application credential but has neither `application_credential_id` nor `application_credential_name`".into()));
            }
            let user = if id.is_none() {
                Some(text(auth, "user_id").map(UserRef::Id).or_else(|| text(auth, "username").map(|n| UserRef::Name { name: n, domain: domain(auth, "user") })).ok_or_else(|| incomplete("names its application credential by name, which needs `username` or `user_id` too".into()))?)
            } else {
                None
            };
            AuthMethod::ApplicationCredential {
                id,
                name: app_name,
                user,
                secret: secret_from(
                    "application_credential_secret",
                    "OS_APPLICATION_CREDENTIAL_SECRET",
                )?,
            }
        }
        other => {
            return Err(incomplete(format!(
                "has `auth_type: {other}`, which this tool does not support: use `password` or `v3applicationcredential`"
            )));
        }
    };
    let interface = match text(settings, "interface") {
        Some(i) => Interface::parse(&i).ok_or_else(|| {
            incomplete(format!(
                "has `interface: {i}`: use `public`, `internal` or `admin`"
            ))
        })?,
        None => Interface::Public,
    };
    // openstacksdk: `insecure` (either way) beats `verify`; `verify: false` ignores `cacert`.
    let insecure = match truthy(settings, "insecure") {
        Some(insecure) => insecure,
        None => truthy(settings, "verify") == Some(false),
    };
    let cacert = text(settings, "cacert").or_else(|| {
        env.get("OS_CACERT")
            .filter(|_| name != "envvars")
            .map(str::to_string)
    });
    let client_cert = match (text(settings, "cert"), text(settings, "key")) {
        (Some(cert), key) => Some((env.expand_home(&cert), key.map(|k| env.expand_home(&k)))),
        (None, Some(_)) => {
            return Err(incomplete(
                "has a client `key` but no `cert`: give both (`OS_CERT`, `OS_KEY`)".into(),
            ));
        }
        (None, None) => None,
    };
    let tls = Tls {
        insecure,
        cacert: if insecure {
            None
        } else {
            cacert.map(|c| env.expand_home(&c))
        },
        client_cert,
    };
    Ok(CloudConfig {
        name: name.into(),
        origin: origin.into(),
        auth_url,
        auth: method,
        management_auth: None,
        region: text(settings, "region_name"),
        interface,
        tls,
    })
}

/// keystoneauth posts to `{auth_url}/v3/auth/tokens` when the URL does not end in `/v3`.
fn normalise_auth_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/v3") {
        url.to_string()
    } else {
        format!("{url}/v3")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    struct NoKeyring;
    impl SecretStore for NoKeyring {
        fn lookup(&self, _: &str) -> Result<Option<SecretString>, String> {
            Ok(None)
        }
        fn describe(&self) -> String {
            "test keyring".into()
        }
    }

    struct OneSecret;
    impl SecretStore for OneSecret {
        fn lookup(&self, cloud: &str) -> Result<Option<SecretString>, String> {
            Ok((cloud == "prod").then(|| SecretString::from("from-keyring".to_string())))
        }
        fn describe(&self) -> String {
            "test keyring".into()
        }
    }

    fn env_in(dir: &Path, extra: &[(&str, &str)]) -> Env {
        let home = dir.to_str().unwrap();
        let mut pairs = vec![("HOME", home)];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    #[test]
    fn an_admin_openrc_with_both_project_id_and_name_uses_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(
            dir.path(),
            &[
                ("OS_AUTH_URL", "http://127.0.0.1:5000"),
                ("OS_USERNAME", "admin"),
                ("OS_PASSWORD", "pw"),
                ("OS_USER_DOMAIN_NAME", "admin_domain"),
                ("OS_PROJECT_NAME", "admin"),
                ("OS_PROJECT_DOMAIN_NAME", "admin_domain"),
                ("OS_PROJECT_ID", "674171fd28d446d3a37073b6a761e910"),
                ("OS_REGION_NAME", "RegionOne"),
                ("OS_INTERFACE", "internal"),
            ],
        );
        let c = resolve(None, &env, &NoKeyring).unwrap();
        assert_eq!(c.name, "envvars");
        assert_eq!(c.auth_url, "http://127.0.0.1:5000/v3");
        assert_eq!(c.interface, Interface::Internal);
        assert_eq!(c.region.as_deref(), Some("RegionOne"));
        let AuthMethod::Password {
            user,
            project,
            password,
        } = c.auth
        else {
            panic!()
        };
        assert_eq!(
            project,
            Some(ProjectRef::Id("674171fd28d446d3a37073b6a761e910".into()))
        );
        assert_eq!(
            user,
            UserRef::Name {
                name: "admin".into(),
                domain: DomainRef::Name("admin_domain".into())
            }
        );
        assert_eq!(password.expose_secret(), "pw");
    }

    #[test]
    fn tenant_variables_and_endpoint_type_are_translated() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(
            dir.path(),
            &[
                ("OS_AUTH_URL", "http://127.0.0.1:5000/v3/"),
                ("OS_USERNAME", "admin"),
                ("OS_PASSWORD", "pw"),
                ("OS_TENANT_NAME", "admin"),
                ("OS_ENDPOINT_TYPE", "publicURL"),
            ],
        );
        let c = resolve(None, &env, &NoKeyring).unwrap();
        assert_eq!(c.auth_url, "http://127.0.0.1:5000/v3");
        assert_eq!(c.interface, Interface::Public);
        let AuthMethod::Password { project, .. } = c.auth else {
            panic!()
        };
        assert_eq!(
            project,
            Some(ProjectRef::Name {
                name: "admin".into(),
                domain: DomainRef::Id("default".into())
            })
        );
    }

    #[test]
    fn secure_yaml_is_merged_over_clouds_yaml_and_the_first_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join(".config/openstack");
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(cfg.join("clouds.yaml"), "clouds:\n  prod:\n    auth:\n      auth_url: https://127.0.0.1:5000/v3\n      username: admin\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n    cacert: ~/ca.pem\n").unwrap();
        std::fs::write(cfg.join("clouds.yml"), "clouds: {other: {}}\n").unwrap();
        std::fs::write(
            cfg.join("secure.yaml"),
            "clouds:\n  prod:\n    auth:\n      password: from-secure\n",
        )
        .unwrap();
        let env = env_in(dir.path(), &[("OS_CLOUD", "prod")]);
        let c = resolve(None, &env, &NoKeyring).unwrap();
        let AuthMethod::Password { password, .. } = &c.auth else {
            panic!()
        };
        assert_eq!(password.expose_secret(), "from-secure");
        assert_eq!(c.tls.cacert, Some(dir.path().join("ca.pem")));
        assert!(c.origin.contains("secure.yaml"));
    }

    #[test]
    fn a_missing_password_comes_from_the_keyring() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(
            &file,
            "clouds:\n  prod:\n    auth: {auth_url: 'http://127.0.0.1:1/v3', username: admin}\n",
        )
        .unwrap();
        let env = env_in(
            dir.path(),
            &[("OS_CLIENT_CONFIG_FILE", file.to_str().unwrap())],
        );
        let c = resolve(Some("prod"), &env, &OneSecret).unwrap();
        let AuthMethod::Password { password, .. } = &c.auth else {
            panic!()
        };
        assert_eq!(password.expose_secret(), "from-keyring");
        let e = resolve(Some("prod"), &env, &NoKeyring)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("has no `password`")
                && e.contains("test keyring")
                && e.contains("OS_PASSWORD"),
            "{e}"
        );
    }

    #[test]
    fn os_password_fills_in_a_named_clouds_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "clouds:\n  prod:\n    auth: {auth_url: 'http://127.0.0.1:1/v3', username: admin, project_name: admin}\n").unwrap();
        let env = env_in(
            dir.path(),
            &[
                ("OS_CLIENT_CONFIG_FILE", file.to_str().unwrap()),
                ("OS_PASSWORD", "from-env"),
            ],
        );
        let c = resolve(Some("prod"), &env, &OneSecret).unwrap();
        let AuthMethod::Password { password, .. } = &c.auth else {
            panic!()
        };
        assert_eq!(
            password.expose_secret(),
            "from-env",
            "the environment comes before the keyring"
        );
    }

    #[test]
    fn os_project_beats_the_legacy_os_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(
            dir.path(),
            &[
                ("OS_AUTH_URL", "http://127.0.0.1:5000/v3"),
                ("OS_USERNAME", "admin"),
                ("OS_PASSWORD", "pw"),
                ("OS_PROJECT_NAME", "admin"),
                ("OS_TENANT_NAME", "old-tenant"),
                ("OS_DEFAULT_DOMAIN", "d0"),
            ],
        );
        let c = resolve(None, &env, &NoKeyring).unwrap();
        let AuthMethod::Password { project, user, .. } = c.auth else {
            panic!()
        };
        assert_eq!(
            project,
            Some(ProjectRef::Name {
                name: "admin".into(),
                domain: DomainRef::Id("d0".into())
            })
        );
        assert_eq!(
            user,
            UserRef::Name {
                name: "admin".into(),
                domain: DomainRef::Id("d0".into())
            }
        );
    }

    #[test]
    fn an_explicit_insecure_false_beats_verify_false() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "clouds:\n  c:\n    insecure: false\n    verify: false\n    cacert: /ca.pem\n    auth: {auth_url: 'https://127.0.0.1:1/v3', username: a, password: p, project_name: a}\n").unwrap();
        let env = env_in(
            dir.path(),
            &[("OS_CLIENT_CONFIG_FILE", file.to_str().unwrap())],
        );
        let c = resolve(Some("c"), &env, &NoKeyring).unwrap();
        assert_eq!(
            c.tls,
            Tls {
                insecure: false,
                cacert: Some("/ca.pem".into()),
                client_cert: None
            }
        );
    }

    #[test]
    fn nothing_found_lists_every_source_tried() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve(None, &env_in(dir.path(), &[]), &NoKeyring)
            .unwrap_err()
            .to_string();
        for source in [
            "OS_CLOUD",
            "OS_AUTH_URL",
            "clouds.yaml",
            "test keyring",
            "/etc/openstack",
        ] {
            assert!(e.contains(source), "{source} missing from: {e}");
        }
    }

    #[test]
    fn an_unknown_cloud_names_the_ones_available() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "clouds:\n  prod: {auth: {auth_url: x}}\n  lab: {}\n").unwrap();
        let env = env_in(
            dir.path(),
            &[("OS_CLIENT_CONFIG_FILE", file.to_str().unwrap())],
        );
        let e = resolve(Some("staging"), &env, &NoKeyring)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`staging`") && e.contains("`prod`") && e.contains("`lab`"),
            "{e}"
        );
    }

    #[test]
    fn a_malformed_clouds_yaml_points_at_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "clouds:\n  prod:\n    auth: [\n").unwrap();
        let env = env_in(
            dir.path(),
            &[("OS_CLIENT_CONFIG_FILE", file.to_str().unwrap())],
        );
        let e = resolve(Some("prod"), &env, &NoKeyring)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line") && e.contains("c.yaml"), "{e}");
    }

    #[test]
    fn application_credentials_and_verify_false() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "clouds:\n  ac:\n    auth_type: v3applicationcredential\n    verify: false\n    cacert: /x.pem\n    auth: {auth_url: 'http://127.0.0.1:1/v3', application_credential_id: abc, application_credential_secret: s3}\n").unwrap();
        let env = env_in(
            dir.path(),
            &[("OS_CLIENT_CONFIG_FILE", file.to_str().unwrap())],
        );
        let c = resolve(Some("ac"), &env, &NoKeyring).unwrap();
        assert!(
            matches!(c.auth, AuthMethod::ApplicationCredential { id: Some(ref i), .. } if i == "abc")
        );
        assert_eq!(
            c.tls,
            Tls {
                insecure: true,
                cacert: None,
                client_cert: None
            }
        );
        assert!(
            !format!("{:?}", c).contains("s3"),
            "the secret must not reach Debug output"
        );
    }

    #[test]
    fn a_named_secure_file_that_is_missing_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("secure.yaml");
        let env = Env::from_pairs([("OS_CLIENT_SECURE_FILE", missing.to_str().unwrap())]);
        let e = resolve(None, &env, &NoKeyring).unwrap_err().to_string();
        assert!(
            e.contains("`OS_CLIENT_SECURE_FILE`") && e.contains(missing.to_str().unwrap()),
            "{e}"
        );
    }
}
