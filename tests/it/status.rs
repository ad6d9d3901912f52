//! `status` against the twin: rows, diagnosis and exit codes a user relies on.

use std::time::Duration;

use twin::scenario::{ServerStatus, Timings};

use crate::harness::{TestTwin, json, layer, stderr};

#[test]
fn a_parked_stack_is_red_from_the_vm_up_with_the_runbooks_diagnoses() {
    let t = TestTwin::default_scenario();
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(10),
        "vm is the lowest red layer\n{}",
        stderr(&output)
    );
    let report = json(&output);
    assert_eq!(layer(&report, "vm")["summary"], "parked (SHUTOFF)");
    let lbs = layer(&report, "load-balancers");
    assert_eq!(lbs["state"], "red");
    assert_eq!(
        lbs["diagnosis"][0]["rule"],
        "load-balancer-control-plane-failed"
    );
    let amphorae = layer(&report, "amphorae");
    assert_eq!(amphorae["summary"], "2 orphan amphora servers");
    let evidence = amphorae["evidence"].to_string();
    assert!(
        evidence.contains("ACTIVE zombie") && evidence.contains("ERROR orphan"),
        "{evidence}"
    );
    let headroom = layer(&report, "headroom");
    assert_eq!(
        headroom["state"], "red",
        "no slot while a failover is needed"
    );
    assert!(
        headroom["evidence"]
            .to_string()
            .contains("COMPUTE_STATUS_DISABLED")
    );
    let magnum = layer(&report, "magnum");
    assert_eq!(magnum["diagnosis"][0]["rule"], "conductor-unreachable");
}

#[test]
fn the_table_names_the_lowest_red_layer() {
    let t = TestTwin::default_scenario();
    let output = t.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("LAYER") && text.contains("parked (SHUTOFF)"),
        "{text}"
    );
    assert!(
        text.contains("lowest red layer: vm (exit code 10)"),
        "{text}"
    );
}

#[test]
fn a_starting_vm_is_yellow() {
    let t = TestTwin::with(|s| s.time_scale = 1.0);
    let id = t.steer(|c, now| {
        let id = c.management_server_id.clone();
        c.start_server(&id, now).unwrap();
        id
    });
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let vm = layer(&report, "vm");
    assert_eq!(vm["state"], "yellow");
    assert!(
        vm["evidence"][0].as_str().unwrap().contains(&id)
            && vm["summary"].as_str().unwrap().contains("powering-on"),
        "{vm}"
    );
}

#[test]
fn once_kubernetes_is_up_magnum_points_at_the_load_balancer() {
    // 6000x: the 21-minute cold start passes in a fifth of a second.
    let t = TestTwin::with(|s| {
        s.time_scale = 6000.0;
        s.token_ttl = Duration::from_secs(86400);
    });
    t.steer(|c, now| {
        let id = c.management_server_id.clone();
        c.start_server(&id, now).unwrap();
    });
    std::thread::sleep(Duration::from_millis(400));
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    assert_eq!(layer(&report, "vm")["state"], "green");
    let magnum = layer(&report, "magnum");
    assert_eq!(magnum["state"], "red");
    assert_eq!(
        magnum["diagnosis"][0]["rule"], "capo-raced-the-storm",
        "{magnum}"
    );
}

#[test]
fn a_healthy_stack_exits_zero_with_d042_known_good() {
    let t = TestTwin::with(|s| {
        s.servers[0].status = ServerStatus::Active;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.orphan_amphorae.clear();
        s.timings = Timings::default();
    });
    let output = t.cmd().args(["status", "-f", "yaml"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("rule: d042"), "{text}");
    assert!(text.contains("exit_code: 0"), "{text}");
}

#[test]
fn a_site_naming_the_wrong_project_is_diagnosed_as_the_wrong_scope() {
    let t = TestTwin::default_scenario();
    let admin_project = t.twin.project_id("admin").unwrap();
    let capi = t.twin.project_id("capi-mgmt").unwrap();
    let site = std::fs::read_to_string(&t.files.site)
        .unwrap()
        .replace(&capi, &admin_project);
    std::fs::write(&t.files.site, site).unwrap();
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(10));
    let vm = layer(&json(&output), "vm").clone();
    assert_eq!(vm["diagnosis"][0]["rule"], "wrong-scope");
    assert!(
        vm["diagnosis"][0]["next"].as_str().unwrap().contains(&capi),
        "{vm}"
    );
}

#[test]
fn a_project_the_user_has_no_role_in_is_refused_with_what_to_do() {
    let t = TestTwin::default_scenario();
    let service = t.twin.project_id("service").unwrap();
    let capi = t.twin.project_id("capi-mgmt").unwrap();
    let site = std::fs::read_to_string(&t.files.site)
        .unwrap()
        .replace(&capi, &service);
    std::fs::write(&t.files.site, site).unwrap();
    let output = t.cmd().arg("status").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("no role on the management project") && err.contains("openstack role add"),
        "{err}"
    );
}

#[test]
fn a_user_without_admin_sees_which_rows_need_admin() {
    let t = TestTwin::default_scenario();
    let output = t
        .cmd()
        .args(["--cloud", "twin-capi-operator", "status", "-f", "json"])
        .output()
        .unwrap();
    let report = json(&output);
    assert_eq!(
        layer(&report, "vm")["summary"],
        "parked (SHUTOFF)",
        "the mgmt scope still works"
    );
    let amphorae = layer(&report, "amphorae");
    assert_eq!(amphorae["state"], "unknown");
    assert!(
        amphorae["next"].as_str().unwrap().contains("admin"),
        "{amphorae}"
    );
}

#[test]
fn an_application_credential_works_for_both_scopes() {
    let t = TestTwin::default_scenario();
    let output = t
        .cmd()
        .args([
            "--cloud",
            "twin-appcred-capi-restore",
            "status",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(layer(&report, "vm")["summary"], "parked (SHUTOFF)");
    // Its scope is fixed to the admin project, where Magnum cannot resolve names.
    let magnum = layer(&report, "magnum");
    assert!(
        magnum["next"].as_str().unwrap().contains("by uuid"),
        "{magnum}"
    );
}

#[test]
fn the_status_report_reads_as_it_did() {
    let t = TestTwin::default_scenario();
    let output = t.cmd().arg("status").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
    ]}, {
        insta::assert_snapshot!(text);
    });
}

#[test]
fn another_projects_broken_load_balancer_is_not_this_layers() {
    // An admin with the admin role everywhere sees every project's load balancers.
    let t = TestTwin::with(|s| {
        s.users[0]
            .roles
            .get_mut("capi-mgmt")
            .unwrap()
            .push("admin".into());
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        let mut other = s.load_balancers[0].clone();
        other.id = "9e0d1c2b-3a4f-4e5d-8c7b-6a5f4e3d2c1b".into();
        other.name = "somebody-elses".into();
        other.project = "service".into();
        other.provisioning_status = twin::scenario::Provisioning::Error;
        other.amphorae.clear();
        s.load_balancers.push(other);
    });
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let lbs = layer(&report, "load-balancers");
    assert_eq!(lbs["state"], "green", "{lbs}");
    assert!(!lbs.to_string().contains("somebody-elses"));
}

#[test]
fn a_magnum_504_after_the_vm_started_is_a_stalled_conductor() {
    let t = TestTwin::with(|s| {
        s.servers[0].status = ServerStatus::Active;
        s.faults.push(twin::scenario::FaultSpec {
            count: 1000,
            path_contains: None,
            ..twin::scenario::FaultSpec::new(
                "container-infra",
                twin::scenario::FaultKind::GatewayTimeout,
            )
        });
    });
    let magnum = layer(
        &json(&t.cmd().args(["status", "-f", "json"]).output().unwrap()),
        "magnum",
    )
    .clone();
    assert_eq!(
        magnum["diagnosis"][0]["rule"], "conductor-stalled",
        "{magnum}"
    );
}
