//! The restore engine. Waiting, deadlines and progress live here, once, not in
//! every step (the dependency graph and the journal join it with the restore).

pub mod failover;
pub mod host_chain;
pub mod never_retry;
pub mod octavia;
pub mod plan;
pub mod restore;
pub mod run;
pub mod sweep;
pub mod wait;
