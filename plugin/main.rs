//! `juju-capi-restore`: the Juju plugin, the direct command, and (multicall) the
//! charm's action entry points. All logic lives in the `capi_restore` library.

fn main() -> std::process::ExitCode {
    capi_restore::cli::main()
}
