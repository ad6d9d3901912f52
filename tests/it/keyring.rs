//! A secret kept in the OS keyring (the kernel keyutils cache) instead of a file.

use crate::harness::{TestTwin, json, layer, stderr};

#[test]
fn a_password_stored_in_the_keyring_replaces_the_one_in_secure_yaml() {
    let t = TestTwin::default_scenario();
    // A cloud name of its own, so runs never see each other's entries.
    let cloud = format!("twin-keyring-{}", uuid::Uuid::new_v4().simple());
    let clouds = std::fs::read_to_string(&t.files.clouds).unwrap().replacen(
        "  twin:\n",
        &format!("  {cloud}:\n"),
        1,
    );
    std::fs::write(&t.files.clouds, clouds).unwrap();
    std::fs::write(&t.files.secure, "clouds: {}\n").unwrap();

    let before = t
        .cmd()
        .args(["--cloud", &cloud, "status"])
        .output()
        .unwrap();
    assert_eq!(before.status.code(), Some(2));
    assert!(
        stderr(&before).contains("has no `password`") && stderr(&before).contains("keyring"),
        "{}",
        stderr(&before)
    );

    let stored = t
        .cmd()
        .args(["--cloud", &cloud, "credentials", "store"])
        .write_stdin("twin-admin-password\n")
        .output()
        .unwrap();
    assert!(stored.status.success(), "{}", stderr(&stored));
    assert!(
        stderr(&stored).contains("kernel keyutils"),
        "{}",
        stderr(&stored)
    );
    assert!(!stderr(&stored).contains("twin-admin-password"));

    let after = t
        .cmd()
        .args(["--cloud", &cloud, "status", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(after.status.code(), Some(10), "{}", stderr(&after));
    assert_eq!(layer(&json(&after), "vm")["summary"], "parked (SHUTOFF)");
}
