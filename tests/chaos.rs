//! Chaos runs (issue 13 §3): from a seed, draw a scenario, a fault schedule over the
//! services and the host (world faults at a drawn time among them), a sequence of
//! commands, and the requests at which a run is
//! killed (`kill -9`) or interrupted (Ctrl-C); run the real binary against the twin;
//! then judge the safety rules from the twin's own record of what was changed and
//! what it knew at that instant, and from the journals and outputs:
//!
//! - no server was deleted that had an Octavia row, or was not provably Octavia's
//!   amphora (service project, `amphora-<uuid>`, the amphora image), when deleted;
//! - no server but the management VM was started or stopped;
//! - never two failovers in flight; never a failover of a load balancer whose last
//!   failover failed; never one without a free amphora slot, nor, in a restore,
//!   while the VM that headroom depends on was not ACTIVE;
//! - no run panicked or ended as an internal error; every journal is whole typed
//!   lines, and every run not killed recorded its end;
//! - after the sequence, with the API faults spent, one more `restore --yes` ends
//!   green when the scenario allows it, or stops at the named layer when it does not;
//! - no password, secret or token in any output, journal or report.
//!
//! `CHAOS_RUNS` (default 12) runs seeds from `CHAOS_SEED` (default 1) on
//! `CHAOS_JOBS` threads (default 3). A violation names its seed and the one line
//! that replays it. `scripts/chaos` runs many.

#[allow(dead_code)]
#[path = "it/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capi_restore::journal::entry::{Entry, Line};
use harness::TestTwin;
use twin::Scenario;
use twin::cloud::Change;
use twin::scenario::{FaultKind, FaultSpec, OrphanKind, OrphanSpec, ServerSpec, ServerStatus};

/// A small deterministic generator: a seed draws the same run on every machine.
struct Draw(u64);

impl Draw {
    fn new(seed: u64) -> Draw {
        Draw(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// 0..n.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What a command is, as drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Restore,
    Sweep,
    Failover,
    Park,
    Status,
    /// Two restores at once.
    TwoRestores,
}

impl Verb {
    fn args(self) -> &'static [&'static str] {
        match self {
            Verb::Restore | Verb::TwoRestores => &["restore", "--yes"],
            Verb::Sweep => &["sweep", "--yes"],
            Verb::Failover => &["failover", "--yes"],
            Verb::Park => &["park", "--yes"],
            Verb::Status => &["status"],
        }
    }
}

/// How a command's run is cut short, at the twin's `request`th request from its
/// start (the answer to that request never reaches it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    Kill { request: usize },
    Interrupt { request: usize },
}

#[derive(Debug, Clone)]
struct Step {
    verb: Verb,
    cut: Option<Cut>,
}

/// Everything a seed decides.
#[derive(Debug, Clone)]
struct Plan {
    scenario: Scenario,
    steps: Vec<Step>,
    /// No amphora slot even after the sweep, with the load balancer in ERROR: the
    /// scenario itself keeps the Octavia branch from green.
    no_headroom: bool,
}

const HTTP_FAULTS: &[FaultKind] = &[
    FaultKind::ServiceUnavailable,
    FaultKind::InternalError,
    FaultKind::GatewayTimeout,
    FaultKind::GarbageJson,
    FaultKind::Hang,
    FaultKind::TokensExpire,
];

const SERVICES: &[&str] = &[
    "identity",
    "compute",
    "placement",
    "load-balancer",
    "container-infra",
    "host",
];

fn plan(seed: u64) -> Plan {
    let mut d = Draw::new(seed);
    let mut s = Scenario::default_scenario();
    s.seed = seed;
    s.time_scale = 600.0;
    s.token_ttl = Duration::from_secs(86400);
    let mut no_headroom = false;

    // The stack: parked (the runbook's night) or already running.
    if d.one_in(4) {
        s.servers[0].status = ServerStatus::Active;
    }
    // The load balancer: broken, or already fine.
    if d.one_in(4) {
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
    }
    // Orphans: both (the runbook's), one, or none.
    match d.below(3) {
        0 => {}
        1 => s.orphan_amphorae.retain(|o| o.kind == OrphanKind::Error),
        _ => s.orphan_amphorae.clear(),
    }
    // Headroom: as the runbook met it (a slot once the zombie goes), ample, or none
    // even after the sweep.
    let zombie_left = s
        .orphan_amphorae
        .iter()
        .any(|o| o.kind == OrphanKind::Zombie);
    match d.below(4) {
        0 => {
            for h in &mut s.hypervisors {
                h.other_usage.memory_mb += 64 * 1024;
            }
            if s.load_balancers[0].provisioning_status == twin::scenario::Provisioning::Error {
                no_headroom = true;
            }
        }
        1 => s.hypervisors[1].other_usage.memory_mb -= 4096,
        _ => {
            if !zombie_left {
                // The zombie's slot is what the runbook frees: without it, make one.
                s.hypervisors[1].other_usage.memory_mb -= 1024;
            }
        }
    }
    // Lookalikes: a tenant's server named like an amphora, and one in the service
    // project that is not built from the amphora image (on the disabled host, so it
    // takes no slot). Neither may be touched.
    if d.one_in(2) {
        s.servers.push(ServerSpec {
            id: None,
            name: "amphora-7d3c1b2a-9e8f-4a6b-8c5d-0e1f2a3b4c5d".into(),
            project: s.projects[2].name.clone(),
            status: ServerStatus::Error,
            host: Some(s.hypervisors[0].name.clone()),
            flavor: s.servers[0].flavor.clone(),
            fixed_ip: None,
            floating_ip: None,
            image: twin::cloud::UBUNTU_IMAGE.into(),
        });
    }
    if d.one_in(2) {
        s.servers.push(ServerSpec {
            id: None,
            name: "amphora-5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b".into(),
            project: "service".into(),
            status: ServerStatus::Active,
            host: Some(s.hypervisors[2].name.clone()),
            flavor: s.servers[0].flavor.clone(),
            fixed_ip: None,
            floating_ip: None,
            image: twin::cloud::UBUNTU_IMAGE.into(),
        });
    }
    // And one more orphan that is Octavia's: an ERROR spawn, never scheduled.
    if d.one_in(2) {
        s.orphan_amphorae.push(OrphanSpec {
            amphora_id: "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e".into(),
            kind: OrphanKind::Error,
            host: None,
            age: Duration::from_secs(3600),
        });
    }

    // World faults, now and then, at a drawn time in the first 40 minutes: sshd dies
    // (for good), Kubernetes breaks, the operator's Juju login expires.
    for (kind, one_in) in [
        (FaultKind::SshdDies, 10),
        (FaultKind::K8sBreaks, 10),
        (FaultKind::JujuLoginExpires, 4),
    ] {
        if d.one_in(one_in) {
            let mut f = FaultSpec::new("host", kind);
            f.from = Duration::from_secs(d.below(40 * 60));
            s.faults.push(f);
        }
    }

    // API faults: a few, anywhere, some certain and some by chance.
    for _ in 0..d.below(5) {
        let kind = *d.pick(HTTP_FAULTS);
        let service = *d.pick(SERVICES);
        let mut f = FaultSpec::new(service, kind);
        f.count = 1 + d.below(3) as u32;
        f.after_requests = d.below(60) as u32;
        if d.one_in(3) {
            f.probability = 0.25;
            f.count = 2;
        }
        f.hang_for = Duration::from_secs(3);
        s.faults.push(f);
    }
    // Octavia's own ways to fail a failover, and the list/delete race.
    if d.one_in(4) {
        let kind = *d.pick(&[FaultKind::NoValidHost, FaultKind::AmphoraBootTimeout]);
        let mut f = FaultSpec::new("load-balancer", kind);
        f.path_contains = Some("/failover".into());
        s.faults.push(f);
    }
    if d.one_in(3) {
        let mut f = FaultSpec::new("load-balancer", FaultKind::AmphoraRowAppears);
        f.path_contains = Some("/amphorae".into());
        s.faults.push(f);
    }

    // The commands: one to three, each perhaps cut short.
    let verbs = [
        Verb::Restore,
        Verb::Restore,
        Verb::Sweep,
        Verb::Failover,
        Verb::Park,
        Verb::Status,
        Verb::TwoRestores,
    ];
    let steps = (0..1 + d.below(3))
        .map(|_| {
            let verb = *d.pick(&verbs);
            // Anywhere in the run: a restore makes some 75 to 115 requests of the
            // twin (its ssh commands and kubectl's requests of the management
            // cluster included), a sweep or a failover some 10 to 35.
            let span = match verb {
                Verb::Restore | Verb::TwoRestores => 110,
                Verb::Sweep | Verb::Failover => 35,
                Verb::Park | Verb::Status => 25,
            };
            let request = 1 + d.below(span) as usize;
            let cut = match d.below(4) {
                0 | 1 => Some(Cut::Kill { request }),
                2 => Some(Cut::Interrupt { request }),
                _ => None,
            };
            Step { verb, cut }
        })
        .collect();
    Plan {
        scenario: s,
        steps,
        no_headroom,
    }
}

/// What a seed's run came to.
#[derive(Debug, Default)]
struct Tally {
    runs: u64,
    commands: u64,
    faults_struck: u64,
    kills: u64,
    interrupts: u64,
    checks: u64,
    violations: Vec<String>,
}

/// One run of the binary, perhaps cut short at a request.
struct Ran {
    output: std::process::Output,
    /// Twin requests served while it ran (a concurrent run's included).
    requests: usize,
    pid: u32,
    cut: Option<Cut>,
    cut_delivered: bool,
}

fn spawn(t: &TestTwin, args: &[&str]) -> std::process::Child {
    t.std_cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Waits until `pid` (our child) has died: the kernel shows it as a zombie.
fn wait_dead(pid: i32) {
    for _ in 0..400 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if matches!(state, Some("Z" | "X") | None) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `args` to its end, or cut short at its `cut` request.
fn run(t: &TestTwin, args: &[&str], cut: Option<Cut>) -> Ran {
    let target = Arc::new(AtomicI32::new(0));
    let delivered = Arc::new(AtomicI32::new(0));
    if let Some(cut) = cut {
        let (request, signal) = match cut {
            Cut::Kill { request } => (request, libc::SIGKILL),
            Cut::Interrupt { request } => (request, libc::SIGINT),
        };
        let at = t.twin.requests().len() + request - 1;
        let (target, delivered) = (target.clone(), delivered.clone());
        t.twin
            .shared()
            .on_request
            .set(Some(Box::new(move |index, _| {
                if index != at {
                    return;
                }
                let mut pid = target.load(Ordering::SeqCst);
                for _ in 0..200 {
                    if pid > 0 {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    pid = target.load(Ordering::SeqCst);
                }
                if pid > 0 {
                    // SAFETY: signalling our own child by pid.
                    unsafe { libc::kill(pid, signal) };
                    delivered.store(1, Ordering::SeqCst);
                    if signal == libc::SIGKILL {
                        wait_dead(pid);
                    }
                }
            })));
    }
    let before = t.twin.requests().len();
    let child = spawn(t, args);
    let pid = child.id();
    target.store(pid as i32, Ordering::SeqCst);
    let output = child.wait_with_output().expect("the run ends");
    t.twin.shared().on_request.set(None);
    Ran {
        output,
        requests: t.twin.requests().len() - before,
        pid,
        cut,
        cut_delivered: delivered.load(Ordering::SeqCst) == 1,
    }
}

/// The exit codes the README documents for a run that ended by itself.
fn documented(code: i32) -> bool {
    matches!(code, 0 | 2 | 3 | 4 | 10..=18 | 130 | 143)
}

fn replay(seed: u64) -> String {
    format!("scripts/chaos 1 {seed}")
}

/// Runs one seed and judges it.
fn chaos(seed: u64) -> Tally {
    let plan = plan(seed);
    let mut tally = Tally {
        runs: 1,
        ..Tally::default()
    };
    let t = TestTwin::start(plan.scenario.clone());
    // Hung requests end by the tool's own timeout, well before the twin's hang does.
    let site_path = t.files.site.clone();
    let mut site = capi_restore::site::Site::load(&site_path).expect("the twin's site file");
    site.http.timeout = Duration::from_secs(1);
    std::fs::write(&site_path, site.to_yaml()).unwrap();

    let mut violations = Vec::new();
    let mut ran: Vec<(String, Ran)> = Vec::new();
    // Which command made each change: (first change index, the command, a restore).
    let mut by_command: Vec<(usize, &'static str, bool)> = Vec::new();
    let changes_so_far = || t.twin.with_cloud(|c, _| c.changes.len());
    for step in &plan.steps {
        let args = step.verb.args();
        by_command.push((
            changes_so_far(),
            args[0],
            matches!(step.verb, Verb::Restore | Verb::TwoRestores),
        ));
        if step.verb == Verb::TwoRestores {
            let first = spawn(&t, args);
            std::thread::sleep(Duration::from_millis(150));
            let second = run(&t, args, step.cut);
            let first_pid = first.id();
            let first = Ran {
                output: first.wait_with_output().unwrap(),
                requests: 0,
                pid: first_pid,
                cut: None,
                cut_delivered: false,
            };
            ran.push((format!("{} (first of two)", args.join(" ")), first));
            ran.push((format!("{} (second of two)", args.join(" ")), second));
            tally.commands += 2;
        } else {
            ran.push((args.join(" "), run(&t, args, step.cut)));
            tally.commands += 1;
        }
    }
    // The cloud is fixed now: the API faults are spent; the host's are not.
    t.twin.with_cloud(|c, _| c.faults.clear());
    by_command.push((changes_so_far(), "restore (last)", true));
    let last = run(&t, &["restore", "--yes", "-f", "json"], None);
    tally.commands += 1;

    // The last restore: green when the scenario allows it, else the named stop. The
    // lowest blocked layer is where it stops (its exit code names the lowest red
    // layer); a failover that failed is never retried, so its load balancer stays red.
    let failed_failover = t.twin.with_cloud(|c, _| {
        c.load_balancers.iter().any(|lb| {
            c.failovers
                .iter()
                .rev()
                .find(|f| f.load_balancer_id == lb.id)
                .is_some_and(|f| f.outcome.as_deref() == Some("ERROR"))
        })
    });
    // The race (a row appears for an orphan) leaves a row in BOOTING whose server
    // can no longer be swept: its slot may be the one the failover needed.
    let struck = |kind| {
        t.twin
            .with_cloud(|c, _| c.faults.struck.iter().any(|f| f.kind == kind))
    };
    let raced = struck(FaultKind::AmphoraRowAppears);
    let octavia_stop: &[&str] = &["headroom", "load-balancers"];
    // A world fault that came before the faults were cleared stays: sshd dead, or
    // Kubernetes broken, stops the VM chain below the Octavia branch.
    let (green_allowed, stops): (bool, &[&str]) = if struck(FaultKind::SshdDies) {
        (false, &["ssh"])
    } else if struck(FaultKind::K8sBreaks) {
        (false, &["kubernetes"])
    } else if plan.no_headroom || failed_failover {
        (false, octavia_stop)
    } else if raced {
        (true, octavia_stop)
    } else {
        (true, &[])
    };
    tally.checks += 1;
    let code = last.output.status.code();
    let report: serde_json::Value = serde_json::from_slice(&last.output.stdout).unwrap_or_default();
    let lowest = lowest_red(&report);
    let green = code == Some(0);
    let named_stop = code.is_some_and(|c| (10..=18).contains(&c))
        && lowest.as_deref().is_some_and(|l| stops.contains(&l));
    if !(green && green_allowed || named_stop) {
        violations.push(format!(
            "the last restore ended {code:?} with lowest red {lowest:?}; the scenario allows {}{stops:?}:\n{}",
            if green_allowed { "green or a stop at " } else { "only a stop at " },
            tail(&last.output.stderr)
        ));
    }
    ran.push(("restore --yes -f json (last)".into(), last));

    // Every run that ended by itself: a documented exit code, no panic. Ctrl-C
    // before a run has begun (its journal not yet opened: logging in, or a command
    // that only reads) ends it at once, by the signal, as a shell expects.
    let runs = t.home.path().join(".local/state/juju-capi-restore/runs");
    let journal_pids: BTreeSet<u32> = std::fs::read_dir(&runs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|f| journal_pid(&f.path()))
        .collect();
    let mut killed = BTreeSet::new();
    for (what, r) in &ran {
        match (r.cut, r.cut_delivered) {
            (Some(Cut::Kill { .. }), true) => {
                tally.kills += 1;
                killed.insert(r.pid);
                continue;
            }
            (Some(Cut::Interrupt { .. }), true) => {
                tally.interrupts += 1;
                use std::os::unix::process::ExitStatusExt;
                if r.output.status.signal() == Some(libc::SIGINT) {
                    tally.checks += 1;
                    if journal_pids.contains(&r.pid) {
                        violations.push(format!(
                            "`{what}` died of Ctrl-C after its run began, without recording its end"
                        ));
                    }
                    continue;
                }
            }
            _ => {}
        }
        tally.checks += 2;
        let stderr = String::from_utf8_lossy(&r.output.stderr);
        if stderr.contains("panicked at") {
            violations.push(format!("`{what}` panicked:\n{}", tail(&r.output.stderr)));
        }
        match r.output.status.code() {
            Some(code) if documented(code) => {}
            other => violations.push(format!(
                "`{what}` ended with {other:?}, not a documented exit code:\n{}",
                tail(&r.output.stderr)
            )),
        }
    }

    // The twin's record: every change judged by what the cloud knew then.
    let (changes, struck, management, secrets) = t.twin.with_cloud(|c, _| {
        let mut secrets: Vec<String> = c.users.iter().map(|u| u.password.clone()).collect();
        secrets.extend(c.app_credentials.iter().map(|a| a.secret.clone()));
        secrets.extend(c.tokens.keys().cloned());
        (
            c.changes.clone(),
            c.faults.struck.len(),
            c.management_server_id.clone(),
            secrets,
        )
    });
    tally.faults_struck = struck as u64;
    for (index, record) in changes.iter().enumerate() {
        tally.checks += 1;
        let (by, restoring) = by_command
            .iter()
            .rev()
            .find(|(from, _, _)| *from <= index)
            .map_or(("?", false), |(_, command, restore)| (*command, *restore));
        let before = violations.len();
        match &record.change {
            Change::ServerDelete {
                server_id,
                name,
                amphora_row,
                octavias,
                ..
            } => {
                if amphora_row.is_some() || !octavias {
                    violations.push(format!(
                        "deleted server {server_id} (`{name}`): amphora row {amphora_row:?}, Octavia's: {octavias}"
                    ));
                }
            }
            Change::ServerStart { server_id } | Change::ServerStop { server_id } => {
                if *server_id != management {
                    violations.push(format!(
                        "started or stopped server {server_id}, not the management VM"
                    ));
                }
            }
            Change::Failover {
                load_balancer_id,
                others_in_flight,
                previous_outcome,
                free_slot,
                management_vm,
            } => {
                if !others_in_flight.is_empty() {
                    violations.push(format!(
                        "failed over {load_balancer_id} while {others_in_flight:?} were failing over"
                    ));
                }
                if previous_outcome.as_deref() == Some("ERROR") {
                    violations.push(format!(
                        "failed over {load_balancer_id} again after its failover failed"
                    ));
                }
                if free_slot.is_none() {
                    violations.push(format!(
                        "failed over {load_balancer_id} with no free amphora slot"
                    ));
                }
                // In a restore the Octavia branch measures headroom after the VM
                // started (DESIGN §4.0); `failover` alone is the operator's own step.
                if restoring && management_vm != "ACTIVE" {
                    violations.push(format!(
                        "failed over {load_balancer_id} while the management VM was {management_vm}: headroom depends on it"
                    ));
                }
            }
        }
        // Which run did it, and what the cloud saw changed before.
        for v in &mut violations[before..] {
            let history: Vec<String> = changes[..=index]
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r.at,
                        serde_json::to_string(&r.change).unwrap_or_default()
                    )
                })
                .collect();
            v.push_str(&format!(
                " (by `{by}`; changes so far:\n    {})",
                history.join("\n    ")
            ));
        }
    }

    // Journals: whole typed lines; an end for every run not killed.
    let mut journals = 0;
    for file in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
        journals += 1;
        tally.checks += 1;
        let path = file.path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut ended = false;
        for line in text.lines() {
            match serde_json::from_str::<Line>(line) {
                Ok(l) => ended |= matches!(l.entry, Entry::End(_)),
                Err(e) => violations.push(format!(
                    "journal {} has a line that is not a journal entry ({e}): {line:?}",
                    path.display()
                )),
            }
        }
        let pid = journal_pid(&path);
        if !ended && !pid.is_some_and(|p| killed.contains(&p)) {
            violations.push(format!(
                "journal {} has no end, and its run (pid {pid:?}) was not killed",
                path.display()
            ));
        }
    }
    if journals == 0 {
        violations.push("no journal at all".into());
    }

    // Secrets: in no output, journal or report.
    let mut texts: Vec<(String, String)> = ran
        .iter()
        .map(|(what, r)| {
            (
                format!("`{what}` output"),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&r.output.stdout),
                    String::from_utf8_lossy(&r.output.stderr)
                ),
            )
        })
        .collect();
    collect_files(
        &t.home.path().join(".local/state/juju-capi-restore"),
        &mut texts,
    );
    for (where_, text) in &texts {
        tally.checks += 1;
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            if text.contains(secret.as_str()) {
                violations.push(format!("a secret appears in {where_}"));
            }
        }
    }

    if std::env::var("CHAOS_VERBOSE").as_deref() == Ok("2") {
        for (what, r) in &ran {
            eprintln!(
                "--- seed {seed}: `{what}` ended {:?}\n{}",
                r.output.status,
                String::from_utf8_lossy(&r.output.stderr)
            );
        }
    }
    if std::env::var_os("CHAOS_VERBOSE").is_some() {
        eprintln!(
            "seed {seed}: {:?} ({:?} requests) → last {:?}; {} faults struck, {} changes, {} violations",
            plan.steps,
            ran.iter().map(|(_, r)| r.requests).collect::<Vec<_>>(),
            ran.last().map(|(_, r)| r.output.status.code()),
            tally.faults_struck,
            changes.len(),
            violations.len()
        );
    }
    tally.violations = violations
        .into_iter()
        .map(|v| {
            format!(
                "seed {seed}: {v}\n  plan: {:?}\n  replay: {}",
                plan.steps,
                replay(seed)
            )
        })
        .collect();
    tally
}

/// The lowest red layer a report names.
fn lowest_red(report: &serde_json::Value) -> Option<String> {
    report["lowest_red"]
        .as_str()
        .or_else(|| report["lowest_red_layer"].as_str())
        .map(str::to_string)
        .or_else(|| {
            report["layers"].as_array()?.iter().find_map(|l| {
                (l["state"] == "red").then(|| l["layer"].as_str().unwrap_or_default().to_string())
            })
        })
}

/// The pid in a journal's name (`<time>-<command>-<pid>.jsonl`).
fn journal_pid(path: &Path) -> Option<u32> {
    path.file_stem()?.to_str()?.rsplit('-').next()?.parse().ok()
}

fn collect_files(dir: &Path, into: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, into);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            into.push((path.display().to_string(), text));
        }
    }
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn seeded_chaos_runs_break_no_safety_rule() {
    let runs = env_u64("CHAOS_RUNS", 12);
    let first = env_u64("CHAOS_SEED", 1);
    let jobs = env_u64("CHAOS_JOBS", 3).max(1);
    let next = AtomicU64::new(first);
    let total = Mutex::new(Tally::default());
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::SeqCst);
                    if seed >= first + runs {
                        return;
                    }
                    let tally = chaos(seed);
                    let mut total = total.lock().unwrap();
                    total.runs += tally.runs;
                    total.commands += tally.commands;
                    total.faults_struck += tally.faults_struck;
                    total.kills += tally.kills;
                    total.interrupts += tally.interrupts;
                    total.checks += tally.checks;
                    total.violations.extend(tally.violations);
                }
            });
        }
    });
    let total = total.into_inner().unwrap();
    let summary = format!(
        "chaos: seeds {first}..{}: {} runs, {} commands, {} faults injected, {} kill -9, {} interrupts, {} invariant checks, {} violations, {:.0} s",
        first + runs - 1,
        total.runs,
        total.commands,
        total.faults_struck,
        total.kills,
        total.interrupts,
        total.checks,
        total.violations.len(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("{summary}");
    if let Some(dir) = std::env::var_os("CHAOS_REPORT") {
        let _ = std::fs::write(
            dir,
            format!("{summary}\n{}\n", total.violations.join("\n\n")),
        );
    }
    assert!(
        total.violations.is_empty(),
        "{summary}\n\n{}",
        total.violations.join("\n\n")
    );
}
