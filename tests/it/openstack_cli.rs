//! The real `openstack` CLI (python-openstackclient with the Octavia and Magnum
//! plugins, installed by `scripts/test`) against the twin, for every command the
//! runbook runs: the twin must satisfy the client operators already use.

use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use crate::harness::TestTwin;

const LB: &str = "0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17";

/// The CLI, when `scripts/test` installed it.
fn openstack_cli() -> Option<String> {
    match std::env::var("CAPI_RESTORE_OPENSTACK_CLI") {
        Ok(path) => Some(path),
        Err(_) if std::env::var_os("CAPI_RESTORE_REQUIRE_REAL").is_some() => {
            panic!(
                "CAPI_RESTORE_REQUIRE_REAL is set but CAPI_RESTORE_OPENSTACK_CLI is not: run `scripts/test`"
            )
        }
        Err(_) => {
            eprintln!("SKIPPED: the real `openstack` CLI is not installed (run `scripts/test`)");
            None
        }
    }
}

/// A twin slower than real time (a failover's 15 s fast fail takes 5 min), so the
/// state seen right after an action is stable however slowly the CLI starts.
fn twin() -> TestTwin {
    TestTwin::with(|s| s.time_scale = 0.05)
}

/// Runs `openstack --os-cloud twin [--os-project-name capi-mgmt] ARGS`.
fn openstack(cli: &str, t: &TestTwin, mgmt_scope: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(cli);
    cmd.env_clear()
        .env("HOME", t.home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OS_CLIENT_CONFIG_FILE", &t.files.clouds)
        .env("OS_CLIENT_SECURE_FILE", &t.files.secure)
        .arg("--os-cloud")
        .arg("twin");
    if mgmt_scope {
        cmd.args(["--os-project-name", "capi-mgmt"]);
    }
    cmd.args(args).output().unwrap()
}

fn ok_json(output: Output) -> Value {
    assert!(
        output.status.success(),
        "openstack failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn failed_with(output: Output, text: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains(text),
        "expected failure with {text:?}:\n{stderr}"
    );
}

#[test]
fn server_list_show_start_and_stop() {
    let Some(cli) = openstack_cli() else { return };
    let t = twin();
    let list = ok_json(openstack(
        &cli,
        &t,
        false,
        &["server", "list", "--all-projects", "--long", "-f", "json"],
    ));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("amphora-")).count(),
        3,
        "{names:?}"
    );
    assert!(names.contains(&"capi-mgmt-v2"));

    let show = ok_json(openstack(
        &cli,
        &t,
        true,
        &["server", "show", "capi-mgmt-v2", "-f", "json"],
    ));
    assert_eq!(show["status"], "SHUTOFF");

    let start = openstack(&cli, &t, true, &["server", "start", "capi-mgmt-v2"]);
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    let task = t.steer(|c, _| c.server(&c.management_server_id).unwrap().task_state);
    assert_eq!(task, Some(twin::cloud::TaskState::PoweringOn));
    failed_with(
        openstack(&cli, &t, true, &["server", "start", "capi-mgmt-v2"]),
        "task_state powering-on",
    );
    failed_with(
        openstack(&cli, &t, true, &["server", "stop", "capi-mgmt-v2"]),
        "409",
    );

    // Once ACTIVE (finish the start now rather than wait 20 s), stop is accepted.
    t.steer(|c, now| {
        let id = c.management_server_id.clone();
        let started = |e: &twin::timeline::Event| {
            matches!(e, twin::timeline::Event::ServerTask { server_id, .. } if *server_id == id)
        };
        c.timeline.bring_forward(started, now);
        c.settle(now);
    });
    let stop = openstack(&cli, &t, true, &["server", "stop", "capi-mgmt-v2"]);
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let task = t.steer(|c, _| c.server(&c.management_server_id).unwrap().task_state);
    assert_eq!(task, Some(twin::cloud::TaskState::PoweringOff));
}

#[test]
fn loadbalancer_list_show_amphorae_and_failover() {
    let Some(cli) = openstack_cli() else { return };
    let t = twin();
    let list = ok_json(openstack(
        &cli,
        &t,
        true,
        &["loadbalancer", "list", "-f", "json"],
    ));
    assert_eq!(list[0]["id"], LB);
    assert_eq!(list[0]["provisioning_status"], "ERROR");
    assert_eq!(list[0]["operating_status"], "ONLINE");

    let show = ok_json(openstack(
        &cli,
        &t,
        false,
        &["loadbalancer", "show", LB, "-f", "json"],
    ));
    assert_eq!(show["vip_address"], "192.0.2.100");

    let amphorae = ok_json(openstack(
        &cli,
        &t,
        false,
        &["loadbalancer", "amphora", "list", "-f", "json"],
    ));
    assert_eq!(amphorae.as_array().unwrap().len(), 1);
    assert_eq!(amphorae[0]["status"], "ALLOCATED");
    assert_eq!(amphorae[0]["loadbalancer_id"], LB);

    let failover = openstack(&cli, &t, false, &["loadbalancer", "failover", LB]);
    assert!(
        failover.status.success(),
        "{}",
        String::from_utf8_lossy(&failover.stderr)
    );
    let show = ok_json(openstack(
        &cli,
        &t,
        false,
        &["loadbalancer", "show", LB, "-f", "json"],
    ));
    assert_eq!(show["provisioning_status"], "PENDING_UPDATE");
    failed_with(
        openstack(&cli, &t, false, &["loadbalancer", "failover", LB]),
        "Invalid state PENDING_UPDATE",
    );
}

#[test]
fn coe_cluster_show_reports_magnum_health() {
    let Some(cli) = openstack_cli() else { return };
    let t = twin();
    let show = ok_json(openstack(
        &cli,
        &t,
        true,
        &["coe", "cluster", "show", "capi-test-1", "-f", "json"],
    ));
    assert_eq!(show["health_status"], "UNHEALTHY");
    assert_eq!(
        show["health_status_reason"],
        serde_json::json!({}),
        "empty while the management VM is parked"
    );
}

/// Runs a runbook line through a real shell, `openstack` being the real CLI pointed at
/// the twin with admin scope (as `source ~/admin-openrc` leaves it).
fn runbook_line(cli: &str, t: &TestTwin, line: &str) -> String {
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(cli, bin.path().join("openstack")).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("bash")
        .args(["-o", "pipefail", "-c", line])
        .env_clear()
        .env("HOME", t.home.path())
        .env("PATH", path)
        .env("OS_CLIENT_CONFIG_FILE", &t.files.clouds)
        .env("OS_CLIENT_SECURE_FILE", &t.files.secure)
        .env("OS_CLOUD", "twin")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{line}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_runbooks_sweep_listing_finds_every_amphora_server() {
    let Some(cli) = openstack_cli() else { return };
    let t = twin();
    // Runbook Step 5a, its `grep -E` with the YAML's two-space indent: the runbook's
    // own `'^(- | (ID|Name|Status)):'` matches no line of the real CLI's YAML either.
    // The CLI sorts the YAML's keys, so `Status` is beyond `-A4` of the image line.
    let listing = runbook_line(
        &cli,
        &t,
        "openstack server list --all-projects --long -f yaml \
         | grep -B6 -A4 'amphora-haproxy' | grep -E '^(- |  )(ID|Name|Status):'",
    );
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Name: "))
        .collect();
    // The serving amphora, the zombie and the ERROR spawn: each by its amphora name,
    // with its ID beside it, and nothing that is not an amphora.
    assert_eq!(names.len(), 3, "{listing}");
    assert!(names.iter().all(|n| n.starts_with("amphora-")), "{listing}");
    assert_eq!(listing.matches("  ID: ").count(), 3, "{listing}");
    // Octavia's inventory, the DB truth it is compared with: one row.
    let inventory = runbook_line(&cli, &t, "openstack loadbalancer amphora list -f yaml");
    assert_eq!(
        inventory.matches("- ha_ip: 192.0.2.100").count(),
        1,
        "{inventory}"
    );
}

#[test]
fn the_runbooks_headroom_check_reads_each_hypervisor() {
    let Some(cli) = openstack_cli() else { return };
    let t = twin();
    // Runbook Step 5b.
    let hosts = runbook_line(
        &cli,
        &t,
        "openstack hypervisor list --long -f yaml | grep -E 'Hostname|Host IP'",
    );
    assert_eq!(
        hosts.matches("Hypervisor Hostname: compute-").count(),
        3,
        "{hosts}"
    );
    let ips: std::collections::BTreeSet<&str> = hosts
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- Host IP: "))
        .collect();
    assert_eq!(
        ips.len(),
        3,
        "each compute host has its own address: {hosts}"
    );
    // `hypervisor show NAME` looks the name up (hostname pattern), then shows it.
    let show = ok_json(openstack(
        &cli,
        &t,
        false,
        &["hypervisor", "show", "compute-3.maas", "-f", "json"],
    ));
    assert_eq!(show["hypervisor_hostname"], "compute-3.maas");
    assert_eq!(show["status"], "disabled");
    assert_eq!(show["service_host"], "compute-3", "{show}");
    assert_eq!(show["host_ip"], "192.0.2.13", "{show}");
    failed_with(
        openstack(
            &cli,
            &t,
            false,
            &["hypervisor", "show", "compute-9", "-f", "json"],
        ),
        "compute-9",
    );
}

#[test]
fn a_failed_over_amphora_holds_the_vip_and_its_own_vrrp_address() {
    let Some(cli) = openstack_cli() else { return };
    let t = TestTwin::with(|s| {
        s.time_scale = 60.0;
        s.orphan_amphorae.clear();
        s.hypervisors[1].other_usage.memory_mb -= 4096;
    });
    let failover = openstack(&cli, &t, false, &["loadbalancer", "failover", LB]);
    assert!(
        failover.status.success(),
        "{}",
        String::from_utf8_lossy(&failover.stderr)
    );
    // 108 s of the twin's time at 60x.
    let mut done = false;
    for _ in 0..200 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        done = t.steer(|c, _| {
            c.load_balancers[0].provisioning_status == twin::scenario::Provisioning::Active
        });
        if done {
            break;
        }
    }
    assert!(done, "the failover finished");
    let amphorae = ok_json(openstack(
        &cli,
        &t,
        false,
        &["loadbalancer", "amphora", "list", "-f", "json"],
    ));
    assert_eq!(amphorae.as_array().unwrap().len(), 1, "{amphorae}");
    let id = amphorae[0]["id"].as_str().unwrap();
    let show = ok_json(openstack(
        &cli,
        &t,
        false,
        &["loadbalancer", "amphora", "show", id, "-f", "json"],
    ));
    assert_eq!(show["status"], "ALLOCATED");
    assert_eq!(show["ha_ip"], "192.0.2.100", "{show}");
    let vrrp = show["vrrp_ip"].as_str().unwrap();
    assert!(
        vrrp.starts_with("192.0.2.") && vrrp != "192.0.2.100",
        "{show}"
    );
}
