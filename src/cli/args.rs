//! The command line, as clap types. Doc comments here are the help text. Nothing
//! below the command layer sees these types: [`super::settings`] resolves them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args as ClapArgs, Parser, Subcommand, ValueEnum};

/// Bring a charmed OpenStack cloud's Cluster-API management stack back from parked to
/// healthy, bottom-up, safely: VM, SSH, Kubernetes, CAPI controllers, Octavia load
/// balancers, Magnum health.
///
/// Runs as a Juju plugin (`juju capi-restore ...`) or directly
/// (`juju-capi-restore ...`; the strictly confined Juju snap cannot see plugins).
/// `juju-capi-restore demo` shows it against a built-in simulated cloud.
#[derive(Debug, Parser)]
#[command(
    name = "juju-capi-restore",
    version,
    max_term_width = 100,
    subcommand_required = false,
    arg_required_else_help = true
)]
pub struct Args {
    /// Print a one-line description and exit (Juju's plugin protocol)
    #[arg(long, exclusive = true)]
    pub description: bool,

    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Default, ClapArgs)]
pub struct GlobalArgs {
    /// Site file with the runbook's literals [default: ~/.config/juju-capi-restore/site.yaml]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "JUJU_CAPI_RESTORE_SITE"
    )]
    pub site: Option<PathBuf>,

    /// Cloud in clouds.yaml (else `OS_CLOUD`, else the `OS_*` variables)
    #[arg(long, global = true, value_name = "NAME")]
    pub cloud: Option<String>,

    /// More detail on stderr (-vv: every HTTP request)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// No live progress display, even on a terminal
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Take the site and the credentials from the charm's configuration and Juju
    /// secrets (in a hook context: `juju-exec UNIT ...`, as the charm's window timers run)
    #[arg(long, global = true)]
    pub charm: bool,

    /// Output format of results [default: table; unattended, a short summary]
    #[arg(short = 'f', long, global = true, value_enum)]
    pub format: Option<FormatArg>,
}

/// `-f` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A table for people
    Table,
    /// JSON for programs
    Json,
    /// YAML
    Yaml,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe every layer bottom-up and print state, evidence and diagnosis (read-only)
    ///
    /// The exit code names the lowest red layer: 10 vm, 11 ssh, 12 kubernetes,
    /// 13 capi-controllers, 14 amphorae, 15 headroom, 16 load-balancers, 17 capo,
    /// 18 magnum; 0 when none is red.
    Status,

    /// What `restore` would do now, layer by layer, touching nothing
    Plan,

    /// The runbook's final verify: amphorae ALLOCATED, Clusters Available (allowing
    /// CAPO ~10 min to resync), Magnum HEALTHY or the D-042 signature
    Verify,

    /// Bring the stack back bottom-up: start the VM, wait through sshd and the
    /// Kubernetes cold start, re-emit the kubeconfig, wait for CAPI, CAPO and Magnum
    ///
    /// Resumable: it starts from whatever state it finds. One run at a time (a lock
    /// under the state directory); a JSON-lines journal of every probe, decision and
    /// action. Beside the VM chain, the Octavia branch: nothing when every load
    /// balancer is ACTIVE; else the orphan sweep, a headroom check and a failover of
    /// each load balancer in ERROR, one at a time. Deletes and failovers are
    /// confirmed (`--yes`, or a question on a terminal); without either nothing in
    /// Octavia is changed, and the run says what it left.
    Restore {
        /// Show the plan and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Confirm the destructive steps (orphan deletes, failovers) without asking
        #[arg(long)]
        yes: bool,
        /// Stop once this layer is green (vm, ssh, kubernetes, capi-controllers, ...)
        #[arg(long, value_name = "LAYER", value_parser = crate::layers::Layer::parse)]
        until: Option<crate::layers::Layer>,
        /// The runbook's literal order: the Octavia branch after the VM chain
        #[arg(long)]
        strict_order: bool,
        /// The maintenance window this scheduled restore belongs to (journaled)
        #[arg(long, value_name = "FILE")]
        window: Option<PathBuf>,
    },

    /// Park the stack: pre-checks, optional filing of the kubeconfig, then stop the VM
    /// in the management project (confirmed on a terminal, or `--yes`)
    Park {
        /// Park even while CAPI Machines are being created or deleted
        #[arg(long)]
        force: bool,
        /// Stop without asking (unattended runs)
        #[arg(long)]
        yes: bool,
        /// File the management kubeconfig under DIR/sweep-YYYYMMDD/secrets/ first
        #[arg(long, value_name = "DIR")]
        file_secrets: Option<PathBuf>,
        /// The maintenance window this scheduled park belongs to: refused when it fires
        /// late or when the window's restore is due
        #[arg(long, value_name = "FILE")]
        window: Option<PathBuf>,
    },

    /// Start the built-in simulated cloud and restore it: no cloud needed
    Demo {
        /// Scenario file [default: the runbook's parked stack]
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Override the scenario's time scale (simulated seconds per real second)
        #[arg(long, value_name = "FACTOR")]
        time_scale: Option<f64>,
    },

    /// Run the simulated cloud standalone, for the `openstack` CLI, kubectl and this tool
    ///
    /// Writes clouds.yaml, secure.yaml, an admin-openrc and a site file for it, prints
    /// how to use them, and serves until interrupted.
    Twin {
        /// Scenario file [default: the runbook's parked stack]
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Address to listen on (loopback only)
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Directory for the client files [default: a new directory under /tmp]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Override the scenario's time scale (simulated seconds per real second)
        #[arg(long, value_name = "FACTOR")]
        time_scale: Option<f64>,
        /// Serve HTTPS with a throwaway CA (written as `ca.pem`, named as `cacert`)
        #[arg(long)]
        tls: bool,
    },

    /// List journaled runs, or render one (an id, a prefix, or `latest`) as text or
    /// Markdown for the runbooks: timeline, actions, gates against the runbook's times
    Journal {
        /// The run to render
        run: Option<String>,
        /// Markdown, fit to paste into the runbooks
        #[arg(long)]
        markdown: bool,
    },

    /// Find amphora servers with no Octavia row (zombies, failed spawns) and, when
    /// confirmed, delete them: verify-then-delete, by server UUID (runbook Step 5a)
    ///
    /// Admin scope. Without `--yes` or a yes on the terminal it only reports. Just
    /// before each delete the amphora list is read again, and the delete is aborted
    /// if the server's uuid or id has appeared there. Nothing not named
    /// `amphora-<uuid>` is ever touched.
    Sweep {
        /// Delete without asking (unattended runs)
        #[arg(long)]
        yes: bool,
    },

    /// Free amphora slots per compute host, from Placement, as the scheduler counts
    /// them (runbook Step 5b); exit 15 when no enabled host has one
    Headroom,

    /// Fail over kube-api load balancers, one at a time, each after a sweep and a
    /// headroom check; polled to ACTIVE or ERROR; never retried (runbook Step 5c)
    ///
    /// Without ids: every load balancer of the site in provisioning ERROR. Named ones
    /// may be ACTIVE too, as Octavia allows.
    Failover {
        /// Load balancer ids [default: those of the site in provisioning ERROR]
        #[arg(value_name = "LB")]
        load_balancers: Vec<String>,
        /// Delete orphans and fail over without asking (unattended runs)
        #[arg(long)]
        yes: bool,
    },

    /// Re-emit the management kubeconfig over ssh (`sudo k8s config --server
    /// https://FIP:6443`), written atomically with mode 0600 to the site's path
    Kubeconfig,

    /// Maintenance windows: park at the start, restore at the end, unattended
    Window {
        #[command(subcommand)]
        action: WindowAction,
    },

    /// Create or check the site file
    Site {
        /// What to do with it.
        #[command(subcommand)]
        action: SiteAction,
    },

    /// Stand in for `ssh` toward the twin (the twin's site files name it)
    #[command(hide = true)]
    TwinSsh {
        /// The twin's base URL
        #[arg(long)]
        twin: String,
        /// ssh's arguments
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },

    /// Stand in for `juju ssh` to the twin's octavia units (the twin's site files name
    /// it): there is no Juju here, so this fake answers for the worker and
    /// health-manager logs only
    #[command(hide = true)]
    TwinJuju {
        /// The twin's base URL
        #[arg(long)]
        twin: String,
        /// juju's arguments
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },

    /// Stand in for one of Juju's hook tools (`action-get`, `action-set`,
    /// `action-log`, `action-fail`) in tests, with Juju's rules
    #[command(hide = true)]
    TwinHookTool {
        /// Which tool
        tool: String,
        /// Its arguments
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },

    /// Run one program of the twin's VM (for the scripts behind a real sshd)
    #[command(hide = true)]
    TwinExec {
        /// The twin's base URL
        #[arg(long)]
        twin: String,
        /// The program and its arguments
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<String>,
    },

    /// Keep an OpenStack secret in the OS keyring instead of a file
    Credentials {
        /// What to do.
        #[command(subcommand)]
        action: CredentialsAction,
    },
}

/// `site` subcommands.
#[derive(Debug, Subcommand)]
pub enum SiteAction {
    /// Print the commented site template (the runbook's values)
    Template,
    /// Validate the site file and print it with every default filled in
    Check,
    /// Find the literals in the cloud: the server's project and floating IP, the
    /// kube-api load balancers CAPO made there, the Magnum clusters (admin credentials)
    Discover {
        /// The management VM's name
        #[arg(long, default_value = "capi-mgmt-v2")]
        server: String,
        /// Write the result to the site file instead of printing it
        #[arg(long)]
        write: bool,
        /// With --write: replace an existing site file (the old one is kept as `.bak`)
        #[arg(long, requires = "write")]
        force: bool,
    },
}

/// `window` subcommands.
#[derive(Debug, Subcommand)]
pub enum WindowAction {
    /// Print the commented window template
    Template,
    /// Show the timers (or cron.d file) the window would write, and when they fire
    Print {
        /// The window definition
        file: PathBuf,
    },
    /// Write them (atomically; root-owned under /), with a record of what was written
    Install {
        /// The window definition
        file: PathBuf,
        /// Install under DIR instead of / (a package's staging tree, a test)
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
    },
    /// Remove exactly what `install` wrote
    Remove {
        /// The window definition
        file: PathBuf,
        /// As given to `install`
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
    },
    /// Pre-flight: would the next park be refused? (credentials, state, lock, CAPI
    /// operations in flight); exit 3 if so
    Check {
        /// The window definition
        file: PathBuf,
    },
}

/// `credentials` subcommands.
#[derive(Debug, Subcommand)]
pub enum CredentialsAction {
    /// Read a secret from stdin and store it in the keyring for `--cloud`
    Store,
}
