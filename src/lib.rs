//! juju-capi-restore: bring a charmed OpenStack cloud's Cluster-API management stack
//! back from parked to healthy, bottom-up, as `capi-mgmt-restore-runbook.txt` does by
//! hand.
//!
//! The tree mirrors the runbook: [`layers`] holds one module per layer (probe →
//! typed observation → assess → a row carrying its decision), [`engine`] executes the
//! decisions (the failover and the sweep as pure policy plus an executor), [`cloud`]
//! talks to OpenStack natively with two scopes, [`diagnose`] is the observation
//! table, [`status`] the typed words services report, [`journal`] the typed
//! as-executed log, [`cli`] and [`commands`] the thin edge. Dependencies point down:
//! cli → commands → engine → layers → cloud/host/capi/juju → exec/site/diagnose.

pub mod capi;
pub mod charm;
pub mod cli;
pub mod clock;
pub mod cloud;
pub mod commands;
pub mod diagnose;
pub mod ending;
pub mod engine;
pub mod env;
pub mod error;
pub mod exec;
pub mod exit;
pub mod files;
pub mod host;
pub mod interrupt;
pub mod journal;
pub mod juju;
pub mod layers;
pub mod lock;
pub mod prometheus;
pub mod report;
pub mod settings;
pub mod site;
pub mod state;
pub mod status;
pub mod ui;
pub mod window;
pub mod words;
