//! What both benchmarks share: a program run against the twin's client files.

use std::path::{Path, PathBuf};
use std::process::Command;

use capi_restore::commands::twin::ClientFiles;

/// The tool under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_juju-capi-restore");

/// `program` with a clean environment: `HOME` at `home`, the caller's `PATH`, and the
/// twin's clouds.yaml/secure.yaml (so nothing of the machine's own config leaks in).
pub fn against_twin(program: &Path, files: &ClientFiles, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OS_CLIENT_CONFIG_FILE", &files.clouds)
        .env("OS_CLIENT_SECURE_FILE", &files.secure);
    cmd
}

/// The tool on the twin's site file and cloud, running `args`.
pub fn tool(files: &ClientFiles, home: &Path, args: &[&str]) -> Command {
    let mut cmd = against_twin(Path::new(BIN), files, home);
    cmd.args(["--site", files.site.to_str().unwrap(), "--cloud", "twin"])
        .args(args);
    cmd
}

/// The real `openstack` CLI: `CAPI_RESTORE_OPENSTACK_CLI`, else the one `scripts/test`
/// installs in target/contract-venv.
#[allow(dead_code)] // not every benchmark compares with the CLI
pub fn openstack_cli() -> Option<PathBuf> {
    let path = std::env::var_os("CAPI_RESTORE_OPENSTACK_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/contract-venv/bin/openstack")
        });
    path.is_file().then_some(path)
}
