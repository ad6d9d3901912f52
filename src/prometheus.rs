//! The node-exporter textfile collector's file of the last run: placeholder.
pub const DIR_VAR: &str = "JUJU_CAPI_RESTORE_PROM_DIR";
