//! The restore engine: executes the decisions the layers carry (see
//! [`crate::layers::Decision`]), bottom-up along the dependency graph. Policy is pure
//! and table-tested ([`failover::policy`], [`sweep::verify`], [`never_retry`]); the
//! executors only gather facts, perform the step the policy names and record it.
//! Every wait goes through one gate helper ([`run`], [`wait`]), its figures read from
//! the site file by gate name.

pub mod failover;
pub mod host_chain;
pub mod never_retry;
pub mod octavia;
pub mod plan;
pub mod restore;
pub mod run;
pub mod sweep;
pub mod wait;
