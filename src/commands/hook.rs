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
        look(&tools, settings, env, &charm).await
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
    tools: &HookTools,
    settings: &Settings,
    env: &Env,
    charm: &std::path::Path,
) -> (WorkloadStatus, String) {
    let configured = match config::configure(tools, env, charm).await {
        Ok(c) => c,
        Err(e) => return (WorkloadStatus::Blocked, e.to_string()),
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
        Ok(Ok(rows)) => status_of(&rows),
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
