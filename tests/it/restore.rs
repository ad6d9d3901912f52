//! `restore` and `plan` end to end against the twin.

use std::time::Duration;

use twin::scenario::ServerStatus;

use crate::harness::{TestTwin, json, layer, stderr};

/// Parked VM, healthy Octavia: everything `restore` can fix by itself. 600x time.
fn parked_with_a_healthy_lb() -> TestTwin {
    TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = Duration::from_secs(86400 * 30);
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.orphan_amphorae.clear();
    })
}

pub(crate) fn journal(t: &TestTwin) -> Vec<serde_json::Value> {
    let runs = t.home.path().join(".local/state/juju-capi-restore/runs");
    let mut files: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let text = std::fs::read_to_string(files.last().unwrap()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub(crate) fn actions(entries: &[serde_json::Value]) -> Vec<String> {
    entries
        .iter()
        // Each action is journaled twice: "requested" before it is sent, then the
        // request with its result. Count the completed ones.
        .filter(|e| e["event"] == "action")
        .filter_map(|e| e["detail"]["request"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_parked_stack_is_restored_to_green_and_journaled() {
    let t = parked_with_a_healthy_lb();
    let output = t.cmd().args(["restore", "-f", "json"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let report = json(&output);
    for row in report["layers"].as_array().unwrap() {
        assert_eq!(row["state"], "green", "{row}");
    }
    assert!(
        err.contains("SSH-PORT-OK") && err.contains("cluster status: ready"),
        "{err}"
    );
    let entries = journal(&t);
    assert_eq!(actions(&entries), ["os-start", "k8s config --server"]);
    assert_eq!(
        entries.last().unwrap()["detail"]["lowest_red"],
        serde_json::Value::Null
    );
    let text = entries.iter().map(|e| e.to_string()).collect::<String>();
    assert!(
        !text.contains("twin-admin-password") && !text.contains("twin-kube-admin-token"),
        "no secret in the journal"
    );
}

#[test]
fn restoring_a_healthy_stack_changes_nothing_and_says_so() {
    let t = TestTwin::with(|s| {
        s.servers[0].status = ServerStatus::Active;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.orphan_amphorae.clear();
    });
    assert!(t.cmd().arg("kubeconfig").output().unwrap().status.success());
    let output = t.cmd().arg("restore").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("`capi-mgmt-v2` is ACTIVE"));
    assert!(actions(&journal(&t)).is_empty(), "nothing was changed");
}

#[test]
fn plan_and_dry_run_say_what_would_happen_and_touch_nothing() {
    let t = TestTwin::default_scenario();
    for args in [vec!["plan"], vec!["restore", "--dry-run"]] {
        let output = t.cmd().args(&args).output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains("vm")
                && text.contains("start-server")
                && text.contains("start `capi-mgmt-v2`"),
            "{text}"
        );
        assert!(text.contains("never restart anything"), "{text}");
    }
    let plan = json(&t.cmd().args(["plan", "-f", "json"]).output().unwrap());
    assert_eq!(plan[0]["action"], "start-server");
    let state = t.steer(|c, _| c.server(&c.management_server_id).unwrap().vm_state);
    assert_eq!(state, twin::cloud::VmState::Stopped, "plan started nothing");
}

#[test]
fn until_stops_once_that_layer_is_green() {
    let t = parked_with_a_healthy_lb();
    let output = t
        .cmd()
        .args(["restore", "--until", "vm", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(layer(&json(&output), "vm")["state"], "green");
    assert!(
        !stderr(&output).contains("SSH-PORT-OK"),
        "it went no further"
    );
}

#[test]
fn a_second_run_is_refused_while_one_holds_the_lock() {
    let t = TestTwin::default_scenario();
    let state = t.home.path().join(".local/state/juju-capi-restore");
    let _held = capi_restore::lock::RunLock::acquire(&state, "restore").unwrap();
    let output = t.cmd().arg("restore").output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let err = stderr(&output);
    assert!(
        err.contains("another run holds") && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
}

/// Starts `restore` in the background, lets it get into the Kubernetes wait (at
/// 300x the VM is ACTIVE at once and sshd up in 0.8 s; k8s takes 3.4 s more), then
/// signals it with `signal` (a `kill` argument).
fn interrupted_restore(t: &TestTwin, signal: &str) -> std::process::Output {
    let mut restore = t.std_cmd();
    restore.arg("restore");
    crate::harness::signalled_after_a_while(restore, signal)
}

fn slow_parked() -> TestTwin {
    TestTwin::with(|s| {
        s.time_scale = 300.0;
        s.token_ttl = Duration::from_secs(86400 * 30);
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.orphan_amphorae.clear();
    })
}

#[test]
fn ctrl_c_stops_cleanly_and_the_next_run_continues() {
    let t = slow_parked();
    let output = interrupted_restore(&t, "-INT");
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("interrupted: finishing the current step")
            && err.contains("run `juju-capi-restore restore` again"),
        "{err}"
    );
    // An interrupted wait never reads as if its condition held.
    assert!(!err.contains("ready: stopped by signal"), "{err}");
    assert!(
        journal(&t)
            .iter()
            .any(|e| e["detail"]["interrupted_by_signal"] == 2)
    );
    let again = t.cmd().arg("restore").output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("`capi-mgmt-v2` is ACTIVE"),
        "continued from the observed state"
    );
}

#[test]
fn after_kill_9_the_lock_is_free_and_a_new_run_ends_healthy() {
    let t = slow_parked();
    let output = interrupted_restore(&t, "-KILL");
    assert_eq!(output.status.code(), None, "killed");
    let again = t.cmd().arg("restore").output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
}

#[test]
fn the_journal_lists_runs_and_renders_one_for_the_runbooks() {
    let t = parked_with_a_healthy_lb();
    assert_eq!(
        t.cmd().arg("restore").output().unwrap().status.code(),
        Some(0)
    );
    let list = t.cmd().arg("journal").output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("-restore-") && text.contains("ended green"),
        "{text}"
    );
    let md = t
        .cmd()
        .args(["journal", "latest", "--markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.starts_with("### As-executed: restore of `capi-mgmt-v2`"),
        "{md}"
    );
    assert!(
        md.contains("ACTION os-start 5d0c3e8a-7b1f-4c2a-9e6d-2f8b4a1c7e90: accepted")
            && md.contains("| kubernetes |")
            && md.contains("ready ~20-21 min from boot"),
        "{md}"
    );
    let missing = t.cmd().args(["journal", "nope"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn the_plan_reads_as_it_did() {
    let t = TestTwin::default_scenario();
    let text = String::from_utf8(t.cmd().arg("plan").output().unwrap().stdout).unwrap();
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"), (r"/tmp/\.tmp\w+", "[HOME]")]}, {
        insta::assert_snapshot!(text);
    });
}

#[test]
fn a_restore_that_finds_kubernetes_converging_waits_it_out() {
    let t = parked_with_a_healthy_lb();
    t.steer(|c, now| {
        let id = c.management_server_id.clone();
        c.start_server(&id, now).unwrap();
    });
    // 600x: a second later the VM has been up ~10 minutes, mid-storm.
    std::thread::sleep(Duration::from_secs(1));
    let output = t.cmd().arg("restore").output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("`capi-mgmt-v2` is ACTIVE"),
        "nothing to start: {err}"
    );
    assert_eq!(
        actions(&journal(&t)),
        ["k8s config --server"],
        "only the kubeconfig was written"
    );
}

#[test]
fn strict_order_walks_the_runbooks_sequence() {
    let t = parked_with_a_healthy_lb();
    let output = t
        .cmd()
        .args(["restore", "--strict-order"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let entries = journal(&t);
    let position = |layer: &str| {
        entries
            .iter()
            .position(|e| e["layer"] == layer && e["event"] == "decision")
            .unwrap()
    };
    assert!(
        position("capi-controllers") < position("load-balancers"),
        "the Octavia branch came after the VM chain"
    );
}

/// Kill points over the first half of a restore at 300x (logins, the start, the sshd
/// wait, the cold start; the rest is the same wait): random, from a seed
/// that a failure prints, and `CAPI_RESTORE_KILL_SEED` replays.
fn kill_points() -> (u64, Vec<u64>) {
    let seed = std::env::var("CAPI_RESTORE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
                | 1
        });
    // xorshift64: enough spread for three points, no dependency.
    let mut x = seed;
    let points = (0..3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 2500
        })
        .collect();
    (seed, points)
}

#[test]
fn a_restore_killed_at_any_point_is_finished_by_the_next() {
    let (seed, points) = kill_points();
    for delay_ms in points {
        let replay = format!("killed after {delay_ms} ms (CAPI_RESTORE_KILL_SEED={seed})");
        let t = slow_parked();
        let mut child = t
            .std_cmd()
            .arg("restore")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        let again = t.cmd().arg("restore").output().unwrap();
        assert_eq!(again.status.code(), Some(0), "{replay}: {}", stderr(&again));
        // Every journal, the killed run's included, is whole lines of JSON.
        let runs = t.home.path().join(".local/state/juju-capi-restore/runs");
        for file in std::fs::read_dir(&runs).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            for line in text.lines() {
                assert!(
                    serde_json::from_str::<serde_json::Value>(line).is_ok(),
                    "{replay}: torn journal line {line:?}"
                );
            }
        }
    }
}

#[test]
fn on_a_terminal_waits_are_live_lines_with_the_load_sparkline() {
    let t = parked_with_a_healthy_lb();
    // A pseudo-terminal, as an operator's shell gives the run.
    let line = format!("{} restore -f json > /dev/null", crate::harness::BIN);
    let (screen, ok) = t.on_a_pty(&line, b"");
    assert!(ok, "{screen}");
    let live = screen
        .split(['\r', '\n'])
        .filter(|l| l.contains("kubernetes") && l.contains("waiting"))
        .count();
    assert!(live > 0, "no live line for the Kubernetes wait:\n{screen}");
    assert!(
        screen.contains(" load ") && screen.chars().any(|c| ('▁'..='█').contains(&c)),
        "no load sparkline:\n{screen}"
    );
}

#[test]
fn a_load_balancer_octavia_is_working_on_is_waited_out_before_deciding() {
    let t = TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = Duration::from_secs(86400 * 30);
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.orphan_amphorae.clear();
        // A slow failover (2 s real at 600x), still running when the branch looks.
        s.timings.failover = Duration::from_secs(20 * 60);
    });
    // A failover someone else started: PENDING_UPDATE for the failover's duration.
    t.steer(|c, now| {
        let id = c.load_balancers[0].id.clone();
        c.failover_load_balancer(&id, now).unwrap();
    });
    let output = t.cmd().args(["restore", "-f", "json"]).output().unwrap();
    let err = stderr(&output);
    assert!(err.contains("waiting for Octavia to finish"), "{err}");
    // Decided on what Octavia left, not on the moving state.
    let report = json(&output);
    let lbs = layer(&report, "load-balancers");
    assert_ne!(lbs["state"], "yellow", "{lbs}");
    assert!(
        journal(&t)
            .iter()
            .any(|e| e["layer"] == "load-balancers" && e["detail"]["done"] == true),
        "the wait is in the journal"
    );
}

#[test]
fn unattended_output_is_a_summary_fit_for_cron_mail() {
    let t = parked_with_a_healthy_lb();
    // No terminal, no -f, no -v: what cron mails.
    let output = t.cmd().arg("restore").output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "short: {out}");
    assert!(
        lines[0].starts_with("changed: started `capi-mgmt-v2`")
            && lines[0].contains("re-emitted the kubeconfig"),
        "{out}"
    );
    assert!(lines[1].starts_with("layers: vm green, ssh green"), "{out}");
    assert_eq!(lines[2], "restore: ended green (exit code 0)");
    // The journal's path comes last of all.
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("journal: "),
        "{err}"
    );
    // -v brings the whole report back.
    let output = t.cmd().args(["restore", "-v"]).output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("LAYER") && out.contains("STATE"), "{out}");
    assert!(!out.contains("changed: nothing"));
}

#[test]
fn on_the_twin_every_time_people_read_is_on_its_clock_and_says_so() {
    // sshd never opens, at 600x: the 6-minute gate ends on the twin's clock (in
    // seconds of real time), and says which clock it counted on.
    let t = TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = Duration::from_secs(86400 * 30);
        s.management.sshd_never_opens = true;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.orphan_amphorae.clear();
    });
    let output = t.cmd().args(["restore", "-v"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(11), "ssh: {err}");
    assert!(
        err.contains("not reached within 6m") && err.contains("on the twin's clock, 600x"),
        "{err}"
    );
    // The journal states its times on that clock: the VM's ~20 s start reads as
    // simulated seconds, and the heading says so.
    let listing = t.cmd().args(["journal", "latest"]).output().unwrap();
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(text.contains("times: simulated time, 600x"), "{text}");
    assert!(
        text.contains("gates (waited vs the runbook; simulated time, 600x)"),
        "{text}"
    );
    let vm_gate = text
        .lines()
        .find(|l| l.trim_start().starts_with("vm ") && l.contains("ACTIVE ~20 s"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(vm_gate.contains('s'), "{vm_gate}");
    let entries = journal(&t);
    let vm_wait = entries
        .iter()
        .find(|e| e["event"] == "wait" && e["layer"] == "vm" && e["detail"]["done"] == true)
        .unwrap();
    assert!(
        vm_wait["detail"]["waited_s"].as_u64().unwrap() >= 10,
        "the start took ~20 simulated seconds, not the 0.03 real ones: {vm_wait}"
    );
}

#[test]
fn a_stale_kubeconfig_is_re_emitted_once_not_polled_to_the_deadline() {
    let t = TestTwin::with(|s| {
        s.servers[0].status = ServerStatus::Active;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.orphan_amphorae.clear();
    });
    assert_eq!(
        t.cmd().arg("kubeconfig").output().unwrap().status.code(),
        Some(0)
    );
    let path = t.home.path().join("twin/capi-mgmt.kubeconfig");
    let good = std::fs::read_to_string(&path).unwrap();
    // Left from before a rebuild: the server moved.
    let server = good
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    std::fs::write(&path, good.replace(&server, "https://127.0.0.1:1")).unwrap();
    // `status` says what to do.
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    let controllers = layer(&json(&output), "capi-controllers").to_string();
    assert!(
        controllers.contains("juju-capi-restore kubeconfig"),
        "{controllers}"
    );
    // `restore` re-emits it once, says so, and ends green.
    let output = t.cmd().args(["restore", "-v"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("does not fit the cluster that is up")
            && err.contains("re-emitting it over ssh"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
}

/// Found by the chaos runs (`scripts/chaos 1 7095`): the VM's start timed out, so
/// the VM stayed SHUTOFF and its layer red, and the Octavia branch still swept,
/// measured headroom and failed over. Headroom depends on the VM (DESIGN §4.0):
/// with the VM red, nothing in Octavia is touched, and the next run continues.
#[test]
fn a_vm_that_does_not_start_leaves_octavia_untouched() {
    let t = TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = Duration::from_secs(86400 * 30);
        // Room for the failover, and an orphan the sweep would delete.
        s.hypervisors[1].other_usage.memory_mb -= 4096;
        s.faults.push(twin::scenario::FaultSpec {
            count: 100,
            path_contains: Some("/action".into()),
            ..twin::scenario::FaultSpec::new("compute", twin::scenario::FaultKind::InternalError)
        });
    });
    let output = t.cmd().args(["restore", "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(10),
        "the VM is the lowest red layer: {err}"
    );
    assert!(
        err.contains("nothing in Octavia changed: the VM below it is red"),
        "{err}"
    );
    let changes = t.steer(|c, _| c.changes.clone());
    assert!(changes.is_empty(), "nothing changed: {changes:?}");
    assert_eq!(
        t.steer(|c, _| c.load_balancers[0].provisioning_status),
        twin::scenario::Provisioning::Error
    );
    // Once the VM starts, the next run does the Octavia repair too.
    t.steer(|c, _| c.faults.clear());
    let again = t.cmd().args(["restore", "--yes"]).output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
}
