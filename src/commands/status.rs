//! `status`: probe every observable layer and print one row per layer.

use std::process::ExitCode;

use crate::cli::settings::Settings;
use crate::cloud::credentials::{self, Env};
use crate::cloud::keyring::Keyring;
use crate::cloud::{Scope, Session};
use crate::exit;
use crate::layers::Probe;
use crate::report;
use crate::site::Site;

/// Loads the site and credentials, checks both scopes, probes, prints.
pub async fn run(settings: &Settings, env: &Env) -> anyhow::Result<ExitCode> {
    let site = Site::load(&settings.site_path)?;
    let config = credentials::resolve(settings.cloud.as_deref(), env, &Keyring)?;
    let session = Session::new(
        config,
        site.management.project_id.clone(),
        site.http.clone(),
    )?;
    status(&session, &site, settings).await
}

/// Probes and prints with an existing session (also used by `demo`).
pub async fn status(
    session: &Session,
    site: &Site,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    // Authenticate both scopes first: a wrong password or a missing role on the
    // management project is one clear error, not a column of unknown rows.
    for scope in [Scope::Admin, Scope::Management] {
        session.scope_info(scope).await?;
    }
    let report = report::observe(Probe { session, site }).await;
    super::print_report(&report, settings.format);
    tracing::debug!(
        "{} API requests, {} retries, {} logins",
        session.stats().requests(),
        session.stats().retries(),
        session.stats().logins()
    );
    Ok(exit::for_layer(report.lowest_red()))
}
