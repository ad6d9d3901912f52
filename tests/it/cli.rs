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
