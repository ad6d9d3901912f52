//! The CAPI layers through the real `kubectl` against the twin's Kubernetes API, and
//! the management kubeconfig.

use std::os::unix::fs::PermissionsExt;

use twin::scenario::ServerStatus;

use crate::harness::{TestTwin, json, layer, stderr};

/// The VM up for a day; the load balancer as given.
fn up(lb: twin::scenario::Provisioning) -> TestTwin {
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
    let t = up(twin::scenario::Provisioning::Active);
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
    let t = up(twin::scenario::Provisioning::Error);
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
    let t = up(twin::scenario::Provisioning::Active);
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
    let t = up(twin::scenario::Provisioning::Active);
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
    let t = up(twin::scenario::Provisioning::Active);
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
    // A parked VM's floating IP answers nothing: ssh's connection times out.
    assert!(
        stderr(&output).contains("connection timed out: the VM is booting"),
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
    let t = up(twin::scenario::Provisioning::Active);
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

/// The runbook's kubectl line (Step 4) with the kubeconfig the tool re-emits: what
/// the real kubectl prints, header first.
fn kubectl(t: &TestTwin, line: &[&str]) -> Vec<String> {
    let output = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig_path(t))
        .args(line)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kubectl {line:?}: {}",
        stderr(&output)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[test]
fn the_runbooks_kubectl_lines_print_the_real_columns() {
    let t = up(twin::scenario::Provisioning::Active);
    let out = t.cmd().arg("kubeconfig").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let nodes = kubectl(&t, &["get", "nodes", "-o", "wide"]);
    assert_eq!(
        nodes[0],
        "NAME|STATUS|ROLES|AGE|VERSION|INTERNAL-IP|EXTERNAL-IP|OS-IMAGE|KERNEL-VERSION|CONTAINER-RUNTIME"
    );
    assert!(
        nodes[1].starts_with("capi-mgmt-v2|Ready|control-plane,worker|"),
        "{nodes:?}"
    );
    assert!(
        nodes[1].contains("|v1.31.4|192.0.2.15|<none>|Ubuntu 22.04.5 LTS|"),
        "{nodes:?}"
    );

    let pods = kubectl(&t, &["get", "pods", "-A"]);
    assert_eq!(pods[0], "NAMESPACE|NAME|READY|STATUS|RESTARTS|AGE");
    let capo = pods.iter().find(|p| p.starts_with("capo-system|")).unwrap();
    // Restarted with the VM: the count and how long ago, as kubectl shows it.
    assert!(capo.contains("|1/1|Running|3 ("), "{capo}");
    assert!(capo.contains(" ago)|"), "{capo}");

    // CAPI 1.11 (the twin's default, the runbook's): v1beta2's printer columns,
    // with the `Available` its final verify reads.
    let ns = "magnum-674171fd28d446d3a37073b6a761e910";
    let objects = kubectl(&t, &["-n", ns, "get", "cluster,openstackcluster,machines"]);
    assert_eq!(
        objects[0],
        "NAME|CLUSTERCLASS|AVAILABLE|CP DESIRED|CP AVAILABLE|CP UP-TO-DATE|W DESIRED|W AVAILABLE|W UP-TO-DATE|PHASE|AGE|VERSION"
    );
    assert!(
        objects[1].starts_with("cluster.cluster.x-k8s.io/capi-test-1-"),
        "{objects:?}"
    );
    assert!(
        objects[1].contains("|magnum-v0.26.0|True|1|1|1|2|2|2|Provisioned|"),
        "{objects:?}"
    );
    let osc = objects
        .iter()
        .position(|l| l.starts_with("NAME|CLUSTER|READY"))
        .unwrap();
    assert_eq!(objects[osc], "NAME|CLUSTER|READY|NETWORK|BASTION IP|AGE");
    let machines = objects
        .iter()
        .position(|l| l.starts_with("NAME|CLUSTER|NODE NAME"))
        .unwrap();
    assert_eq!(
        objects[machines],
        "NAME|CLUSTER|NODE NAME|READY|AVAILABLE|UP-TO-DATE|PHASE|AGE|VERSION"
    );
    assert_eq!(objects.len(), machines + 4, "three machines: {objects:?}");
}

#[test]
fn capi_before_1_11_serves_v1beta1_with_its_own_columns_and_the_tool_reads_both() {
    let t = TestTwin::with(|s| {
        s.servers[0].status = ServerStatus::Active;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.management.capi_api = twin::scenario::CapiApi::V1beta1;
    });
    let out = t.cmd().arg("kubeconfig").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let ns = "magnum-674171fd28d446d3a37073b6a761e910";
    let objects = kubectl(&t, &["-n", ns, "get", "cluster,machines"]);
    assert_eq!(objects[0], "NAME|CLUSTERCLASS|PHASE|AGE|VERSION");
    let machines = objects
        .iter()
        .position(|l| l.starts_with("NAME|CLUSTER|NODENAME"))
        .unwrap();
    assert_eq!(
        objects[machines],
        "NAME|CLUSTER|NODENAME|PROVIDERID|PHASE|AGE|VERSION"
    );
    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let capo = layer(&report, "capo");
    assert_eq!(capo["state"], "green", "{capo}");
}
