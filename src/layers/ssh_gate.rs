//! Layer 2, the ssh-port gate (runbook block "start + ssh-port gate", second half,
//! `SSH-PORT-OK`). Reads: one in-process TCP connect to the floating IP's ssh port.
//! Changes nothing.

use std::net::SocketAddr;

use crate::host::tcp_probe::{self, PortState};

use super::{Health, Layer, Probe, Row};

/// What the port said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshGateObservation {
    /// Floating IP and ssh port.
    pub addr: SocketAddr,
    /// The answer.
    pub state: PortState,
}

/// One connection attempt, five seconds at most on the cloud's clock (the
/// runbook's `timeout 5`).
pub async fn probe(p: Probe<'_>) -> SshGateObservation {
    let addr = SocketAddr::new(p.site.management.floating_ip, p.site.ssh.port);
    let limit = tcp_probe::attempt_timeout(p.site.time_scale());
    SshGateObservation {
        addr,
        state: tcp_probe::probe(addr, limit).await,
    }
}

/// Open is green; anything else red, with what it means.
pub fn assess(o: &SshGateObservation) -> Row {
    match &o.state {
        PortState::Open => Row::new(Layer::Ssh, Health::Green, "SSH-PORT-OK").evidence(format!("{} accepts connections", o.addr)),
        PortState::Refused => Row::new(Layer::Ssh, Health::Red, "sshd not listening yet")
            .evidence(format!("{}: connection refused", o.addr))
            .next("sshd lags ACTIVE by ~3.5 min: wait for it (`restore` does, with a deadline of `timeouts.ssh_port`)"),
        PortState::NoAnswer => Row::new(Layer::Ssh, Health::Red, "no answer on the ssh port")
            .evidence(format!("{}: no answer within 5 s", o.addr))
            .next("the VM may still be booting; if it persists, check the floating IP and the security group for the ssh port"),
        PortState::Failed(e) => Row::new(Layer::Ssh, Health::Red, "cannot reach the ssh port")
            .evidence(format!("{}: {e}", o.addr))
            .next("check the route to the floating IP from this host"),
    }
}

/// The gate (`SSH-PORT-OK`) after one probe: `None` when sshd answers, else what
/// the attempt saw. The engine polls it every `poll.ssh_port` until
/// `timeouts.ssh_port`: the default, 6 min, covers sshd's ~3.5 min lag after ACTIVE
/// with margin; the runbook's own 18 × 10 s loop gives up at 3 min, before its 3.5
/// min figure.
pub fn not_open_yet(o: &SshGateObservation) -> Option<String> {
    match &o.state {
        PortState::Open => None,
        PortState::Refused => Some("connection refused".into()),
        PortState::NoAnswer => Some("no answer within 5 s (the attempt's limit)".into()),
        PortState::Failed(e) => Some(e.clone()),
    }
}
