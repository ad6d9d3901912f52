//! `site discover`: the runbook's literals found in the cloud, written without loss.

use capi_restore::site::Site;

use crate::harness::{TestTwin, stderr};

#[test]
fn discover_finds_the_runbooks_literals() {
    let t = TestTwin::default_scenario();
    let output = t.cmd().args(["site", "discover"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let found = Site::parse(&String::from_utf8(output.stdout).unwrap()).unwrap();
    let expected = Site::load(&t.files.site).unwrap();
    let m = |s: &Site| {
        (
            s.management.project_id.clone(),
            s.management.server.clone(),
            s.management.floating_ip,
        )
    };
    assert_eq!(m(&found), m(&expected));
    assert_eq!(found.load_balancers, expected.load_balancers);
    assert_eq!(found.magnum_clusters, ["capi-test-1"]);
}

#[test]
fn discover_writes_a_usable_site_and_never_loses_an_existing_one() {
    let t = TestTwin::default_scenario();
    let path = t.path("new-site.yaml");
    let site = path.to_str().unwrap();
    let written = t
        .cmd()
        .args(["--site", site, "site", "discover", "--write"])
        .output()
        .unwrap();
    assert!(written.status.success(), "{}", stderr(&written));
    let status = t.cmd().args(["--site", site, "status"]).output().unwrap();
    assert_eq!(status.status.code(), Some(10), "{}", stderr(&status));

    std::fs::write(&path, "# hand-tuned\n").unwrap();
    let refused = t
        .cmd()
        .args(["--site", site, "site", "discover", "--write"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# hand-tuned\n",
        "untouched"
    );

    let forced = t
        .cmd()
        .args(["--site", site, "site", "discover", "--write", "--force"])
        .output()
        .unwrap();
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(
        std::fs::read_to_string(t.path("new-site.yaml.bak")).unwrap(),
        "# hand-tuned\n"
    );
    Site::load(&path).unwrap();
}

#[test]
fn discover_names_the_missing_server() {
    let t = TestTwin::default_scenario();
    let output = t
        .cmd()
        .args(["site", "discover", "--server", "capi-mgmt-v3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no server named `capi-mgmt-v3` in any project"));
}
