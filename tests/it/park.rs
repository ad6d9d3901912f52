//! `park` and `verify` against the twin.

use std::os::unix::fs::PermissionsExt;

use twin::scenario::ServerStatus;

use crate::harness::{TestTwin, stderr};

fn running(lb: twin::scenario::Provisioning) -> TestTwin {
    TestTwin::with(move |s| {
        s.servers[0].status = ServerStatus::Active;
        s.load_balancers[0].provisioning_status = lb;
        s.orphan_amphorae.clear();
    })
}

fn vm_state(t: &TestTwin) -> (twin::cloud::VmState, Option<twin::cloud::TaskState>) {
    t.steer(|c, _| {
        let s = c.server(&c.management_server_id).unwrap();
        (s.vm_state, s.task_state)
    })
}

#[test]
fn park_without_a_terminal_or_yes_is_refused_and_stops_nothing() {
    let t = running(twin::scenario::Provisioning::Active);
    assert!(t.cmd().arg("kubeconfig").output().unwrap().status.success());
    let output = t.cmd().arg("park").output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("pass `--yes`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(vm_state(&t).0, twin::cloud::VmState::Active);
    // The journal says "not confirmed", the one wording every command uses.
    let list = t.cmd().arg("journal").output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    let park = list
        .lines()
        .find(|l| l.contains("-park-"))
        .unwrap_or_default();
    assert!(
        park.contains("not confirmed (nothing destructive done)"),
        "{list}"
    );
}

#[test]
fn verify_journals_which_cloud_it_verified() {
    let t = running(twin::scenario::Provisioning::Active);
    t.cmd().arg("verify").output().unwrap();
    let run = crate::harness::json(
        &t.cmd()
            .args(["journal", "latest", "-f", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(run["entries"][0]["detail"]["cloud"], "twin", "{run}");
}

#[test]
fn park_without_a_kubeconfig_cannot_check_for_operations_in_flight_and_refuses() {
    let t = running(twin::scenario::Provisioning::Active);
    let output = t.cmd().args(["park", "--yes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let err = stderr(&output);
    assert!(
        err.contains("cannot check for CAPI operations in flight") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(vm_state(&t).0, twin::cloud::VmState::Active);
    // The journal says it was refused, not that it died.
    let list = t.cmd().arg("journal").output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("-park-") && list.contains("refused: no kubeconfig"),
        "{list}"
    );
    assert!(!list.contains("refused: refused"), "said once: {list}");
}

#[test]
fn park_yes_files_the_kubeconfig_stops_the_vm_and_says_what_to_expect() {
    let t = running(twin::scenario::Provisioning::Active);
    assert!(t.cmd().arg("kubeconfig").output().unwrap().status.success());
    let secrets = t.path("secrets");
    let output = t
        .cmd()
        .args(["park", "--yes", "--file-secrets", secrets.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("EMPTY reason") && stdout.contains("workload clusters keep running"),
        "{stdout}"
    );
    assert_eq!(vm_state(&t).0, twin::cloud::VmState::Stopped);
    let dated = std::fs::read_dir(&secrets)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let filed = dated.join("secrets/capi-mgmt.kubeconfig");
    assert_eq!(
        std::fs::metadata(&filed).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(dated.join("secrets"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let journal = std::fs::read_dir(t.home.path().join(".local/state/juju-capi-restore/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(journal).unwrap();
    assert!(
        text.contains("os-stop") && text.contains(filed.to_str().unwrap()),
        "the destination is in the journal"
    );
    // Parking again is a no-op.
    let again = t.cmd().args(["park", "--yes"]).output().unwrap();
    assert!(again.status.success() && stderr(&again).contains("already parked"));
}

#[test]
fn verify_says_success_on_a_healthy_stack_with_d042() {
    let t = running(twin::scenario::Provisioning::Active);
    let output = t.cmd().arg("verify").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        out.contains("verify: SUCCESS") && out.contains("(exit code 0)"),
        "{out}"
    );
}

#[test]
fn verify_on_a_parked_stack_says_restore_first_without_waiting_out_capo() {
    // The default scenario is parked; CAPO's 10 min allowance is not spent on it.
    let t = TestTwin::default_scenario();
    let output = t.cmd().arg("verify").output().unwrap();
    assert_eq!(output.status.code(), Some(10), "vm: {}", stderr(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        out.contains("not yet: vm")
            && out.contains("run `juju-capi-restore restore` first")
            && out.contains("(exit code 10)"),
        "{out}"
    );
}

#[test]
fn verify_without_magnum_clusters_in_the_site_file_claims_no_success() {
    let t = running(twin::scenario::Provisioning::Active);
    let mut site = capi_restore::site::Site::load(&t.files.site).unwrap();
    site.magnum_clusters.clear();
    std::fs::write(&t.files.site, site.to_yaml()).unwrap();
    let output = t.cmd().arg("verify").output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(18),
        "magnum: {}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("no Magnum clusters in the site file"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn verify_names_what_is_not_yet_green() {
    let t = running(twin::scenario::Provisioning::Error);
    let site = std::fs::read_to_string(&t.files.site)
        .unwrap()
        .replace("capo_resync: 10m", "capo_resync: 1s");
    std::fs::write(&t.files.site, site).unwrap();
    let output = t.cmd().arg("verify").output().unwrap();
    assert_eq!(output.status.code(), Some(17), "capo: {}", stderr(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        out.contains("not yet: capo") && out.contains("not reached within 1s"),
        "{out}"
    );
}

#[test]
fn ctrl_c_during_verify_ends_it_as_interrupted() {
    // The load balancer in ERROR keeps CAPO from Available: verify waits for it.
    let t = running(twin::scenario::Provisioning::Error);
    let mut verify = t.std_cmd();
    verify.arg("verify");
    let output = crate::harness::signalled_after_a_while(verify, "-INT");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(err.contains("verify: interrupted"), "{err}");
    assert!(
        crate::restore::journal(&t)
            .iter()
            .any(|e| e["event"] == "end" && e["detail"]["interrupted_by_signal"] == 2)
    );
}
