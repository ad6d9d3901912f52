//! The binary as Juju and a person first meet it.

use crate::harness::bare_cmd;

#[test]
fn description_is_one_line_and_touches_nothing() {
    let home = tempfile::tempdir().unwrap();
    // A HOME that does not exist and no config: --description must not care.
    let output = bare_cmd(home.path().join("absent"))
        .current_dir(home.path())
        .arg("--description")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(stdout.contains("Cluster-API"));
    assert!(output.stderr.is_empty());
    assert_eq!(
        std::fs::read_dir(home.path()).unwrap().count(),
        0,
        "--description wrote to disk"
    );
}

#[test]
fn demo_restores_the_parked_stack_with_no_cloud() {
    let home = tempfile::tempdir().unwrap();
    // 600x: the 21-minute cold start takes about two seconds.
    let output = bare_cmd(home.path().to_path_buf())
        .args(["demo", "--time-scale", "600", "-f", "json"])
        .output()
        .unwrap();
    let err = crate::harness::stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("nothing leaves this machine"));
    for step in [
        "starting `capi-mgmt-v2`",
        "SSH-PORT-OK",
        "cluster status: ready",
        "kubeconfig",
        "journal: ",
    ] {
        assert!(
            err.contains(step),
            "{step} missing from the demo's progress:\n{err}"
        );
    }
    let report = crate::harness::json(&output);
    for row in report["layers"].as_array().unwrap() {
        assert_eq!(row["state"], "green", "{row}");
    }
    // The whole runbook, Octavia included: the twin's orphans swept, then the failover.
    assert!(
        err.contains("deleted") && err.contains("failover succeeded"),
        "{err}"
    );
    // Done is the runbook's done: its final verify says SUCCESS, and the exit code
    // is the one the verdict prints.
    assert!(
        err.contains("verify: SUCCESS") && err.contains("(exit code 0)"),
        "{err}"
    );
    assert_eq!(report["exit_code"], 0);
}

#[test]
fn site_template_is_valid_and_check_fills_defaults() {
    let home = tempfile::tempdir().unwrap();
    let template = bare_cmd(home.path().to_path_buf())
        .args(["site", "template"])
        .output()
        .unwrap();
    assert!(template.status.success());
    let site = home.path().join("site.yaml");
    std::fs::write(&site, &template.stdout).unwrap();
    let check = bare_cmd(home.path().to_path_buf())
        .args(["--site", site.to_str().unwrap(), "site", "check"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", crate::harness::stderr(&check));
    let text = String::from_utf8(check.stdout).unwrap();
    assert!(
        text.contains("server: capi-mgmt-v2") && text.contains("k8s_convergence: 30m"),
        "{text}"
    );
}

#[test]
fn no_command_prints_help_and_fails() {
    let home = tempfile::tempdir().unwrap();
    let output = bare_cmd(home.path().to_path_buf()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(crate::harness::stderr(&output).contains("Usage"));
}

/// Runs `args` with `-f json` and with `-f yaml`; both must parse with a real parser
/// (serde_json, serde-saphyr) to the same value, which is returned.
fn both_formats(t: &crate::harness::TestTwin, args: &[&str]) -> serde_json::Value {
    let run = |format: &str| {
        let output = t.cmd().args(args).args(["-f", format]).output().unwrap();
        assert!(
            !output.stdout.is_empty(),
            "{args:?} -f {format} printed nothing: {}",
            crate::harness::stderr(&output)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&run("json"))
        .unwrap_or_else(|e| panic!("{args:?} -f json is not JSON: {e}"));
    let yaml: serde_json::Value = serde_saphyr::from_str(&run("yaml"))
        .unwrap_or_else(|e| panic!("{args:?} -f yaml is not YAML: {e}"));
    // Two runs, a moment apart: times and counters may move, nothing else.
    fn steady(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::String(s) => serde_json::Value::String(
                s.chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect(),
            ),
            serde_json::Value::Number(_) => serde_json::json!("#"),
            serde_json::Value::Array(a) => a.iter().map(steady).collect(),
            serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), steady(v))).collect(),
            other => other.clone(),
        }
    }
    assert_eq!(
        steady(&json),
        steady(&yaml),
        "{args:?}: JSON and YAML say the same"
    );
    json
}

#[test]
fn every_command_that_takes_a_format_gives_json_and_yaml_that_parse() {
    // Up and healthy, so that `kubeconfig`, `verify` and an empty `failover` answer.
    let t = crate::harness::TestTwin::with(|s| {
        s.servers[0].status = twin::scenario::ServerStatus::Active;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
        s.orphan_amphorae.clear();
    });
    let status = both_formats(&t, &["status"]);
    // A key is null, never absent.
    for row in status["layers"].as_array().unwrap() {
        assert!(row.as_object().unwrap().contains_key("next"), "{row}");
    }
    assert!(status.as_object().unwrap().contains_key("verdict"));
    // A green layer does not read as a failure: the D-042 signature is named.
    let magnum = crate::harness::layer(&status, "magnum");
    assert_eq!(magnum["state"], "green");
    assert!(
        magnum["summary"]
            .as_str()
            .unwrap()
            .ends_with("UNHEALTHY (D-042: cosmetic, known good)"),
        "{magnum}"
    );
    both_formats(&t, &["plan"]);
    both_formats(&t, &["headroom"]);
    both_formats(&t, &["site", "template"]);
    let checked = both_formats(&t, &["site", "check"]);
    assert_eq!(checked["valid"], true);
    assert!(
        checked["site"]["octavia"]
            .as_object()
            .unwrap()
            .contains_key("amphora_project_id")
    );
    let written = both_formats(&t, &["kubeconfig"]);
    assert_eq!(written["mode"], "0600");
    let none: serde_json::Value = both_formats(&t, &["failover", "--yes"]);
    assert_eq!(none, serde_json::json!([]));
    let verified = both_formats(&t, &["verify"]);
    assert_eq!(verified["verdict"], "SUCCESS", "{verified}");
    assert_eq!(verified["exit_code"], 0);
    let runs = both_formats(&t, &["journal"]);
    assert!(runs.as_array().unwrap().len() >= 2, "{runs}");
    assert!(runs[0].as_object().unwrap().contains_key("exit_code"));
    let latest = both_formats(&t, &["journal", "latest"]);
    assert!(!latest["entries"].as_array().unwrap().is_empty());
}
