//! Remote commands on the management VM over the system `ssh` (runbook blocks "mgmt
//! k8s readiness poll" and the kubeconfig re-emit): BatchMode, the site's key, user
//! and port, a connect timeout, the site's host-key policy, stdin from /dev/null.
//!
//! The remote command is one of a fixed set ([`RemoteCommand`]), or `kubectl get`
//! with this tool's own arguments, each single-quoted for the remote shell. Exit status 255 is ssh itself failing; anything else is the
//! remote command's own status.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::exec::{ExecError, Finished, Invocation};
use crate::site::{HostKeyPolicy, Site, expand_home};

/// The commands this tool runs on the management VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteCommand {
    /// `uptime`, then `k8s status` in the given form, in one session (one ssh
    /// connection per poll keeps a loaded 2-vCPU VM's sshd out of the storm).
    UptimeAndStatus(StatusForm),
    /// `sudo k8s config --server https://FIP:6443` (the runbook's `server=FIP` is
    /// ignored by the CLI: it takes `--server`).
    Kubeconfig(IpAddr),
}

/// Which form of `k8s status` the remote understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusForm {
    /// `--output-format json` (current snaps).
    Json,
    /// `--format json` (older snaps).
    LegacyJson,
    /// Plain text.
    Plain,
}

/// Separates `uptime` from `k8s status` in one session's stdout.
pub const SECTION_MARK: &str = "--- juju-capi-restore: k8s status ---";

impl RemoteCommand {
    /// The exact remote command line.
    pub fn line(self) -> String {
        match self {
            RemoteCommand::UptimeAndStatus(form) => {
                let flags = match form {
                    StatusForm::Json => " --output-format json",
                    StatusForm::LegacyJson => " --format json",
                    StatusForm::Plain => "",
                };
                format!("uptime; echo '{SECTION_MARK}'; sudo -n k8s status{flags} </dev/null")
            }
            RemoteCommand::Kubeconfig(ip) => {
                let host = match ip {
                    IpAddr::V4(v4) => v4.to_string(),
                    IpAddr::V6(v6) => format!("[{v6}]"),
                };
                format!("sudo -n k8s config --server https://{host}:6443 </dev/null")
            }
        }
    }
}

/// Where and how to ssh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The ssh program and its first arguments.
    pub command: Vec<String>,
    /// Login user.
    pub user: String,
    /// The floating IP.
    pub host: IpAddr,
    /// sshd's port.
    pub port: u16,
    /// Private key.
    pub key: PathBuf,
    /// Host key policy.
    pub host_key_policy: HostKeyPolicy,
    /// known_hosts file.
    pub known_hosts: PathBuf,
    /// `ConnectTimeout`.
    pub connect_timeout: Duration,
    /// Deadline for one remote command.
    pub command_timeout: Duration,
}

/// Why a remote command could not be run.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// ssh itself failed (exit 255): network, auth, host key.
    #[error(
        "ssh to `{user}@{host}` port {port} failed: {reason}\n`{command_line}` said:\n{stderr_tail}"
    )]
    Transport {
        /// User.
        user: String,
        /// Host.
        host: IpAddr,
        /// Port.
        port: u16,
        /// What it means and what to do.
        reason: String,
        /// The full command line.
        command_line: String,
        /// The end of ssh's stderr.
        stderr_tail: String,
        /// Whether waiting may cure it (refused, timed out, reset) or not (a key or
        /// host-key problem stays until someone fixes the site or the VM).
        transient: bool,
    },
    /// ssh could not be run at all.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

impl SshTarget {
    /// The site's ssh settings for its floating IP.
    pub fn from_site(site: &Site) -> SshTarget {
        let ssh = &site.ssh;
        SshTarget {
            command: ssh.command.clone(),
            user: ssh.user.clone(),
            host: site.management.floating_ip,
            port: ssh.port,
            key: expand_home(&ssh.key),
            host_key_policy: ssh.host_key_policy,
            known_hosts: expand_home(&ssh.known_hosts),
            connect_timeout: ssh.connect_timeout,
            command_timeout: ssh.command_timeout,
        }
    }

    /// The full argument vector for `remote`.
    pub fn argv(&self, remote: RemoteCommand) -> Vec<String> {
        self.argv_for(&remote.line())
    }

    /// The full argument vector for one remote shell line.
    fn argv_for(&self, line: &str) -> Vec<String> {
        let strict = match self.host_key_policy {
            HostKeyPolicy::AcceptNew => "accept-new",
            HostKeyPolicy::Strict => "yes",
        };
        let mut argv = self.command.clone();
        argv.extend(
            [
                "-T",
                "-o",
                "BatchMode=yes",
                "-o",
                &format!("ConnectTimeout={}", self.connect_timeout.as_secs().max(1)),
                "-o",
                &format!("StrictHostKeyChecking={strict}"),
                "-o",
                // Quoted for spaces; `%` doubled, as ssh expands `%` tokens here.
                &format!(
                    "UserKnownHostsFile=\"{}\"",
                    self.known_hosts.display().to_string().replace('%', "%%")
                ),
                "-o",
                "LogLevel=ERROR",
                // Whatever ~/.ssh/config says (ProxyJump stays usable), no shared
                // master connection that would hold our pipes open, no forwarding,
                // no RemoteCommand replacing ours.
                "-o",
                "ControlMaster=no",
                "-o",
                "ControlPath=none",
                "-o",
                "RemoteCommand=none",
                "-o",
                "PermitLocalCommand=no",
                "-o",
                "ClearAllForwardings=yes",
                "-i",
                &self.key.display().to_string(),
                "-p",
                &self.port.to_string(),
                "-l",
                &self.user,
                &self.host.to_string(),
                "--",
                line,
            ]
            .map(str::to_string),
        );
        argv
    }

    /// Runs `remote`. Any exit status but 255 is the remote command's and returned
    /// as such; 255 is ssh failing and becomes [`SshError::Transport`].
    pub async fn run(&self, remote: RemoteCommand) -> Result<Finished, SshError> {
        self.run_line(&remote.line()).await
    }

    /// Runs the VM's own kubectl (`sudo -n k8s kubectl ARGS`), each argument quoted
    /// for the remote shell: `management.kubectl: on-host`. Its exit status and
    /// output are kubectl's, as [`SshTarget::run`] returns them.
    pub async fn kubectl(&self, args: &[String]) -> Result<Finished, SshError> {
        self.run_line(&kubectl_line(args)).await
    }

    async fn run_line(&self, line: &str) -> Result<Finished, SshError> {
        if let Some(dir) = self.known_hosts.parent() {
            // accept-new records the key here; a missing directory would fail it.
            use std::os::unix::fs::DirBuilderExt;
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
        let finished = Invocation::new(
            self.argv_for(line),
            self.command_timeout + self.connect_timeout,
        )
        .run()
        .await?;
        // 255 with output means the remote command ran and itself exited 255.
        if finished.code() == Some(255) && finished.stdout.trim().is_empty() {
            let (reason, transient) = transport_reason(&finished.stderr, self);
            return Err(SshError::Transport {
                user: self.user.clone(),
                host: self.host,
                port: self.port,
                reason,
                command_line: finished.command_line.clone(),
                stderr_tail: finished.stderr_tail(),
                transient,
            });
        }
        Ok(finished)
    }
}

/// The remote line for the VM's kubectl: `sudo -n k8s kubectl 'ARG' ...`, stdin
/// from /dev/null.
pub fn kubectl_line(args: &[String]) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    format!("sudo -n k8s kubectl {} </dev/null", quoted.join(" "))
}

/// Says what an ssh failure means and what to do about it, and whether waiting
/// can cure it.
fn transport_reason(stderr: &str, t: &SshTarget) -> (String, bool) {
    let s = stderr.to_ascii_lowercase();
    let key = t.key.display().to_string();
    if s.contains("no such file") && s.contains(&key.to_ascii_lowercase()) {
        (
            format!("the key `{key}` does not exist: set `ssh.key` in the site file"),
            false,
        )
    } else if s.contains("connection refused") {
        (
            "connection refused: sshd is not listening yet (it lags ACTIVE by ~3.5 min)".into(),
            true,
        )
    } else if s.contains("timed out") {
        ("connection timed out: the VM is booting, or the floating IP or a security group blocks the port".into(), true)
    } else if s.contains("connection reset")
        || s.contains("connection closed")
        || s.contains("kex_exchange_identification")
    {
        (
            "the connection dropped: sshd is starting or the VM is overloaded".into(),
            true,
        )
    } else if s.contains("permission denied") {
        (
            format!(
                "the VM refused key `{key}` for user `{}`: check `ssh.key` and `ssh.user` in the site file",
                t.user
            ),
            false,
        )
    } else if s.contains("host key verification failed")
        || s.contains("remote host identification has changed")
    {
        (
            format!(
                "the host key is unknown or changed: if the VM was rebuilt, remove its old key with `ssh-keygen -R {} -f {}`",
                t.host,
                t.known_hosts.display()
            ),
            false,
        )
    } else {
        ("ssh exited 255".into(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SshTarget {
        SshTarget {
            command: vec!["ssh".into()],
            user: "ubuntu".into(),
            host: "127.0.0.1".parse().unwrap(),
            port: 2222,
            key: "/k/id_ed25519".into(),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: "/k/known_hosts".into(),
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_command_line_is_batch_mode_with_the_sites_key_port_and_policy() {
        let argv = target().argv(RemoteCommand::UptimeAndStatus(StatusForm::Json));
        let line = argv.join(" ");
        for part in [
            "BatchMode=yes",
            "ConnectTimeout=10",
            "StrictHostKeyChecking=yes",
            "UserKnownHostsFile=\"/k/known_hosts\"",
            "ControlMaster=no",
            "RemoteCommand=none",
            "-i /k/id_ed25519",
            "-p 2222",
            "-l ubuntu",
            "127.0.0.1 --",
        ] {
            assert!(line.contains(part), "{part} missing: {line}");
        }
        assert!(
            argv.last()
                .unwrap()
                .ends_with("sudo -n k8s status --output-format json </dev/null")
        );
    }

    #[test]
    fn kubeconfig_uses_the_server_flag_the_cli_understands() {
        assert_eq!(
            RemoteCommand::Kubeconfig("127.0.0.1".parse().unwrap()).line(),
            "sudo -n k8s config --server https://127.0.0.1:6443 </dev/null"
        );
        assert!(
            RemoteCommand::Kubeconfig("::1".parse().unwrap())
                .line()
                .contains("https://[::1]:6443")
        );
    }

    #[test]
    fn transport_failures_say_what_to_do_and_whether_to_wait() {
        let (refused, transient) = transport_reason(
            "ssh: connect to host 127.0.0.1 port 2222: Connection refused",
            &target(),
        );
        assert!(refused.contains("sshd is not listening yet") && transient);
        let (denied, transient) = transport_reason(
            "ubuntu@127.0.0.1: Permission denied (publickey).",
            &target(),
        );
        assert!(denied.contains("ssh.key") && !transient);
        assert!(
            transport_reason("Host key verification failed.", &target())
                .0
                .contains("ssh-keygen -R")
        );
        let (missing, _) = transport_reason(
            "Warning: Identity file /k/id_ed25519 not accessible: No such file or directory.\nubuntu@127.0.0.1: Permission denied (publickey).",
            &target(),
        );
        assert!(missing.contains("does not exist"), "{missing}");
    }
}
