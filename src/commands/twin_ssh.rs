//! `twin-ssh`: stands in for `ssh` when the site is the twin. It takes ssh's
//! arguments, connects to the twin's ssh port like ssh would (exit 255 and ssh's
//! message when nothing listens), and runs the remote command as sshd does: one line
//! for a real `sh -c`, so pipes, redirections and `2>&1` work. On that shell's PATH
//! the VM's own programs (`uptime`, `sudo`, `k8s`) are scripts that ask the twin's
//! `/host/exec` (`twin-exec`). The VM's kubectl (`sudo -n k8s kubectl ...`,
//! `management.kubectl: on-host`) is the real `kubectl` of this machine with the
//! kubeconfig the twin's VM emits, as the VM's would read its cluster's API.
//! Loopback only.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::error::UsageError;
use crate::exit::ExitStatus;
use crate::host::tcp_probe::{self, PortState};

/// What matters of an ssh command line.
#[derive(Debug, PartialEq, Eq)]
struct SshArgs {
    host: String,
    port: u16,
    command: String,
    /// `-o ConnectTimeout=N`, in seconds.
    connect_timeout: Option<u64>,
}

/// ssh's own reading: options up to the destination, then the remote command, its
/// words joined by spaces (`--` may end the options).
fn parse(args: &[String]) -> Result<SshArgs, String> {
    let mut port = 22;
    let mut connect_timeout = None;
    let mut iter = args.iter();
    let host = loop {
        let Some(arg) = iter.next() else {
            return Err("no destination host".into());
        };
        match arg.as_str() {
            "-p" => {
                port = iter
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or("`-p` needs a port")?
            }
            "-o" => {
                let option = iter.next().map(String::as_str).unwrap_or_default();
                if let Some(seconds) = option.strip_prefix("ConnectTimeout=") {
                    connect_timeout = seconds.parse().ok();
                }
            }
            "-i" | "-l" | "-F" => {
                iter.next();
            }
            "--" => {
                let target = iter.next().ok_or("no destination host after `--`")?;
                break target.rsplit('@').next().unwrap_or(target).to_string();
            }
            flag if flag.starts_with('-') => {}
            target => break target.rsplit('@').next().unwrap_or(target).to_string(),
        }
    };
    let words: Vec<&str> = iter.map(String::as_str).collect();
    let words = match words.first() {
        Some(&"--") => &words[1..],
        _ => &words[..],
    };
    if words.is_empty() {
        return Err("no remote command (the twin's VM gives no login shell)".into());
    }
    Ok(SshArgs {
        host,
        port,
        command: words.join(" "),
        connect_timeout,
    })
}

/// Runs one "ssh" command against the twin at `twin`.
pub async fn run(twin: &str, args: &[String]) -> anyhow::Result<ExitStatus> {
    let ssh = parse(args).map_err(|e| UsageError(format!("twin-ssh: {e}")))?;
    let ip: IpAddr = ssh
        .host
        .parse()
        .map_err(|_| UsageError(format!("twin-ssh: `{}` is not an address", ssh.host)))?;
    if !ip.is_loopback() {
        return Err(UsageError(format!(
            "twin-ssh reaches the twin on loopback only, not `{ip}`"
        ))
        .into());
    }
    let addr = SocketAddr::new(ip, ssh.port);
    // Like ssh: nothing listening is exit 255 with ssh's own words.
    // As ssh: a SYN nobody answers waits out ConnectTimeout.
    let limit = ssh
        .connect_timeout
        .map_or(tcp_probe::ATTEMPT_TIMEOUT, Duration::from_secs);
    let words = match tcp_probe::probe(addr, limit).await {
        PortState::Open => None,
        PortState::Refused => Some("Connection refused".to_string()),
        PortState::NoAnswer => Some("Connection timed out".to_string()),
        PortState::Failed(e) => Some(e),
    };
    if let Some(words) = words {
        eprintln!("ssh: connect to host {ip} port {}: {words}", ssh.port);
        return Ok(ExitStatus::Child(255));
    }
    remote_shell(twin, &ssh.command)
}

/// Runs `line` as sshd would, with `sh -c`, the VM's programs first on its PATH.
fn remote_shell(twin: &str, line: &str) -> anyhow::Result<ExitStatus> {
    let dir = std::env::temp_dir().join(format!(
        "juju-capi-restore-twin-vm-{}-{}",
        std::process::id(),
        crate::files::unique()
    ));
    crate::state::make_dir(&dir, 0o700)?;
    let result = vm_programs(twin, &dir).and_then(|()| {
        let path = match std::env::var_os("PATH") {
            Some(rest) => {
                let mut all = dir.clone().into_os_string();
                all.push(":");
                all.push(rest);
                all
            }
            None => dir.clone().into_os_string(),
        };
        // This process is the "ssh" child: it may block on its shell.
        std::process::Command::new("sh")
            .arg("-c")
            .arg(line)
            .env("PATH", path)
            .status()
            .map_err(|e| anyhow::anyhow!("twin-ssh: cannot run `sh` for the twin's VM: {e}"))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let status = result?;
    Ok(ExitStatus::Child(
        status.code().unwrap_or(255).clamp(0, 255) as u8,
    ))
}

/// Writes the VM's `uptime`, `sudo` and `k8s` into `dir`: `sudo` runs its command
/// (the VM's sudoers lets the tool's user in without a password); the others ask
/// the twin through `twin-exec`.
fn vm_programs(twin: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bin = std::env::current_exe()?;
    let bin = super::twin::shell_quote(&bin.to_string_lossy());
    let twin = super::twin::shell_quote(twin);
    let scripts = [
        (
            "uptime",
            format!("#!/bin/sh\nexec {bin} twin-exec --twin {twin} -- uptime \"$@\"\n"),
        ),
        (
            "k8s",
            format!("#!/bin/sh\nexec {bin} twin-exec --twin {twin} -- k8s \"$@\"\n"),
        ),
        (
            "sudo",
            "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nexec \"$@\"\n".to_string(),
        ),
    ];
    for (name, text) in scripts {
        let path = dir.join(name);
        crate::files::create_private(&path, &text)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// `sudo k8s kubectl ARGS` on the twin's VM: fails as `k8s config` does while the
/// VM's Kubernetes is not up; then the real kubectl with the VM's admin kubeconfig.
async fn host_kubectl(twin: &str, args: &[String]) -> anyhow::Result<ExitStatus> {
    let config = ask_twin(
        twin,
        "/host/exec",
        &serde_json::json!({"command": "sudo -n k8s config --server https://127.0.0.1:6443 </dev/null"}),
    )
    .await?;
    if config["exit_code"].as_i64() != Some(0) {
        eprint!("{}", config["stderr"].as_str().unwrap_or_default());
        return Ok(ExitStatus::Child(
            config["exit_code"].as_i64().unwrap_or(255).clamp(0, 255) as u8,
        ));
    }
    let path = std::env::temp_dir().join(format!(
        "juju-capi-restore-twin-vm-{}-{}.kubeconfig",
        std::process::id(),
        crate::files::unique()
    ));
    crate::files::create_private(&path, config["stdout"].as_str().unwrap_or_default())?;
    // This process is the "ssh" child: it may block on its one grandchild.
    let status = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .status();
    let _ = std::fs::remove_file(&path);
    let status = status.map_err(|e| {
        anyhow::anyhow!(
            "twin-ssh: the twin's VM runs this machine's `kubectl`, which cannot be run: {e}"
        )
    })?;
    Ok(ExitStatus::Child(
        status.code().unwrap_or(255).clamp(0, 255) as u8,
    ))
}

/// `twin-exec`: runs one program of the twin's VM (the scripts behind a real sshd in
/// the tests call this for `uptime` and `k8s`).
pub async fn exec(twin: &str, argv: &[String]) -> anyhow::Result<ExitStatus> {
    if let [k8s, kubectl, args @ ..] = argv
        && k8s == "k8s"
        && kubectl == "kubectl"
    {
        return host_kubectl(twin, args).await;
    }
    host_exec(twin, serde_json::json!({"argv": argv})).await
}

/// `twin-juju`: stands in for `juju ssh [--pty=false] [-m MODEL] UNIT -- COMMAND...`
/// and `juju status [-m MODEL]` toward the twin's octavia units. There is no Juju CLI
/// on these machines; this fake answers only what the tool asks of Juju (Octavia's
/// logs, and whether the controller answers), and says so. As juju does, it prompts
/// for the password of a stale login only when stdin is a terminal; from /dev/null
/// it fails with juju's `cannot get discharge ... EOF`.
pub async fn juju(twin: &str, args: &[String]) -> anyhow::Result<ExitStatus> {
    let mut iter = args.iter();
    let command = iter.next().map(String::as_str).unwrap_or_default();
    if !matches!(command, "ssh" | "status") {
        eprintln!(
            "twin-juju: this stand-in for juju models only `juju ssh UNIT -- COMMAND` and `juju status` (got `{}`)",
            args.join(" ")
        );
        return Ok(ExitStatus::Child(2));
    }
    let mut unit = None;
    let mut model = None;
    let mut argv = Vec::new();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-m" | "--model" => model = iter.next().cloned(),
            "--" => {
                argv = iter.cloned().collect();
                break;
            }
            flag if flag.starts_with('-') => {}
            u => unit = Some(u.to_string()),
        }
    }
    if command == "status" {
        return post_twin(
            twin,
            "/host/juju-status",
            serde_json::json!({"model": model}),
        )
        .await;
    }
    let Some(unit) = unit else {
        eprintln!("ERROR no unit, machine or leader given");
        return Ok(ExitStatus::Child(2));
    };
    let body = serde_json::json!({"unit": unit, "argv": argv, "model": model});
    let answer = ask_twin(twin, "/host/juju-ssh", &body).await?;
    let stale = answer["stderr"]
        .as_str()
        .is_some_and(|e| e.contains("cannot get discharge"));
    let answer = if stale && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        // What juju does with a terminal: ask, and go on once logged in.
        eprint!("please enter password for admin on twin-controller: ");
        let mut password = String::new();
        std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut password)?;
        if password.trim().is_empty() {
            eprintln!("ERROR cannot get discharge: empty password");
            return Ok(ExitStatus::Child(1));
        }
        ask_twin(twin, "/host/juju-login", &serde_json::json!({})).await?;
        ask_twin(twin, "/host/juju-ssh", &body).await?
    } else {
        answer
    };
    Ok(replay(&answer))
}

/// Asks the twin's `/host/exec` and replays its answer as a process would.
async fn host_exec(twin: &str, body: serde_json::Value) -> anyhow::Result<ExitStatus> {
    post_twin(twin, "/host/exec", body).await
}

/// Posts to one of the twin's host endpoints and replays the answer as a process would.
async fn post_twin(twin: &str, path: &str, body: serde_json::Value) -> anyhow::Result<ExitStatus> {
    Ok(replay(&ask_twin(twin, path, &body).await?))
}

/// Posts to one of the twin's host endpoints (loopback only).
async fn ask_twin(
    twin: &str,
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let url = reqwest::Url::parse(&format!("{}{path}", twin.trim_end_matches('/')))?;
    let loopback = url
        .host_str()
        .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(UsageError(format!("the twin is on loopback only, not `{url}`")).into());
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    // The twin's host faults (a 5xx, garbage, a hang) are what a dropped ssh
    // connection is to a real client: exit 255 with ssh's words.
    let dropped = serde_json::json!({
        "stdout": "",
        "stderr": "kex_exchange_identification: read: Connection reset by peer\r\n",
        "exit_code": 255,
    });
    let Ok(response) = client.post(url).json(body).send().await else {
        return Ok(dropped);
    };
    if !response.status().is_success() {
        return Ok(dropped);
    }
    Ok(response.json().await.unwrap_or(dropped))
}

/// Prints an answer's stdout and stderr and gives its exit code, as a process would.
fn replay(answer: &serde_json::Value) -> ExitStatus {
    print!("{}", answer["stdout"].as_str().unwrap_or_default());
    eprint!("{}", answer["stderr"].as_str().unwrap_or_default());
    ExitStatus::Child(answer["exit_code"].as_i64().unwrap_or(255).clamp(0, 255) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_arguments_as_the_runbook_writes_them() {
        let args: Vec<String> = [
            "-i",
            "/home/ubuntu/.ssh/id_ed25519",
            "-o",
            "BatchMode=yes",
            "ubuntu@127.0.0.1",
            "uptime; sudo k8s status 2>&1 </dev/null | head -4",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            parse(&args).unwrap(),
            SshArgs {
                host: "127.0.0.1".into(),
                port: 22,
                command: "uptime; sudo k8s status 2>&1 </dev/null | head -4".into(),
                connect_timeout: None,
            }
        );
        assert!(parse(&args[..5]).is_err(), "no command");
    }

    #[test]
    fn ssh_arguments_as_the_tool_passes_them() {
        let args: Vec<String> = [
            "-T",
            "-o",
            "BatchMode=yes",
            "-i",
            "/dev/null",
            "-p",
            "4022",
            "-l",
            "ubuntu",
            "127.0.0.1",
            "--",
            "uptime;",
            "sudo",
            "k8s",
            "status",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            parse(&args).unwrap(),
            SshArgs {
                host: "127.0.0.1".into(),
                port: 4022,
                command: "uptime; sudo k8s status".into(),
                connect_timeout: None,
            }
        );
    }
}
