//! The entry point: argv → clap → settings → a command → an exit code; or, started
//! by Juju with no arguments (the charm's `dispatch`, `JUJU_DISPATCH_PATH`, or an
//! entry point named after an action), the charm's hook or action.

pub mod args;
pub mod settings;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::charm::Dispatched;
use crate::cloud::credentials::Env;
use crate::commands;
use crate::exit::ExitStatus;

use crate::settings::{Settings, Verbosity};
use args::{Args, Command};

/// Juju's one-line plugin description.
pub const DESCRIPTION: &str = "restore a parked Cluster-API management stack (VM, k8s, CAPI, Octavia, Magnum) bottom-up, safely";

/// Runs the program with the process arguments.
pub fn main() -> ExitCode {
    // Output into a closed pipe (`| head`) ends the process quietly, as it does
    // every Unix tool, instead of a panic at the next print.
    // SAFETY: setting a signal's disposition to its default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let env = Env::from_process();
    let program = argv.first().cloned().unwrap_or_default();
    match crate::charm::dispatched(&env, &program, argv.len().saturating_sub(1)) {
        Some(dispatched) => run_charm(&dispatched, env),
        None => run_cli(argv, env),
    }
}

/// A hook or action as Juju runs it: settings from the environment alone (no
/// arguments, no terminal, no prompt), the state in the unit's state directory, and
/// an exit status that is 0 unless the hook tools failed.
fn run_charm(dispatched: &Dispatched, env: Env) -> ExitCode {
    // The unit's state is site-wide: the root is there for every hook and action
    // (and for an operator's `juju ssh` and a window's timer after them).
    if env.get(crate::state::DIR_VAR).is_none() {
        let _ = crate::state::make_root(&env);
    }
    let settings = Settings {
        action_log: true,
        ..settings::resolve(args::GlobalArgs::default(), &env)
    };
    init_logging(settings.verbosity);
    let Some(runtime) = runtime() else {
        return ExitStatus::Internal.into();
    };
    let status = runtime.block_on(async {
        match dispatched {
            Dispatched::Action(name) => commands::action::run(name, &settings, &env).await,
            Dispatched::Hook(name) => commands::hook::run(name, &settings, &env).await,
        }
    });
    runtime.shutdown_background();
    status.into()
}

fn run_cli(argv: Vec<std::ffi::OsString>, env: Env) -> ExitCode {
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            let status = if e.use_stderr() {
                ExitStatus::BadInput
            } else {
                ExitStatus::Success
            };
            return status.into();
        }
    };
    if args.description {
        // Juju runs every plugin's `--description` for `juju help plugins`: one line,
        // no config, no network, no disk.
        println!("{DESCRIPTION}");
        return ExitCode::SUCCESS;
    }
    if let [first, ..] = env.unreadable()[..] {
        eprintln!(
            "error: the environment variable `{first}`{} is not valid UTF-8 (its value is not shown): set it again from a UTF-8 locale, or unset it",
            match env.unreadable().len() {
                1 => String::new(),
                n => format!(
                    " (and {} more: {})",
                    n - 1,
                    env.unreadable()[1..].join(", ")
                ),
            }
        );
        return ExitStatus::BadInput.into();
    }
    let charm = args.global.charm;
    let mut settings = settings::resolve(args.global, &env);
    init_logging(settings.verbosity);
    let Some(command) = args.command else {
        // Global flags alone: say what the commands are.
        use clap::CommandFactory;
        let _ = Args::command().print_help();
        return ExitStatus::BadInput.into();
    };
    let Some(runtime) = runtime() else {
        return ExitStatus::Internal.into();
    };
    if charm {
        // A window's timer, through `juju-exec`: the charm's configuration, read with
        // the hook tools, exactly as its actions read it.
        let dir = crate::state::charm_dir(&env);
        let tools = crate::charm::hook_tools::HookTools;
        match runtime.block_on(crate::charm::config::configure(&tools, &env, &dir)) {
            Ok(configured) => {
                settings.site_path = configured.site_path;
                settings.credentials = Some(configured.cloud);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitStatus::BadInput.into();
            }
        }
    }
    let result = runtime.block_on(dispatch(command, &settings, &env));
    // A question interrupted by Ctrl-C leaves its blocking read behind: do not wait
    // for it (the default drop would, until Enter).
    runtime.shutdown_background();
    match result {
        Ok(status) => status.into(),
        Err(e) => {
            report_error(&e);
            ExitStatus::of_error(&e).into()
        }
    }
}

async fn dispatch(command: Command, settings: &Settings, env: &Env) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Status => commands::status::run(settings, env).await,
        Command::Plan => commands::plan::run(settings, env).await,
        Command::Journal { run, markdown } => {
            commands::journal::run(env, run.as_deref(), markdown, settings.format)
        }
        Command::Verify => commands::verify::run(settings, env).await,
        Command::Park {
            force,
            yes,
            file_secrets,
            window,
        } => {
            commands::park::run(
                settings,
                env,
                commands::park::ParkSettings {
                    force,
                    yes,
                    file_secrets,
                    window: window
                        .map(|path| crate::window::Window::load(&path))
                        .transpose()?,
                },
            )
            .await
        }
        Command::Restore {
            dry_run,
            yes,
            until,
            strict_order,
            window,
        } => {
            let what = commands::restore::RestoreSettings {
                dry_run,
                window,
                options: crate::engine::restore::Options {
                    until,
                    strict_order,
                    yes,
                    ..Default::default()
                },
            };
            commands::restore::run(settings, env, what).await
        }
        Command::Demo {
            scenario,
            time_scale,
        } => commands::demo::run(settings, env, scenario.as_deref(), time_scale).await,
        Command::Twin {
            scenario,
            listen,
            dir,
            time_scale,
            tls,
        } => commands::twin::run(settings, scenario.as_deref(), listen, dir, time_scale, tls).await,
        Command::TwinSsh { twin, args } => commands::twin_ssh::run(&twin, &args).await,
        Command::TwinExec { twin, argv } => commands::twin_ssh::exec(&twin, &argv).await,
        Command::Kubeconfig => commands::kubeconfig::run(settings).await,
        Command::Sweep { yes } => commands::octavia::sweep(settings, env, yes).await,
        Command::Headroom => commands::octavia::headroom(settings, env).await,
        Command::Failover {
            load_balancers,
            yes,
        } => commands::octavia::failover(settings, env, &load_balancers, yes).await,
        Command::TwinJuju { twin, args } => commands::twin_ssh::juju(&twin, &args).await,
        Command::TwinHookTool { tool, args } => commands::twin_hook_tools::run(&tool, &args, env),
        Command::Window { action } => {
            use commands::window::WindowAction as W;
            let action = match action {
                args::WindowAction::Template => W::Template,
                args::WindowAction::Print { file } => W::Print(file),
                args::WindowAction::Install { file, root } => W::Install(file, root),
                args::WindowAction::Remove { file, root } => W::Remove(file, root),
                args::WindowAction::Check { file } => W::Check(file),
            };
            commands::window::run(settings, env, action).await
        }
        Command::Site { action } => {
            use commands::site::SiteAction as Site;
            let action = match action {
                args::SiteAction::Template => Site::Template,
                args::SiteAction::Check => Site::Check,
                args::SiteAction::Discover {
                    server,
                    write,
                    force,
                } => Site::Discover {
                    server,
                    write,
                    force,
                },
            };
            commands::site::run(settings, env, action).await
        }
        Command::Credentials {
            action: args::CredentialsAction::Store,
        } => commands::credentials::run(
            settings,
            env,
            commands::credentials::CredentialsAction::Store,
        ),
    }
}

/// The async runtime (two workers: the machine this runs on may have two cores), or
/// None after saying why it could not start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// Prints an error and the causes its message does not already include.
fn report_error(e: &anyhow::Error) {
    let top = e.to_string();
    eprintln!("error: {top}");
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !top.contains(&text) {
            eprintln!("  caused by: {text}");
        }
    }
}

fn init_logging(verbosity: Verbosity) {
    let default = match verbosity {
        Verbosity::Quiet => "error",
        // The TLS verifier logs its own copy of errors this tool reports with advice.
        Verbosity::Normal => "warn,capi_restore=info,twin=warn,rustls_platform_verifier=off",
        Verbosity::Verbose => "warn,capi_restore=debug,capi_restore::http=info",
        Verbosity::Debug => "info,capi_restore=debug,capi_restore::http=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("JUJU_CAPI_RESTORE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .compact()
        .try_init();
}
