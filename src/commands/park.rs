//! `park` (runbook block "capi-mgmt parking"): pre-checks, optional filing of the
//! kubeconfigs, then the VM stopped in the management project's scope. Stopping is
//! destructive: it is confirmed on a terminal or by `--yes`, refused otherwise, and
//! journaled.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::frame::{Frame, options};
use crate::capi::{self, Kubectl, Phase};
use crate::cloud::credentials::Env;
use crate::cloud::nova::ServerStatus;
use crate::cloud::{Scope, nova};
use crate::engine::wait::{Check, Wait, WaitError};
use crate::error::UsageError;
use crate::exit::ExitStatus;
use crate::journal::{self, ActionResult, End, Entry, Journal, Request};
use crate::layers::Layer;
use crate::settings::Settings;
use crate::site::expand_home;
use crate::site::{Gate, KubectlAt, Site};
use crate::window::{LATE_AFTER, ParkTime, Window};

/// `park`'s options.
#[derive(Debug, Clone, Default)]
pub struct ParkSettings {
    /// Park even with a CAPI operation in flight.
    pub force: bool,
    /// Stop without asking.
    pub yes: bool,
    /// File the kubeconfigs under this directory first.
    pub file_secrets: Option<PathBuf>,
    /// The maintenance window this run belongs to (a scheduled park): refused when
    /// late or when the window's restore is due.
    pub window: Option<Window>,
}

/// What parking leaves behind, for the operator and for cron mail.
const EXPECT_WHILE_PARKED: &str = "expect while parked: Magnum UNHEALTHY with an EMPTY reason (the conductor cannot reach the management API: not D-042); the Container Infra panel may answer 504; workload clusters keep running (they do not depend on the management cluster at runtime). Bring it back with `juju-capi-restore restore`.";

use crate::error::Refused;
use crate::ui::confirm::confirm;

/// Runs `park`.
pub async fn run(settings: &Settings, env: &Env, park: ParkSettings) -> anyhow::Result<ExitStatus> {
    let mut options = options([("force", json!(park.force)), ("yes", json!(park.yes))]);
    if let Some(window) = &park.window {
        options.insert("window".into(), json!(window.name));
    }
    let frame = Frame::open(settings, env, "park", options).await?;
    park_in(&frame, park).await
}

/// Park in its frame (also the action's): every way out leaves an end in the
/// journal, a refusal or an error saying which.
pub async fn park_in(frame: &Frame, park: ParkSettings) -> anyhow::Result<ExitStatus> {
    park_with(frame, park).await.map_err(|e| frame.failed(e))
}

/// Pre-checks, files, confirms, stops, waits; `park_in` journals how it ended on error.
async fn park_with(frame: &Frame, park: ParkSettings) -> anyhow::Result<ExitStatus> {
    let (site, session, journal) = (&frame.site, &frame.session, &frame.journal);
    if let Some(window) = &park.window {
        in_its_window(window, session.clock().now())?;
    }
    let p = frame.probe();
    let vm = crate::layers::vm::probe(p).await?;
    let Some(server) = vm.server.clone() else {
        let row = crate::layers::vm::assess(&vm);
        return Err(UsageError(
            row.diagnosis
                .first()
                .map(|d| format!("{}: {}", d.finding, d.next))
                .unwrap_or(row.summary),
        )
        .into());
    };
    let kubeconfig = expand_home(&site.management.kubeconfig);
    if server.status == ServerStatus::Shutoff && server.task_state.is_none() {
        // Filing asked for is still done: the file outlives the VM's state.
        if let Some(root) = &park.file_secrets {
            file_and_record(root, &kubeconfig, journal)?;
        }
        eprintln!(
            "`{}` is already parked (SHUTOFF); nothing to do.\n{EXPECT_WHILE_PARKED}",
            server.name
        );
        journal.end(End {
            success: Some(true),
            more: options([("result", json!("already SHUTOFF"))]),
            ..End::default()
        });
        return Ok(ExitStatus::Success);
    }
    // Pre-check: Machines being created or deleted would be cut off mid-operation.
    no_operation_in_flight(frame, &kubeconfig, park.force).await?;
    if let Some(root) = &park.file_secrets {
        file_and_record(root, &kubeconfig, journal)?;
    }
    let question = format!(
        "stop `{}` ({}) in project `{}`?",
        server.name, server.id, vm.project_id
    );
    if let Err(refused) = confirm(&question, park.yes, journal) {
        // Ctrl-C at the prompt is an interruption (130), not a refusal (3).
        if let Some(signal) = crate::interrupt::requested() {
            return Ok(unchanged_by_signal(journal, signal, "at the prompt"));
        }
        return Err(refused.into());
    }
    let scope = if p.in_management_project().await? {
        Scope::Management
    } else {
        Scope::Admin
    };
    // A signal up to here (the scope check may log in): change nothing.
    if let Some(signal) = crate::interrupt::requested() {
        return Ok(unchanged_by_signal(journal, signal, "before the stop"));
    }
    let request = Request::new("os-stop")
        .server(&server.id)
        .with("scope", scope.to_string());
    journal
        .change(
            Layer::Vm,
            request,
            nova::stop_server(session, scope, &server.id),
        )
        .await?;
    await_shutoff(frame, &server).await
}

/// A scheduled park belongs to its window: refused when it fires late (a catch-up
/// after downtime, a delayed timer) or when the window's restore is due.
fn in_its_window(window: &Window, now: jiff::Timestamp) -> Result<(), Refused> {
    let local = |t: jiff::Timestamp| {
        t.to_zoned_datetime(window.zone.clone())
            .strftime("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let next = local(window.park.next_after(now, &window.zone).timestamp());
    match window.park_time(now) {
        ParkTime::InTime { .. } => Ok(()),
        ParkTime::Late { due } => Err(Refused(format!(
            "window `{}`: this park was due at {}, {} ago, more than {} late: a late park (a catch-up after downtime, a delayed timer) is refused and the stack is left as it is; the next park is at {next}",
            window.name,
            local(due),
            crate::words::duration(now.duration_since(due).unsigned_abs()),
            crate::words::duration(LATE_AFTER),
        ))),
        ParkTime::RestoreDue { due, restore } => Err(Refused(format!(
            "window `{}`: its restore is due at {} (this park was due at {}): parking now would leave the stack parked past its window, so it is refused; the next park is at {next}",
            window.name,
            local(restore),
            local(due),
        ))),
    }
}

/// The CAPI Machines being provisioned or deleted (`name (phase)`), read with the
/// site's kubectl; Err says why that cannot be known and what to fix.
pub async fn machines_in_flight(site: &Site, kubeconfig: &Path) -> Result<Vec<String>, String> {
    let kubectl = match site.management.kubectl {
        KubectlAt::OnHost => Kubectl::on_host(site),
        KubectlAt::Local if kubeconfig.is_file() => Kubectl::new(kubeconfig, site.timeouts.kubectl),
        KubectlAt::Local => {
            return Err(format!(
                "no kubeconfig at `{}`: cannot check for CAPI operations in flight; emit it (`juju-capi-restore kubeconfig`)",
                kubeconfig.display()
            ));
        }
    };
    let fix = match site.management.kubectl {
        KubectlAt::Local => "fix the kubeconfig (`juju-capi-restore kubeconfig`)",
        KubectlAt::OnHost => "check that the VM answers `sudo k8s kubectl` over ssh",
    };
    let machines = kubectl
        .get(&[
            "-n",
            &site.management.namespace(),
            "machines.cluster.x-k8s.io",
        ])
        .await
        .map_err(|e| {
            format!(
                "cannot check for CAPI operations in flight ({}); {fix}",
                e.to_string().lines().next().unwrap_or_default()
            )
        })?;
    Ok(machines
        .iter()
        .map(capi::machine)
        // Provisioned: the server exists, its node has not joined yet.
        .filter(|m| {
            matches!(
                m.phase,
                Phase::Provisioning | Phase::Provisioned | Phase::Pending | Phase::Deleting
            )
        })
        .map(|m| format!("{} ({})", m.name, m.phase))
        .collect())
}

/// The pre-check: no CAPI Machine being provisioned or deleted (parking then would
/// leave it half-done). Not knowing is not a yes: refused unless `--force`.
async fn no_operation_in_flight(
    frame: &Frame,
    kubeconfig: &Path,
    force: bool,
) -> anyhow::Result<()> {
    match machines_in_flight(&frame.site, kubeconfig).await {
        Ok(busy) => {
            frame.journal.record(
                Some(Layer::Capo),
                Entry::Probe(journal::Probe::MachinesInFlight {
                    machines_in_flight: busy.clone(),
                }),
            );
            if !busy.is_empty() && !force {
                return Err(Refused(format!(
                    "a CAPI operation is in flight: {}; wait for it, or pass `--force`",
                    busy.join(", ")
                ))
                .into());
            }
        }
        // Not knowing is not a yes: refuse unless the operator says so.
        Err(why) if !force => return Err(Refused(format!("{why}, or pass `--force`")).into()),
        Err(why) => eprintln!("warning: --force: parking without checking ({why})"),
    }
    Ok(())
}

/// Waits for SHUTOFF after the stop was accepted, and ends the journal.
async fn await_shutoff(frame: &Frame, server: &nova::Server) -> anyhow::Result<ExitStatus> {
    let (site, session, journal) = (&frame.site, &frame.session, &frame.journal);
    let id = server.id.clone();
    let wait = Wait::at(
        site,
        Gate::ServerStopped,
        format!("`{}` SHUTOFF", server.name),
    );
    let waited = wait
        .until(
            || {
                let id = id.clone();
                async move {
                    let s = nova::show_server(session, Scope::Admin, &id).await?;
                    Ok::<_, crate::cloud::ApiError>(if s.status == ServerStatus::Shutoff {
                        Check::Done(())
                    } else {
                        Check::NotYet(s.status.to_string())
                    })
                }
            },
            |_| {},
        )
        .await;
    let waited = match waited {
        Ok(w) => w,
        Err(WaitError::Interrupted { signal, .. }) => {
            journal.end(End {
                interrupted_by_signal: Some(signal),
                more: options([("note", json!("the stop was accepted; Nova finishes it"))]),
                ..End::default()
            });
            eprintln!("interrupted while waiting: the stop was accepted and Nova finishes it");
            return Ok(ExitStatus::of_signal(signal));
        }
        Err(WaitError::Failed(e)) => return Err(e.into()),
        Err(e) => {
            journal.end(End {
                error: Some(e.to_string()),
                exit_code: Some(ExitStatus::Cloud.code()),
                ..End::default()
            });
            eprintln!(
                "error: {e}\nthe stop was accepted: check the VM with `juju-capi-restore status`"
            );
            return Ok(ExitStatus::Cloud);
        }
    };
    // Nova's ACPI stop is not a clean guest shutdown on this VM class: accepted (runbook).
    journal.end(End {
        success: Some(true),
        more: options([
            ("result", json!("SHUTOFF")),
            ("waited_s", json!(waited.elapsed.as_secs())),
            (
                "note",
                json!("Nova ACPI stop, not a clean guest shutdown on this VM class (accepted)"),
            ),
        ]),
        ..End::default()
    });
    eprintln!(
        "`{}` stopped (SHUTOFF after {} s); journal: {}",
        server.name,
        waited.elapsed.as_secs(),
        journal.path().display()
    );
    println!("parked `{}`. {EXPECT_WHILE_PARKED}", server.name);
    Ok(ExitStatus::Success)
}

/// A signal before the stop was sent: journaled, said, and its exit code (130/143).
fn unchanged_by_signal(journal: &Journal, signal: i32, when: &str) -> ExitStatus {
    journal.end(End {
        interrupted_by_signal: Some(signal),
        ..End::default()
    });
    eprintln!("interrupted {when}: nothing was changed");
    ExitStatus::of_signal(signal)
}

/// Files the kubeconfig, says where, and journals the destination.
fn file_and_record(root: &Path, kubeconfig: &Path, journal: &Journal) -> anyhow::Result<()> {
    let filed = file_secrets(root, kubeconfig)?;
    eprintln!("filed the management kubeconfig at `{}`", filed.display());
    let destination = filed.display().to_string();
    let result = ActionResult::of(&Request::new("file secrets"), "filed 0600");
    journal.action(Layer::Vm, result.with("destination", destination));
    Ok(())
}

/// Copies the kubeconfig into `root/sweep-YYYYMMDD/secrets/` (0700 directories,
/// 0600 files), as the runbook's parking block suggests; returns the file's path.
fn file_secrets(root: &Path, kubeconfig: &Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dated = root
        .join(format!(
            "sweep-{}",
            jiff::Timestamp::now().strftime("%Y%m%d")
        ))
        .join("secrets");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dated)
        .map_err(crate::files::FileError::on(
            &dated,
            "create the secrets directory",
        ))?;
    let text = std::fs::read_to_string(kubeconfig)
        .map_err(|e| UsageError(format!("cannot file the kubeconfig `{}`: {e}; emit it first with `juju-capi-restore kubeconfig`", kubeconfig.display())))?;
    // A second park on the same day files beside the first, never over it: the first
    // may be the only copy of a kubeconfig that has since changed.
    for n in 1.. {
        let name = match n {
            1 => "capi-mgmt.kubeconfig".to_string(),
            n => format!("capi-mgmt.{n}.kubeconfig"),
        };
        let dest = dated.join(name);
        match crate::files::create_private(&dest, &text) {
            Ok(()) => return Ok(dest),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(crate::files::FileError::on(&dest, "write")(e).into()),
        }
    }
    unreachable!("an unbounded range ends only by returning")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_filing_on_the_same_day_never_overwrites_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("capi-mgmt.kubeconfig");
        std::fs::write(&kubeconfig, "apiVersion: v1\n# first\n").unwrap();
        let first = file_secrets(&dir.path().join("filed"), &kubeconfig).unwrap();
        std::fs::write(&kubeconfig, "apiVersion: v1\n# second\n").unwrap();
        let second = file_secrets(&dir.path().join("filed"), &kubeconfig).unwrap();
        assert_ne!(first, second);
        assert!(std::fs::read_to_string(&first).unwrap().contains("first"));
        assert!(std::fs::read_to_string(&second).unwrap().contains("second"));
    }
}
