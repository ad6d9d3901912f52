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
            service: "load-balancer".into(),
            kind: FaultKind::NoValidHost,
            count: 1,
            path_contains: Some("/failover".into()),
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
