//! Juju, for evidence only (DESIGN §7): after a failed failover, Octavia's worker log
//! says why (NoValidHost, a build timeout). Read with `juju ssh --pty=false` with
//! stdin from /dev/null, and its failures told apart: an expired login (never
//! retried: `juju login`), a controller outage, or juju missing altogether.

use crate::exec::{ExecError, Invocation};
use crate::site::Site;

/// Why the log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JujuError {
    /// Juju is not installed (or not on PATH).
    #[error("{0}; read Octavia's logs on the octavia units yourself")]
    Missing(String),
    /// The login expired: juju wanted a password and stdin is /dev/null.
    #[error(
        "the Juju login has expired (`{0}`): run `juju login` (or re-run from a terminal), then read octavia-worker.log; not a controller outage if `juju status` works"
    )]
    LoginExpired(String),
    /// The controller did not answer.
    #[error(
        "the Juju controller is unreachable (`{0}`): read octavia-worker.log on the octavia units directly"
    )]
    Unreachable(String),
    /// Anything else.
    #[error("`juju ssh` failed: {0}")]
    Failed(String),
}

/// What a juju failure on stderr means (the observation table's rule, in
/// [`crate::diagnose::juju_stderr`]).
pub fn classify(stderr: &str) -> JujuError {
    let last = crate::exec::tail(stderr, 1);
    if crate::diagnose::juju_stderr(stderr).is_some() {
        JujuError::LoginExpired(last)
    } else if crate::diagnose::juju_controller_unreachable(stderr) {
        JujuError::Unreachable(last)
    } else {
        JujuError::Failed(last)
    }
}

/// The worker log lines about this load balancer's failover and any NoValidHost,
/// last few only.
pub async fn octavia_worker_evidence(site: &Site, lb_id: &str) -> Result<Vec<String>, JujuError> {
    let log = tail_octavia_log(site, &site.juju.worker_log).await?;
    Ok(relevant(&log, lb_id))
}

/// The health manager's `missing from the DB` lines: its own word that a heartbeating
/// amphora has no row (what the runbook calls a zombie).
pub async fn zombie_heartbeats(site: &Site) -> Result<Vec<String>, JujuError> {
    let log = tail_octavia_log(site, &site.juju.health_manager_log).await?;
    Ok(log
        .lines()
        .filter(|l| l.contains("missing from the DB"))
        .map(str::to_string)
        .collect())
}

/// The last 2,000 lines of a log on the octavia unit, through `juju ssh`.
async fn tail_octavia_log(site: &Site, path: &std::path::Path) -> Result<String, JujuError> {
    let mut argv = site.juju.command.clone();
    argv.extend(
        [
            "ssh",
            "--pty=false",
            &site.juju.octavia_unit,
            "--",
            "sudo",
            "tail",
            "-n",
            "2000",
        ]
        .map(String::from),
    );
    argv.push(path.display().to_string());
    let finished = Invocation::new(argv, site.juju.timeout)
        .run()
        .await
        .map_err(|e| match e {
            ExecError::NotFound { .. } => JujuError::Missing(e.to_string()),
            other => JujuError::Failed(other.to_string()),
        })?;
    if finished.code() != Some(0) {
        return Err(classify(&finished.stderr));
    }
    Ok(finished.stdout)
}

/// The lines that name the load balancer or a scheduling failure, the last five.
fn relevant(log: &str, lb_id: &str) -> Vec<String> {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains(lb_id)
                || l.contains("NoValidHost")
                || l.contains("No valid host")
                || l.contains("ComputeBuildException")
        })
        .collect();
    lines[lines.len().saturating_sub(5)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tells_an_expired_login_from_an_outage() {
        assert!(matches!(
            classify("ERROR cannot get discharge from https://192.0.2.5:17070/auth: EOF"),
            JujuError::LoginExpired(_)
        ));
        assert!(matches!(
            classify("please enter password for admin on prod:"),
            JujuError::LoginExpired(_)
        ));
        assert!(matches!(
            classify("ERROR unable to connect to API: dial tcp 192.0.2.5:17070: i/o timeout"),
            JujuError::Unreachable(_)
        ));
        assert!(matches!(
            classify("ERROR unit not found"),
            JujuError::Failed(_)
        ));
    }

    #[test]
    fn only_the_load_balancers_lines_and_scheduling_failures_are_kept() {
        let log = "a INFO other lb 1111\nb INFO Performing failover for load balancer abcd\nc ERROR ... NoValidHost\nd INFO unrelated\n";
        assert_eq!(
            relevant(log, "abcd"),
            [
                "b INFO Performing failover for load balancer abcd",
                "c ERROR ... NoValidHost"
            ]
        );
    }
}
