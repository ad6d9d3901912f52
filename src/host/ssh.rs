//! Remote commands on the management VM over the system `ssh` (runbook blocks "mgmt
//! k8s readiness poll" and the kubeconfig re-emit): BatchMode, the site's key, user
//! and port, a connect timeout, the site's host-key policy, stdin from /dev/null.
//!
//! The remote command is one of a fixed set ([`RemoteCommand`]), never built from
//! untrusted input. Exit status 255 is ssh itself failing; anything else is the
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
                format!("uptime; echo '{SECTION_MARK}'; sudo k8s status{flags} </dev/null")
            }
            RemoteCommand::Kubeconfig(ip) => {
                let host = match ip {
                    IpAddr::V4(v4) => v4.to_string(),
                    IpAddr::V6(v6) => format!("[{v6}]"),
                };
                format!("sudo k8s config --server https://{host}:6443 </dev/null")
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
                &format!("UserKnownHostsFile={}", self.known_hosts.display()),
                "-o",
                "LogLevel=ERROR",
                "-i",
                &self.key.display().to_string(),
                "-p",
                &self.port.to_string(),
                "-l",
                &self.user,
                &self.host.to_string(),
                "--",
                &remote.line(),
            ]
            .map(str::to_string),
        );
        argv
    }

    /// Runs `remote`. Any exit status but 255 is the remote command's and returned
    /// as such; 255 is ssh failing and becomes [`SshError::Transport`].
    pub async fn run(&self, remote: RemoteCommand) -> Result<Finished, SshError> {
        if let Some(dir) = self.known_hosts.parent() {
            // accept-new records the key here; a missing directory would fail it.
            use std::os::unix::fs::DirBuilderExt;
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
        let finished = Invocation::new(
            self.argv(remote),
            self.command_timeout + self.connect_timeout,
        )
        .run()
        .await?;
        if finished.code() == Some(255) {
            return Err(SshError::Transport {
                user: self.user.clone(),
                host: self.host,
                port: self.port,
                reason: transport_reason(&finished.stderr, self),
                command_line: finished.command_line.clone(),
                stderr_tail: finished.stderr_tail(),
            });
        }
        Ok(finished)
    }
}

/// Says what an ssh failure means and what to do about it.
fn transport_reason(stderr: &str, t: &SshTarget) -> String {
    let s = stderr.to_ascii_lowercase();
    if s.contains("connection refused") {
        "connection refused: sshd is not listening yet (it lags ACTIVE by ~3.5 min)".into()
    } else if s.contains("timed out") {
        "connection timed out: the VM is booting, or the floating IP or a security group blocks the port".into()
    } else if s.contains("permission denied") {
        format!(
            "the VM refused key `{}` for user `{}`: check `ssh.key` and `ssh.user` in the site file",
            t.key.display(),
            t.user
        )
    } else if s.contains("host key verification failed")
        || s.contains("remote host identification has changed")
    {
        format!(
            "the host key is unknown or changed: if the VM was rebuilt, remove its old key with `ssh-keygen -R {} -f {}`",
            t.host,
            t.known_hosts.display()
        )
    } else if s.contains("no such file")
        && s.contains(&t.key.display().to_string().to_ascii_lowercase())
    {
        format!(
            "the key `{}` does not exist: set `ssh.key` in the site file",
            t.key.display()
        )
    } else {
        "ssh exited 255".into()
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
            "UserKnownHostsFile=/k/known_hosts",
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
                .ends_with("sudo k8s status --output-format json </dev/null")
        );
    }

    #[test]
    fn kubeconfig_uses_the_server_flag_the_cli_understands() {
        assert_eq!(
            RemoteCommand::Kubeconfig("127.0.0.1".parse().unwrap()).line(),
            "sudo k8s config --server https://127.0.0.1:6443 </dev/null"
        );
        assert!(
            RemoteCommand::Kubeconfig("::1".parse().unwrap())
                .line()
                .contains("https://[::1]:6443")
        );
    }

    #[test]
    fn transport_failures_say_what_to_do() {
        assert!(
            transport_reason(
                "ssh: connect to host 127.0.0.1 port 2222: Connection refused",
                &target()
            )
            .contains("sshd is not listening yet")
        );
        assert!(
            transport_reason(
                "ubuntu@127.0.0.1: Permission denied (publickey).",
                &target()
            )
            .contains("ssh.key")
        );
        assert!(
            transport_reason("Host key verification failed.", &target()).contains("ssh-keygen -R")
        );
    }
}
