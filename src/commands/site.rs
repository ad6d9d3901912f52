//! `site template` and `site check`.

use std::process::ExitCode;

use crate::cli::args::SiteAction;
use crate::cli::settings::Settings;
use crate::site::{Site, TEMPLATE};

/// Prints the template, or validates the site file and prints it in full.
pub fn run(settings: &Settings, action: SiteAction) -> anyhow::Result<ExitCode> {
    match action {
        SiteAction::Template => print!("{TEMPLATE}"),
        SiteAction::Check => {
            let site = Site::load(&settings.site_path)?;
            eprintln!(
                "site file `{}` is valid; with every default filled in:",
                settings.site_path.display()
            );
            print!("{}", site.to_yaml());
        }
    }
    Ok(ExitCode::SUCCESS)
}
