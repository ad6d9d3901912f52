//! The ssh-port gate's probe (runbook block "start + ssh-port gate"): one TCP connect
//! to the floating IP's ssh port, in-process, with its own timeout. Changes nothing.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

/// One attempt's limit: the runbook's `timeout 5`.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// One attempt's limit on a cloud whose clock runs `scale` times real time: the
/// runbook's 5 s on that clock (a simulated VM boots that much faster too), never
/// under 50 ms, which a loopback connection needs at most. 5 s on a real cloud.
pub fn attempt_timeout(scale: f64) -> Duration {
    if scale.is_finite() && scale > 1.0 {
        ATTEMPT_TIMEOUT
            .div_f64(scale)
            .max(Duration::from_millis(50))
    } else {
        ATTEMPT_TIMEOUT
    }
}

/// What one connection attempt found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result", content = "detail")]
pub enum PortState {
    /// Something accepted the connection (sshd is up).
    Open,
    /// Refused: the host answers, nothing listens yet (sshd still starting).
    Refused,
    /// No answer within the timeout (booting, or filtered).
    NoAnswer,
    /// Any other failure (no route, ...).
    Failed(String),
}

/// Tries one TCP connection to `addr`.
pub async fn probe(addr: SocketAddr, timeout: Duration) -> PortState {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_stream)) => PortState::Open,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => PortState::Refused,
        Ok(Err(e)) => PortState::Failed(e.to_string()),
        Err(_) => PortState::NoAnswer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_and_refused_ports_are_told_apart() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(probe(addr, Duration::from_secs(2)).await, PortState::Open);
        drop(listener);
        assert_eq!(
            probe(addr, Duration::from_secs(2)).await,
            PortState::Refused
        );
    }
}
