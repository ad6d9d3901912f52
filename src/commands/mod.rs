//! One file per command: each takes resolved settings and returns an
//! [`ExitStatus`](crate::exit::ExitStatus); those that change something run in the
//! one [`frame`].

pub mod action;
pub mod credentials;
pub mod demo;
pub mod frame;
pub mod hook;
pub mod journal;
pub mod kubeconfig;
pub mod octavia;
pub mod park;
pub mod plan;
pub mod restore;
pub mod site;
pub mod status;
pub mod twin;
pub mod twin_hook_tools;
pub mod twin_ssh;
pub mod verify;
pub mod window;

use std::io::Write;

use crate::cloud::credentials::{Env, resolve};
use crate::cloud::keyring::Keyring;
use crate::cloud::{Scope, Session};
use crate::ending::Ending;
use crate::report::Report;
use crate::settings::Settings;
use crate::site::Site;

/// Loads the site file, resolves credentials and authenticates both scopes: a wrong
/// password or a missing role on the management project is one clear error here,
/// not a column of unknown rows later.
pub async fn connect(settings: &Settings, env: &Env) -> anyhow::Result<(Site, Session)> {
    connect_to(Site::load(&settings.site_path)?, settings, env).await
}

/// [`connect`] with a site already loaded.
pub async fn connect_to(
    site: Site,
    settings: &Settings,
    env: &Env,
) -> anyhow::Result<(Site, Session)> {
    let config = match &settings.credentials {
        Some(config) => config.clone(),
        None => resolve(settings.cloud.as_deref(), env, &Keyring)?,
    };
    // The twin's clock shortens every deadline: it belongs to the twin alone, which
    // listens on loopback. A site file copied from it must not shorten a real cloud's.
    if let Some(twin) = site.twin {
        let loopback = reqwest::Url::parse(&config.auth_url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()))
            .is_some_and(|h| {
                h == "localhost"
                    || h.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            });
        if !loopback {
            return Err(crate::error::UsageError(format!(
                "the site file `{}` has a `twin:` section (time scale {}x), which only the simulated cloud on loopback may have, but the cloud is at `{}`: remove the `twin:` section",
                settings.site_path.display(),
                twin.time_scale,
                config.auth_url
            ))
            .into());
        }
    }
    let session = Session::new(
        config,
        site.management.project_id.clone(),
        site.http.clone(),
    )?;
    authenticate(&session).await?;
    Ok((site, session))
}

/// Logs in to both scopes.
pub async fn authenticate(session: &Session) -> anyhow::Result<()> {
    for scope in [Scope::Admin, Scope::Management] {
        session.scope_info(scope).await?;
    }
    Ok(())
}
use crate::ui::{self, Format};

/// Prints a status report to stdout in the chosen format.
pub fn print_report(
    report: &Report,
    format: Format,
    ending: &Ending,
    closing: &str,
    verdict: Option<&str>,
) {
    let text = match format {
        Format::Table => format!("{}\n{closing}\n", ui::table::status(report)),
        _ => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                #[serde(flatten)]
                report: &'a Report,
                lowest_red: Option<&'static str>,
                /// How the command ended, as a value: the same as its exit code.
                ending: &'a Ending,
                closing: &'a str,
                /// `verify`'s verdict (`SUCCESS` or `not yet`); null for the others.
                verdict: Option<&'a str>,
                exit_code: u8,
            }
            ui::structured(
                &Out {
                    report,
                    lowest_red: report.lowest_red().map(|l| l.name()),
                    ending,
                    closing,
                    verdict,
                    exit_code: ending.code(),
                },
                format,
            )
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
