//! Parsing Canonical Kubernetes' `sudo k8s status` (runbook block "mgmt k8s
//! readiness poll"), in all three of its forms, and classifying what it prints while
//! the cluster converges after a cold boot.
//!
//! - Structured: `--output-format json|yaml` (older snaps: `--format`). JSON leaves
//!   `ready` out when the cluster is not ready; YAML prints `ready: false`.
//! - Plain: keys padded to 25 columns (`cluster status:           ready`,
//!   `control plane nodes:      10.0.0.5:6400 (voter)` or `none`); the `gateway` line
//!   has no colon.
//! - Errors on stderr while k8sd is not up yet: `Failed to create a k8sd client`, the
//!   503 answer `The node is not part of a Kubernetes cluster`, `control.socket` dial
//!   errors, `context deadline exceeded`; and from the apiserver and mounts the noise
//!   the runbook lists (TLS handshake timeouts, mount failures).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A successfully read `k8s status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct K8sStatus {
    /// `cluster status: ready`.
    pub ready: bool,
    /// Control-plane members as `address (role)`.
    pub control_plane: Vec<String>,
    /// Datastore type (`k8s-dqlite`, `etcd`) or `disabled`.
    pub datastore: Option<String>,
    /// The feature lines (network, dns, ...), key → value.
    pub features: BTreeMap<String, String>,
}

/// One line of what `k8s status` or its surroundings printed while not answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "line")]
pub enum Noise {
    /// k8sd is not running yet (`Failed to create a k8sd client`).
    K8sdNotRunning(String),
    /// k8sd answered 503 while initialising (`The node is not part of a Kubernetes
    /// cluster`): alarming, and normal during boot.
    NotYetInitialised(String),
    /// A `control.socket` dial or deadline error.
    ControlSocket(String),
    /// `context deadline exceeded` without naming the socket.
    DeadlineExceeded(String),
    /// The apiserver's `TLS handshake timeout`.
    TlsHandshakeTimeout(String),
    /// A mount failure.
    MountFailure(String),
    /// Anything else on stderr.
    Other(String),
}

impl Noise {
    /// Whether the runbook calls this expected during the first ~20 minutes.
    pub fn is_cold_start_noise(&self) -> bool {
        !matches!(self, Noise::Other(_))
    }

    /// The line itself.
    pub fn line(&self) -> &str {
        match self {
            Noise::K8sdNotRunning(l)
            | Noise::NotYetInitialised(l)
            | Noise::ControlSocket(l)
            | Noise::DeadlineExceeded(l)
            | Noise::TlsHandshakeTimeout(l)
            | Noise::MountFailure(l)
            | Noise::Other(l) => l,
        }
    }
}

/// What one `k8s status` call said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reading {
    /// The status, ready or not.
    Status(K8sStatus),
    /// No status: the errors it printed instead.
    Unavailable(Vec<Noise>),
}

/// Reads `k8s status` output in whichever form it came.
pub fn read(stdout: &str, stderr: &str) -> Reading {
    let status = parse_json(stdout)
        .or_else(|| parse_yaml(stdout))
        .or_else(|| parse_plain(stdout));
    match status {
        Some(s) => Reading::Status(s),
        None => Reading::Unavailable(classify(&format!("{stdout}\n{stderr}"))),
    }
}

/// Classifies every meaningful line of error output.
pub fn classify(text: &str) -> Vec<Noise> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        // Framing, not cause: the headers k8s prints before "The error was:", that
        // phrase itself, and the bootstrap hint. The cause is what follows.
        if lower == "the error was:"
            || lower.starts_with("sudo k8s bootstrap")
            || lower.starts_with("you can bootstrap")
            || lower == "error: failed to check the current node status."
            || lower == "error: failed to retrieve the cluster status."
        {
            continue;
        }
        let line = line.strip_prefix("The error was: ").unwrap_or(line);
        let owned = line.to_string();
        out.push(if lower.contains("control.socket") {
            Noise::ControlSocket(owned)
        } else if lower.contains("failed to create a k8sd client") {
            Noise::K8sdNotRunning(owned)
        } else if lower.contains("not part of a kubernetes cluster") {
            Noise::NotYetInitialised(owned)
        } else if lower.contains("tls handshake timeout") {
            Noise::TlsHandshakeTimeout(owned)
        } else if lower.contains("context deadline exceeded") {
            Noise::DeadlineExceeded(owned)
        } else if lower.contains("mount") && (lower.contains("fail") || lower.contains("error")) {
            Noise::MountFailure(owned)
        } else {
            Noise::Other(owned)
        });
    }
    out
}

/// Plain text: needs a `cluster status` line.
pub fn parse_plain(text: &str) -> Option<K8sStatus> {
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        // `key: value`, or (the `gateway` line) `key   value` with no colon.
        let (key, value) = match line.split_once(':') {
            Some((k, v)) if !k.trim().contains("  ") && !k.trim().is_empty() => {
                (k.trim(), v.trim())
            }
            _ => match line.trim().split_once("  ") {
                Some((k, v)) => (k.trim(), v.trim()),
                None => continue,
            },
        };
        fields.insert(key.to_ascii_lowercase(), value.to_string());
    }
    let status = fields.remove("cluster status")?;
    let ready = match status.as_str() {
        "ready" => true,
        "not ready" => false,
        _ => return None,
    };
    let control_plane = match fields.remove("control plane nodes").as_deref() {
        None | Some("none") | Some("") => Vec::new(),
        Some(list) => list.split(", ").map(str::to_string).collect(),
    };
    let datastore = fields.remove("datastore");
    Some(K8sStatus {
        ready,
        control_plane,
        datastore,
        features: fields,
    })
}

#[derive(Deserialize)]
struct Structured {
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    members: Vec<Member>,
    #[serde(default)]
    datastore: Option<Datastore>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Member {
    #[serde(default)]
    address: String,
    #[serde(
        default,
        rename = "datastore-role",
        alias = "datastorerole",
        alias = "datastore_role"
    )]
    datastore_role: String,
    #[serde(
        default,
        rename = "cluster-role",
        alias = "clusterrole",
        alias = "cluster_role"
    )]
    cluster_role: String,
}

#[derive(Deserialize)]
struct Datastore {
    #[serde(default, rename = "type")]
    kind: String,
}

impl Structured {
    fn into_status(self) -> K8sStatus {
        let control_plane = self
            .members
            .into_iter()
            .filter(|m| m.cluster_role.is_empty() || m.cluster_role == "control-plane")
            .map(|m| {
                if m.datastore_role.is_empty() {
                    m.address
                } else {
                    format!("{} ({})", m.address, m.datastore_role)
                }
            })
            .collect();
        let features = self
            .rest
            .into_iter()
            .filter_map(|(k, v)| {
                let msg = v
                    .get("message")
                    .and_then(|m| m.as_str())
                    .filter(|m| !m.is_empty())
                    .map(str::to_string);
                let enabled = v.get("enabled").and_then(|e| e.as_bool())?;
                Some((
                    k,
                    msg.unwrap_or_else(|| {
                        if enabled {
                            "enabled".into()
                        } else {
                            "disabled".into()
                        }
                    }),
                ))
            })
            .collect();
        K8sStatus {
            ready: self.ready,
            control_plane,
            datastore: self.datastore.map(|d| d.kind).filter(|k| !k.is_empty()),
            features,
        }
    }
}

/// `--output-format json`: an object with `members` (and `ready` unless false).
pub fn parse_json(text: &str) -> Option<K8sStatus> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(trimmed).ok()?;
    value.get("members")?;
    serde_json::from_value::<Structured>(value)
        .ok()
        .map(Structured::into_status)
}

/// `--output-format yaml`: a mapping with `ready:` and `members:`.
pub fn parse_yaml(text: &str) -> Option<K8sStatus> {
    if !text.lines().any(|l| l.starts_with("ready:"))
        || !text.lines().any(|l| l.starts_with("members:"))
    {
        return None;
    }
    serde_saphyr::from_str::<Structured>(text)
        .ok()
        .map(Structured::into_status)
}

/// Whether `k8s status` refused the output flag it was given (an older snap): the
/// next form is tried.
pub fn rejects_the_flag(stderr: &str) -> bool {
    stderr.contains("unknown flag") || stderr.contains("Unknown --output-format")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const READY: &str = "cluster status:           ready
control plane nodes:      10.80.130.168:6400 (voter)
high availability:        no
datastore:                k8s-dqlite
network:                  enabled
dns:                      enabled at 10.152.183.10
ingress:                  disabled
load-balancer:            disabled
local-storage:            enabled at /var/snap/k8s/common/rawfile-storage
gateway                   enabled
";

    const NOT_READY: &str = "cluster status:           not ready
control plane nodes:      none
high availability:        no
datastore:                disabled
network:                  disabled
dns:                      disabled
ingress:                  disabled
load-balancer:            disabled
local-storage:            disabled
gateway                   disabled
";

    #[test]
    fn the_plain_forms_parse() {
        let s = parse_plain(READY).unwrap();
        assert!(s.ready);
        assert_eq!(s.control_plane, ["10.80.130.168:6400 (voter)"]);
        assert_eq!(s.datastore.as_deref(), Some("k8s-dqlite"));
        assert_eq!(s.features["dns"], "enabled at 10.152.183.10");
        assert_eq!(s.features["gateway"], "enabled", "the line without a colon");
        let n = parse_plain(NOT_READY).unwrap();
        assert!(!n.ready && n.control_plane.is_empty());
    }

    #[test]
    fn the_runbooks_head_4_cut_still_parses() {
        let head: String = READY.lines().take(4).map(|l| format!("{l}\n")).collect();
        assert!(parse_plain(&head).unwrap().ready);
    }

    #[test]
    fn json_leaves_ready_out_when_false() {
        let ready = r#"{"ready": true, "members": [{"name": "capi-mgmt-v2", "address": "10.0.0.5:6400", "cluster-role": "control-plane", "datastore-role": "voter"}], "config": {}, "datastore": {"type": "k8s-dqlite"}, "dns": {"enabled": true, "message": "enabled at 10.152.183.10", "version": "", "updated-at": "0001-01-01T00:00:00Z"}}"#;
        let s = parse_json(ready).unwrap();
        assert!(s.ready);
        assert_eq!(s.control_plane, ["10.0.0.5:6400 (voter)"]);
        assert_eq!(s.features["dns"], "enabled at 10.152.183.10");
        let not_ready = r#"{"members": [], "config": {}, "datastore": {"type": ""}}"#;
        assert!(!parse_json(not_ready).unwrap().ready);
    }

    #[test]
    fn yaml_says_ready_false() {
        let y = "ready: false\nmembers: []\nconfig: {}\ndatastore:\n  type: k8s-dqlite\n";
        let s = parse_yaml(y).unwrap();
        assert!(!s.ready);
        assert_eq!(s.datastore.as_deref(), Some("k8s-dqlite"));
    }

    #[test]
    fn boot_time_errors_are_known_noise() {
        let stderr = "Error: Failed to check the current node status.\n\nThe error was: Get \"http://control.socket/1.0/k8sd/node\": dial unix /var/snap/k8s/common/var/lib/k8sd/state/control.socket: connect: no such file or directory\n";
        let Reading::Unavailable(noise) = read("", stderr) else {
            panic!()
        };
        assert!(
            matches!(noise.last(), Some(Noise::ControlSocket(_))),
            "{noise:?}"
        );
        let not_init = "Error: The node is not part of a Kubernetes cluster. You can bootstrap a new cluster with:\n\n  sudo k8s bootstrap\n";
        let Reading::Unavailable(noise) = read("", not_init) else {
            panic!()
        };
        assert_eq!(noise.len(), 1);
        assert!(matches!(noise[0], Noise::NotYetInitialised(_)));
        assert!(noise.iter().all(Noise::is_cold_start_noise));
        let tls = classify(
            "E1124 10:02:11 reflector.go:147 Get \"https://127.0.0.1:6443/api/v1/nodes\": net/http: TLS handshake timeout",
        );
        assert!(matches!(tls[0], Noise::TlsHandshakeTimeout(_)));
        let mount = classify(
            "MountVolume.SetUp failed for volume \"kube-api-access\": mount failed: exit status 32",
        );
        assert!(matches!(mount[0], Noise::MountFailure(_)));
        assert!(!classify("Error: permission denied")[0].is_cold_start_noise());
    }

    proptest! {
        #[test]
        fn never_panics(out in ".*", err in ".*") {
            let _ = read(&out, &err);
        }

        #[test]
        fn any_padding_parses(pad in 1usize..40, ready in any::<bool>()) {
            let text = format!("cluster status:{}{}\ncontrol plane nodes:{}none\n", " ".repeat(pad), if ready { "ready" } else { "not ready" }, " ".repeat(pad));
            prop_assert_eq!(parse_plain(&text).unwrap().ready, ready);
        }
    }
}
