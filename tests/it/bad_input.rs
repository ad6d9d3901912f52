//! Bad input gets a clear error saying what and what to do, and the right exit code.

use twin::scenario::{FaultKind, FaultSpec};

use crate::harness::{TestTwin, bare_cmd, json, layer, stderr};

fn fault(service: &str, kind: FaultKind, count: u32) -> FaultSpec {
    FaultSpec {
        count,
        path_contains: None,
        ..FaultSpec::new(service, kind)
    }
}

#[test]
fn a_malformed_site_file_points_at_the_line() {
    let t = TestTwin::default_scenario();
    let bad = t.path("bad-site.yaml");
    std::fs::write(&bad, "management:\n  project_id: 674171fd28d446d3a37073b6a761e910\n  floating_ip: 127.0.0.1\nload_balancers:\n  - 0f968008-...\n").unwrap();
    let output = t
        .cmd()
        .args(["--site", bad.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("line 5") && err.contains("not a UUID") && err.contains("site check"),
        "{err}"
    );
}

#[test]
fn a_missing_site_file_says_how_to_make_one() {
    let home = tempfile::tempdir().unwrap();
    let output = bare_cmd(home.path().to_path_buf())
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("site template"));
}

#[test]
fn a_malformed_clouds_yaml_points_at_the_line() {
    let t = TestTwin::default_scenario();
    std::fs::write(&t.files.clouds, "clouds:\n  twin:\n    auth: [\n").unwrap();
    let output = t.cmd().arg("status").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("clouds.yaml") && err.contains("line"), "{err}");
}

#[test]
fn an_unknown_cloud_lists_the_known_ones() {
    let t = TestTwin::default_scenario();
    let output = t
        .cmd()
        .args(["--cloud", "prod", "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("cloud `prod`")
            && err.contains("`twin`")
            && err.contains("`twin-capi-operator`"),
        "{err}"
    );
}

#[test]
fn no_credentials_anywhere_lists_every_source_tried() {
    let t = TestTwin::default_scenario();
    let output = bare_cmd(t.home.path().to_path_buf())
        .args(["--site", t.files.site.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    for source in ["OS_CLOUD", "OS_AUTH_URL", "clouds.yaml", "keyring"] {
        assert!(err.contains(source), "{source} not named in:\n{err}");
    }
}

#[test]
fn a_wrong_password_is_refused_without_echoing_it() {
    let t = TestTwin::default_scenario();
    let secure = std::fs::read_to_string(&t.files.secure)
        .unwrap()
        .replace("twin-admin-password", "hunter2-wrong");
    std::fs::write(&t.files.secure, secure).unwrap();
    let output = t.cmd().arg("status").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("refused user `admin`") && err.contains("check the password"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !String::from_utf8_lossy(&output.stdout).contains("hunter2")
    );
}

#[test]
fn an_admin_openrc_as_operators_source_it_just_works() {
    let t = TestTwin::default_scenario();
    let capi = t.twin.project_id("capi-mgmt").unwrap();
    // The runbook's preamble leaves OS_PROJECT_ID set next to the openrc's name.
    let output = bare_cmd(t.home.path().to_path_buf())
        .args([
            "--site",
            t.files.site.to_str().unwrap(),
            "status",
            "-f",
            "json",
        ])
        .envs([
            (
                "OS_AUTH_URL",
                t.twin.auth_url().trim_end_matches("/v3").to_string(),
            ),
            ("OS_USERNAME", "admin".into()),
            ("OS_PASSWORD", "twin-admin-password".into()),
            ("OS_USER_DOMAIN_NAME", "Default".into()),
            ("OS_PROJECT_NAME", "admin".into()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
            ("OS_PROJECT_ID", capi),
            ("OS_REGION_NAME", "RegionOne".into()),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(layer(&report, "vm")["summary"], "parked (SHUTOFF)");
    // What needs admin scope says exactly why there is none: the preamble scoped the
    // credentials to the management project. Not "use the admin-openrc": it was used.
    let amphorae = layer(&report, "amphorae").to_string();
    assert!(
        amphorae.contains("scoped to the management project itself")
            && !amphorae.contains("use the admin-openrc"),
        "{amphorae}"
    );
}

#[test]
fn a_short_burst_of_503s_is_retried_through() {
    let t = TestTwin::with(|s| {
        s.faults
            .push(fault("compute", FaultKind::ServiceUnavailable, 2))
    });
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(10));
    let report = json(&output);
    assert_eq!(layer(&report, "vm")["summary"], "parked (SHUTOFF)");
    assert!(
        stderr(&output).contains("retrying"),
        "retries are announced:\n{}",
        stderr(&output)
    );
}

#[test]
fn a_long_outage_leaves_the_row_unknown_with_the_services_answer() {
    let t = TestTwin::with(|s| {
        s.faults
            .push(fault("compute", FaultKind::ServiceUnavailable, 1000))
    });
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(4),
        "unknown is not red: the VM could not be observed, a cloud API failed"
    );
    let report = json(&output);
    assert_eq!(report["exit_code"], 4, "the JSON says the same code");
    assert_eq!(report["ending"]["result"], "unobserved");
    let vm = layer(&json(&output), "vm").clone();
    assert_eq!(vm["state"], "unknown");
    assert!(vm["evidence"][0].as_str().unwrap().contains("503"), "{vm}");
}

#[test]
fn garbage_json_is_reported_as_such() {
    let t = TestTwin::with(|s| {
        s.faults
            .push(fault("load-balancer", FaultKind::GarbageJson, 1000))
    });
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    let lbs = layer(&json(&output), "load-balancers").clone();
    assert_eq!(lbs["state"], "unknown");
    assert!(
        lbs["evidence"][0]
            .as_str()
            .unwrap()
            .contains("not the expected JSON"),
        "{lbs}"
    );
}

#[test]
fn https_with_the_twins_ca_works() {
    let t = TestTwin::default_over_tls();
    assert!(t.twin.auth_url().starts_with("https://127.0.0.1:"));
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    assert_eq!(layer(&json(&output), "vm")["summary"], "parked (SHUTOFF)");
}

#[test]
fn a_self_signed_endpoint_without_cacert_says_to_set_cacert() {
    let t = TestTwin::default_over_tls();
    let clouds = std::fs::read_to_string(&t.files.clouds).unwrap();
    let without: String = clouds
        .lines()
        .filter(|l| !l.contains("cacert:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&t.files.clouds, without).unwrap();
    let output = t.cmd().arg("status").output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a trust problem is configuration"
    );
    let err = stderr(&output);
    assert!(
        err.contains("TLS verification of `https://127.0.0.1:") && err.contains("set `cacert`"),
        "{err}"
    );
}

#[test]
fn a_hung_api_times_out_with_the_sites_timeout() {
    let t = TestTwin::with(|s| s.faults.push(fault("placement", FaultKind::Hang, 1000)));
    let site = std::fs::read_to_string(&t.files.site)
        .unwrap()
        .replace("timeout: 10s", "timeout: 300ms")
        .replace("retries: 3", "retries: 1");
    std::fs::write(&t.files.site, site).unwrap();
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    let headroom = layer(&json(&output), "headroom").clone();
    assert_eq!(headroom["state"], "unknown");
    assert!(
        headroom["evidence"][0]
            .as_str()
            .unwrap()
            .contains("did not answer")
            && headroom["evidence"][0].as_str().unwrap().contains("300ms"),
        "{headroom}"
    );
    assert_eq!(
        layer(&json(&output), "vm")["summary"],
        "parked (SHUTOFF)",
        "other layers are unaffected"
    );
}

#[test]
fn a_region_the_catalog_lacks_is_named_with_what_it_has() {
    let t = TestTwin::default_scenario();
    let clouds = std::fs::read_to_string(&t.files.clouds)
        .unwrap()
        .replace("region_name: RegionOne", "region_name: RegionTwo");
    std::fs::write(&t.files.clouds, clouds).unwrap();
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    let vm = layer(&json(&output), "vm").clone();
    assert_eq!(vm["state"], "unknown");
    let text = vm.to_string();
    assert!(
        text.contains("no `compute` endpoint for interface `public` in region `RegionTwo`")
            && text.contains("compute public RegionOne"),
        "{text}"
    );
}

#[test]
fn the_internal_interface_is_used_when_asked() {
    let t = TestTwin::default_scenario();
    let clouds = std::fs::read_to_string(&t.files.clouds)
        .unwrap()
        .replace("interface: public", "interface: internal");
    std::fs::write(&t.files.clouds, clouds).unwrap();
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
}

#[test]
fn secrets_never_reach_the_logs_even_at_trace() {
    let t = TestTwin::with(|s| {
        s.faults
            .push(fault("compute", FaultKind::ServiceUnavailable, 1))
    });
    let output = t
        .cmd()
        .args(["-vv", "status"])
        .env("JUJU_CAPI_RESTORE_LOG", "trace")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(
        all.contains("GET http://127.0.0.1:"),
        "the trace shows requests: {all}"
    );
    let tokens: Vec<String> = t.steer(|c, _| c.tokens.keys().cloned().collect());
    assert!(!tokens.is_empty());
    for secret in tokens
        .iter()
        .map(String::as_str)
        .chain(["twin-admin-password"])
    {
        assert!(!all.contains(secret), "a secret reached the output");
    }
}

#[test]
fn a_non_utf8_environment_variable_is_named_never_printed_and_never_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let t = TestTwin::default_scenario();
    // A Latin-1 password, as an old terminal or a cron file would pass it.
    let latin1 = std::ffi::OsStr::from_bytes(b"s\xe9cr\xe9t-pa\xdfword");
    let output = t
        .cmd()
        .env("OS_PASSWORD", latin1)
        .arg("status")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`OS_PASSWORD`") && err.contains("not valid UTF-8"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let raw = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
    assert!(
        !raw.windows(3).any(|w| w == b"cr\xe9") && !err.contains("cr\u{fffd}t"),
        "the value is never printed"
    );
    // A variable the tool does not read is ignored.
    let output = t
        .cmd()
        .env("SOME_LEGACY_SETTING", latin1)
        .args(["status", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
}

#[test]
fn keystone_is_retried_like_every_other_service() {
    // One 503 on login: retried, the run goes on.
    let t = TestTwin::with(|s| {
        s.faults
            .push(fault("identity", FaultKind::ServiceUnavailable, 1))
    });
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(10), "{err}");
    assert!(
        err.contains("keystone login failed") && err.contains("retrying"),
        "{err}"
    );
}

#[test]
fn one_garbage_answer_is_retried_once_then_named_with_its_url() {
    let t = TestTwin::with(|s| {
        s.faults
            .push(fault("load-balancer", FaultKind::GarbageJson, 1))
    });
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    let err = stderr(&output);
    let lbs = layer(&json(&output), "load-balancers").clone();
    assert_eq!(lbs["state"], "red", "read again, and right: {lbs}");
    assert!(err.contains("retrying once"), "{err}");
    // Garbage twice: reported with the service and the URL, never retried forever.
    let t = TestTwin::with(|s| {
        s.faults
            .push(fault("load-balancer", FaultKind::GarbageJson, 1000))
    });
    let output = t.cmd().args(["status", "-f", "json"]).output().unwrap();
    let lbs = layer(&json(&output), "load-balancers").clone();
    let evidence = lbs["evidence"][0].as_str().unwrap();
    assert!(
        evidence.contains("octavia") && evidence.contains("/v2/lbaas/loadbalancers"),
        "{lbs}"
    );
    let requests = t
        .twin
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/lbaas/loadbalancers"))
        .count();
    assert!(
        requests <= 4,
        "retried once per read, not forever: {requests}"
    );
}

#[test]
fn paths_that_cannot_be_used_are_bad_input_naming_the_path_never_a_lock_conflict() {
    let t = TestTwin::default_scenario();
    // A regular file where a directory must be: fails for root too.
    let file = t.path("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let under_file = file.join("state");

    // The state directory (lock and journal).
    let output = t
        .cmd()
        .env("XDG_STATE_HOME", &under_file)
        .args(["sweep"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains(under_file.to_str().unwrap()), "{err}");

    // --file-secrets somewhere that cannot hold a directory.
    let output = t
        .cmd()
        .args(["park", "--yes", "--force", "--file-secrets"])
        .arg(&under_file)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert!(
        output.status.code() == Some(2) && err.contains(under_file.to_str().unwrap()),
        "{:?}: {err}",
        output.status.code()
    );

    // A --scenario file that does not exist.
    let missing = t.path("no-such-scenario.yaml");
    let output = bare_cmd(t.home.path().to_path_buf())
        .args(["demo", "--scenario"])
        .arg(&missing)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains(missing.to_str().unwrap()), "{err}");

    // A kubeconfig path that cannot be written (on a stack that is up).
    let t = TestTwin::with(|s| s.servers[0].status = twin::scenario::ServerStatus::Active);
    let mut site = capi_restore::site::Site::load(&t.files.site).unwrap();
    site.management.kubeconfig = under_file.join("capi-mgmt.kubeconfig");
    std::fs::write(&t.files.site, site.to_yaml()).unwrap();
    let output = t.cmd().arg("kubeconfig").output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains(under_file.to_str().unwrap()), "{err}");
}

#[test]
fn a_twin_clock_in_a_real_clouds_site_file_is_refused_before_anything_is_asked() {
    let t = TestTwin::default_scenario();
    // The twin's site file (with its `twin:` time scale), pointed at a real cloud's
    // Keystone: refused before any connection, so every deadline stays real.
    let output = bare_cmd(t.home.path().to_path_buf())
        .args(["--site", t.files.site.to_str().unwrap(), "status"])
        .envs([
            ("OS_AUTH_URL", "https://keystone.example.com:5000/v3"),
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", "x"),
            ("OS_PROJECT_NAME", "admin"),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_PROJECT_DOMAIN_NAME", "Default"),
        ])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("`twin:` section"), "{err}");
}
