//! The Octavia repair end to end (runbook Step 5): `sweep`, `headroom`, `failover`
//! and restore's Octavia branch against the twin, one scenario per runbook pattern.
//! What was deleted and failed over is checked in the twin's own state and record
//! of requests, not only in what the tool says.

use std::time::Duration;

use twin::scenario::{AmphoraSpec, FaultKind, FaultSpec, LoadBalancerSpec, Scenario};

use crate::harness::{TestTwin, json, layer, stderr};
use crate::restore::journal;

const ZOMBIE: &str = "c81d4e2f-6a7b-4c8d-9e1f-2a3b4c5d6e7f";
const ERROR_ORPHAN: &str = "e4f5a6b7-8c9d-4e0f-a1b2-c3d4e5f6a7b8";
const LB: &str = "0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17";

/// The runbook's situation at 600x: LB in ERROR, a zombie and an ERROR orphan, and no
/// slot until the zombie goes.
fn runbook(edit: impl FnOnce(&mut Scenario)) -> TestTwin {
    TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = Duration::from_secs(86400 * 30);
        edit(s);
    })
}

/// A second kube-api load balancer of the site, in ERROR, its amphora on compute-2.
fn second_lb(s: &Scenario) -> LoadBalancerSpec {
    LoadBalancerSpec {
        id: "4b1c2d3e-5f6a-4b7c-8d9e-0f1a2b3c4d5e".into(),
        name: "k8s-clusterapi-cluster-second-kubeapi".into(),
        vip_address: "192.0.2.101".into(),
        floating_ip: None,
        provisioning_status: twin::scenario::Provisioning::Error,
        amphorae: vec![AmphoraSpec {
            id: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a".into(),
            status: twin::scenario::AmphoraStatus::Allocated,
            role: "STANDALONE".into(),
            host: "compute-2".into(),
            lb_network_ip: "fc00:4f::2b".into(),
        }],
        ..s.load_balancers[0].clone()
    }
}

/// One Octavia request matching `path` meets `kind`.
fn octavia_fault(kind: FaultKind, path: &str) -> FaultSpec {
    FaultSpec {
        count: 1,
        path_contains: Some(path.into()),
        ..FaultSpec::new("load-balancer", kind)
    }
}

fn amphora_servers(t: &TestTwin) -> Vec<String> {
    t.steer(|c, _| {
        c.servers
            .iter()
            .filter(|s| s.name.starts_with("amphora-"))
            .map(|s| s.name.clone())
            .collect()
    })
}

fn failover_puts(t: &TestTwin) -> Vec<String> {
    t.twin
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/failover"))
        .map(|r| r.path)
        .collect()
}

fn deletes(t: &TestTwin) -> Vec<String> {
    t.twin
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect()
}

#[test]
fn the_zombie_and_the_error_orphan_are_swept_then_the_failover_succeeds() {
    let t = runbook(|_| {});
    let output = t.cmd().args(["failover", "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("ACTIVE zombie") && err.contains("ERROR orphan (failed spawn)"),
        "both kinds named: {err}"
    );
    // The health manager's own word on the zombie, through the (fake) juju.
    assert!(
        err.contains("health-manager.log: ")
            && err.contains(&format!("Amphora {ZOMBIE} health message")),
        "{err}"
    );
    assert!(
        err.contains("failover succeeded in 1m 48s")
            && err.contains("VIP 192.0.2.100 and floating IP 203.0.113.40 kept"),
        "{err}"
    );
    // In the twin: both orphans gone, one failover, ACTIVE, the old amphora reaped.
    let left = amphora_servers(&t);
    assert_eq!(left.len(), 1, "only the replacement amphora: {left:?}");
    assert!(
        !left
            .iter()
            .any(|n| n.contains(ZOMBIE) || n.contains(ERROR_ORPHAN))
    );
    assert_eq!(deletes(&t).len(), 2, "deleted by server UUID, once each");
    assert!(deletes(&t).iter().all(|p| p.contains("/servers/")));
    let failovers = t.steer(|c, _| c.failovers.clone());
    assert_eq!(failovers.len(), 1);
    assert_eq!(failovers[0].outcome.as_deref(), Some("ACTIVE"));
    // Journaled: each delete and the failover, requested before sent.
    let entries = journal(&t);
    let requested: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["detail"]["requested"]["request"].as_str())
        .collect();
    assert_eq!(
        requested,
        ["server delete", "server delete", "loadbalancer failover"]
    );
    // Each "requested" comes before its result: a crash in between leaves a journal
    // that says the change may have happened.
    for (i, e) in entries.iter().enumerate() {
        if let Some(what) = e["detail"]["requested"]["request"].as_str() {
            assert!(
                entries[i + 1..]
                    .iter()
                    .any(|r| r["detail"]["request"] == what && r["detail"]["result"].is_string()),
                "no result after the request at {i}"
            );
        }
    }
    assert!(
        entries
            .iter()
            .any(|e| e["event"] == "confirmation" && e["detail"]["answer"] == "yes (--yes)")
    );
}

#[test]
fn without_a_slot_the_failover_is_refused_then_a_sweep_frees_one_and_it_succeeds() {
    let t = runbook(|_| {});
    // Unattended and unconfirmed: the sweep only reports, so no slot, so no failover.
    let output = t.cmd().arg("failover").output().unwrap();
    let err = stderr(&output);
    // The slot was there to be had by a delete nobody confirmed: "needs --yes" (3),
    // not a fault of the cloud.
    assert_eq!(output.status.code(), Some(3), "not confirmed: {err}");
    assert!(
        err.contains("not confirmed:") && err.contains("(exit code 3"),
        "{err}"
    );
    assert!(
        err.contains("no amphora slot on any enabled compute host, so no failover is started")
            && err.contains("compute-2.maas: 0 slot(s), limited by MEMORY_MB: free 500 of 86016")
            && err.contains("1 orphan(s) left in place hold a slot each: `--yes`"),
        "the refusal carries the figures and the way out: {err}"
    );
    assert!(failover_puts(&t).is_empty(), "never started");
    assert!(deletes(&t).is_empty(), "nothing deleted unconfirmed");
    assert_eq!(amphora_servers(&t).len(), 3);

    // `headroom` says the same as a table, and exits 15.
    let output = t.cmd().arg("headroom").output().unwrap();
    assert_eq!(output.status.code(), Some(15));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("compute-1") && table.contains("the runbook's formula"),
        "{table}"
    );

    let output = t
        .cmd()
        .args(["sweep", "--yes", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let swept = json(&output);
    assert_eq!(swept["deleted"].as_array().unwrap().len(), 2, "{swept}");

    let output = t.cmd().args(["headroom", "-f", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(json(&output)["total_slots"], 1);

    let output = t.cmd().args(["failover", "--yes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(failover_puts(&t).len(), 1);
    assert_eq!(
        t.steer(|c, _| c.load_balancers[0].provisioning_status),
        twin::scenario::Provisioning::Active
    );
}

#[test]
fn a_fast_fail_is_classified_re_swept_and_never_retried() {
    // The zombie is gone so Placement has a slot, but the scheduler's filters refuse
    // the amphora anyway: Octavia fails fast with NoValidHost.
    let t = runbook(|s| {
        s.orphan_amphorae.retain(|o| o.amphora_id == ERROR_ORPHAN);
        s.hypervisors[1].other_usage.memory_mb -= 1024;
        s.faults
            .push(octavia_fault(FaultKind::NoValidHost, "/failover"));
    });
    let output = t.cmd().args(["failover", "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(16), "load-balancers: {err}");
    assert!(
        err.contains("failover FAILED, a fast fail after 15s")
            && err.contains("usually NoValidHost")
            && err.contains("Not retried"),
        "{err}"
    );
    // Evidence from octavia-worker.log through the (fake) juju.
    assert!(
        err.contains("octavia-worker.log:") && err.contains("ComputeBuildException"),
        "{err}"
    );
    // Nova's own word on the replacement, found by the re-sweep, quoted once with
    // its own full stop.
    assert!(err.contains("Nova says of the replacement"), "{err}");
    assert!(!err.contains("available.."), "no doubled full stop: {err}");
    assert_eq!(
        failover_puts(&t).len(),
        1,
        "exactly one attempt, never retried"
    );
    let failovers = t.steer(|c, _| c.failovers.clone());
    assert_eq!(failovers.len(), 1);
    assert_eq!(failovers[0].outcome.as_deref(), Some("ERROR"));
    // The ERROR orphan from the scenario was swept first (confirmed by --yes); the one
    // the failed failover minted is kept: the cloud's record of it for every run.
    assert_eq!(deletes(&t).len(), 1, "{:?}", deletes(&t));
    assert_eq!(amphora_servers(&t).len(), 2);
    assert!(
        err.contains("the cloud's record of the failed failover"),
        "{err}"
    );

    // Another user (sudo, cron, another jumphost) has another journal: the cloud's
    // evidence bars the retry all the same, and says which evidence.
    let output = from_another_journal(&t, &["restore", "--yes"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert!(
        err.contains("the cloud shows that its last failover failed")
            && err.contains("went to provisioning ERROR at")
            && err.contains("No valid host was found"),
        "{err}"
    );
    assert_eq!(
        failover_puts(&t).len(),
        1,
        "not retried from another journal"
    );

    // The next unattended run does not try again: the journal remembers.
    let output = t.cmd().args(["restore", "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert!(err.contains("never retried automatically"), "{err}");
    assert_eq!(failover_puts(&t).len(), 1, "still one attempt");
    // Named by the operator, it runs once more (the scheduler takes it this time),
    // after sweeping the orphan the failed attempt left.
    let output = t.cmd().args(["failover", LB, "--yes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(failover_puts(&t).len(), 2);
    assert_eq!(deletes(&t).len(), 2);
}

#[test]
fn no_failover_starts_while_octavia_is_busy_with_another() {
    let t = runbook(|s| {
        s.orphan_amphorae.clear();
        s.hypervisors[1].other_usage.memory_mb -= 1024;
        let mut busy = s.load_balancers[0].clone();
        busy.id = "4b1c2d3e-5f6a-4b7c-8d9e-0f1a2b3c4d5e".into();
        busy.name = "busy".into();
        busy.provisioning_status = twin::scenario::Provisioning::PendingUpdate;
        busy.floating_ip = None;
        busy.amphorae.clear();
        s.load_balancers.push(busy);
    });
    let output = t.cmd().args(["failover", LB, "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert!(
        err.contains("Octavia is busy with 4b1c2d3e-5f6a-4b7c-8d9e-0f1a2b3c4d5e (PENDING_UPDATE)"),
        "{err}"
    );
    assert!(failover_puts(&t).is_empty());
}

#[test]
fn a_row_appearing_between_list_and_delete_aborts_that_delete() {
    let t = runbook(|s| {
        s.faults.push(octavia_fault(
            FaultKind::AmphoraRowAppears,
            "/octavia/amphorae",
        ));
    });
    let zombie_server = t.steer(|c, _| {
        c.servers
            .iter()
            .find(|s| s.name == format!("amphora-{ZOMBIE}"))
            .unwrap()
            .id
            .clone()
    });
    let output = t
        .cmd()
        .args(["sweep", "--yes", "-f", "json"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let swept = json(&output);
    assert_eq!(
        swept["aborted"],
        serde_json::json!([zombie_server]),
        "{swept}"
    );
    assert_eq!(swept["deleted"].as_array().unwrap().len(), 1);
    assert!(
        err.contains("NOT deleting") && err.contains("so it is in use"),
        "{err}"
    );
    // The adopted amphora's server is alive; only the ERROR orphan was deleted.
    assert!(amphora_servers(&t).contains(&format!("amphora-{ZOMBIE}")));
    assert!(!deletes(&t).iter().any(|p| p.contains(&zombie_server)));
    let entries = journal(&t);
    assert!(
        entries
            .iter()
            .any(|e| e["detail"]["aborted_delete"] == zombie_server.as_str())
    );
}

#[test]
fn two_load_balancers_in_error_fail_over_one_after_the_other() {
    let t = runbook(|s| {
        // No orphans, both amphorae on compute-2 with room for one more: one slot,
        // re-freed by each failover when it reaps the old amphora.
        s.orphan_amphorae.clear();
        s.hypervisors[1].other_usage.memory_mb -= 1024;
        let second = second_lb(s);
        s.load_balancers.push(second);
    });
    let output = t
        .cmd()
        .args(["failover", "--yes", "-f", "json"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(json(&output).as_array().unwrap().len(), 2);
    // From the twin's record: two failovers, the second accepted only after the first
    // had finished.
    let failovers = t.steer(|c, _| c.failovers.clone());
    assert_eq!(failovers.len(), 2, "{failovers:?}");
    assert!(
        failovers
            .iter()
            .all(|f| f.outcome.as_deref() == Some("ACTIVE"))
    );
    assert!(
        failovers[1].started >= failovers[0].finished.unwrap(),
        "overlapping failovers: {failovers:?}"
    );
    let puts = failover_puts(&t);
    assert_eq!(puts.len(), 2);
    assert_ne!(puts[0], puts[1]);
}

#[test]
fn restore_with_yes_repairs_octavia_while_kubernetes_converges() {
    let t = runbook(|_| {});
    let output = t
        .cmd()
        .args(["restore", "--yes", "-f", "json"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let report = json(&output);
    for name in ["amphorae", "load-balancers", "capo"] {
        assert_eq!(layer(&report, name)["state"], "green", "{name}: {err}");
    }
    // The failover finished before the management API came up, so CAPO met an ACTIVE
    // load balancer: no back-off to wait out.
    let (failover_end, api_up) = t.steer(|c, now| {
        (
            c.failovers[0].finished.unwrap(),
            c.management_api_up_since(now).unwrap(),
        )
    });
    assert!(failover_end < api_up, "{failover_end} vs {api_up}");
    // Headroom was measured only after the VM start.
    let entries = journal(&t);
    let position =
        |pred: &dyn Fn(&serde_json::Value) -> bool| entries.iter().position(pred).unwrap();
    let start = position(&|e| e["detail"]["request"] == "os-start");
    let headroom = position(&|e| e["event"] == "probe" && e["layer"] == "headroom");
    assert!(start < headroom);
}

#[test]
fn unattended_restore_without_yes_deletes_and_fails_over_nothing() {
    let t = runbook(|_| {});
    let output = t.cmd().args(["restore", "-f", "json"]).output().unwrap();
    let err = stderr(&output);
    // Everything non-destructive done, then "needs --yes": 3, not a layer's code.
    assert_eq!(output.status.code(), Some(3), "not confirmed: {err}");
    assert!(
        err.contains("left in place") && err.contains("no failover is started"),
        "{err}"
    );
    assert!(deletes(&t).is_empty() && failover_puts(&t).is_empty());
    let report = json(&output);
    // The VM chain went on regardless: the branches are independent.
    assert_eq!(layer(&report, "capi-controllers")["state"], "green");
    // The JSON and the journal say what the exit code says.
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["ending"]["result"], "not-confirmed");
    let end = journal(&t)
        .into_iter()
        .rev()
        .find(|e| e["event"] == "end")
        .unwrap();
    assert_eq!(end["detail"]["ending"]["result"], "not-confirmed", "{end}");
    assert_eq!(end["detail"]["exit_code"], 3);

    // `sweep` alone, unattended, is the same "needs --yes", never "ended green".
    let output = t.cmd().arg("sweep").output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let listing = t.cmd().arg("journal").output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let sweep_line = listing
        .lines()
        .find(|l| l.contains("sweep"))
        .unwrap_or_default();
    assert!(sweep_line.contains("not confirmed"), "{listing}");
}

#[test]
fn restore_until_a_layer_exits_with_the_code_it_prints() {
    let t = runbook(|_| {});
    let output = t
        .cmd()
        .args(["restore", "--until", "vm", "-f", "json"])
        .output()
        .unwrap();
    let report = json(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(report["exit_code"], 0, "{report}");
    assert!(report["closing"].as_str().unwrap().contains("--until vm"));
    let output = t.cmd().args(["restore", "--until", "vm"]).output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.trim_end().ends_with("(exit code 0)"), "{out}");
    assert!(
        !out.contains("lowest red layer"),
        "no second verdict: {out}"
    );
}

#[test]
fn amphorae_octavia_will_not_heal_are_explained() {
    let t = runbook(|s| {
        s.load_balancers[0].amphorae[0].status = twin::scenario::AmphoraStatus::FailoverStopped;
        s.orphan_amphorae.clear();
    });
    let output = t.cmd().args(["sweep", "-f", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let swept = json(&output);
    let attention = swept["attention"].as_array().unwrap();
    assert_eq!(attention.len(), 1, "{swept}");
    assert!(
        attention[0].as_str().unwrap().contains("circuit breaker"),
        "{swept}"
    );
    assert!(swept["orphans"].as_array().unwrap().is_empty());
}

#[test]
fn an_expired_juju_login_is_named_and_blocks_nothing() {
    let t = runbook(|s| {
        s.juju_login_expired = true;
        s.orphan_amphorae.retain(|o| o.amphora_id == ZOMBIE);
    });
    let output = t.cmd().args(["sweep", "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("health-manager.log not read: the Juju login has expired")
            && err.contains("juju login"),
        "{err}"
    );
    assert_eq!(
        deletes(&t).len(),
        1,
        "the evidence is optional: the sweep went on"
    );
}

#[test]
fn a_late_failure_is_told_from_a_fast_fail_and_its_zombie_kept_as_evidence() {
    let t = runbook(|s| {
        s.orphan_amphorae.retain(|o| o.amphora_id == ZOMBIE);
        s.faults
            .push(octavia_fault(FaultKind::AmphoraBootTimeout, "/failover"));
    });
    let output = t.cmd().args(["failover", "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert!(
        err.contains("failed after 1m 48s: a late-flow failure")
            && err.contains("TimeOutException")
            && !err.contains("fast fail"),
        "{err}"
    );
    assert_eq!(failover_puts(&t).len(), 1, "never retried");
    // The scenario's zombie swept; the one the failed failover left is kept as the
    // cloud's record of it, and bars a retry from a run with another journal.
    assert_eq!(deletes(&t).len(), 1, "{:?}", deletes(&t));
    assert_eq!(
        amphora_servers(&t).len(),
        2,
        "the live amphora and the new zombie"
    );
    let output = from_another_journal(&t, &["failover", "--yes"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert!(
        err.contains("ACTIVE zombie") && err.contains("its last failover failed"),
        "{err}"
    );
    assert_eq!(failover_puts(&t).len(), 1, "never retried");
}

/// A tenant's server named `amphora-<uuid>`, and a service-project VM built from a
/// plain image: the first fails the project sign, the second the image sign.
fn with_lookalikes(s: &mut Scenario) {
    use twin::scenario::{FlavorSpec, ProjectSpec, ServerSpec, ServerStatus};
    s.projects.push(ProjectSpec {
        id: None,
        name: "tenant-a".into(),
    });
    let spec = |name: &str, project: &str, image: &str, flavor: &str| ServerSpec {
        id: None,
        name: name.into(),
        project: project.into(),
        status: ServerStatus::Active,
        host: Some("compute-1".into()),
        flavor: FlavorSpec {
            name: flavor.into(),
            ram: 1024,
            vcpus: 1,
            disk: 8,
        },
        fixed_ip: None,
        floating_ip: None,
        image: image.into(),
    };
    s.servers.push(spec(
        &format!("amphora-{TENANT_LOOKALIKE}"),
        "tenant-a",
        twin::cloud::AMPHORA_IMAGE,
        "charm-octavia",
    ));
    s.servers.push(spec(
        &format!("amphora-{SERVICE_LOOKALIKE}"),
        "service",
        twin::cloud::UBUNTU_IMAGE,
        "charm-octavia",
    ));
}

const TENANT_LOOKALIKE: &str = "aaaaaaaa-1111-4222-8333-444444444444";
const SERVICE_LOOKALIKE: &str = "bbbbbbbb-1111-4222-8333-444444444444";

#[test]
fn a_server_that_only_looks_like_an_amphora_is_reported_never_deleted() {
    let t = runbook(with_lookalikes);
    let output = t
        .cmd()
        .args(["sweep", "--yes", "-f", "json"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let swept = json(&output);
    assert_eq!(swept["deleted"].as_array().unwrap().len(), 2, "{swept}");
    let lookalikes = swept["lookalikes"].as_array().unwrap();
    let mut failed: Vec<(&str, &str)> = lookalikes
        .iter()
        .map(|l| (l["name"].as_str().unwrap(), l["failed"].as_str().unwrap()))
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            (&*format!("amphora-{TENANT_LOOKALIKE}"), "project"),
            (&*format!("amphora-{SERVICE_LOOKALIKE}"), "image"),
        ]
    );
    assert!(
        err.contains("looks like an amphora, is not provably one")
            && err.contains("is not tagged `octavia-amphora`"),
        "{err}"
    );
    // In the twin: both lookalikes still there, only Octavia's orphans deleted.
    let left = amphora_servers(&t);
    assert!(
        left.iter().any(|n| n.contains(TENANT_LOOKALIKE))
            && left.iter().any(|n| n.contains(SERVICE_LOOKALIKE)),
        "{left:?}"
    );
    let lookalike_ids: Vec<String> = t.steer(|c, _| {
        c.servers
            .iter()
            .filter(|s| s.name.contains(TENANT_LOOKALIKE) || s.name.contains(SERVICE_LOOKALIKE))
            .map(|s| s.id.clone())
            .collect()
    });
    assert!(
        deletes(&t)
            .iter()
            .all(|p| !lookalike_ids.iter().any(|id| p.contains(id))),
        "{:?}",
        deletes(&t)
    );
    // `status` reports them too, with the sign that failed.
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    let report = json(&output);
    let amphorae = layer(&report, "amphorae");
    assert!(
        amphorae["summary"]
            .as_str()
            .unwrap()
            .contains("2 lookalikes not provably Octavia's (left alone)"),
        "{amphorae}"
    );
}

const OTHER_APP_LB: &str = "9d2e4c1a-0b3f-4a5e-8c7d-6e5f4a3b2c1d";

#[test]
fn a_load_balancer_that_is_not_the_sites_is_reported_once_and_never_failed_over() {
    // Another application's load balancer in the management project, in ERROR too;
    // the site file (as `site discover` writes it) names only CAPO's.
    let t = runbook(|s| {
        let mut other = s.load_balancers[0].clone();
        other.id = OTHER_APP_LB.into();
        other.name = "web-frontend".into();
        other.floating_ip = None;
        other.amphorae.clear();
        s.load_balancers.push(other);
    });
    let output = t.cmd().args(["plan", "-f", "json"]).output().unwrap();
    let plan = json(&output).to_string();
    assert!(plan.contains("1 of 1 in provisioning ERROR"), "{plan}");

    let output = t.cmd().args(["failover", "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(
        err.matches("`web-frontend` (ERROR): not this site's")
            .count(),
        1,
        "said once: {err}"
    );
    let puts = failover_puts(&t);
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert!(puts[0].contains(LB) && !puts[0].contains(OTHER_APP_LB));

    // Named on the command line, it is still not the site's: bad input.
    let output = t
        .cmd()
        .args(["failover", OTHER_APP_LB, "--yes"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not in the site file's `load_balancers`"),
        "{err}"
    );
    assert_eq!(failover_puts(&t).len(), 1, "still one");
}

#[test]
fn failing_over_a_load_balancer_that_does_not_exist_is_bad_input() {
    let t = runbook(|_| {});
    // A valid uuid the site file names but Octavia does not know.
    let missing = "00000000-0000-4000-8000-000000000001";
    let site = t.files.site.clone();
    let text = std::fs::read_to_string(&site).unwrap();
    std::fs::write(
        &site,
        text.replace(
            "load_balancers:\n",
            &format!("load_balancers:\n- {missing}\n"),
        ),
    )
    .unwrap();
    let output = t
        .cmd()
        .args(["failover", missing, "--yes"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(failover_puts(&t).is_empty());
}

/// The scenario's zombie, a stale Juju login, and the model `juju capi-restore -c
/// prod -m openstack` passes on.
fn stale_login() -> TestTwin {
    runbook(|s| {
        s.juju_login_expired = true;
        s.orphan_amphorae.retain(|o| o.amphora_id == ZOMBIE);
        s.faults
            .push(octavia_fault(FaultKind::NoValidHost, "/failover"));
    })
}

/// Runs as another user would (sudo, cron, another jumphost): another state
/// directory, so another journal and no memory of this one's failovers.
fn from_another_journal(t: &TestTwin, args: &[&str]) -> std::process::Output {
    let elsewhere = tempfile::tempdir().unwrap();
    t.cmd()
        .env("XDG_STATE_HOME", elsewhere.path())
        .args(args)
        .output()
        .unwrap()
}

fn juju_calls(t: &TestTwin) -> Vec<twin::cloud::JujuCall> {
    t.steer(|c, _| c.juju_calls.clone())
}

#[test]
fn an_expired_juju_login_is_told_from_an_outage_by_juju_itself_and_said_once() {
    let t = stale_login();
    let output = t
        .cmd()
        .env("JUJU_MODEL", "openstack")
        .env("JUJU_CONTROLLER", "prod")
        .args(["failover", "--yes"])
        .output()
        .unwrap();
    let err = stderr(&output);
    // The failover fails fast (NoValidHost); its evidence would come from Juju too.
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert_eq!(
        err.matches("the Juju login has expired").count(),
        1,
        "said once, for the zombie's evidence; the worker log is not asked again: {err}"
    );
    assert!(
        err.contains("for model `prod:openstack`")
            && err.contains("it is the login, not the controller"),
        "{err}"
    );
    let calls = juju_calls(&t);
    // One `juju ssh`, then `juju status` in the same model to tell login from outage;
    // never a retry of the login.
    let commands: Vec<&str> = calls.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(commands, ["ssh", "status"], "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|c| c.model.as_deref() == Some("prod:openstack")),
        "{calls:?}"
    );
}

#[test]
fn on_a_terminal_an_expired_juju_login_may_prompt_and_the_run_goes_on() {
    let t = stale_login();
    // On a pseudo-terminal: yes to letting juju ask, a password at juju's prompt,
    // then yes to the delete.
    let line = format!("{} sweep", crate::harness::BIN);
    let (screen, ok) = t.on_a_pty(&line, b"y\ntwin-admin-password\ny\n");
    assert!(ok, "{screen}");
    assert!(
        screen.contains("with this terminal as its stdin")
            && screen.contains("please enter password for admin"),
        "{screen}"
    );
    // The health manager's word came through after the login.
    assert!(
        screen.contains(&format!("Amphora {ZOMBIE} health message")),
        "{screen}"
    );
    assert!(!t.steer(|c, _| c.juju_login_expired), "logged in");
    assert_eq!(deletes(&t).len(), 1, "and the sweep went on");
}

#[test]
fn sweeping_for_one_failover_never_erases_the_record_of_anothers_failed_failover() {
    const SECOND: &str = "4b1c2d3e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
    let t = runbook(|s| {
        // The first load balancer has a slot; the second failed over minutes ago (by
        // someone else's run) and left an ERROR orphan built during that flow.
        s.orphan_amphorae.retain(|o| o.amphora_id == ERROR_ORPHAN);
        s.orphan_amphorae[0].age = Duration::from_secs(4 * 60);
        s.hypervisors[1].other_usage.memory_mb -= 1024;
        let second = second_lb(s);
        assert_eq!(second.id, SECOND);
        s.load_balancers.push(second);
    });
    t.steer(|c, now| {
        let lb = c
            .load_balancers
            .iter_mut()
            .find(|lb| lb.id == SECOND)
            .unwrap();
        lb.updated = now
            .saturating_sub(jiff::SignedDuration::from_secs(180))
            .unwrap();
    });
    let output = t.cmd().args(["failover", "--yes"]).output().unwrap();
    let err = stderr(&output);
    // The first is failed over; the second is refused on the cloud's evidence, which
    // the first one's sweep kept.
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert!(err.contains("keeping") && err.contains(SECOND), "{err}");
    assert!(
        err.contains("the cloud shows that its last failover failed"),
        "{err}"
    );
    let puts = failover_puts(&t);
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert!(puts[0].contains(LB), "{puts:?}");
    assert!(
        deletes(&t).is_empty(),
        "the record is kept: {:?}",
        deletes(&t)
    );
}

#[test]
fn a_floating_ip_that_moved_with_the_failover_stops_the_run() {
    // A slot (no zombie holds it), and the failover moves the endpoint's floating IP
    // while the VIP and its port stay: compared with what it was before the request.
    let t = runbook(|s| s.orphan_amphorae.clear());
    t.steer(|c, _| {
        c.load_balancers[0].floating_ip_after_failover = Some("203.0.113.99".into());
    });
    let output = t.cmd().args(["failover", "--yes"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(16), "{err}");
    assert!(
        err.contains("floating IP 203.0.113.40 → 203.0.113.99")
            && err.contains("the workload cluster's endpoint moved"),
        "{err}"
    );
    assert_eq!(failover_puts(&t).len(), 1);
}
