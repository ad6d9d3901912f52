//! The real transport: Debian's OpenSSH `sshd` on a loopback port with its own host
//! and client keys, and the system `ssh` client. On the "VM", `uptime`, `sudo` and
//! `k8s` are scripts that answer from the twin (`juju-capi-restore twin-exec`).
//! `scripts/test` requires sshd; a plain `cargo test` without it says it skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use capi_restore::site::{HostKeyPolicy, Site};
use twin::scenario::ServerStatus;

use crate::harness::{BIN, TestTwin, json, layer, stderr};

const SSHD: &str = "/usr/sbin/sshd";

/// A private sshd for one test.
struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl Sshd {
    /// Starts sshd whose sessions answer from the twin at `twin_url`; None (loudly)
    /// when sshd is not installed and the real services are not required.
    fn start(twin_url: &str) -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            if std::env::var_os("CAPI_RESTORE_REQUIRE_REAL").is_some() {
                panic!("{SSHD} is missing: `.ci/run` installs openssh-server");
            }
            eprintln!("SKIPPED: no {SSHD} (apt install openssh-server, or run `scripts/test`)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["host_key", "client_key", "other_key"] {
            run(
                "ssh-keygen",
                &[
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-f",
                    d.join(key).to_str().unwrap(),
                ],
            );
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        for program in ["uptime", "k8s"] {
            write_executable(
                &bin.join(program),
                &format!("#!/bin/sh\nexec {BIN} twin-exec --twin {twin_url} -- {program} \"$@\"\n"),
            );
        }
        write_executable(
            &bin.join("sudo"),
            "#!/bin/sh\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nStrictModes no\nSetEnv PATH={}:/usr/bin:/bin\n",
                bin.display(),
                d = d.display()
            ),
        )
        .unwrap();
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = Command::new(SSHD)
            .args([
                "-D",
                "-f",
                config.to_str().unwrap(),
                "-E",
                d.join("sshd.log").to_str().unwrap(),
            ])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start: {}",
                std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let host_key = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_key}"),
        )
        .unwrap();
        Some(Sshd { child, port, dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Points the twin's site at the real sshd with the system ssh.
fn use_real_ssh(t: &TestTwin, sshd: &Sshd, key: &str, known_hosts: &str) {
    let mut site = Site::load(&t.files.site).unwrap();
    site.ssh.command = vec!["ssh".into()];
    site.ssh.port = sshd.port;
    site.ssh.user = user();
    site.ssh.key = sshd.path(key);
    site.ssh.known_hosts = sshd.path(known_hosts);
    site.ssh.host_key_policy = HostKeyPolicy::Strict;
    std::fs::write(&t.files.site, site.to_yaml()).unwrap();
}

fn booted_twin() -> TestTwin {
    TestTwin::with(|s| {
        s.servers[0].status = ServerStatus::Active;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
    })
}

#[test]
fn status_and_kubeconfig_over_the_real_ssh() {
    let t = booted_twin();
    let Some(sshd) = Sshd::start(t.twin.base_url()) else {
        return;
    };
    use_real_ssh(&t, &sshd, "client_key", "known_hosts");

    let report = json(&t.cmd().args(["status", "-f", "json"]).output().unwrap());
    let k8s = layer(&report, "kubernetes");
    assert_eq!(k8s["state"], "green", "{k8s}");
    assert!(
        k8s["evidence"].to_string().contains("min since boot"),
        "uptime came back through ssh: {k8s}"
    );
    assert_eq!(
        layer(&report, "capo")["state"],
        "green",
        "kubectl with a kubeconfig fetched over ssh"
    );

    let output = t.cmd().arg("kubeconfig").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        t.files
            .site
            .parent()
            .unwrap()
            .join("capi-mgmt.kubeconfig")
            .is_file()
    );
}

#[test]
fn an_unknown_host_key_under_the_strict_policy_is_refused_with_the_fix() {
    let t = booted_twin();
    let Some(sshd) = Sshd::start(t.twin.base_url()) else {
        return;
    };
    std::fs::write(sshd.path("empty_known_hosts"), "").unwrap();
    use_real_ssh(&t, &sshd, "client_key", "empty_known_hosts");
    let output = t.cmd().arg("kubeconfig").output().unwrap();
    assert_eq!(output.status.code(), Some(11));
    let err = stderr(&output);
    assert!(
        err.contains("host key is unknown or changed") && err.contains("ssh-keygen -R"),
        "{err}"
    );
    assert!(
        err.contains("BatchMode=yes"),
        "the full command line is shown: {err}"
    );
}

#[test]
fn a_key_the_vm_does_not_know_names_the_setting_to_fix() {
    let t = booted_twin();
    let Some(sshd) = Sshd::start(t.twin.base_url()) else {
        return;
    };
    use_real_ssh(&t, &sshd, "other_key", "known_hosts");
    let output = t.cmd().arg("kubeconfig").output().unwrap();
    assert_eq!(output.status.code(), Some(11));
    assert!(
        stderr(&output).contains("check `ssh.key` and `ssh.user`"),
        "{}",
        stderr(&output)
    );
}
