//! `status`: probe every observable layer and print one row per layer.

use crate::cloud::Session;
use crate::cloud::credentials::Env;
use crate::ending::Ending;
use crate::exit::ExitStatus;
use crate::layers::Probe;
use crate::report;
use crate::settings::Settings;
use crate::site::Site;

/// Loads the site and credentials, checks both scopes, probes, prints.
pub async fn run(settings: &Settings, env: &Env) -> anyhow::Result<ExitStatus> {
    let (site, session) = super::connect(settings, env).await?;
    status(&session, &site, settings).await
}

/// Probes and prints with an authenticated session.
pub async fn status(
    session: &Session,
    site: &Site,
    settings: &Settings,
) -> anyhow::Result<ExitStatus> {
    let report = report::observe(Probe { session, site }).await;
    let ending = Ending::observed(&[], &report.red(), report.lowest_unobserved());
    super::print_report(
        &report,
        settings.format,
        &ending,
        &match ending {
            Ending::Unobserved { .. } => ending.line(&[]),
            _ => crate::ui::table::lowest_red(&report),
        },
        None,
    );
    tracing::debug!(
        "{} API requests, {} retries, {} logins",
        session.stats().requests(),
        session.stats().retries(),
        session.stats().logins()
    );
    Ok(ending.status())
}
