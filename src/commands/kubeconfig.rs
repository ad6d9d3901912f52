//! `kubeconfig`: re-emit the management kubeconfig (runbook phase-06 Step 6.5).

use std::process::ExitCode;

use crate::cli::settings::Settings;
use crate::host::kubeconfig;
use crate::site::{Site, expand_home};

/// Fetches the kubeconfig over ssh and writes it to the site's path, 0600.
pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let site = Site::load(&settings.site_path)?;
    let path = expand_home(&site.management.kubeconfig);
    let text = kubeconfig::emit(&site, &path).await?;
    eprintln!(
        "wrote `{}` (mode 0600), server {}",
        path.display(),
        kubeconfig::server(&text).unwrap_or("?")
    );
    Ok(ExitCode::SUCCESS)
}
