//! `twin-ssh`: stands in for `ssh` when the site is the twin. It takes ssh's
//! arguments as this tool passes them, connects to the twin's ssh port like ssh
//! would (exit 255 and ssh's message when nothing listens), and runs the remote
//! command through the twin's `/host/exec`. Loopback only.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::UsageError;
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
pub async fn run(twin: &str, args: &[String]) -> anyhow::Result<ExitCode> {
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
        return Ok(ExitCode::from(255));
    }
    host_exec(twin, serde_json::json!({"command": ssh.command})).await
}

/// `twin-exec`: runs one program of the twin's VM (the scripts behind a real sshd in
/// the tests call this for `uptime` and `k8s`).
pub async fn exec(twin: &str, argv: &[String]) -> anyhow::Result<ExitCode> {
    host_exec(twin, serde_json::json!({"argv": argv})).await
}

/// `twin-juju`: stands in for `juju ssh [--pty=false] [-m MODEL] UNIT -- COMMAND...`
/// toward the twin's octavia units. There is no Juju CLI on these machines; this
/// fake answers only what the tool asks of Juju (Octavia's logs), and says so.
pub async fn juju(twin: &str, args: &[String]) -> anyhow::Result<ExitCode> {
    let mut iter = args.iter();
    if iter.next().map(String::as_str) != Some("ssh") {
        eprintln!(
            "twin-juju: this stand-in for juju models only `juju ssh UNIT -- COMMAND` (got `{}`)",
            args.join(" ")
        );
        return Ok(ExitCode::from(2));
    }
    let mut unit = None;
    let mut argv = Vec::new();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-m" | "--model" => {
                iter.next();
            }
            "--" => {
                argv = iter.cloned().collect();
                break;
            }
            flag if flag.starts_with('-') => {}
            u => unit = Some(u.to_string()),
        }
    }
    let Some(unit) = unit else {
        eprintln!("ERROR no unit, machine or leader given");
        return Ok(ExitCode::from(2));
    };
    post_twin(
        twin,
        "/host/juju-ssh",
        serde_json::json!({"unit": unit, "argv": argv}),
    )
    .await
}

/// Asks the twin's `/host/exec` and replays its answer as a process would.
async fn host_exec(twin: &str, body: serde_json::Value) -> anyhow::Result<ExitCode> {
    post_twin(twin, "/host/exec", body).await
}

/// Posts to one of the twin's host endpoints and replays the answer as a process would.
async fn post_twin(twin: &str, path: &str, body: serde_json::Value) -> anyhow::Result<ExitCode> {
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
    let answer: serde_json::Value = client.post(url).json(&body).send().await?.json().await?;
    print!("{}", answer["stdout"].as_str().unwrap_or_default());
    eprint!("{}", answer["stderr"].as_str().unwrap_or_default());
    Ok(ExitCode::from(
        answer["exit_code"].as_i64().unwrap_or(255).clamp(0, 255) as u8,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
