//! Integration tests: the built `juju-capi-restore` binary against the twin, a real
//! in-process HTTP server on loopback. One test binary, a module per area.

mod actions_yaml;
mod bad_input;
mod capi;
mod charm;
mod charm_pack;
mod cli;
mod contract;
mod harness;
mod host;
mod keyring;
mod octavia;
mod openstack_cli;
mod park;
mod real_ssh;
mod restore;
mod session;
mod site;
mod status;
mod window;
