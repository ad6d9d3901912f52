//! `demo`: the embedded default. Starts the twin in-process with the runbook's parked
//! stack and restores it, so a fresh machine shows the tool with no cloud at all.
//! Its kubeconfig and journal go to a private directory of its own.

use std::net::SocketAddr;
use std::path::Path;

use crate::cloud::Session;
use crate::cloud::credentials::Env;
use crate::ending::Ending;
use crate::engine::restore::Options;
use crate::exit::ExitStatus;
use crate::settings::Settings;

use super::twin::{admin_cloud, load_scenario, site_for, start};

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
    let (restored, journal) = super::restore::restore_with(
        &session,
        &site,
        settings,
        // The twin is simulated: its orphans and failovers are confirmed without asking.
        Options {
            yes: true,
            ..Options::default()
        },
        &dir.join("state"),
    )
    .await?;
    eprintln!(
        "demo: {} API requests ({} Keystone logins)",
        session.stats().requests(),
        session.stats().logins()
    );
    if settings.format == crate::ui::Format::Table {
        let entries: Vec<serde_json::Value> = std::fs::read_to_string(&journal)?
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let id = journal
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "\nthe journal of this run (`juju-capi-restore journal` renders any run):\n{}",
            super::journal::render(&id, &entries, false)
        );
    }
    // Done is what the runbook calls done: its final verify says SUCCESS.
    let code = if restored == ExitStatus::Success {
        eprintln!("demo: the runbook's final verify, as `juju-capi-restore verify` runs it");
        let state = dir.join("state");
        let verify_journal = crate::journal::Journal::create(&state, "verify")?;
        verify_journal.record(
            crate::journal::Event::Start,
            None,
            serde_json::json!({"command": "verify", "time_scale": site.time_scale(), "cloud": session.config().name, "server": site.management.server}),
        );
        let progress = crate::ui::progress::Progress::with(
            settings.verbosity == crate::settings::Verbosity::Quiet,
            !settings.progress,
        )
        .on_clock(site.time_scale());
        let p = crate::layers::Probe {
            session: &session,
            site: &site,
        };
        let stopped = crate::engine::restore::verify(p, &verify_journal, &progress).await;
        let (ending, closing) = super::verify::verdict(&stopped);
        // stdout carries one document for programs; the verdict goes beside it.
        if settings.format == crate::ui::Format::Table {
            println!("{closing}");
        } else {
            eprintln!("{closing}");
        }
        verify_journal.record(
            crate::journal::Event::End,
            None,
            serde_json::json!({"success": ending == Ending::Green, "ending": ending, "exit_code": ending.code(), "stopped": stopped}),
        );
        ending.status()
    } else {
        restored
    };
    twin.stop().await;
    Ok(code)
}
