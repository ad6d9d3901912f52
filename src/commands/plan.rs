//! `plan`: what `restore` would do now, touching nothing.

use crate::cloud::Session;
use crate::cloud::credentials::Env;
use crate::engine::plan;
use crate::exit::ExitStatus;
use crate::layers::Probe;
use crate::report;
use crate::settings::Settings;
use crate::site::Site;
use crate::ui::{self, Format};

/// Observes every layer and prints the plan.
pub async fn run(settings: &Settings, env: &Env) -> anyhow::Result<ExitStatus> {
    let (site, session) = super::connect(settings, env).await?;
    show(&session, &site, settings.format).await;
    Ok(ExitStatus::Success)
}

/// Prints the plan for the stack as it is now.
pub async fn show(session: &Session, site: &Site, format: Format) {
    let report = report::observe(Probe { session, site }).await;
    let steps = plan::plan(&report.layers, site);
    match format {
        Format::Table => print!("{}", plan::render(&steps)),
        other => print!("{}", ui::structured(&steps, other)),
    }
}
