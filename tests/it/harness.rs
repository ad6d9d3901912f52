//! A twin for one test, its client files in a temp dir, and the binary set up to use
//! them with a clean environment (no `OS_*` from the developer's shell).

use std::path::PathBuf;

use assert_cmd::Command;
use capi_restore::commands::twin::{ClientFiles, write_client_files};
use tempfile::TempDir;
use twin::{Scenario, Twin};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_juju-capi-restore");

/// A running twin and a home directory for the binary.
pub struct TestTwin {
    pub twin: Twin,
    pub files: ClientFiles,
    pub home: TempDir,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for TestTwin {
    fn drop(&mut self) {
        // Tests may drop this inside their own async runtime: never block there.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl TestTwin {
    /// The default scenario at a time scale that keeps tests quick.
    pub fn default_scenario() -> TestTwin {
        TestTwin::start(Scenario::default_scenario())
    }

    /// A scenario given as YAML patches over the default: `edit` changes the parsed value.
    pub fn with(edit: impl FnOnce(&mut Scenario)) -> TestTwin {
        let mut s = Scenario::default_scenario();
        edit(&mut s);
        TestTwin::start(s)
    }

    /// Starts `scenario` on 127.0.0.1 and writes its client files.
    pub fn start(scenario: Scenario) -> TestTwin {
        TestTwin::start_with(scenario, None)
    }

    /// The default scenario over HTTPS, its CA named as `cacert` in clouds.yaml.
    pub fn default_over_tls() -> TestTwin {
        TestTwin::start_with(
            Scenario::default_scenario(),
            Some(twin::TlsIdentity::generate().unwrap()),
        )
    }

    fn start_with(scenario: Scenario, tls: Option<twin::TlsIdentity>) -> TestTwin {
        // Started from a plain thread so that async tests can use it too.
        let (twin, runtime) = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let twin = runtime
                .block_on(Twin::start_with(
                    scenario,
                    "127.0.0.1:0".parse().unwrap(),
                    tls,
                ))
                .unwrap();
            (twin, runtime)
        })
        .join()
        .unwrap();
        let home = tempfile::tempdir().unwrap();
        let files = write_client_files(&twin, &home.path().join("twin"), std::path::Path::new(BIN))
            .unwrap();
        let t = TestTwin {
            twin,
            files,
            home,
            runtime: Some(runtime),
        };
        t.capture_plan();
        t
    }

    /// With `PLAN_SNAPSHOTS=<dir>` (scripts/plan-snapshots), writes the `plan` of the
    /// scenario as it starts to `<dir>/<test>.txt`: the record that a change to the
    /// engine decides as before for every scenario the suite starts.
    fn capture_plan(&self) {
        let Some(dir) = std::env::var_os("PLAN_SNAPSHOTS") else {
            return;
        };
        let output = self.std_cmd().arg("plan").output().unwrap();
        let home = self.home.path().display().to_string();
        let ports = [
            self.twin.addr().port(),
            self.twin.ssh_port(),
            self.twin.kube_port(),
        ];
        let text = format!(
            "exit {}\n{}",
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout)
        )
        .replace(&home, "[HOME]");
        let text = ports
            .iter()
            .fold(text, |t, p| t.replace(&format!(":{p}"), ":[PORT]"));
        let test = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .replace("::", "__");
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut n = 0;
        let mut path = dir.join(format!("{test}.txt"));
        while path.exists() {
            n += 1;
            path = dir.join(format!("{test}.{n}.txt"));
        }
        std::fs::write(path, text).unwrap();
    }

    /// The binary with `HOME` in the temp dir, the twin's clouds.yaml and site file.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same as a `std::process::Command`, for runs in the background.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = bare_std_cmd(self.home.path().to_path_buf());
        cmd.env("OS_CLIENT_CONFIG_FILE", &self.files.clouds)
            .env("OS_CLIENT_SECURE_FILE", &self.files.secure)
            .env("JUJU_CAPI_RESTORE_SITE", &self.files.site)
            .env("OS_CLOUD", "twin");
        cmd
    }

    /// Runs `f` on the twin's state.
    pub fn steer<T>(&self, f: impl FnOnce(&mut twin::cloud::Cloud, jiff::Timestamp) -> T) -> T {
        let _guard = self.runtime.as_ref().map(|r| r.enter());
        self.twin.with_cloud(f)
    }

    /// A file in the temp home.
    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

/// The binary with a clean environment and `HOME` at `home`.
///
/// Credentials are searched in system directories too. `XDG_CONFIG_DIRS` points
/// into the temp home, and a machine with `/etc/openstack/clouds.yaml` is refused:
/// a test must never find a real cloud.
pub fn bare_cmd(home: PathBuf) -> Command {
    Command::from_std(bare_std_cmd(home))
}

pub fn bare_std_cmd(home: PathBuf) -> std::process::Command {
    assert!(
        !std::path::Path::new("/etc/openstack/clouds.yaml").exists(),
        "this machine has /etc/openstack/clouds.yaml: the tests would see a real cloud; run them where there is none"
    );
    let mut cmd = std::process::Command::new(BIN);
    cmd.env_clear()
        .env("HOME", &home)
        .env("XDG_CONFIG_DIRS", home.join("xdg"))
        // The site-wide state root of this test alone (absent unless a test makes it):
        // a machine's /var/lib/juju-capi-restore must never be the tests'.
        .env(
            "JUJU_CAPI_RESTORE_STATE_ROOT",
            home.join("var-lib-juju-capi-restore"),
        )
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .current_dir(&home);
    cmd
}

/// Parses a command's stdout as JSON.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The row of one layer in a JSON status report.
pub fn layer<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["layer"] == name)
        .unwrap_or_else(|| panic!("no `{name}` row in {report}"))
}

/// stderr as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

impl TestTwin {
    /// Runs `line` (a shell command line) on a pseudo-terminal through `script`, as
    /// an operator's shell would, with `input` typed at it; returns what the terminal
    /// showed and whether the command succeeded.
    pub fn on_a_pty(&self, line: &str, input: &[u8]) -> (String, bool) {
        let log = self.path("pty.log");
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", line, log.to_str().unwrap()]);
        for (k, v) in self.std_cmd().get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd
            .env("TERM", "xterm")
            .current_dir(self.home.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let screen = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
        (screen, out.status.success())
    }
}

/// Starts `cmd` (its output captured), lets it run 1.5 s (into a wait), then sends
/// it `signal` (a `kill` argument: `-INT`, `-KILL`, ...); its output.
pub fn signalled_after_a_while(
    mut cmd: std::process::Command,
    signal: &str,
) -> std::process::Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    child.wait_with_output().unwrap()
}
