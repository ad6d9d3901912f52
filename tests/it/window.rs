//! Maintenance windows: scheduled runs with nobody watching, sharing one site-wide
//! state (lock, journals, never-retry memory) with the operator's shell.

use std::path::PathBuf;
use std::time::Duration;

use twin::scenario::{FaultKind, FaultSpec};

use crate::harness::{TestTwin, stderr};

/// The site-wide state root of a test, made as `window --install` makes it (2770).
fn site_wide_root(t: &TestTwin) -> PathBuf {
    let root = t.home.path().join("var-lib-juju-capi-restore");
    std::fs::create_dir_all(&root).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o2770)).unwrap();
    root
}

/// A scheduled run: another HOME (cron's, root's), no terminal, no stdin.
fn scheduled(t: &TestTwin, home: &std::path::Path) -> std::process::Command {
    let mut cmd = t.std_cmd();
    cmd.env("HOME", home)
        .env("LOGNAME", "root")
        .env("USER", "root")
        .stdin(std::process::Stdio::null());
    cmd
}

#[test]
fn the_shell_and_a_scheduled_run_share_the_site_wide_lock_and_never_retry_memory() {
    // NoValidHost on the failover, with a slot free: it fails fast.
    let t = TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = Duration::from_secs(86400 * 30);
        s.orphan_amphorae
            .retain(|o| o.amphora_id == "e4f5a6b7-8c9d-4e0f-a1b2-c3d4e5f6a7b8");
        s.hypervisors[1].other_usage.memory_mb -= 1024;
        s.faults.push(FaultSpec {
            count: 1,
            path_contains: Some("/failover".into()),
            ..FaultSpec::new("load-balancer", FaultKind::NoValidHost)
        });
    });
    let root = site_wide_root(&t);
    let cron_home = tempfile::tempdir().unwrap();

    // The operator's shell: the failover fails fast.
    let output = t.cmd().args(["failover", "--yes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(16), "{}", stderr(&output));
    let site_state = root.join("674171fd28d446d3a37073b6a761e910");
    assert!(site_state.join("runs").is_dir(), "journaled site-wide");
    assert!(
        !t.home
            .path()
            .join(".local/state/juju-capi-restore")
            .exists(),
        "not in the shell's own state"
    );

    // The scheduled run, another HOME: remembers the shell's failed failover.
    let output = scheduled(&t, cron_home.path())
        .args(["restore", "--yes"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert!(err.contains("never retried automatically"), "{err}");
    let puts = t
        .twin
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/failover"))
        .count();
    assert_eq!(puts, 1, "one attempt in all");

    // Both journals are where either entry point lists them.
    let list = scheduled(&t, cron_home.path())
        .arg("journal")
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("-failover-") && list.contains("-restore-"),
        "{list}"
    );
    // Group-shared: root's cron job and the operator read each other's journals.
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(site_state.join("runs")).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
    }
}

#[test]
fn a_scheduled_run_refuses_while_the_shell_holds_the_lock_and_says_who() {
    let t = TestTwin::with(|s| {
        // Slow enough that the shell's restore is still waiting for the VM.
        s.time_scale = 5.0;
    });
    site_wide_root(&t);
    let mut shell = t.std_cmd();
    shell
        .env("USER", "operator")
        .args(["restore", "--yes"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut shell = shell.spawn().unwrap();
    let lock = t
        .home
        .path()
        .join("var-lib-juju-capi-restore/674171fd28d446d3a37073b6a761e910/lock");
    for _ in 0..100 {
        if std::fs::read_to_string(&lock).is_ok_and(|l| l.contains("running")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let cron_home = tempfile::tempdir().unwrap();
    let output = scheduled(&t, cron_home.path())
        .args(["park", "--yes"])
        .output()
        .unwrap();
    let _ = shell.kill();
    let _ = shell.wait();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(
        err.contains("another run holds")
            && err.contains("user `operator`")
            && err.contains("running `restore`"),
        "{err}"
    );
}

/// A window definition for the twin `t`, parking at `park` and restoring at
/// `restore` (UTC), its runs' metrics into `prom`.
fn window_file(
    t: &TestTwin,
    dir: &std::path::Path,
    park: jiff::Timestamp,
    restore: jiff::Timestamp,
) -> PathBuf {
    let when = |at: jiff::Timestamp| at.strftime("%a %H:%M").to_string();
    let text = format!(
        "name: tonight\npark: {}\nrestore: {}\ntime_zone: UTC\nsite: {}\ncloud: twin\nscheduler: systemd\nprometheus_dir: {}\nbinary: {}\nenvironment:\n  OS_CLIENT_CONFIG_FILE: {}\n  OS_CLIENT_SECURE_FILE: {}\n  JUJU_CAPI_RESTORE_STATE_ROOT: {}\n",
        when(park),
        when(restore),
        t.files.site.display(),
        dir.join("prom").display(),
        crate::harness::BIN,
        t.files.clouds.display(),
        t.files.secure.display(),
        t.home.path().join("var-lib-juju-capi-restore").display(),
    );
    std::fs::create_dir_all(dir.join("prom")).unwrap();
    let path = dir.join("tonight.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes a window for `t` into `dir` and installs it under `dir/root`: the
/// definition and the directory of its units.
fn installed(
    t: &TestTwin,
    dir: &std::path::Path,
    park: jiff::Timestamp,
    restore: jiff::Timestamp,
) -> (PathBuf, PathBuf) {
    let file = window_file(t, dir, park, restore);
    window(t, "install", &file, &dir.join("root"));
    (file, dir.join("root/etc/systemd/system"))
}

/// `window VERB FILE --root STAGING`, which must succeed.
fn window(t: &TestTwin, verb: &str, file: &std::path::Path, staging: &std::path::Path) {
    let output = t
        .cmd()
        .args(["window", verb])
        .arg(file)
        .arg("--root")
        .arg(staging)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// A stack that is up: the VM running, its load balancer ACTIVE.
fn up(time_scale: f64) -> TestTwin {
    TestTwin::with(move |s| {
        s.time_scale = time_scale;
        s.token_ttl = Duration::from_secs(86400 * 30);
        s.servers[0].status = twin::scenario::ServerStatus::Active;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
    })
}

/// The rendered unit's command and environment, run as systemd would: no terminal,
/// stdin /dev/null, another HOME, only the unit's environment.
fn run_unit(unit: &std::path::Path, home: &std::path::Path) -> std::process::Output {
    let text = std::fs::read_to_string(unit).unwrap();
    let mut cmd = None;
    let mut env = Vec::new();
    for line in text.lines() {
        if let Some(exec) = line.strip_prefix("ExecStart=") {
            let words: Vec<&str> = exec.split_whitespace().collect();
            let mut c = std::process::Command::new(words[0]);
            c.args(&words[1..]);
            cmd = Some(c);
        }
        if let Some(kv) = line.strip_prefix("Environment=") {
            let (k, v) = kv.split_once('=').unwrap();
            env.push((k.to_string(), v.to_string()));
        }
    }
    let mut cmd = cmd.expect("an ExecStart");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LOGNAME", "root")
        .envs(env)
        .stdin(std::process::Stdio::null());
    cmd.output().unwrap()
}

/// The metrics as the `prometheus_client` package's parser reads them:
/// `(name, labels, value)`; None without the test venv (plain `cargo test`).
fn parsed_metrics(prom: &std::path::Path) -> Option<Vec<(String, serde_json::Value, f64)>> {
    let python = match std::env::var("CAPI_RESTORE_OPENSTACK_CLI") {
        Ok(cli) => std::path::Path::new(&cli).with_file_name("python"),
        Err(_) if std::env::var_os("CAPI_RESTORE_REQUIRE_REAL").is_some() => {
            panic!("CAPI_RESTORE_REQUIRE_REAL is set but the test venv is not: run `scripts/test`")
        }
        Err(_) => return None,
    };
    let script = "import json,sys\nfrom prometheus_client.parser import text_string_to_metric_families as parse\nout=[]\nfor f in parse(open(sys.argv[1]).read()):\n    for s in f.samples:\n        out.append([s.name, s.labels, s.value])\nprint(json.dumps(out))\n";
    let output = std::process::Command::new(python)
        .args(["-c", script])
        .arg(prom)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let samples: Vec<(String, serde_json::Value, f64)> =
        serde_json::from_slice(&output.stdout).unwrap();
    Some(samples)
}

#[test]
fn a_whole_window_plays_unattended_through_its_rendered_units() {
    let t = up(600.0);
    site_wide_root(&t);
    // Set up by the operator once: the kubeconfig the park's pre-check reads.
    let output = t.cmd().arg("kubeconfig").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let (file, units) = installed(
        &t,
        dir.path(),
        now,
        now + jiff::SignedDuration::from_hours(4),
    );
    let staging = dir.path().join("root");
    let cron_home = tempfile::tempdir().unwrap();

    // The window's start: parked.
    let park = run_unit(
        &units.join("juju-capi-restore-tonight-park.service"),
        cron_home.path(),
    );
    assert_eq!(park.status.code(), Some(0), "{}", stderr(&park));
    assert_eq!(vm_state(&t), twin::cloud::VmState::Stopped);
    // Cron mail: a short summary, the journal's path last.
    let mail = String::from_utf8_lossy(&park.stdout).to_string() + &stderr(&park);
    let last = mail.trim_end().lines().last().unwrap();
    assert!(
        last.contains("journal: ") && last.ends_with(".jsonl"),
        "{mail}"
    );
    assert!(mail.lines().count() <= 6, "a short summary: {mail}");

    let park_prom =
        std::fs::read_to_string(dir.path().join("prom/juju_capi_restore_park.prom")).unwrap();
    assert!(
        park_prom.contains("juju_capi_restore_last_run_green{command=\"park\",project=\"674171fd28d446d3a37073b6a761e910\",window=\"tonight\"} 1"),
        "{park_prom}"
    );

    // Its end: restored, green.
    let restore = run_unit(
        &units.join("juju-capi-restore-tonight-restore.service"),
        cron_home.path(),
    );
    assert_eq!(restore.status.code(), Some(0), "{}", stderr(&restore));
    let journal = last_journal(&t);
    let start = &journal[0]["detail"];
    assert_eq!(start["command"], "restore");
    assert_eq!(start["window"], "tonight");
    let end = journal.last().unwrap();
    assert_eq!(end["detail"]["exit_code"], 0);

    // The metrics say what the journal says.
    let prom = dir.path().join("prom/juju_capi_restore_restore.prom");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains("juju_capi_restore_last_run_green{command=\"restore\""),
        "{text}"
    );
    if let Some(samples) = parsed_metrics(&prom) {
        let value = |name: &str| {
            samples
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, v)| *v)
                .unwrap_or_else(|| panic!("no {name} in {text}"))
        };
        assert_eq!(value("juju_capi_restore_last_run_exit_code"), 0.0);
        assert_eq!(value("juju_capi_restore_last_run_green"), 1.0);
        let elapsed =
            end["elapsed_s"].as_f64().unwrap() - journal[0]["elapsed_s"].as_f64().unwrap();
        assert!((value("juju_capi_restore_last_run_duration_seconds") - elapsed).abs() < 1e-6);
        let ended: jiff::Timestamp = end["at"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            value("juju_capi_restore_last_run_timestamp_seconds"),
            ended.as_second() as f64
        );
        // Each layer's state is the last the journal observed.
        let mut observed = std::collections::BTreeMap::new();
        for line in &journal {
            if line["event"] == "probe" && line["detail"]["state"].is_string() {
                observed.insert(
                    line["layer"].as_str().unwrap().to_string(),
                    line["detail"]["state"].as_str().unwrap().to_string(),
                );
            }
        }
        let code = |state: &str| match state {
            "green" => 0.0,
            "yellow" => 1.0,
            "red" => 2.0,
            _ => 3.0,
        };
        let states: Vec<_> = samples
            .iter()
            .filter(|(n, _, _)| n == "juju_capi_restore_layer_state")
            .collect();
        assert_eq!(states.len(), observed.len());
        for (_, labels, v) in states {
            assert_eq!(labels["window"], "tonight");
            let layer = labels["layer"].as_str().unwrap();
            assert_eq!(*v, code(&observed[layer]), "{labels}");
        }
        assert_eq!(observed["vm"], "green");
        assert!(
            samples
                .iter()
                .any(|(n, l, _)| n == "juju_capi_restore_gate_wait_seconds" && l["gate"] == "vm")
        );
    }

    // A restore that finds the stack green (a catch-up run, a second timer) changes
    // nothing and exits 0.
    let changes = |t: &TestTwin| crate::charm::changes(t).len();
    let before = changes(&t);
    let again = run_unit(
        &units.join("juju-capi-restore-tonight-restore.service"),
        cron_home.path(),
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(changes(&t), before, "nothing changed");

    // Removed: exactly what was written.
    window(&t, "remove", &file, &staging);
    assert_eq!(std::fs::read_dir(&units).unwrap().count(), 0);
}

#[test]
fn a_late_park_and_one_whose_restore_is_due_are_refused_and_change_nothing() {
    let t = up(1.0);
    site_wide_root(&t);
    let now = jiff::Timestamp::now();
    let hours = jiff::SignedDuration::from_hours;
    for (park, restore, says) in [
        (now - hours(2), now + hours(4), "a late park"),
        (
            now,
            now + jiff::SignedDuration::from_mins(5),
            "its restore is due",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (_, units) = installed(&t, dir.path(), park, restore);
        let home = tempfile::tempdir().unwrap();
        let output = run_unit(
            &units.join("juju-capi-restore-tonight-park.service"),
            home.path(),
        );
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{err}");
        assert!(
            err.contains(says) && err.contains("the next park is at"),
            "{err}"
        );
    }
    assert_eq!(vm_state(&t), twin::cloud::VmState::Active, "nothing parked");
}

#[test]
fn the_rendered_units_pass_systemd_analyze_verify() {
    let t = TestTwin::default_scenario();
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let (_, units) = installed(
        &t,
        dir.path(),
        now,
        now + jiff::SignedDuration::from_hours(4),
    );
    let units: Vec<PathBuf> = std::fs::read_dir(units)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(units.len(), 4, "a service and a timer for park and restore");
    let verify = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&units)
        .output();
    match verify {
        Ok(out) => assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) if std::env::var_os("CAPI_RESTORE_REQUIRE_REAL").is_some() => {
            panic!("no systemd-analyze: scripts/debian-packages installs Debian's systemd")
        }
        Err(_) => eprintln!("skipped: no systemd-analyze"),
    }
}

/// The lines of the newest journal under the test's site-wide root.
pub fn last_journal(t: &TestTwin) -> Vec<serde_json::Value> {
    let runs = t
        .home
        .path()
        .join("var-lib-juju-capi-restore/674171fd28d446d3a37073b6a761e910/runs");
    let mut files: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    std::fs::read_to_string(files.last().unwrap())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The management VM's vm_state in the twin.
fn vm_state(t: &TestTwin) -> twin::cloud::VmState {
    t.steer(|c, _| {
        c.servers
            .iter()
            .find(|s| s.name == "capi-mgmt-v2")
            .unwrap()
            .vm_state
    })
}

#[test]
fn the_pre_flight_says_whether_the_park_would_go_and_why_not() {
    let t = up(1.0);
    site_wide_root(&t);
    let output = t.cmd().arg("kubeconfig").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let file = window_file(
        &t,
        dir.path(),
        now + jiff::SignedDuration::from_hours(1),
        now + jiff::SignedDuration::from_hours(5),
    );
    let check = |t: &TestTwin| {
        scheduled(t, tempfile::tempdir().unwrap().path())
            .args(["window", "check"])
            .arg(&file)
            .output()
            .unwrap()
    };
    let output = check(&t);
    let out = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains("no CAPI operation in flight") && out.contains("the park would go ahead"),
        "{out}"
    );

    // Without the kubeconfig the park cannot check for CAPI operations in flight: it
    // would be refused, and the check says so ahead of the window.
    std::fs::remove_file(t.files.site.parent().unwrap().join("capi-mgmt.kubeconfig")).unwrap();
    let output = check(&t);
    let out = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(output.status.code(), Some(3), "{out}");
    assert!(
        out.contains("REFUSED: no kubeconfig at") && out.contains("the park would be refused"),
        "{out}"
    );
}
