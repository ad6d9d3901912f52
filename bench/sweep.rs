//! Benchmark: sweep planning at scale. A twin holding 10,000 servers and 2,000
//! amphorae (every listing paged), and `juju-capi-restore sweep` planning the sweep
//! (both inventories read, orphans classified, nothing deleted), side by side with the
//! runbook's own pipeline with the real `openstack` CLI on the same twin:
//!
//! ```text
//! openstack loadbalancer amphora list -f yaml
//! openstack server list --all-projects --long -f yaml | grep -B6 -A4 'amphora-haproxy' | grep -E '^(- | (ID|Name|Status)):'
//! ```
//!
//! Wall time and peak resident memory (the largest process of each, from `wait4`).
//! The twin runs as its own process (`juju-capi-restore twin`): Linux carries a
//! parent's resident set into a child's `ru_maxrss` across fork and exec, so a twin
//! holding 10,000 servers in this process would count against the tool.
//! Run with `cargo bench --bench sweep`; writes `bench/SWEEP.md`. Targets (under 2 s,
//! under 50 MB for the tool) are reported against, never asserted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::fmt::Write as _;

use capi_restore::commands::twin::ClientFiles;

#[path = "common.rs"]
mod common;
use common::{BIN, against_twin, openstack_cli};

const SERVERS: usize = 10_000;
const AMPHORAE: usize = 2_000;
const ORPHANS: usize = 20;
const RUNS: usize = 5;

fn uuid(kind: u32, i: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{i:012}")
}

/// The runbook's scenario grown to 10,000 servers: 2,000 amphorae (one per load
/// balancer, in another project than the management one), 20 orphans, and plain VMs,
/// as scenario YAML for `juju-capi-restore twin`.
fn scenario_yaml() -> String {
    let default = twin::scenario::DEFAULT_SCENARIO.replace("time_scale: 60", "time_scale: 1");
    let base = twin::Scenario::default_scenario();
    let mut lbs = String::new();
    for i in 1..AMPHORAE {
        let _ = writeln!(
            lbs,
            "  - {{ id: {}, name: lb-{i}, project: admin, provisioning_status: ACTIVE, operating_status: ONLINE, vip_address: 192.0.2.7, amphorae: [{{ id: {}, host: compute-{} }}] }}",
            uuid(0x1b, i),
            uuid(0xa0, i),
            1 + i % 2
        );
    }
    let mut orphans = String::new();
    for i in base.orphan_amphorae.len()..ORPHANS {
        let (kind, host) = if i % 2 == 0 {
            ("zombie", ", host: compute-2")
        } else {
            ("error", "")
        };
        let _ = writeln!(
            orphans,
            "  - {{ amphora_id: {}, kind: {kind}{host}, age: 1h }}",
            uuid(0x0f, i)
        );
    }
    let mut servers = String::new();
    for i in 0..SERVERS - AMPHORAE - ORPHANS - base.servers.len() {
        let _ = writeln!(
            servers,
            "  - {{ id: {}, name: workload-{i}, project: admin, status: ACTIVE, host: compute-{}, flavor: {{ name: m1.small, ram: 2048, vcpus: 1, disk: 20 }} }}",
            uuid(0x5e, i),
            1 + i % 2
        );
    }
    default
        .replacen(
            "\norphan_amphorae:\n",
            &format!("\n{lbs}\norphan_amphorae:\n{orphans}"),
            1,
        )
        .replacen(
            "    floating_ip: 127.0.0.1\n",
            &format!("    floating_ip: 127.0.0.1\n{servers}"),
            1,
        )
}

/// Starts `juju-capi-restore twin` on the scenario; its client files once written.
fn start_twin(dir: &Path) -> (std::process::Child, ClientFiles) {
    let scenario = dir.join("scenario.yaml");
    std::fs::write(&scenario, scenario_yaml()).unwrap();
    let files_dir = dir.join("twin");
    let child = Command::new(BIN)
        .args(["twin", "--scenario"])
        .arg(&scenario)
        .arg("--dir")
        .arg(&files_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let files = ClientFiles {
        clouds: files_dir.join("clouds.yaml"),
        secure: files_dir.join("secure.yaml"),
        openrc: files_dir.join("admin-openrc"),
        site: files_dir.join("site.yaml"),
    };
    let started = Instant::now();
    while !files.site.is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the twin did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, files)
}

/// Runs `cmd` to the end; wall time and the peak RSS of its largest process.
// The child is reaped by `wait4` (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> (Duration, u64, std::process::ExitStatus) {
    let started = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for the child we spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; pointers are to live locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    let wall = started.elapsed();
    use std::os::unix::process::ExitStatusExt;
    (
        wall,
        usage.ru_maxrss as u64 * 1024,
        std::process::ExitStatus::from_raw(status),
    )
}

fn median(mut v: Vec<(Duration, u64)>) -> (Duration, u64) {
    v.sort();
    let time = v[v.len() / 2].0;
    let rss = v.iter().map(|(_, r)| *r).max().unwrap_or(0);
    (time, rss)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (mut twin, files) = start_twin(dir.path());
    let (servers, amphorae) = (SERVERS, AMPHORAE);

    // The tool: plan the sweep (no --yes, no terminal: nothing is deleted).
    let mut tool_runs = Vec::new();
    for _ in 0..RUNS {
        let (wall, rss, status) = measure(&mut common::tool(
            &files,
            dir.path(),
            &["-q", "sweep", "-f", "json"],
        ));
        assert!(status.success(), "sweep failed: {status:?}");
        tool_runs.push((wall, rss));
    }
    // Once more with every request logged (-vv), to count them and the orphans.
    let check = common::tool(&files, dir.path(), &["-vv", "sweep", "-f", "json"])
        .output()
        .unwrap();
    let swept: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let found = swept["orphans"].as_array().map_or(0, Vec::len);
    assert_eq!(
        swept["deleted"].as_array().map_or(0, Vec::len),
        0,
        "planning deletes nothing"
    );
    let log = String::from_utf8_lossy(&check.stderr);
    let per_run = log.lines().filter(|l| l.contains(" -> ")).count();
    let (tool_time, tool_rss) = median(tool_runs);

    let mut report = format!(
        "# Benchmark: sweep planning at 10,000 servers\n\nThe twin holds {servers} servers ({amphorae} amphorae with rows, {ORPHANS} orphans) and {amphorae} amphora rows; Nova and Octavia page at 1,000. Wall time is the median of {RUNS} runs, memory the peak resident set of the largest process over the runs (`wait4`).\n\n| what | wall (median) | peak RSS | notes |\n|---|---|---|---|\n| `juju-capi-restore sweep` (plan only) | {:.3} s | {} | {per_run} API requests per run (2 logins, then Nova filtered by `name=^amphora-` and Octavia's amphora list, 3 pages each), {found} orphans found, and the health manager's log read once through the twin's stand-in for `juju ssh` (a second process) for the zombies' heartbeats; target under 2 s and 50 MB |\n",
        tool_time.as_secs_f64(),
        mb(tool_rss)
    );

    match openstack_cli() {
        Some(cli) => {
            let cli = cli.display().to_string();
            let pipeline = format!(
                "'{cli}' loadbalancer amphora list -f yaml > /dev/null && '{cli}' server list --all-projects --long -f yaml | grep -B6 -A4 'amphora-haproxy' | grep -E '^(- | (ID|Name|Status)):'"
            );
            let mut runs = Vec::new();
            for _ in 0..3 {
                let mut cmd = against_twin(Path::new("/bin/bash"), &files, dir.path());
                cmd.env("OS_CLOUD", "twin").args(["-o", "pipefail", "-c", &pipeline]);
                let (wall, rss, status) = measure(&mut cmd);
                // grep exits 1 when nothing matches: the twin's servers carry no image name.
                assert!(
                    status.code().is_some_and(|c| c <= 1),
                    "the runbook pipeline failed: {status:?}"
                );
                runs.push((wall, rss));
            }
            let (cli_time, cli_rss) = median(runs);
            report.push_str(&format!(
                "| the runbook's pipeline: `openstack loadbalancer amphora list` + `openstack server list --all-projects --long -f yaml \\| grep ...` | {:.3} s | {} | 3 runs; reads every server of every project, then greps text |\n",
                cli_time.as_secs_f64(),
                mb(cli_rss)
            ));
            report.push_str(&format!(
                "\nThe tool plans the sweep {:.0}x faster in {:.0}x less memory. It asks Nova only for servers named `^amphora-` (and checks the name again itself), matches by the uuid in the name and by `compute_id`, and never parses text. The pipeline lists all {servers} servers with `--long` and leaves the matching to a person reading grep's output.\n",
                cli_time.as_secs_f64() / tool_time.as_secs_f64(),
                cli_rss as f64 / tool_rss.max(1) as f64
            ));
        }
        None => report.push_str("| the runbook's pipeline | not run: no `openstack` CLI (run `scripts/test` once to create target/contract-venv) | | |\n"),
    }
    let _ = twin.kill();
    let _ = twin.wait();
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/SWEEP.md");
    std::fs::write(&out, &report).unwrap();
    eprintln!("written to {}", out.display());
}
