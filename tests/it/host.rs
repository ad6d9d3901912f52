//! The management host through `status`: ssh-port gate and cold-start-aware
//! Kubernetes readiness, against the twin (ssh through the `twin-ssh` shim).

use std::time::{Duration, Instant};

use twin::scenario::ServerStatus;

use crate::harness::{TestTwin, json, layer, stderr};

fn status(t: &TestTwin) -> serde_json::Value {
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert!(
        output.status.code().is_some_and(|c| c == 0 || c >= 10),
        "{}",
        stderr(&output)
    );
    json(&output)
}

#[test]
fn a_cold_start_goes_from_shutoff_through_the_noise_to_ready() {
    // 600x: sshd opens 0.35 s after ACTIVE, Kubernetes converges in ~2.1 s.
    let t = TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = Duration::from_secs(86400 * 30);
    });
    t.steer(|c, now| {
        let id = c.management_server_id.clone();
        c.start_server(&id, now).unwrap();
    });
    let mut seen = Vec::new();
    let mut noise_seen = false;
    let started = Instant::now();
    loop {
        let report = status(&t);
        let (ssh, k8s) = (layer(&report, "ssh"), layer(&report, "kubernetes"));
        let state = format!(
            "{}/{}",
            ssh["state"].as_str().unwrap(),
            k8s["state"].as_str().unwrap()
        );
        if k8s["summary"] == "converging: k8s status not answering yet" {
            assert_eq!(
                k8s["diagnosis"][0]["rule"], "cold-start-noise",
                "errors while converging are expected noise: {k8s}"
            );
            noise_seen = true;
        }
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if k8s["state"] == "green" {
            assert!(k8s["evidence"].to_string().contains("(voter)"), "{k8s}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never converged: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        noise_seen,
        "the cold-start noise was reported as expected: {seen:?}"
    );
    assert_eq!(seen.last().unwrap(), "green/green");
}

#[test]
fn a_parked_vms_ssh_port_answers_nothing() {
    // The floating IP of a VM that is not running: nobody answers the SYN, so the
    // probe times out (the runbook's `timeout 5`), where a live host would refuse.
    let t = TestTwin::default_scenario();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], t.twin.ssh_port()));
    let state =
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(capi_restore::host::tcp_probe::probe(
                addr,
                Duration::from_millis(300),
            ));
    assert_eq!(state, capi_restore::host::tcp_probe::PortState::NoAnswer);
    let ssh = layer(&status(&t), "ssh").clone();
    assert!(ssh["summary"] != "SSH-PORT-OK", "{ssh}");
}

#[test]
fn sshd_that_never_opens_is_red_with_what_it_means() {
    let t = TestTwin::with(|s| {
        s.servers[0].status = ServerStatus::Active;
        s.management.sshd_never_opens = true;
    });
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(11),
        "ssh is the lowest red layer"
    );
    let ssh = layer(&json(&output), "ssh").clone();
    assert_eq!(ssh["summary"], "sshd not listening yet");
    assert!(ssh["next"].as_str().unwrap().contains("3.5 min"));
    assert_eq!(
        layer(&json(&output), "kubernetes")["summary"],
        "not probed: waiting for `ssh`"
    );
}

#[test]
fn kubernetes_that_never_converges_is_red_past_the_window() {
    // The VM booted a day ago; the cluster is still not answering.
    let t = TestTwin::with(|s| {
        s.servers[0].status = ServerStatus::Active;
        s.management.k8s_never_ready = true;
    });
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(12), "{}", stderr(&output));
    let k8s = layer(&json(&output), "kubernetes").clone();
    assert_eq!(k8s["state"], "red");
    assert!(
        k8s["summary"]
            .as_str()
            .unwrap()
            .starts_with("not converged"),
        "{k8s}"
    );
    assert!(k8s["next"].as_str().unwrap().contains("restarts nothing"));
    assert!(
        k8s["evidence"]
            .to_string()
            .contains("context deadline exceeded")
    );
}

mod gates {
    use std::time::Duration;

    use capi_restore::cloud::Session;
    use capi_restore::commands::twin::admin_cloud;
    use capi_restore::engine::host_chain::{await_kubernetes_ready, await_ssh_port};
    use capi_restore::engine::wait::WaitError;
    use capi_restore::layers::{Probe, kubernetes};
    use capi_restore::site::Site;
    use twin::scenario::ServerStatus;

    use crate::harness::TestTwin;

    fn parts(t: &TestTwin, edit: impl FnOnce(&mut Site)) -> (Session, Site) {
        let mut site = Site::load(&t.files.site).unwrap();
        site.poll.ssh_port = Duration::from_millis(50);
        site.poll.k8s = Duration::from_millis(100);
        edit(&mut site);
        let session = Session::new(
            admin_cloud(&t.twin),
            site.management.project_id.clone(),
            site.http.clone(),
        )
        .unwrap();
        (session, site)
    }

    #[tokio::test]
    async fn the_gates_carry_a_cold_start_from_shutoff_to_ready() {
        let t = TestTwin::with(|s| {
            s.time_scale = 600.0;
            s.token_ttl = Duration::from_secs(86400 * 30);
        });
        let (session, site) = parts(&t, |_| {});
        let p = Probe {
            session: &session,
            site: &site,
        };
        t.steer(|c, now| {
            let id = c.management_server_id.clone();
            c.start_server(&id, now).unwrap();
        });
        // Booting, the VM's address drops the SYN (no answer); then the host refuses
        // until sshd listens.
        let mut seen = Vec::new();
        let gate = await_ssh_port(p, |a| seen.push(a.evidence.to_string()))
            .await
            .unwrap();
        assert!(
            seen.iter()
                .all(|e| e == "connection refused" || e.starts_with("no answer within 5 s")),
            "{seen:?}"
        );
        assert!(
            seen[0].starts_with("no answer"),
            "the boot drops SYNs: {seen:?}"
        );
        assert_eq!(
            gate.attempts as usize,
            seen.len() + 1,
            "sshd lagged ACTIVE: {seen:?}"
        );
        let mut noise = 0;
        let ready = await_kubernetes_ready(p, 2, |a| {
            noise += u32::from(a.evidence.contains("expected during the cold start"))
        })
        .await
        .unwrap();
        assert!(
            noise >= 1,
            "the cold-start noise was seen and waited through"
        );
        assert!(
            matches!(ready.value.reading, capi_restore::host::k8s_status::Reading::Status(ref s) if s.ready)
        );
    }

    #[tokio::test]
    async fn sshd_never_opening_ends_the_gate_at_its_deadline() {
        let t = TestTwin::with(|s| {
            s.servers[0].status = ServerStatus::Active;
            s.management.sshd_never_opens = true;
        });
        let (session, site) = parts(&t, |s| s.timeouts.ssh_port = Duration::from_millis(400));
        let e = await_ssh_port(
            Probe {
                session: &session,
                site: &site,
            },
            |_| {},
        )
        .await
        .unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, WaitError::Deadline { attempts, .. } if attempts >= 5),
            "{text}"
        );
        assert!(
            text.contains("not reached within 400ms")
                && text.contains("last seen: connection refused"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn kubernetes_never_converging_stops_past_the_window_with_evidence() {
        let t = TestTwin::with(|s| {
            s.servers[0].status = ServerStatus::Active;
            s.management.k8s_never_ready = true;
        });
        let (session, site) = parts(&t, |_| {});
        let e = await_kubernetes_ready(
            Probe {
                session: &session,
                site: &site,
            },
            2,
            |_| {},
        )
        .await
        .unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, WaitError::Failed(kubernetes::NotReady::Window(_))),
            "{text}"
        );
        assert!(
            text.contains("did not converge")
                && text.contains("context deadline exceeded")
                && text.contains("restarts nothing"),
            "{text}"
        );
    }
}

#[test]
fn older_snaps_are_read_through_their_own_flag_or_plain_text() {
    for flag in [
        twin::scenario::StatusFlag::Format,
        twin::scenario::StatusFlag::None,
    ] {
        let t = TestTwin::with(|s| {
            s.servers[0].status = ServerStatus::Active;
            s.management.k8s_status_flag = flag;
        });
        let k8s = layer(&status(&t), "kubernetes").clone();
        assert_eq!(k8s["state"], "green", "{flag:?}: {k8s}");
    }
}

#[test]
fn the_runbooks_readiness_poll_runs_unchanged_through_the_ssh_stand_in() {
    let t = TestTwin::with(|s| s.servers[0].status = ServerStatus::Active);
    // Runbook Step 3's remote line, as the runbook passes it to ssh: a pipe, a
    // redirection and `2>&1`, run by a real shell with the VM's programs on its PATH.
    let output = std::process::Command::new(crate::harness::BIN)
        .args(["twin-ssh", "--twin", t.twin.base_url(), "-i", "/dev/null"])
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-p",
        ])
        .arg(t.twin.ssh_port().to_string())
        .args([
            "ubuntu@127.0.0.1",
            "uptime; sudo k8s status 2>&1 </dev/null | head -4",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains(" up ") && lines[0].contains("load average:"),
        "{text}"
    );
    assert_eq!(
        lines.len(),
        5,
        "uptime, then `head -4` of k8s status:\n{text}"
    );
    assert!(lines[1].starts_with("cluster status:"), "{text}");
    // And the runbook's kubeconfig line: its bare `server=` is not the flag, so the
    // kubeconfig names the node's own address (the trap the tool's `--server` avoids).
    let output = std::process::Command::new(crate::harness::BIN)
        .args(["twin-ssh", "--twin", t.twin.base_url(), "-p"])
        .arg(t.twin.ssh_port().to_string())
        .args([
            "ubuntu@127.0.0.1",
            "sudo k8s config server=https://127.0.0.1:6443 </dev/null",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("server: https://192.0.2.15:6443"), "{text}");
}
