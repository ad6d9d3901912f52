//! `kubeconfig`: re-emit the management kubeconfig (runbook phase-06 Step 6.5).

use crate::exit::ExitStatus;
use crate::host::kubeconfig;
use crate::settings::Settings;
use crate::site::{Site, expand_home};

/// Fetches the kubeconfig over ssh and writes it to the site's path, 0600.
pub async fn run(settings: &Settings) -> anyhow::Result<ExitStatus> {
    let site = Site::load(&settings.site_path)?;
    let path = expand_home(&site.management.kubeconfig);
    let text = kubeconfig::emit(&site, &path).await?;
    let server = kubeconfig::server(&text);
    eprintln!(
        "wrote `{}` (mode 0600), server {}",
        path.display(),
        server.unwrap_or("not named")
    );
    if settings.format != crate::ui::Format::Table {
        #[derive(serde::Serialize)]
        struct Written<'a> {
            path: String,
            mode: &'static str,
            server: Option<&'a str>,
        }
        let written = Written {
            path: path.display().to_string(),
            mode: "0600",
            server,
        };
        print!("{}", crate::ui::structured(&written, settings.format));
    }
    Ok(ExitStatus::Success)
}
