//! The charm's hooks. `install`, `config-changed`, `secret-changed`,
//! `upgrade-charm`, `start` and `update-status` read the configuration (its secrets
//! into memory, the key and site into root-only files) and set the unit's workload
//! status from a cheap look at the OpenStack side of the stack: the VM, the
//! amphorae, the load balancers and Magnum, through the cloud's APIs only (no ssh,
//! short timeouts, a deadline): a hook holds the unit while it runs. `remove`
//! deletes what the configuration wrote. No hook changes anything in the cloud, and
//! every other hook does nothing.

use std::time::Duration;

use crate::charm::config;
use crate::charm::hook_tools::{HookTools, WorkloadStatus};
use crate::env::Env;
use crate::exit::ExitStatus;
use crate::layers::{Health, Layer, Probe, Row};
use crate::settings::Settings;
use crate::site::Site;

/// How long `update-status` may look before it says the cloud is slow.
const LOOK_DEADLINE: Duration = Duration::from_secs(45);

/// One HTTP call's deadline during the look (the site's may be minutes).
const LOOK_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The hooks that look at the stack.
const LOOKING: [&str; 6] = [
    "install",
    "config-changed",
    "secret-changed",
    "upgrade-charm",
    "start",
    "update-status",
];

/// Runs hook `name`; the process's exit status (0 unless the hook tools failed: a
/// configuration problem is a `blocked` status, not a failed hook, which would
/// stop the unit's other hooks).
pub async fn run(name: &str, settings: &Settings, env: &Env) -> ExitStatus {
    let tools = HookTools;
    let charm = crate::state::charm_dir(env);
    let (status, message) = if name == "remove" {
        let _ = unschedule(env, &charm);
        match config::forget(&charm) {
            Ok(()) => (
                WorkloadStatus::Maintenance,
                "removing: the ssh key and site file are deleted; the journals stay".to_string(),
            ),
            Err(e) => (
                WorkloadStatus::Blocked,
                format!(
                    "cannot delete `{}`: {e}; delete it by hand",
                    charm.display()
                ),
            ),
        }
    } else if LOOKING.contains(&name) {
        look(name, &tools, settings, env, &charm).await
    } else {
        return ExitStatus::Success;
    };
    let told = async {
        tools
            .juju_log("INFO", &format!("{name}: {}: {message}", status.as_str()))
            .await?;
        tools.status(status, &message).await
    };
    match told.await {
        Ok(()) => ExitStatus::Success,
        Err(e) => {
            eprintln!("error: {e}");
            ExitStatus::Internal
        }
    }
}

/// The configuration, then the OpenStack side of the stack, as a workload status.
async fn look(
    name: &str,
    tools: &HookTools,
    settings: &Settings,
    env: &Env,
    charm: &std::path::Path,
) -> (WorkloadStatus, String) {
    let configured = match config::configure(tools, env, charm).await {
        Ok(c) => c,
        Err(e) => return (WorkloadStatus::Blocked, e.to_string()),
    };
    // The timers change with the configuration, never on the five-minute look.
    let window = if name == "update-status" {
        scheduled(charm)
    } else {
        match schedule(tools, env, charm).await {
            Ok(window) => window,
            Err(e) => return (WorkloadStatus::Blocked, e),
        }
    };
    let site = match Site::load(&configured.site_path) {
        Ok(site) => bounded(site),
        Err(e) => return (WorkloadStatus::Blocked, e.to_string()),
    };
    let settings = Settings {
        site_path: configured.site_path,
        credentials: Some(configured.cloud),
        ..settings.clone()
    };
    let looked = tokio::time::timeout(LOOK_DEADLINE, async {
        let (site, session) = super::connect_to(site, &settings, env).await?;
        let rows = crate::report::observe_openstack(Probe {
            session: &session,
            site: &site,
        })
        .await;
        anyhow::Ok(rows)
    })
    .await;
    match looked {
        Err(_) => (
            WorkloadStatus::Waiting,
            format!(
                "the OpenStack APIs did not answer within {} s; the next update-status looks again",
                LOOK_DEADLINE.as_secs()
            ),
        ),
        Ok(Err(e)) => {
            let status = match ExitStatus::of_error(&e) {
                ExitStatus::Cloud => WorkloadStatus::Waiting,
                _ => WorkloadStatus::Blocked,
            };
            let line = e.to_string().lines().next().unwrap_or_default().to_string();
            (status, line)
        }
        Ok(Ok(rows)) => {
            let (status, message) = status_of(&rows);
            match window {
                Some(window) => (status, format!("{message}; {window}")),
                None => (status, message),
            }
        }
    }
}

/// Where the charm's window timers go (`/`, or `$JUJU_CAPI_RESTORE_SYSTEM_ROOT`).
fn system_root(env: &Env) -> std::path::PathBuf {
    env.get("JUJU_CAPI_RESTORE_SYSTEM_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/".into())
}

/// The charm's maintenance window (`window-park`, `window-restore`,
/// `window-time-zone`, `window-preflight`) as systemd timers whose runs go through
/// `juju-exec UNIT`, so the credentials come from the Juju secret at each run and
/// never sit on disk; none when neither time is set. The window's words for the
/// unit's status, or what is wrong with the options.
async fn schedule(
    tools: &HookTools,
    env: &Env,
    charm: &std::path::Path,
) -> Result<Option<String>, String> {
    let config = tools.config().await.map_err(|e| e.to_string())?;
    let option = |key: &str| {
        config
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (park, restore) = match (option("window-park"), option("window-restore")) {
        (None, None) => {
            unschedule(env, charm)?;
            return Ok(None);
        }
        (Some(park), Some(restore)) => (park, restore),
        _ => return Err("set both `window-park` and `window-restore` (or neither): `juju config capi-restore window-park=\"Fri 22:00\" window-restore=\"Mon 06:00\"`".into()),
    };
    let zone = option("window-time-zone").unwrap_or_else(|| "UTC".into());
    let unit = env.get("JUJU_UNIT_NAME").unwrap_or("capi-restore/0");
    let binary = std::env::current_exe().map_err(|e| e.to_string())?;
    let definition = serde_json::json!({
        "name": config::application(env),
        "park": park,
        "restore": restore,
        "time_zone": zone,
        "site": charm.join("site.yaml"),
        "scheduler": "systemd",
        "binary": binary,
        "charm": true,
        "command_prefix": ["/usr/bin/juju-exec", unit],
        "preflight": option("window-preflight"),
    });
    let file = charm.join("window.yaml");
    crate::files::replace_private(
        &file,
        &serde_saphyr::to_string(&definition).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("cannot write `{}`: {e}", file.display()))?;
    let window = crate::window::Window::load(&file)
        .map_err(|e| format!("the window options are wrong: {}", e.message))?;
    let root = system_root(env);
    let _ = super::window::remove_window(env, &window, &root);
    super::window::write_window(env, &window, &root).map_err(|e| e.to_string())?;
    systemctl(&["daemon-reload"]);
    let mut enable = vec!["enable", "--now"];
    let timers = super::window::timers(&window);
    enable.extend(timers.iter().map(String::as_str));
    systemctl(&enable);
    Ok(scheduled(charm))
}

/// The window the timers run now, in the status's words.
fn scheduled(charm: &std::path::Path) -> Option<String> {
    let window = crate::window::Window::load(&charm.join("window.yaml")).ok()?;
    Some(format!(
        "window {} to {} {}",
        window.park.text(),
        window.restore.text(),
        window.zone_name
    ))
}

/// Removes the charm's window timers, if any.
fn unschedule(env: &Env, charm: &std::path::Path) -> Result<(), String> {
    let file = charm.join("window.yaml");
    let Ok(window) = crate::window::Window::load(&file) else {
        return Ok(());
    };
    let mut disable = vec!["disable", "--now"];
    let timers = super::window::timers(&window);
    disable.extend(timers.iter().map(String::as_str));
    systemctl(&disable);
    super::window::remove_window(env, &window, &system_root(env)).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&file);
    systemctl(&["daemon-reload"]);
    Ok(())
}

/// `systemctl ARGS` where systemd runs (a unit's machine); nothing elsewhere.
fn systemctl(args: &[&str]) {
    if std::path::Path::new("/run/systemd/system").is_dir() {
        let _ = std::process::Command::new("systemctl")
            .args(args)
            .stdin(std::process::Stdio::null())
            .status();
    }
}

/// The site with the look's short deadlines: one HTTP call at most
/// [`LOOK_HTTP_TIMEOUT`], retried once.
fn bounded(mut site: Site) -> Site {
    site.http.timeout = site.http.timeout.min(LOOK_HTTP_TIMEOUT);
    site.http.retries = site.http.retries.min(1);
    site
}

/// The workload status of the OpenStack side's rows: `blocked` with every red
/// layer's summary, `waiting` when a layer could not be seen, else `active`.
fn status_of(rows: &[Row]) -> (WorkloadStatus, String) {
    let said = |row: &Row| format!("{}: {}", row.layer.name(), row.summary);
    let red: Vec<String> = rows
        .iter()
        .filter(|r| r.state == Health::Red)
        .map(said)
        .collect();
    if !red.is_empty() {
        return (
            WorkloadStatus::Blocked,
            format!("{} (run the restore action)", red.join("; ")),
        );
    }
    if let Some(unseen) = rows.iter().find(|r| r.unobserved) {
        return (
            WorkloadStatus::Waiting,
            format!("cannot see {}", said(unseen)),
        );
    }
    let mut message = String::from("stack green on the OpenStack side");
    let yellow: Vec<String> = rows
        .iter()
        .filter(|r| r.state == Health::Yellow && r.layer != Layer::Magnum)
        .map(said)
        .collect();
    if !yellow.is_empty() {
        message.push_str(&format!(" (to look at: {})", yellow.join("; ")));
    }
    (WorkloadStatus::Active, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_names_every_red_layer_and_asks_for_the_restore() {
        let rows = [
            Row::new(Layer::Vm, Health::Red, "parked (SHUTOFF)"),
            Row::new(Layer::Amphorae, Health::Green, "1 amphora"),
            Row::new(
                Layer::LoadBalancers,
                Health::Red,
                "1 load balancer, 1 ERROR",
            ),
        ];
        assert_eq!(
            status_of(&rows),
            (
                WorkloadStatus::Blocked,
                "vm: parked (SHUTOFF); load-balancers: 1 load balancer, 1 ERROR (run the restore action)".into()
            )
        );
        let green = [Row::new(Layer::Vm, Health::Green, "ACTIVE")];
        assert_eq!(
            status_of(&green),
            (
                WorkloadStatus::Active,
                "stack green on the OpenStack side".into()
            )
        );
    }
}
