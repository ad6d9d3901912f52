//! `site template`, `site check` and `site discover`.

use std::path::Path;

use crate::cloud::credentials::{self, Env};
use crate::cloud::keyring::Keyring;
use crate::cloud::nova::{self, ServerQuery};
use crate::cloud::{ApiError, Scope, Session, magnum, octavia};
use crate::error::UsageError;
use crate::exit::ExitStatus;
use crate::layers::vm::exact_name_regex;
use crate::settings::Settings;
use crate::site::{Http, Management, ProjectId, Site, TEMPLATE, Uuid};
use crate::ui::{self, Format};

/// What `site` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteAction {
    /// Print the commented site template.
    Template,
    /// Validate the site file and print it with every default filled in.
    Check,
    /// Find the literals in the cloud.
    Discover {
        /// The management VM's name.
        server: String,
        /// Write the result to the site file.
        write: bool,
        /// Replace an existing site file (kept as `.bak`).
        force: bool,
    },
}

/// Runs a `site` subcommand.
pub async fn run(settings: &Settings, env: &Env, action: SiteAction) -> anyhow::Result<ExitStatus> {
    match action {
        // The template is commented YAML; for programs, the values it holds.
        SiteAction::Template => match settings.format {
            Format::Table => print!("{TEMPLATE}"),
            format => print!(
                "{}",
                ui::structured(&Site::parse(TEMPLATE).map_err(UsageError)?, format)
            ),
        },
        SiteAction::Check => {
            let site = Site::load(&settings.site_path)?;
            eprintln!(
                "site file `{}` is valid; with every default filled in:",
                settings.site_path.display()
            );
            match settings.format {
                Format::Table => print!("{}", site.to_yaml()),
                format => {
                    #[derive(serde::Serialize)]
                    struct Checked<'a> {
                        path: String,
                        valid: bool,
                        site: &'a Site,
                    }
                    let checked = Checked {
                        path: settings.site_path.display().to_string(),
                        valid: true,
                        site: &site,
                    };
                    print!("{}", ui::structured(&checked, format));
                }
            }
        }
        SiteAction::Discover {
            server,
            write,
            force,
        } => {
            let config = credentials::resolve(settings.cloud.as_deref(), env, &Keyring)?;
            let cloud = config.name.clone();
            let site = discover(config, &server).await?;
            let text = format!(
                "# discovered from cloud `{cloud}` by `juju-capi-restore site discover`\n{}",
                site.to_yaml()
            );
            if write {
                write_site(&settings.site_path, &text, force)?;
                eprintln!(
                    "wrote `{}`; check it with `juju-capi-restore site check`",
                    settings.site_path.display()
                );
            }
            match settings.format {
                Format::Table if !write => print!("{text}"),
                Format::Table => {}
                format => {
                    #[derive(serde::Serialize)]
                    struct Discovered<'a> {
                        cloud: String,
                        written: Option<String>,
                        site: &'a Site,
                    }
                    let discovered = Discovered {
                        cloud,
                        written: write.then(|| settings.site_path.display().to_string()),
                        site: &site,
                    };
                    print!("{}", ui::structured(&discovered, format));
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// Finds the management VM in any project (admin scope), then what CAPO and Magnum
/// made in that project.
pub async fn discover(config: credentials::CloudConfig, server: &str) -> anyhow::Result<Site> {
    let http = Http::default();
    let admin = Session::admin_only(config.clone(), http.clone())?;
    let query = ServerQuery {
        all_projects: true,
        project_id: None,
        name_regex: Some(exact_name_regex(server)),
    };
    let mut found = nova::list_servers(&admin, Scope::Admin, &query).await?;
    found.retain(|s| s.name == server);
    let vm = match found.len() {
        1 => found.remove(0),
        0 => return Err(UsageError(format!("no server named `{server}` in any project: give the management VM's name with `--server NAME`")).into()),
        _ => {
            let places: Vec<String> = found.iter().map(|s| format!("{} in project {}", s.id, s.tenant_id)).collect();
            return Err(UsageError(format!("{} servers are named `{server}` ({}): rename the stale one or write the site file by hand", found.len(), places.join(", "))).into());
        }
    };
    let project_id = ProjectId::parse(&vm.tenant_id).map_err(UsageError)?;
    let Some(floating_ip) = vm.floating_ip().and_then(|ip| ip.parse().ok()) else {
        return Err(UsageError(format!("server `{server}` ({}) has no floating IP: the tool reaches it over ssh at its floating IP; attach one, or write the site file from the template", vm.id)).into());
    };
    // CAPO names each workload cluster's API load balancer `k8s-clusterapi-cluster-<ns>-<cluster>-kubeapi`.
    let load_balancers =
        octavia::list_load_balancers(&admin, Scope::Admin, Some(project_id.as_str()))
            .await?
            .into_iter()
            .filter(|lb| crate::capi::is_capo_api_load_balancer(&lb.name))
            .filter_map(|lb| Uuid::parse(&lb.id).ok())
            .collect();
    let in_project = Session::new(config, project_id.clone(), http)?;
    let magnum_clusters = match magnum::list_clusters(&in_project, Scope::Management).await {
        Ok(clusters) => clusters.into_iter().map(|c| c.name).collect(),
        Err(e @ ApiError::AuthRefused { .. }) => return Err(e.into()),
        Err(e) => {
            tracing::warn!("cannot list Magnum clusters ({e}); add `magnum_clusters` by hand");
            Vec::new()
        }
    };
    Ok(Site {
        load_balancers,
        magnum_clusters,
        ..Site::new(Management::new(project_id, server.to_string(), floating_ip))
    })
}

/// Writes a site file without losing an existing one: refuse, or keep it as `.bak`.
fn write_site(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    if path.exists() {
        if !force {
            return Err(UsageError(format!("`{}` exists: pass `--force` to replace it (the old one is kept as `.bak`), or `--site` another path", path.display())).into());
        }
        let backup = path.with_extension("yaml.bak");
        std::fs::copy(path, &backup)?;
        eprintln!("kept the old site file as `{}`", backup.display());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
