//! The management host: its ssh port, commands run on it over the system `ssh`, and
//! the parsers for what they print (`uptime`, `k8s status`).

pub mod k8s_status;
pub mod kubeconfig;
pub mod ssh;
pub mod tcp_probe;
pub mod uptime;
