//! `twin-ssh`: stands in for `ssh` when the site is the twin. It takes ssh's
//! arguments as this tool passes them, connects to the twin's ssh port like ssh
//! would (exit 255 and ssh's message when nothing listens), and runs the remote
//! command through the twin's `/host/exec`. The VM's own kubectl (`sudo -n k8s
//! kubectl ...`, `management.kubectl: on-host`) is the real `kubectl` of this
//! machine with the kubeconfig the twin's VM emits, as the VM's would read its
//! cluster's API. Loopback only.

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
}

fn parse(args: &[String]) -> Result<SshArgs, String> {
    let mut port = 22;
    let mut host = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-p" => {
                port = iter
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or("`-p` needs a port")?
            }
            "-o" | "-i" | "-l" | "-F" => {
                iter.next();
            }
            "--" => {
                let command = iter.map(String::as_str).collect::<Vec<_>>().join(" ");
                return Ok(SshArgs {
                    host: host.ok_or("no host before `--`")?,
                    port,
                    command,
                });
            }
            flag if flag.starts_with('-') => {}
            target => host = Some(target.rsplit('@').next().unwrap_or(target).to_string()),
        }
    }
    Err("no remote command after `--`".into())
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
    let words = match tcp_probe::probe(addr, tcp_probe::ATTEMPT_TIMEOUT).await {
        PortState::Open => None,
        PortState::Refused => Some("Connection refused".to_string()),
        PortState::NoAnswer => Some("Connection timed out".to_string()),
        PortState::Failed(e) => Some(e),
    };
    if let Some(words) = words {
        eprintln!("ssh: connect to host {ip} port {}: {words}", ssh.port);
        return Ok(ExitStatus::Child(255));
    }
    if let Some(args) = host_kubectl_args(&ssh.command) {
        return host_kubectl(twin, &args).await;
    }
    host_exec(twin, serde_json::json!({"command": ssh.command})).await
}

/// The arguments of the VM's kubectl in a remote line as
/// [`crate::host::ssh::kubectl_line`] writes it.
fn host_kubectl_args(line: &str) -> Option<Vec<String>> {
    let quoted = line
        .strip_prefix("sudo -n k8s kubectl ")?
        .strip_suffix(" </dev/null")?;
    let mut words = Vec::new();
    let mut rest = quoted.trim();
    while !rest.is_empty() {
        // Each word is `'...'`, a quote inside written `'\''`.
        let mut word = String::new();
        loop {
            let inner = rest.strip_prefix('\'')?;
            let end = inner.find('\'')?;
            word.push_str(&inner[..end]);
            rest = &inner[end + 1..];
            match rest.strip_prefix("\\'") {
                Some(after) => {
                    word.push('\'');
                    rest = after;
                }
                None => break,
            }
        }
        words.push(word);
        rest = rest.trim_start();
    }
    Some(words)
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
    fn the_vms_kubectl_arguments_read_back_as_written() {
        let args: Vec<String> = ["get", "-n", "magnum-x", "it's", "-o", "json"]
            .map(String::from)
            .to_vec();
        let line = crate::host::ssh::kubectl_line(&args);
        assert_eq!(host_kubectl_args(&line), Some(args));
        assert_eq!(host_kubectl_args("uptime"), None);
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
                command: "uptime; sudo k8s status".into()
            }
        );
    }
}
