//! Every parser of outside input, fuzzed (issue 13, part 4): arbitrary input and
//! valid input mutated byte by byte (deleted, inserted, replaced, truncated), each
//! parser `CASES` times per strategy. The property is the same everywhere: no panic,
//! and a refusal is an error that says something (never an empty message).
//!
//! `cargo test --test parsers -- --nocapture` prints the cases run per parser.

use std::path::Path;

use capi_restore::cloud::credentials::{Env, SecretStore};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

/// Cases per parser and strategy.
const CASES: u32 = 2000;

/// Valid inputs as the outside world gives them.
const UPTIME: &str = " 14:02:11 up 20 min,  1 user,  load average: 3.10, 2.50, 1.20\n";
const K8S_PLAIN: &str = "cluster status:           ready\ncontrol plane nodes:       192.0.2.15:6400 (voter)\nhigh availability:        no\ndatastore:                k8s-dqlite\nnetwork:                  enabled\ndns:                      enabled at 192.0.2.53\ningress:                  disabled\nload-balancer:            disabled\nlocal-storage:            enabled at /var/snap/k8s/common/rawfile-storage\ngateway                   enabled\n";
const K8S_JSON: &str = r#"{"ready":true,"members":[{"name":"capi-mgmt-v2","address":"192.0.2.15:6400","cluster-role":"voter","datastore-role":"voter"}],"config":{"network":{"enabled":true}},"datastore":{"type":"k8s-dqlite"}}"#;
const K8S_NOISE: &str = "Error: The node is not part of a Kubernetes cluster. You can bootstrap a new cluster with:\n\n  sudo k8s bootstrap\nError: failed to get cluster status: Get \"http://localhost/1.0/k8sd/cluster\": dial unix /var/snap/k8s/common/var/lib/k8sd/state/control.socket: connect: no such file or directory\n";
const MACHINE: &str = r#"{"apiVersion":"cluster.x-k8s.io/v1beta1","kind":"Machine","metadata":{"name":"capi-test-1-control-plane-x","namespace":"magnum-674171fd28d446d3a37073b6a761e910"},"status":{"phase":"Running","nodeRef":{"name":"n"},"conditions":[{"type":"Ready","status":"True","reason":"","message":""}]}}"#;
const CLUSTER: &str = r#"{"apiVersion":"cluster.x-k8s.io/v1beta1","kind":"Cluster","metadata":{"name":"capi-test-1"},"status":{"phase":"Provisioned","infrastructureReady":true,"controlPlaneReady":true,"conditions":[{"type":"Ready","status":"True"},{"type":"Available","status":"False","reason":"x","message":"y"}],"v1beta2":{"conditions":[{"type":"Available","status":"True"}]}}}"#;
const SERVER: &str = r#"{"id":"5d0c3e8a-7b1f-4c2a-9e6d-2f8b4a1c7e90","name":"capi-mgmt-v2","status":"SHUTOFF","OS-EXT-STS:task_state":null,"OS-EXT-STS:vm_state":"stopped","tenant_id":"674171fd28d446d3a37073b6a761e910","flavor":{"original_name":"gp.mid","vcpus":2,"ram":4096,"disk":40},"image":"","addresses":{"net":[{"addr":"192.0.2.10","OS-EXT-IPS:type":"fixed"}]},"created":"2026-11-01T10:00:00Z","updated":"2026-12-01T10:00:00Z","metadata":{}}"#;
const LOAD_BALANCER: &str = r#"{"id":"0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17","name":"k8s-clusterapi-cluster-magnum-x-capi-test-1-kubeapi","provisioning_status":"ERROR","operating_status":"ONLINE","vip_address":"192.0.2.100","vip_port_id":"p","project_id":"674171fd28d446d3a37073b6a761e910","updated_at":"2026-12-01T10:00:00"}"#;
const AMPHORA: &str = r#"{"id":"c81d4e2f-6a7b-4c8d-9e1f-2a3b4c5d6e7f","loadbalancer_id":"0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17","compute_id":"7cfaa609-6dc8-5f97-9a50-142e5e6d104f","status":"ALLOCATED","role":"STANDALONE","ha_ip":"192.0.2.100","lb_network_ip":"192.0.2.5"}"#;
const MAGNUM: &str = r#"{"uuid":"2e6a4f8c-0b1d-4e3f-9a5c-7d8e9f0a1b2c","name":"capi-test-1","status":"CREATE_COMPLETE","health_status":"UNHEALTHY","health_status_reason":{"api":"ok"},"project_id":"674171fd28d446d3a37073b6a761e910"}"#;
const PROVIDER: &str = r#"{"uuid":"u","name":"compute-1.maas","generation":3}"#;
const INVENTORY: &str = r#"{"total":86016,"reserved":512,"allocation_ratio":1.5,"max_unit":86016,"min_unit":1,"step_size":1}"#;
const CLOUDS: &str = "clouds:\n  twin:\n    auth_type: password\n    region_name: RegionOne\n    interface: public\n    identity_api_version: 3\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: admin\n      password: pw\n      user_domain_name: Default\n      project_name: admin\n      project_domain_name: Default\n";
const PARAMS: &str = r#"{"confirm": true, "dry-run": false, "until": "load-balancers", "load-balancers": ["0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17"], "file-secrets": "/var/lib/x", "run": "20261201T205522Z-restore-10473"}"#;
const WINDOW: &str = "name: weekend\npark: Fri 22:00\nrestore: Mon..Fri 06:00\ntime_zone: Europe/Berlin\nsite: /etc/juju-capi-restore/site.yaml\nscheduler: cron\npreflight: 1h\nenvironment:\n  A: b\n";

/// Runs `check` on `CASES` arbitrary strings and `CASES` mutations of `valid`;
/// returns the cases run.
fn fuzz(name: &str, valid: &str, check: impl Fn(&str)) -> u32 {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&any::<String>(), |text| {
            check(&text);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}, arbitrary input: {e}"));
    let bytes = valid.as_bytes().to_vec();
    let mutations = prop::collection::vec((0..bytes.len().max(1), any::<u8>(), 0u8..4), 1..8);
    runner
        .run(&mutations, |edits| {
            let mut b = bytes.clone();
            for (at, byte, how) in edits {
                let at = at.min(b.len());
                match how {
                    0 if at < b.len() => {
                        b.remove(at);
                    }
                    1 => b.insert(at, byte),
                    2 if at < b.len() => b[at] = byte,
                    _ => b.truncate(at),
                }
            }
            check(&String::from_utf8_lossy(&b));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}, mutated valid input: {e}"));
    println!("{name}: {} cases, no panic", 2 * CASES);
    2 * CASES
}

/// A refusal that says nothing is a bug too.
fn said(e: impl std::fmt::Display) {
    assert!(!e.to_string().trim().is_empty(), "an empty error message");
}

/// Parses JSON and hands it over; text that is not JSON is the JSON parser's to refuse.
fn json(text: &str, then: impl Fn(Value)) {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => then(v),
        Err(e) => said(e),
    }
}

/// Deserializes an API object, refusing with a message.
fn typed<T: serde::de::DeserializeOwned>(text: &str) {
    if let Err(e) = serde_json::from_str::<T>(text) {
        said(e);
    }
}

struct NoKeyring;

impl SecretStore for NoKeyring {
    fn lookup(&self, _cloud: &str) -> Result<Option<secrecy::SecretString>, String> {
        Ok(None)
    }
    fn describe(&self) -> String {
        "no keyring".into()
    }
}

fn in_file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_hosts_text_parsers_never_panic() {
    use capi_restore::host::{k8s_status, uptime};
    let mut cases = 0;
    cases += fuzz("uptime", UPTIME, |t| {
        let _ = uptime::parse(t);
    });
    cases += fuzz("k8s status (plain)", K8S_PLAIN, |t| {
        let _ = k8s_status::parse_plain(t);
        let _ = k8s_status::read(t, "");
    });
    cases += fuzz("k8s status (json)", K8S_JSON, |t| {
        let _ = k8s_status::parse_json(t);
        let _ = k8s_status::parse_yaml(t);
    });
    cases += fuzz("k8s status (noise on stderr)", K8S_NOISE, |t| {
        let _ = k8s_status::classify(t);
        let _ = k8s_status::read("", t);
        let _ = k8s_status::rejects_the_flag(t);
    });
    println!("host parsers: {cases} cases");
}

#[test]
fn the_kubectl_json_readers_never_panic() {
    use capi_restore::capi;
    let mut cases = 0;
    cases += fuzz("kubectl Machine", MACHINE, |t| {
        json(t, |v| {
            let _ = capi::machine(&v);
            let _ = capi::conditions(&v);
            let _ = capi::is_ready(&v);
        })
    });
    cases += fuzz("kubectl Cluster", CLUSTER, |t| {
        json(t, |v| {
            let _ = capi::cluster(&v);
            let _ = capi::openstack_cluster(&v);
            let _ = capi::health_check(&v);
        })
    });
    println!("kubectl readers: {cases} cases");
}

#[test]
fn every_apis_json_is_read_or_refused_with_a_message() {
    use capi_restore::cloud::{magnum, nova, octavia, placement};
    let mut cases = 0;
    cases += fuzz("nova server", SERVER, typed::<nova::Server>);
    cases += fuzz(
        "octavia load balancer",
        LOAD_BALANCER,
        typed::<octavia::LoadBalancer>,
    );
    cases += fuzz("octavia amphora", AMPHORA, typed::<octavia::Amphora>);
    cases += fuzz("magnum cluster", MAGNUM, typed::<magnum::Cluster>);
    cases += fuzz(
        "placement resource provider",
        PROVIDER,
        typed::<placement::ResourceProvider>,
    );
    cases += fuzz(
        "placement inventory",
        INVENTORY,
        typed::<placement::Inventory>,
    );
    println!("API objects: {cases} cases");
}

#[test]
fn action_params_are_read_or_refused_with_a_message() {
    use capi_restore::charm::params::Params;
    let cases = fuzz("action params", PARAMS, |text| match Params::parse(text) {
        Ok(p) => {
            for flag in ["confirm", "dry-run", "strict-order", "force", "markdown"] {
                if let Err(e) = p.flag(flag) {
                    said(e);
                }
            }
            for text in ["until", "file-secrets", "run"] {
                if let Err(e) = p.text(text) {
                    said(e);
                }
            }
            if let Err(e) = p.list("load-balancers") {
                said(e);
            }
        }
        Err(e) => said(e),
    });
    println!("action params: {cases} cases");
}

#[test]
fn the_operators_files_are_read_or_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = 0;
    cases += fuzz("site file", include_str!("../templates/site.yaml"), |t| {
        if let Err(e) = capi_restore::site::Site::parse(t) {
            said(e);
        }
    });
    cases += fuzz("window definition", WINDOW, |t| {
        let path = in_file(dir.path(), "w.yaml", t);
        if let Err(e) = capi_restore::window::Window::load(&path) {
            said(e);
        }
    });
    cases += fuzz("window schedule", "Mon..Fri 22:00", |t| {
        if let Err(e) = capi_restore::window::Schedule::parse(t) {
            said(e);
        }
    });
    cases += fuzz("clouds.yaml", CLOUDS, |t| {
        let path = in_file(dir.path(), "clouds.yaml", t);
        let p = path.to_str().unwrap();
        let env = Env::from_pairs([("OS_CLIENT_CONFIG_FILE", p), ("OS_CLOUD", "twin")]);
        if let Err(e) = capi_restore::cloud::credentials::resolve(None, &env, &NoKeyring) {
            said(e);
        }
    });
    cases += fuzz("OS_* variables", "http://127.0.0.1:5000/v3", |t| {
        let env = Env::from_pairs([
            ("OS_AUTH_URL", t),
            ("OS_USERNAME", t),
            ("OS_PASSWORD", "pw"),
            ("OS_PROJECT_NAME", t),
            ("OS_INTERFACE", t),
            ("OS_REGION_NAME", t),
        ]);
        if let Err(e) = capi_restore::cloud::credentials::resolve(None, &env, &NoKeyring) {
            said(e);
        }
    });
    cases += fuzz(
        "journal",
        include_str!("fixtures/journal-v0.1-restore-fast-fail.jsonl"),
        |t| {
            let path = in_file(dir.path(), "run.jsonl", t);
            let _ = capi_restore::journal::read(&path);
        },
    );
    println!("operator files: {cases} cases");
}
