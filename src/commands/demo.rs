//! `demo`: the embedded default. Starts the twin in-process with the runbook's parked
//! stack and restores it, so a fresh machine shows the tool with no cloud at all.
//! Its kubeconfig and journal go to a private directory of its own.

use std::net::SocketAddr;
use std::path::Path;

use crate::cloud::Session;
use crate::cloud::credentials::Env;
use crate::engine::restore::Options;
use crate::exit::ExitStatus;
use crate::settings::Settings;

use super::frame::Frame;
use super::twin::{admin_cloud, load_scenario, site_for, start};
use super::verify::Shown;

/// Runs the demo.
pub async fn run(
    settings: &Settings,
    _env: &Env,
    scenario: Option<&Path>,
    time_scale: Option<f64>,
) -> anyhow::Result<ExitStatus> {
    let scenario = load_scenario(scenario, time_scale)?;
    let twin = start(scenario, SocketAddr::from(([127, 0, 0, 1], 0)), false).await?;
    let dir = super::twin::private_dir(&format!("juju-capi-restore-demo-{}", std::process::id()))?;
    let site = site_for(&twin, &std::env::current_exe()?, &dir);
    eprintln!(
        "demo: the twin (a simulated cloud, scenario `{}`, {}x time) is serving on http://{}; nothing leaves this machine",
        twin.scenario().name,
        twin.scenario().time_scale,
        twin.addr()
    );
    eprintln!(
        "demo: restoring it as `juju-capi-restore restore` would a real one; files in {}",
        dir.display()
    );
    let session = Session::new(
        admin_cloud(&twin),
        site.management.project_id.clone(),
        site.http.clone(),
    )?;
    super::authenticate(&session).await?;
    // The twin is simulated: its orphans and failovers are confirmed without asking.
    let options = Options {
        yes: true,
        ..Options::default()
    };
    let state = dir.join("state");
    let frame = Frame::on(
        site,
        session,
        settings,
        &state,
        "restore",
        super::restore::start(options),
        true,
    )?;
    let restored = match super::restore::restore_in(&frame, options).await {
        Ok(restored) => {
            super::restore::show(&restored, settings);
            super::restore::finish(&frame, &restored)
        }
        Err(interrupted) => interrupted,
    };
    let journal = frame.journal.path().to_path_buf();
    let (site, session) = frame.into_parts();
    eprintln!(
        "demo: {} API requests ({} Keystone logins)",
        session.stats().requests(),
        session.stats().logins()
    );
    if settings.format == crate::ui::Format::Table {
        let id = journal
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "\nthe journal of this run (`juju-capi-restore journal` renders any run):\n{}",
            super::journal::render(&id, &crate::journal::read(&journal), false)
        );
    }
    // Done is what the runbook calls done: its final verify says SUCCESS.
    let code = if restored == ExitStatus::Success {
        eprintln!("demo: the runbook's final verify, as `juju-capi-restore verify` runs it");
        let frame = Frame::on(
            site,
            session,
            settings,
            &state,
            "verify",
            Default::default(),
            false,
        )?;
        super::verify::verify_in(&frame, settings, Shown::VerdictOnly)
            .await
            .status
    } else {
        restored
    };
    twin.stop().await;
    Ok(code)
}
