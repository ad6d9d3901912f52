//! The management VM as seen from inside: when its sshd listens, what `uptime` and
//! `k8s status` print as Canonical Kubernetes converges after a cold boot, and the
//! kubeconfig `k8s config` emits. Everything follows the VM's boot time in the cloud.
//!
//! The cold start, as fractions of the scenario's `k8s_ready_after_boot` (runbook:
//! ~21 min on gp.mid, load peaking above 100 on 2 vCPUs):
//! - until k8sd runs: `control.socket` dial errors;
//! - then k8sd answers 503: "The node is not part of a Kubernetes cluster";
//! - then deadlines and the apiserver's TLS handshake timeouts;
//! - then `cluster status: not ready`, and at the mark `ready`.

use std::time::Duration;

use jiff::Timestamp;

use crate::clock::iso;
use crate::cloud::{Cloud, VmState};

/// k8sd's control socket, as its dial errors name it.
const SOCKET: &str = "/var/snap/k8s/common/var/lib/k8sd/state/control.socket";

/// Where `k8s config` points kubeconfigs: the twin's kube-apiserver and its CA.
#[derive(Debug, Clone)]
pub struct KubeEndpoint {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The CA (PEM) that signed the apiserver's certificate.
    pub ca_pem: String,
}

/// Where the VM is in its life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostPhase {
    /// Not running (parked, stopping, starting).
    Down,
    /// Running for this long.
    Up(Duration),
}

/// What the VM's ssh port does to a SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshPort {
    /// Nothing answers: the connection attempt times out.
    Drops,
    /// The host answers with a reset: connection refused.
    Refuses,
    /// sshd accepts.
    Listens,
}

/// A program's result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
    /// Exit status.
    pub code: i32,
}

impl Output {
    fn ok(stdout: String) -> Output {
        Output {
            stdout,
            stderr: String::new(),
            code: 0,
        }
    }

    fn err(stderr: String, code: i32) -> Output {
        Output {
            stdout: String::new(),
            stderr,
            code,
        }
    }
}

impl Cloud {
    /// How long the management VM has been running, if it is.
    pub fn host_phase(&self, now: Timestamp) -> HostPhase {
        match self.server(&self.management_server_id) {
            Some(s) if s.vm_state == VmState::Active && s.task_state.is_none() => {
                match s.booted_at {
                    Some(boot) => HostPhase::Up(now.duration_since(boot).unsigned_abs()),
                    None => HostPhase::Down,
                }
            }
            _ => HostPhase::Down,
        }
    }

    /// What the VM's ssh port does to a connection now. Nothing answers the floating
    /// IP of a VM that is not running, nor while its kernel brings the network up: the
    /// SYN is dropped (a probe times out). Then the host answers and refuses until
    /// sshd listens (~3.5 min after ACTIVE), or for good when sshd never starts.
    pub fn ssh_port(&self, now: Timestamp) -> SshPort {
        match self.host_phase(now) {
            HostPhase::Down => SshPort::Drops,
            HostPhase::Up(up)
                if up.as_secs_f64() < self.timings.sshd_after_active.as_secs_f64() * 0.8 =>
            {
                SshPort::Drops
            }
            HostPhase::Up(up)
                if self.host.sshd_never_opens || up < self.timings.sshd_after_active =>
            {
                SshPort::Refuses
            }
            HostPhase::Up(_) => SshPort::Listens,
        }
    }

    /// Whether sshd accepts connections now.
    pub fn sshd_listening(&self, now: Timestamp) -> bool {
        self.ssh_port(now) == SshPort::Listens
    }

    /// Load on the VM `at` this long after boot: a ramp to the peak at 60% of the
    /// convergence time, a decay to ~1.5 by ready, then idle.
    fn load_at(&self, at: f64) -> f64 {
        let ready = self.timings.k8s_ready_after_boot.as_secs_f64().max(1.0);
        let peak = self.host.peak_load;
        let x = at / ready;
        if at < 0.0 {
            0.0
        } else if self.host.k8s_never_ready {
            // A cluster that never converges keeps the VM saturated.
            0.5 + peak * (x / 0.6).min(1.0) * 0.8
        } else if x < 0.6 {
            0.5 + peak * (x / 0.6).powf(1.5)
        } else if x < 1.0 {
            1.5 + (peak - 1.0) * (1.0 - (x - 0.6) / 0.4).powi(2)
        } else {
            0.3 + 1.2 * (-(x - 1.0) * 4.0).exp()
        }
    }

    /// The 1, 5 and 15 minute load averages `up` after boot.
    fn load_averages(&self, up: Duration) -> [f64; 3] {
        let t = up.as_secs_f64();
        [60.0, 300.0, 900.0].map(|window| {
            // Mean over the window (before boot the VM contributed nothing).
            let samples = 24;
            let sum: f64 = (0..samples)
                .map(|i| self.load_at(t - window * (i as f64 + 0.5) / samples as f64))
                .sum();
            (sum / samples as f64 * 100.0).round() / 100.0
        })
    }

    /// Runs `argv` (after `sudo`) on the management VM.
    pub fn host_exec(&self, argv: &[String], now: Timestamp, kube: &KubeEndpoint) -> Output {
        let HostPhase::Up(up) = self.host_phase(now) else {
            return Output::err("ssh: connect to host: Connection refused\n".into(), 255);
        };
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        match args.as_slice() {
            // `sudo -n ...`: the VM's sudoers lets the tool's user in without a password.
            ["sudo", rest @ ..] => self.host_exec(
                &rest
                    .iter()
                    .skip_while(|a| a.starts_with('-'))
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>(),
                now,
                kube,
            ),
            ["uptime", ..] => Output::ok(self.uptime(up, now)),
            ["k8s", "status", flags @ ..] => self.k8s_status(up, flags, now),
            ["k8s", "config", rest @ ..] => self.k8s_config(up, rest, kube),
            ["echo", words @ ..] => Output::ok(format!("{}\n", words.join(" ").trim_matches('\''))),
            [program, ..] => Output::err(format!("{program}: command not found\n"), 127),
            [] => Output::ok(String::new()),
        }
    }

    /// Runs a shell line of `;`-separated simple commands, as the tool's fixed remote
    /// commands are written (`uptime; echo '...'; sudo k8s status ... </dev/null`).
    pub fn host_shell(&self, line: &str, now: Timestamp, kube: &KubeEndpoint) -> Output {
        let mut all = Output::default();
        for part in line.split(';') {
            let words: Vec<String> = part
                .split_whitespace()
                .filter(|w| !w.starts_with('<') && !w.starts_with("2>"))
                .map(str::to_string)
                .collect();
            if words.is_empty() {
                continue;
            }
            // `echo '...'` keeps its quoted words together.
            let out = self.host_exec(&words, now, kube);
            all.stdout.push_str(&out.stdout);
            all.stderr.push_str(&out.stderr);
            all.code = out.code;
        }
        all
    }

    fn uptime(&self, up: Duration, now: Timestamp) -> String {
        let minutes = up.as_secs() / 60;
        let up_text = match minutes {
            0..60 => format!("{minutes} min"),
            _ => format!("{}:{:02}", minutes / 60, minutes % 60),
        };
        let [a, b, c] = self.load_averages(up);
        let clock = &iso(now)[11..19];
        format!(" {clock} up {up_text},  1 user,  load average: {a:.2}, {b:.2}, {c:.2}\n")
    }

    fn k8s_status(&self, up: Duration, flags: &[&str], now: Timestamp) -> Output {
        let ready_at = self.timings.k8s_ready_after_boot.as_secs_f64().max(1.0);
        let x = up.as_secs_f64() / ready_at;
        use crate::scenario::StatusFlag;
        // The snap knows one structured-output flag, or none; anything else is cobra's error.
        let known = match self.host.status_flag {
            StatusFlag::OutputFormat => Some("--output-format"),
            StatusFlag::Format => Some("--format"),
            StatusFlag::None => None,
        };
        if let Some(flag) = flags.iter().find(|f| f.starts_with("--"))
            && Some(*flag) != known
        {
            return Output::err(format!("Error: unknown flag: {flag}\n"), 1);
        }
        let json = flags
            .windows(2)
            .any(|w| Some(w[0]) == known && w[1] == "json");
        if x < 0.35 {
            return Output::err(
                format!(
                    "Error: Failed to check the current node status.\n\nThe error was: Get \"http://control.socket/1.0/k8sd/node\": dial unix {SOCKET}: connect: no such file or directory\n"
                ),
                1,
            );
        }
        if x < 0.55 {
            return Output::err("Error: The node is not part of a Kubernetes cluster. You can bootstrap a new cluster with:\n\n  sudo k8s bootstrap\n".into(), 1);
        }
        if x < 0.8 || self.host.k8s_never_ready {
            // klog's header: severity, month and day, time of day (the VM's clock).
            let klog = now.strftime("E%m%d %H:%M:%S%.3f");
            return Output::err(
                format!(
                    "Error: Failed to retrieve the cluster status.\n\nThe error was: context deadline exceeded\n{klog} reflector.go:147 Get \"https://127.0.0.1:6443/api/v1/nodes\": net/http: TLS handshake timeout\n"
                ),
                1,
            );
        }
        let ready = x >= 1.0 && !self.host.k8s_never_ready;
        let members = if ready {
            vec![format!("{}:6400 (voter)", self.host.node_address)]
        } else {
            Vec::new()
        };
        if json {
            let mut doc = serde_json::json!({
                "members": if ready { serde_json::json!([{"name": self.host.node_name, "address": format!("{}:6400", self.host.node_address), "cluster-role": "control-plane", "datastore-role": "voter"}]) } else { serde_json::json!([]) },
                "config": {},
                "datastore": {"type": if ready { "k8s-dqlite" } else { "" }},
                "network": {"enabled": ready, "message": if ready { "enabled" } else { "disabled" }},
                "dns": {"enabled": ready, "message": if ready { "enabled at 10.152.183.10" } else { "disabled" }},
            });
            // k8s leaves `ready` out when false.
            if ready {
                doc["ready"] = serde_json::json!(true);
            }
            return Output::ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        let row = |k: &str, v: &str| format!("{:<25} {v}\n", k);
        let mut text = row("cluster status:", if ready { "ready" } else { "not ready" });
        text.push_str(&row(
            "control plane nodes:",
            &if members.is_empty() {
                "none".to_string()
            } else {
                members.join(", ")
            },
        ));
        text.push_str(&row("high availability:", "no"));
        text.push_str(&row(
            "datastore:",
            if ready { "k8s-dqlite" } else { "disabled" },
        ));
        text.push_str(&row("network:", if ready { "enabled" } else { "disabled" }));
        text.push_str(&row(
            "dns:",
            if ready {
                "enabled at 10.152.183.10"
            } else {
                "disabled"
            },
        ));
        text.push_str(&row("gateway", "disabled"));
        Output::ok(text)
    }

    /// `k8s config [--server URL]`: the admin kubeconfig, its `server` the flag's URL
    /// or, without it, the node's own address. A bare `server=URL` (the runbook's
    /// spelling) is not the flag: the node's address it is. The VM's port 6443 on its
    /// floating IP (loopback here) is the twin's apiserver port, as a NAT would map it.
    fn k8s_config(&self, up: Duration, args: &[&str], kube: &KubeEndpoint) -> Output {
        let mut server = format!("https://{}:6443", self.host.node_address);
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if let Some(url) = arg.strip_prefix("--server=") {
                server = url.to_string();
            } else if *arg == "--server" {
                match rest.next() {
                    Some(url) => server = url.to_string(),
                    None => {
                        return Output::err("Error: flag needs an argument: --server\n".into(), 1);
                    }
                }
            } else if arg.starts_with('-') {
                return Output::err(format!("Error: unknown flag: {arg}\n"), 1);
            }
        }
        if up.as_secs_f64() < self.timings.k8s_ready_after_boot.as_secs_f64() * 0.55 {
            return Output::err("Error: Failed to generate an admin kubeconfig for \"\".\n\nThe error was: daemon not yet initialized\n".into(), 1);
        }
        let host = server
            .strip_prefix("https://")
            .and_then(|rest| rest.strip_suffix(":6443"))
            .map(|h| h.trim_matches(['[', ']']));
        if host
            .and_then(|h| h.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback())
        {
            server = kube.url.clone();
        }
        let ca = base64(kube.ca_pem.as_bytes());
        Output::ok(format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: k8s\ncontexts:\n- context:\n    cluster: k8s\n    user: k8s-user\n  name: k8s\ncurrent-context: k8s\nusers:\n- name: k8s-user\n  user:\n    token: twin-kube-admin-token\n"
        ))
    }
}

/// Standard base64 with padding (kubeconfig's `*-data` fields).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::clock::after;

    fn booted(minutes_ago: u64) -> (Cloud, Timestamp) {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut c = Cloud::new(&Scenario::default_scenario(), now);
        let id = c.management_server_id.clone();
        c.start_server(&id, now).unwrap();
        let later = after(now, Duration::from_secs(20 + minutes_ago * 60));
        c.settle(later);
        (c, later)
    }

    fn run(c: &Cloud, now: Timestamp, line: &str) -> Output {
        c.host_shell(
            line,
            now,
            &KubeEndpoint {
                url: "https://127.0.0.1:1".into(),
                ca_pem: "pem".into(),
            },
        )
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn sshd_opens_three_and_a_half_minutes_after_active() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let parked = Cloud::new(&Scenario::default_scenario(), now);
        assert_eq!(
            parked.ssh_port(now),
            SshPort::Drops,
            "nothing answers a parked VM"
        );
        let (c, now) = booted(2);
        assert_eq!(
            c.ssh_port(now),
            SshPort::Drops,
            "the network is still coming up"
        );
        let (c, now) = booted(3);
        assert_eq!(
            c.ssh_port(now),
            SshPort::Refuses,
            "the host answers, sshd not yet"
        );
        let (c, now) = booted(4);
        assert!(c.sshd_listening(now));
    }

    #[test]
    fn k8s_status_walks_from_socket_errors_to_ready() {
        let status = |m| {
            let (c, now) = booted(m);
            run(&c, now, "sudo k8s status </dev/null")
        };
        assert!(status(5).stderr.contains("control.socket"));
        assert!(
            status(10)
                .stderr
                .contains("not part of a Kubernetes cluster")
        );
        assert!(status(14).stderr.contains("TLS handshake timeout"));
        assert!(status(19).stdout.contains("not ready"));
        assert!(
            status(22)
                .stdout
                .starts_with("cluster status:           ready")
        );
        assert_eq!(status(22).code, 0);
    }

    #[test]
    fn json_form_and_unknown_flags() {
        let (c, now) = booted(22);
        let out = run(&c, now, "sudo k8s status --output-format json");
        assert!(
            run(&c, now, "sudo k8s status --bogus")
                .stderr
                .contains("unknown flag: --bogus")
        );
        let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(doc["ready"], true);
        assert!(
            run(&c, now, "sudo k8s status --format json")
                .stderr
                .contains("unknown flag")
        );
    }

    #[test]
    fn the_load_peaks_above_100_then_falls() {
        let (c, now) = booted(13);
        let out = run(&c, now, "uptime");
        assert!(out.stdout.contains("up 13 min"), "{}", out.stdout);
        let peak = c.load_averages(Duration::from_secs(13 * 60))[0];
        assert!(peak > 100.0, "{peak}");
        let settled = c.load_averages(Duration::from_secs(40 * 60))[0];
        assert!(settled < 2.0, "{settled}");
    }

    #[test]
    fn k8s_config_reads_the_server_flag_and_ignores_a_bare_server_word() {
        let (c, now) = booted(22);
        let server = |line: &str| {
            let out = run(&c, now, line);
            assert_eq!(out.code, 0, "{line}: {}", out.stderr);
            out.stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix("server: "))
                .unwrap()
                .to_string()
        };
        // The VM's 6443 on its (loopback) floating IP is the twin's apiserver port.
        assert_eq!(
            server("sudo k8s config --server https://127.0.0.1:6443 </dev/null"),
            "https://127.0.0.1:1"
        );
        assert_eq!(
            server("sudo k8s config --server=https://203.0.113.40:6443"),
            "https://203.0.113.40:6443"
        );
        // The runbook's `server=...` is not the flag: the node's own address.
        assert_eq!(
            server("sudo k8s config server=https://127.0.0.1:6443 </dev/null"),
            "https://192.0.2.15:6443"
        );
        assert_eq!(server("sudo k8s config"), "https://192.0.2.15:6443");
        assert!(
            run(&c, now, "sudo k8s config --server")
                .stderr
                .contains("flag needs an argument")
        );
    }

    #[test]
    fn the_cold_start_noise_carries_the_vms_clock() {
        let (c, now) = booted(14);
        let out = run(&c, now, "sudo k8s status");
        let stamp = now.strftime("E%m%d %H:%M:%S").to_string();
        assert!(out.stderr.contains(&stamp), "{stamp} in {}", out.stderr);
    }

    #[test]
    fn a_parked_vm_refuses_like_ssh() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let c = Cloud::new(&Scenario::default_scenario(), now);
        assert_eq!(run(&c, now, "uptime").code, 255);
    }
}
