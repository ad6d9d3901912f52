//! `twin`: run the simulated cloud standalone and write the client files a person
//! needs to point the `openstack` CLI, kubectl and this tool at it. Also the glue
//! `demo` and the tests use: a site and a cloud config for a running twin.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::SecretString;
use twin::{Scenario, Twin};

use crate::cloud::credentials::{
    AuthMethod, CloudConfig, DomainRef, Interface, ProjectRef, Tls, UserRef,
};
use crate::error::UsageError;
use crate::exit::ExitStatus;
use crate::files::write_private;
use crate::settings::Settings;
use crate::site::{Http, Juju, Management, PollIntervals, ProjectId, Site, Ssh, Uuid};

/// Loads a scenario file, or the embedded default.
pub fn load_scenario(path: Option<&Path>, time_scale: Option<f64>) -> anyhow::Result<Scenario> {
    let mut scenario = match path {
        None => Scenario::default_scenario(),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(crate::files::FileError::on(p, "read the scenario"))?;
            Scenario::from_yaml(&text, &p.display().to_string()).map_err(UsageError)?
        }
    };
    if let Some(scale) = time_scale {
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(
                UsageError(format!("`--time-scale {scale}` must be a positive number")).into(),
            );
        }
        scenario.time_scale = scale;
    }
    Ok(scenario)
}

/// Starts a twin on `listen` (loopback only), over HTTPS with a throwaway CA if `tls`.
pub async fn start(scenario: Scenario, listen: SocketAddr, tls: bool) -> anyhow::Result<Twin> {
    if !listen.ip().is_loopback() {
        return Err(UsageError(format!(
            "the twin listens on loopback only: use `--listen 127.0.0.1:PORT`, not `{listen}`"
        ))
        .into());
    }
    let identity = match tls {
        true => Some(
            twin::TlsIdentity::generate()
                .map_err(|e| anyhow::anyhow!("cannot make the twin's TLS certificate: {e}"))?,
        ),
        false => None,
    };
    Twin::start_with(scenario, listen, identity)
        .await
        .with_context(|| format!("cannot start the twin on `{listen}`"))
}

/// A site file describing the twin's management stack.
///
/// ssh goes through `shim` (this tool's own binary) as `twin-ssh`, to the twin's
/// ssh port on the twin's own loopback address.
pub fn site_for(twin: &Twin, shim: &Path, dir: &Path) -> Site {
    let scenario = twin.scenario();
    let vm = scenario
        .servers
        .iter()
        .find(|v| v.name == scenario.management.server)
        .expect("scenario checked");
    let project_id = twin.project_id(&vm.project).expect("scenario checked");
    // The VM's sshd is where the twin listens: loopback, whatever else is configured.
    let floating_ip = twin.addr().ip();
    let mut management = Management::new(
        ProjectId::parse(&project_id).expect("twin project ids are 32 hex digits"),
        vm.name.clone(),
        floating_ip,
    );
    management.kubeconfig = dir.join("capi-mgmt.kubeconfig");
    Site {
        load_balancers: scenario
            .load_balancers
            .iter()
            // As `site discover` would write it: CAPO's kube-api load balancers.
            .filter(|lb| lb.project == vm.project)
            .filter(|lb| crate::capi::is_capo_api_load_balancer(&lb.name))
            .filter_map(|lb| Uuid::parse(&lb.id).ok())
            .collect(),
        magnum_clusters: scenario
            .magnum_clusters
            .iter()
            .map(|c| c.name.clone())
            .collect(),
        // Deadlines and the times shown follow the twin's clock.
        twin: Some(crate::site::TwinClock {
            time_scale: twin.scenario().time_scale,
        }),
        // The twin's clock runs fast: poll often enough to see it move.
        poll: PollIntervals {
            server: std::time::Duration::from_millis(500),
            ssh_port: std::time::Duration::from_millis(250),
            k8s: std::time::Duration::from_secs(1),
            failover: std::time::Duration::from_secs(1),
        },
        ssh: Ssh {
            port: twin.ssh_port(),
            command: vec![
                shim.display().to_string(),
                "twin-ssh".into(),
                "--twin".into(),
                twin.base_url().to_string(),
            ],
            key: "/dev/null".into(),
            known_hosts: "/dev/null".into(),
            // The twin's VM is on loopback: a dropped SYN needs no 10 s to tell.
            connect_timeout: std::time::Duration::from_secs(1),
            ..Ssh::default()
        },
        // No Juju here: the fake stands in for `juju ssh` to the octavia units.
        juju: Juju {
            command: vec![
                shim.display().to_string(),
                "twin-juju".into(),
                "--twin".into(),
                twin.base_url().to_string(),
            ],
            timeout: std::time::Duration::from_secs(10),
            ..Juju::default()
        },
        // Loopback answers fast: short timeouts and backoff keep failures quick.
        http: Http {
            timeout: std::time::Duration::from_secs(10),
            retries: 3,
            backoff: std::time::Duration::from_millis(50),
        },
        ..Site::new(management)
    }
}

/// The twin's admin user as a cloud config (what an admin-openrc would give).
pub fn admin_cloud(twin: &Twin) -> CloudConfig {
    let user = twin
        .scenario()
        .users
        .iter()
        .find(|u| u.roles.values().any(|r| r.iter().any(|r| r == "admin")))
        .expect("the scenario has an admin");
    CloudConfig {
        name: "twin".into(),
        origin: "the built-in twin".into(),
        auth_url: twin.auth_url(),
        auth: AuthMethod::Password {
            user: UserRef::Name {
                name: user.name.clone(),
                domain: DomainRef::Id("default".into()),
            },
            password: SecretString::from(user.password.clone()),
            project: user.default_project.clone().map(|p| ProjectRef::Name {
                name: p,
                domain: DomainRef::Id("default".into()),
            }),
        },
        management_auth: None,
        region: Some(twin.scenario().region.clone()),
        interface: Interface::Public,
        tls: Tls::default(),
    }
}

/// Paths of the files written for a twin.
#[derive(Debug, Clone)]
pub struct ClientFiles {
    /// clouds.yaml (no secrets).
    pub clouds: PathBuf,
    /// secure.yaml (passwords, mode 0600).
    pub secure: PathBuf,
    /// admin-openrc (mode 0600).
    pub openrc: PathBuf,
    /// site.yaml.
    pub site: PathBuf,
}

/// Writes clouds.yaml, secure.yaml, admin-openrc and site.yaml for a twin into `dir`
/// (the site's ssh through `shim`, see [`site_for`]).
pub fn write_client_files(twin: &Twin, dir: &Path, shim: &Path) -> std::io::Result<ClientFiles> {
    use std::fmt::Write;
    std::fs::create_dir_all(dir)?;
    let s = twin.scenario();
    let mut clouds = String::from(
        "# clouds for the juju-capi-restore twin (a simulated cloud on loopback)\nclouds:\n",
    );
    let ca_file = dir.join("ca.pem");
    let cacert = match twin.ca_pem() {
        Some(pem) => {
            write_private(&ca_file, pem)?;
            format!("    cacert: {}\n", ca_file.display())
        }
        None => String::new(),
    };
    let mut secure = String::from("clouds:\n");
    // One clouds.yaml entry (no secret) and its secure.yaml entry (the secret).
    let mut add = |name: &str, auth_type: &str, auth: String, secret: String| {
        let _ = write!(
            clouds,
            "  {name}:\n    auth_type: {auth_type}\n    region_name: {}\n    interface: public\n    identity_api_version: 3\n{cacert}    auth:\n      auth_url: {}\n{auth}",
            s.region,
            twin.auth_url()
        );
        let _ = write!(secure, "  {name}:\n    auth:\n      {secret}\n");
    };
    for u in &s.users {
        let project = u.default_project.clone().unwrap_or_default();
        let name = if u.name == "admin" {
            "twin".to_string()
        } else {
            format!("twin-{}", u.name)
        };
        let auth = format!(
            "      username: {}\n      user_domain_name: Default\n      project_name: {project}\n      project_domain_name: Default\n",
            u.name
        );
        add(&name, "password", auth, format!("password: {}", u.password));
    }
    for a in &s.application_credentials {
        let id =
            a.id.clone()
                .unwrap_or_else(|| twin::cloud::derived_hex("appcred", &a.name));
        let auth = format!("      application_credential_id: {id}\n");
        add(
            &format!("twin-appcred-{}", a.name),
            "v3applicationcredential",
            auth,
            format!("application_credential_secret: {}", a.secret),
        );
    }
    let admin = s.users.iter().find(|u| u.name == "admin");
    let openrc = format!(
        "# admin-openrc for the twin: `source` it as you would a real one\nexport OS_AUTH_URL={}\nexport OS_USERNAME=admin\nexport OS_PASSWORD={}\nexport OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_NAME=admin\nexport OS_PROJECT_DOMAIN_NAME=Default\nexport OS_REGION_NAME={}\nexport OS_INTERFACE=public\nexport OS_IDENTITY_API_VERSION=3\n{}",
        twin.auth_url(),
        shell_quote(admin.map(|u| u.password.as_str()).unwrap_or_default()),
        s.region,
        if twin.ca_pem().is_some() {
            format!("export OS_CACERT={}\n", ca_file.display())
        } else {
            String::new()
        }
    );
    let files = ClientFiles {
        clouds: dir.join("clouds.yaml"),
        secure: dir.join("secure.yaml"),
        openrc: dir.join("admin-openrc"),
        site: dir.join("site.yaml"),
    };
    write_private(&files.clouds, &clouds)?;
    write_private(&files.secure, &secure)?;
    write_private(&files.openrc, &openrc)?;
    write_private(&files.site, &site_for(twin, shim, dir).to_yaml())?;
    Ok(files)
}

/// A new directory of our own under the temp directory (0700): never one somebody
/// prepared in /tmp.
pub fn private_dir(name: &str) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(name);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))?;
    Ok(dir)
}

/// Quotes a value for a POSIX shell (`source admin-openrc`, the twin VM's scripts).
pub(crate) fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Runs the twin until Ctrl-C or SIGTERM.
pub async fn run(
    _settings: &Settings,
    scenario: Option<&Path>,
    listen: SocketAddr,
    dir: Option<PathBuf>,
    time_scale: Option<f64>,
    tls: bool,
) -> anyhow::Result<ExitStatus> {
    let scenario = load_scenario(scenario, time_scale)?;
    let twin = start(scenario, listen, tls).await?;
    let dir = match dir {
        Some(dir) => dir,
        None => private_dir(&format!(
            "juju-capi-restore-twin-{}-{}",
            twin.addr().port(),
            std::process::id()
        ))?,
    };
    let files = write_client_files(&twin, &dir, &std::env::current_exe()?)
        .with_context(|| format!("cannot write the client files to `{}`", dir.display()))?;
    println!(
        "twin `{}` serving on {}://{} ({}x time)",
        twin.scenario().name,
        if tls { "https" } else { "http" },
        twin.addr(),
        twin.scenario().time_scale
    );
    println!("auth URL: {}", twin.auth_url());
    println!(
        "its record: {0}/twin/requests, {0}/twin/changes, {0}/twin/faults",
        twin.base_url()
    );
    println!("client files in {}:", dir.display());
    println!(
        "  export OS_CLIENT_CONFIG_FILE={} OS_CLIENT_SECURE_FILE={}",
        files.clouds.display(),
        files.secure.display()
    );
    println!("  openstack --os-cloud twin server list --all-projects --long");
    println!("  source {}   # admin-openrc", files.openrc.display());
    println!(
        "  juju-capi-restore --site {} --cloud twin status",
        files.site.display()
    );
    println!("press Ctrl-C to stop");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    twin.stop().await;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openrc_values_are_shell_quoted() {
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
