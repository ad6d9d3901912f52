//! `demo`: the embedded default. Starts the twin in-process with the runbook's parked
//! stack and runs `status` against it, so a fresh machine shows the tool with no
//! cloud at all.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::settings::Settings;
use crate::cloud::Session;

use super::twin::{admin_cloud, load_scenario, site_for, start};

/// Runs the demo.
pub async fn run(settings: &Settings, scenario: Option<&Path>) -> anyhow::Result<ExitCode> {
    let scenario = load_scenario(scenario, None)?;
    let twin = start(scenario, SocketAddr::from(([127, 0, 0, 1], 0)), false).await?;
    eprintln!(
        "demo: the twin (a simulated cloud, scenario `{}`, {}x time) is serving on http://{}; nothing leaves this machine",
        twin.scenario().name,
        twin.scenario().time_scale,
        twin.addr()
    );
    let site = site_for(&twin, &std::env::current_exe()?);
    let session = Session::new(
        admin_cloud(&twin),
        site.management.project_id.clone(),
        site.http.clone(),
    )?;
    let code = super::status::status(&session, &site, settings).await?;
    eprintln!(
        "demo: `status` made {} API requests ({} Keystone logins)",
        session.stats().requests(),
        session.stats().logins()
    );
    twin.stop().await;
    // The demo succeeded if it showed the state; the parked stack's red layers are the
    // point of the demo, not a failure of it.
    let _ = code;
    Ok(ExitCode::SUCCESS)
}
