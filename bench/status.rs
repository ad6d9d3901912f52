//! Benchmark: `status` and single API calls against the twin, side by side with the
//! real `openstack` CLI doing the same reads; and `--description` start-up time.
//!
//! Run with `cargo bench --bench status` (release build, LTO). The CLI comes from
//! `CAPI_RESTORE_OPENSTACK_CLI` or `target/contract-venv/bin/openstack` (made by
//! `scripts/test`). Writes `bench/REPORT.md`. Figures are wall-clock on this machine;
//! they are reported, never asserted.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use capi_restore::cloud::nova::{self, ServerQuery};
use capi_restore::cloud::{Scope, Session};
use capi_restore::commands::twin::{admin_cloud, site_for, write_client_files};
use capi_restore::layers::Probe;
use twin::{Scenario, Twin};

#[path = "common.rs"]
mod common;
use common::{BIN, openstack_cli};

/// Summary of repeated timings.
struct Stats {
    runs: usize,
    median: Duration,
    p95: Duration,
    min: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        runs: samples.len(),
        median: at(0.5),
        p95: at(0.95),
        min: samples[0],
    }
}

fn time_n(n: usize, mut f: impl FnMut()) -> Stats {
    f(); // warm caches and connections once
    stats(
        (0..n)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn row(what: &str, s: &Stats) -> String {
    format!(
        "| {what} | {} | {} | {} | {} |\n",
        s.runs,
        ms(s.median),
        ms(s.p95),
        ms(s.min)
    )
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success() || out.status.code().is_some_and(|c| c >= 10),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let twin = runtime
        .block_on(Twin::start(
            Scenario::default_scenario(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = write_client_files(&twin, dir.path(), Path::new(BIN)).unwrap();
    let site = site_for(&twin, Path::new(BIN), dir.path());
    let mut report = String::from("# Benchmark: `status` and API calls against the twin\n\n");
    report.push_str(&format!(
        "Machine: {} cores; twin scenario `{}` on loopback. Release build (LTO). Times are wall clock.\n\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        twin.scenario().name
    ));
    report.push_str("| what | runs | median | p95 | min |\n|---|---|---|---|---|\n");

    // 1. Juju runs every plugin's --description for `juju help plugins`.
    let description = time_n(100, || run_ok(Command::new(BIN).arg("--description")));
    report.push_str(&row(
        "`juju-capi-restore --description` (process start to exit)",
        &description,
    ));

    // 2. One whole `status` run as a process: two logins, every OpenStack layer.
    let status_run = time_n(20, || {
        run_ok(&mut common::tool(
            &files,
            dir.path(),
            &["status", "-f", "json"],
        ))
    });
    report.push_str(&row(
        "`juju-capi-restore status` (process; 2 logins, 5 layers)",
        &status_run,
    ));

    // 2b. The same on a running stack: ssh (`uptime` + `k8s status`, one session) and
    // two kubectl calls join the OpenStack reads.
    let mut up = Scenario::default_scenario();
    up.servers[0].status = twin::scenario::ServerStatus::Active;
    let up_twin = runtime
        .block_on(Twin::start(up, "127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let up_dir = tempfile::tempdir().unwrap();
    let up_files = write_client_files(&up_twin, up_dir.path(), Path::new(BIN)).unwrap();
    let running = time_n(10, || {
        run_ok(&mut common::tool(
            &up_files,
            up_dir.path(),
            &["status", "-f", "json"],
        ))
    });
    report.push_str(&row(
        "`juju-capi-restore status`, running stack (+ ssh session, kubeconfig fetch, 2 kubectl)",
        &running,
    ));

    // Requests one status makes, counted in-process.
    let session = Session::new(
        admin_cloud(&twin),
        site.management.project_id.clone(),
        site.http.clone(),
    )
    .unwrap();
    runtime.block_on(capi_restore::report::observe(Probe {
        session: &session,
        site: &site,
    }));
    let requests = session.stats().requests();
    let logins = session.stats().logins();

    // 3. One native API call with a held token: the runbook's `server show`.
    let id = twin.with_cloud(|c, _| c.management_server_id.clone());
    let native = time_n(200, || {
        runtime
            .block_on(nova::show_server(&session, Scope::Management, &id))
            .unwrap();
    });
    report.push_str(&row(
        "native `GET /servers/{id}` (token held, in-process)",
        &native,
    ));
    let cold = time_n(20, || {
        let s = Session::new(
            admin_cloud(&twin),
            site.management.project_id.clone(),
            site.http.clone(),
        )
        .unwrap();
        runtime
            .block_on(nova::list_servers(
                &s,
                Scope::Management,
                &ServerQuery {
                    name_regex: Some("^capi-mgmt-v2$".into()),
                    ..Default::default()
                },
            ))
            .unwrap();
    });
    report.push_str(&row(
        "native login + server lookup by name (new session)",
        &cold,
    ));

    // 4. The real openstack CLI doing the same reads.
    let mut cli_total = None;
    if let Some(cli) = openstack_cli() {
        let openstack = |args: &[&str]| {
            let mut cmd = common::against_twin(&cli, &files, dir.path());
            cmd.args(["--os-cloud", "twin"]).args(args);
            run_ok(&mut cmd);
        };
        let mgmt = ["--os-project-name", "capi-mgmt"];
        let show = time_n(10, || {
            openstack(&[&mgmt[..], &["server", "show", "capi-mgmt-v2", "-f", "json"]].concat())
        });
        report.push_str(&row(
            "`openstack server show capi-mgmt-v2` (process)",
            &show,
        ));
        // The reads `status` replaces, as the runbook runs them.
        let reads: Vec<Vec<&str>> = vec![
            [&mgmt[..], &["server", "show", "capi-mgmt-v2", "-f", "json"]].concat(),
            vec!["server", "list", "--all-projects", "--long", "-f", "json"],
            vec!["loadbalancer", "amphora", "list", "-f", "json"],
            [&mgmt[..], &["loadbalancer", "list", "-f", "json"]].concat(),
            [
                &mgmt[..],
                &["coe", "cluster", "show", "capi-test-1", "-f", "json"],
            ]
            .concat(),
        ];
        let all = time_n(5, || reads.iter().for_each(|args| openstack(args)));
        report.push_str(&row(
            "the same reads with the `openstack` CLI (5 commands, no headroom)",
            &all,
        ));
        cli_total = Some(all.median);
    } else {
        report.push_str("| `openstack` CLI | not installed: run `scripts/test` once to create target/contract-venv | | | |\n");
    }

    report.push_str(&format!(
        "\nOne `status` makes {requests} API requests and {logins} Keystone logins (both scopes held at once).\n"
    ));
    if let Some(cli) = cli_total {
        report.push_str(&format!(
            "`status` (median {}) covers what five `openstack` commands read (median {} together), plus Placement headroom: {:.1}x faster.\n",
            ms(status_run.median),
            ms(cli),
            cli.as_secs_f64() / status_run.median.as_secs_f64()
        ));
    }
    report.push_str(
        "\nThe twin answers in microseconds, so these figures are the clients' own cost (process start, \
         interpreter, logins, connection reuse). Against a real cloud each API round trip adds its latency; \
         `status` runs its independent reads concurrently and logs in twice, where the CLI logs in per command.\n",
    );
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/REPORT.md");
    std::fs::write(&out, &report).unwrap();
    eprintln!("written to {}", out.display());
    drop(twin);
}
