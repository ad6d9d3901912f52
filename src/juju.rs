//! Juju, for evidence only (DESIGN §7): after a failed failover, Octavia's worker log
//! says why (NoValidHost, a build timeout); the health manager's log names zombies.
//! Read with `juju ssh --pty=false` with stdin from /dev/null, in the model and on
//! the controller that `juju capi-restore -m/-c` passed on (`JUJU_MODEL`,
//! `JUJU_CONTROLLER`), and its failures told apart by asking juju itself (`juju
//! status` in the same model): an expired login (never retried; on a terminal the
//! operator may re-run the call with the terminal as its stdin so juju can prompt),
//! a controller outage, or juju missing altogether. Evidence is optional: a run goes
//! on without it, and says once why.

use std::sync::atomic::{AtomicBool, Ordering};

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
        "the Juju login has expired{} (`{last}`; `juju status` there says the same, so it is the login, not the controller): run `juju login` (or re-run from a terminal, where this tool offers to let juju ask), then read octavia-worker.log; going on without Juju's evidence",
        model_named(.model)
    )]
    LoginExpired {
        /// The last line of juju's stderr.
        last: String,
        /// The `-m` it used, if any.
        model: Option<String>,
        /// The call, to re-run on the terminal.
        argv: Vec<String>,
    },
    /// The controller did not answer (juju status neither).
    #[error(
        "the Juju controller is unreachable{} (`{last}`): read octavia-worker.log on the octavia units directly",
        model_named(.model)
    )]
    Unreachable {
        /// The last line of juju's stderr.
        last: String,
        /// The `-m` it used, if any.
        model: Option<String>,
    },
    /// The login expired earlier in this run and that was said: not asked again.
    #[error("not read: the Juju login expired (said above)")]
    LoginSaid,
    /// Anything else.
    #[error("`juju ssh` failed: {0}")]
    Failed(String),
}

fn model_named(model: &Option<String>) -> String {
    model
        .as_ref()
        .map(|m| format!(" for model `{m}`"))
        .unwrap_or_default()
}

/// Set once this run met an expired login (and said so): evidence is not asked of
/// Juju again, and no login failure is ever retried.
static LOGIN_EXPIRED: AtomicBool = AtomicBool::new(false);

/// The `-m` to pass: `JUJU_CONTROLLER:JUJU_MODEL` as `juju capi-restore -c/-m` set
/// them (a model that already names its controller is kept as it is), or None for
/// juju's own current model.
pub fn model_from(model: Option<&str>, controller: Option<&str>) -> Option<String> {
    let model = model.filter(|m| !m.is_empty())?;
    Some(match controller.filter(|c| !c.is_empty()) {
        Some(c) if !model.contains(':') => format!("{c}:{model}"),
        _ => model.to_string(),
    })
}

fn model() -> Option<String> {
    let var = |n: &str| std::env::var(n).ok();
    model_from(
        var("JUJU_MODEL").as_deref(),
        var("JUJU_CONTROLLER").as_deref(),
    )
}

/// What a juju failure on stderr means (the observation table's rule, in
/// [`crate::diagnose::juju_stderr`]), before asking juju itself.
pub fn classify(stderr: &str) -> JujuError {
    let last = crate::exec::tail(stderr, 1);
    if crate::diagnose::juju_stderr(stderr).is_some() {
        JujuError::LoginExpired {
            last,
            model: None,
            argv: Vec::new(),
        }
    } else if crate::diagnose::juju_controller_unreachable(stderr) {
        JujuError::Unreachable { last, model: None }
    } else {
        JujuError::Failed(last)
    }
}

/// The `missing from the DB` lines of a health-manager log.
pub fn heartbeats(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("missing from the DB"))
        .map(str::to_string)
        .collect()
}

/// Re-runs a call whose login expired with the terminal as its stdin, so juju can
/// ask for the password, and returns its output (only when the operator said yes).
pub async fn rerun_on_terminal(argv: Vec<String>) -> Result<String, JujuError> {
    // A person types a password: give them minutes, not the call's timeout.
    let finished = Invocation::new(argv, std::time::Duration::from_secs(300))
        .on_terminal()
        .run()
        .await
        .map_err(|e| JujuError::Failed(e.to_string()))?;
    if finished.code() == Some(0) {
        LOGIN_EXPIRED.store(false, Ordering::SeqCst);
        Ok(finished.stdout)
    } else {
        Err(JujuError::Failed(format!(
            "`{}` exited {} on the terminal",
            finished.command_line,
            finished.code().unwrap_or(-1)
        )))
    }
}

/// The argv of `juju [ARGS] -m MODEL` for the site's juju command.
fn juju(site: &Site, args: &[&str], model: Option<&str>) -> Vec<String> {
    let mut argv = site.juju.command.clone();
    argv.push(args[0].to_string());
    if let Some(m) = model {
        argv.extend(["-m".to_string(), m.to_string()]);
    }
    argv.extend(args[1..].iter().map(|a| a.to_string()));
    argv
}

/// The last 2,000 lines of a log on the octavia unit, through `juju ssh`.
pub async fn tail_octavia_log(site: &Site, path: &std::path::Path) -> Result<String, JujuError> {
    if LOGIN_EXPIRED.load(Ordering::SeqCst) {
        return Err(JujuError::LoginSaid);
    }
    let model = model();
    let path = path.display().to_string();
    let argv = juju(
        site,
        &[
            "ssh",
            "--pty=false",
            &site.juju.octavia_unit,
            "--",
            "sudo",
            "tail",
            "-n",
            "2000",
            &path,
        ],
        model.as_deref(),
    );
    let finished = Invocation::new(argv.clone(), site.juju.timeout)
        .run()
        .await
        .map_err(|e| match e {
            ExecError::NotFound { .. } => JujuError::Missing(e.to_string()),
            other => JujuError::Failed(other.to_string()),
        })?;
    if finished.code() == Some(0) {
        return Ok(finished.stdout);
    }
    Err(match classify(&finished.stderr) {
        // Ask juju itself whether it is the login or the controller; never retry a
        // login failure.
        JujuError::LoginExpired { .. } | JujuError::Unreachable { .. } => {
            confirm(site, model, argv, &finished.stderr).await
        }
        other => other,
    })
}

/// `juju status` in the same model, stdin from /dev/null: answers → `juju ssh` failed
/// for its own reason; the same login error → the login; unreachable → an outage.
async fn confirm(
    site: &Site,
    model: Option<String>,
    argv: Vec<String>,
    ssh_stderr: &str,
) -> JujuError {
    let status = juju(site, &["status", "--format=short"], model.as_deref());
    let answer = Invocation::new(status, site.juju.timeout).run().await;
    let last = crate::exec::tail(ssh_stderr, 1);
    match answer {
        Ok(f) if f.code() == Some(0) => JujuError::Failed(format!(
            "{last} (`juju status` answers, so neither the login nor the controller)"
        )),
        Ok(f) => match classify(&f.stderr) {
            JujuError::LoginExpired { .. } => {
                LOGIN_EXPIRED.store(true, Ordering::SeqCst);
                JujuError::LoginExpired { last, model, argv }
            }
            JujuError::Unreachable { .. } => JujuError::Unreachable { last, model },
            _ => JujuError::Failed(last),
        },
        Err(e) => JujuError::Failed(format!("{last}; `juju status` could not run either: {e}")),
    }
}

/// The lines that name the load balancer or a scheduling failure, the last five.
pub fn relevant(log: &str, lb_id: &str) -> Vec<String> {
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
            JujuError::LoginExpired { .. }
        ));
        assert!(matches!(
            classify("please enter password for admin on prod:"),
            JujuError::LoginExpired { .. }
        ));
        assert!(matches!(
            classify("ERROR unable to connect to API: dial tcp 192.0.2.5:17070: i/o timeout"),
            JujuError::Unreachable { .. }
        ));
        assert!(matches!(
            classify("ERROR unit not found"),
            JujuError::Failed(_)
        ));
    }

    #[test]
    fn the_model_is_the_one_juju_passed_with_its_controller() {
        assert_eq!(model_from(None, Some("prod")), None);
        assert_eq!(
            model_from(Some("openstack"), Some("prod")).as_deref(),
            Some("prod:openstack")
        );
        assert_eq!(
            model_from(Some("other:openstack"), Some("prod")).as_deref(),
            Some("other:openstack")
        );
        assert_eq!(
            model_from(Some("openstack"), None).as_deref(),
            Some("openstack")
        );
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
