//! The CAPI layers through the real `kubectl` against the twin's Kubernetes API, and
//! the management kubeconfig.

use std::os::unix::fs::PermissionsExt;

use twin::scenario::ServerStatus;

use crate::harness::{TestTwin, json, layer, stderr};

/// The VM up for a day; the load balancer as given.
fn up(lb: &str) -> TestTwin {
    let lb = lb.to_string();
    TestTwin::with(move |s| {
        s.servers[0].status = ServerStatus::Active;
        s.load_balancers[0].provisioning_status = lb;
    })
}

fn kubeconfig_path(t: &TestTwin) -> std::path::PathBuf {
    t.files.site.parent().unwrap().join("capi-mgmt.kubeconfig")
}

#[test]
fn with_the_load_balancer_active_every_host_layer_is_green() {
    let t = up("ACTIVE");
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let controllers = layer(&report, "capi-controllers");
    assert_eq!(controllers["state"], "green", "{controllers}");
    assert!(
        controllers["evidence"]
            .to_string()
            .contains("capo: 1 of 1 pods Running and ready")
    );
    let capo = layer(&report, "capo");
    assert_eq!(capo["state"], "green", "{capo}");
    assert!(capo["summary"].as_str().unwrap().ends_with("Available"));
    assert!(
        capo["evidence"]
            .to_string()
            .contains("Machines: 3 of 3 Running")
    );
}

#[test]
fn a_broken_load_balancer_shows_as_capos_timeout_pointing_at_octavia() {
    let t = up("ERROR");
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let capo = layer(&report, "capo");
    assert_eq!(capo["state"], "red");
    assert_eq!(
        capo["diagnosis"][0]["rule"], "capo-raced-the-storm",
        "{capo}"
    );
    assert!(
        capo["diagnosis"][0]["next"]
            .as_str()
            .unwrap()
            .contains("`0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17` in Octavia first")
    );
}

#[test]
fn status_reads_without_writing_a_missing_kubeconfig() {
    let t = up("ACTIVE");
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    assert!(
        layer(&report, "capi-controllers")["evidence"]
            .to_string()
            .contains("for this run only")
    );
    assert!(!kubeconfig_path(&t).exists(), "status is read-only");
}

#[test]
fn kubeconfig_is_re_emitted_private_and_then_used() {
    let t = up("ACTIVE");
    let output = t.cmd().arg("kubeconfig").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let path = kubeconfig_path(&t);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("server: https://127.0.0.1:{}", t.twin.kube_port())),
        "{text}"
    );
    assert!(stderr(&output).contains("mode 0600"));

    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let controllers = layer(&report, "capi-controllers");
    assert_eq!(controllers["state"], "green");
    assert!(
        !controllers["evidence"]
            .to_string()
            .contains("for this run only"),
        "the site's kubeconfig is used"
    );
}

#[test]
fn a_stale_kubeconfig_says_to_re_emit_it() {
    let t = up("ACTIVE");
    assert!(t.cmd().arg("kubeconfig").output().unwrap().status.success());
    let path = kubeconfig_path(&t);
    let stale = std::fs::read_to_string(&path)
        .unwrap()
        .replace("twin-kube-admin-token", "an-old-token");
    std::fs::write(&path, stale).unwrap();
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let controllers = layer(&report, "capi-controllers");
    assert_eq!(controllers["state"], "unknown");
    assert!(
        controllers
            .to_string()
            .contains("juju-capi-restore kubeconfig"),
        "{controllers}"
    );
}

#[test]
fn kubeconfig_before_kubernetes_is_up_says_so() {
    let t = TestTwin::default_scenario();
    let output = t.cmd().arg("kubeconfig").output().unwrap();
    assert_eq!(output.status.code(), Some(11), "the ssh layer is red");
    assert!(
        stderr(&output).contains("sshd is not listening yet"),
        "{}",
        stderr(&output)
    );
}

/// The site read with the VM's own kubectl (`management.kubectl: on-host`).
fn on_host(t: &TestTwin) {
    let site = std::fs::read_to_string(&t.files.site).unwrap();
    let site = site.replace("  kubectl: local\n", "  kubectl: on-host\n");
    assert!(site.contains("kubectl: on-host"), "{site}");
    std::fs::write(&t.files.site, site).unwrap();
}

#[test]
fn with_the_vms_own_kubectl_the_capi_layers_read_over_ssh_and_no_kubeconfig_is_written() {
    let t = up("ACTIVE");
    on_host(&t);
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let controllers = layer(&report, "capi-controllers");
    assert_eq!(controllers["state"], "green", "{controllers}");
    assert!(
        !controllers["evidence"]
            .to_string()
            .contains("for this run only"),
        "no kubeconfig is needed: {controllers}"
    );
    assert_eq!(layer(&report, "capo")["state"], "green");
    assert!(!kubeconfig_path(&t).exists());
}

#[test]
fn with_the_vms_own_kubectl_a_parked_stack_restores_to_green_without_a_kubeconfig() {
    let t = TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = std::time::Duration::from_secs(86400 * 30);
    });
    on_host(&t);
    let output = t.cmd().args(["restore", "--yes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!kubeconfig_path(&t).exists(), "nothing re-emitted");
}
