//! The packed charm (`scripts/pack-charm`, charmcraft from PyPI) unpacked and run as
//! Juju's unit agent runs it: `./dispatch` in the charm directory, with
//! `JUJU_DISPATCH_PATH`, the unit's environment, stdin /dev/null, `TERM` and no
//! terminal; the params validated and defaulted against the charm's own
//! actions.yaml first, as Juju does; the process's stdout and stderr into the
//! results; a cancel as SIGKILL. The hook tools are this project's fake; there is
//! no Juju controller here.
//!
//! `scripts/test` packs the charm around the tests' own build of the binary and
//! names the directory in `CAPI_RESTORE_CHARM_DIR`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::Value;
use tempfile::TempDir;

use crate::charm::{PLANTED_KEY, as_the_unit_agent, changes, configure_unit, install_hook_tools};
use crate::harness::{TestTwin, stderr};

/// The packed charms, or None (with the reason printed) when the tests run without
/// `scripts/test`.
fn packed() -> Option<Vec<PathBuf>> {
    let Some(dir) = std::env::var_os("CAPI_RESTORE_CHARM_DIR") else {
        if std::env::var_os("CAPI_RESTORE_REQUIRE_REAL").is_some() {
            panic!(
                "CAPI_RESTORE_REQUIRE_REAL is set but CAPI_RESTORE_CHARM_DIR is not: run `scripts/test`, which packs the charm"
            );
        }
        eprintln!("skipped: no packed charm (run `scripts/test`, which packs it)");
        return None;
    };
    let mut charms: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "charm"))
        .collect();
    charms.sort();
    Some(charms)
}

/// The charm for Ubuntu 22.04 (the binary in both is the same file).
fn jammy() -> Option<PathBuf> {
    packed().map(|charms| {
        charms
            .into_iter()
            .find(|c| c.to_string_lossy().contains("ubuntu@22.04"))
            .expect("a charm for ubuntu@22.04")
    })
}

/// Unpacks a .charm as Juju does (a zip; exec bits kept).
fn unpack(charm: &Path) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("unzip")
        .args(["-q", "-o"])
        .arg(charm)
        .arg("-d")
        .arg(dir.path())
        .status()
        .expect("unzip (Debian's `unzip`; scripts/debian-packages installs it)");
    assert!(status.success());
    dir
}

/// A unit of the unpacked charm, with the fake hook tools and its configuration.
struct Unit {
    charm: TempDir,
    agent: TempDir,
    tasks: std::cell::Cell<u32>,
}

/// One finished task, as `juju show-task` gives it.
struct Task {
    /// `completed` or `failed`.
    status: &'static str,
    /// The `action-fail` message.
    message: Option<String>,
    /// The results, with the process's stdout, stderr and return code as the unit
    /// agent adds them.
    results: Value,
    /// The `action-log` lines.
    log: Vec<String>,
}

impl Task {
    /// What `juju run capi-restore/0 ...` prints for it (its log, then the results).
    fn shown(&self, id: u32) -> String {
        let mut text = format!(
            "Running operation {id} with 1 task\n  - task {} on unit-capi-restore-0\n\nWaiting for task {}...\n",
            id + 1,
            id + 1
        );
        for line in &self.log {
            text.push_str(&format!("{line}\n"));
        }
        text.push_str(&serde_saphyr::to_string(&self.results).unwrap());
        if self.status == "failed" {
            text.push_str(&format!(
                "ERROR the following task failed:\n - id \"{}\" with return code 0\n\nuse 'juju show-task' to inspect the failure\n",
                id + 1
            ));
        }
        text
    }
}

impl Unit {
    /// Deploys `charm` for the twin `t`: unpacked, configured, installed.
    fn deploy(charm: &Path, t: &TestTwin) -> Unit {
        let unit = Unit {
            charm: unpack(charm),
            agent: tempfile::tempdir().unwrap(),
            tasks: std::cell::Cell::new(0),
        };
        install_hook_tools(unit.agent.path());
        configure_unit(unit.agent.path(), t);
        let output = unit.hook(t, "install");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        unit
    }

    /// `./dispatch` as the unit agent starts it.
    fn dispatch(&self, t: &TestTwin, path: &str) -> Command {
        // The tests' clean environment, with the charm's dispatch as the program.
        let template = crate::harness::bare_std_cmd(t.home.path().to_path_buf());
        let mut cmd = Command::new(self.charm.path().join("dispatch"));
        cmd.env_clear();
        for (key, value) in template.get_envs() {
            if let Some(value) = value {
                cmd.env(key, value);
            }
        }
        as_the_unit_agent(&mut cmd, t, self.agent.path(), path);
        cmd.current_dir(self.charm.path())
            .env("CHARM_DIR", self.charm.path())
            .env("JUJU_CHARM_DIR", self.charm.path())
            .env("JUJU_MODEL_UUID", "0f3c1a2b-4d5e-4f60-8a7b-9c0d1e2f3a4b");
        cmd
    }

    fn hook(&self, t: &TestTwin, name: &str) -> Output {
        self.dispatch(t, &format!("hooks/{name}")).output().unwrap()
    }

    /// The action's process, its params validated and defaulted against the
    /// charm's own actions.yaml as Juju does (Err: Juju refuses them, nothing runs).
    fn action(&self, t: &TestTwin, name: &str, params: Value) -> Result<Command, String> {
        let actions_yaml = std::fs::read_to_string(self.charm.path().join("actions.yaml")).unwrap();
        let params = crate::actions_yaml::params_in(&actions_yaml, name, params)?;
        for file in ["params.json", "results.json", "log", "failed"] {
            let _ = std::fs::remove_file(self.agent.path().join(file));
        }
        std::fs::write(self.agent.path().join("params.json"), params.to_string()).unwrap();
        let id = self.tasks.get() + 2;
        self.tasks.set(id);
        let mut cmd = self.dispatch(t, &format!("actions/{name}"));
        cmd.env("JUJU_ACTION_NAME", name)
            .env("JUJU_ACTION_UUID", id.to_string());
        Ok(cmd)
    }

    /// Runs an action to its end and collects the task as the unit agent would.
    fn run(&self, t: &TestTwin, name: &str, params: Value) -> Task {
        let mut cmd = self
            .action(t, name, params)
            .unwrap_or_else(|e| panic!("Juju would refuse these params: {e}"));
        self.task(cmd.output().unwrap())
    }

    fn task(&self, output: Output) -> Task {
        let read = |file: &str| std::fs::read_to_string(self.agent.path().join(file)).ok();
        let mut results: Value = read("results.json")
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        // The unit agent's own keys: the process's output and its return code.
        results["return-code"] = Value::from(output.status.code().unwrap_or(-1));
        for (key, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            if !text.trim().is_empty() {
                results[key] = Value::String(text.into_owned());
            }
        }
        let message = read("failed");
        Task {
            status: if message.is_some() || output.status.code() != Some(0) {
                "failed"
            } else {
                "completed"
            },
            message,
            results,
            log: read("log")
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect(),
        }
    }

    /// The unit's workload status.
    fn workload(&self) -> (String, String) {
        let status: Value = serde_json::from_str(
            &std::fs::read_to_string(self.agent.path().join("status.json")).unwrap(),
        )
        .unwrap();
        (
            status["status"].as_str().unwrap().into(),
            status["message"].as_str().unwrap().into(),
        )
    }
}

/// The highest glibc symbol version the binary needs (`objdump -T`).
fn newest_glibc(binary: &Path) -> (u32, u32) {
    let output = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .expect("objdump (Debian's binutils)");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
        .expect("the binary links glibc")
}

#[test]
fn the_packed_charms_hold_the_binary_the_shim_and_the_actions_and_pass_charmcraft_analyse() {
    let Some(charms) = packed() else { return };
    assert_eq!(charms.len(), 2, "{charms:?}");
    for (charm, release) in charms.iter().zip(["22.04", "24.04"]) {
        let dir = unpack(charm);
        let mut files: Vec<String> = walk(dir.path())
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "actions.yaml",
                "bin/juju-capi-restore",
                "config.yaml",
                "dispatch",
                "manifest.yaml",
                "metadata.yaml"
            ],
            "{charm:?}: one binary, no per-action copies"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = |f: &str| {
            std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("dispatch"), 0o755);
        assert_eq!(mode("bin/juju-capi-restore"), 0o755);
        let dispatch = std::fs::read_to_string(dir.path().join("dispatch")).unwrap();
        assert!(
            dispatch
                .trim_end()
                .lines()
                .last()
                .unwrap()
                .ends_with("exec ./bin/juju-capi-restore"),
            "{dispatch}"
        );
        // The actions are actions/actions.yaml's, unchanged.
        let read = |f: &str| -> Value {
            serde_saphyr::from_str(&std::fs::read_to_string(dir.path().join(f)).unwrap()).unwrap()
        };
        let ours: Value = serde_saphyr::from_str(crate::actions_yaml::ACTIONS_YAML).unwrap();
        assert_eq!(read("actions.yaml"), ours);
        let config = read("config.yaml");
        assert_eq!(config["options"]["credentials"]["type"], "secret");
        assert_eq!(config["options"]["ssh-key"]["type"], "secret");
        assert_eq!(config["options"]["site"]["type"], "string");
        assert_eq!(read("metadata.yaml")["assumes"][0], "juju >= 3.3");
        assert_eq!(read("manifest.yaml")["bases"][0]["channel"], release);
        // Runs on Ubuntu 22.04's glibc (2.35) and newer.
        let glibc = newest_glibc(&dir.path().join("bin/juju-capi-restore"));
        assert!(glibc <= (2, 35), "needs glibc {glibc:?}");
        // charmcraft analyse, as scripts/pack-charm ran it: every lint passed.
        let analysis: Vec<Value> = serde_json::from_str(
            &std::fs::read_to_string(format!("{}.analysis.json", charm.display())).unwrap(),
        )
        .unwrap();
        for check in analysis.iter().filter(|c| c["check_type"] == "lint") {
            assert!(
                check["result"] == "ok" || check["result"] == "nonapplicable",
                "{check}"
            );
        }
        assert!(
            analysis
                .iter()
                .any(|c| c["name"] == "entrypoint" && c["result"] == "ok")
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The `status` action's results, as typed as they are sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct StatusResults {
    result: String,
    exit_code: String,
    lowest_red_layer: Option<String>,
    layers: BTreeMap<String, LayerResult>,
    report: PathBuf,
    return_code: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerResult {
    state: String,
    summary: String,
}

#[test]
fn the_unpacked_charm_restores_a_parked_stack_as_juju_runs_it() {
    let Some(charm) = jammy() else { return };
    let t = TestTwin::with(|s| {
        s.time_scale = 300.0;
        s.token_ttl = std::time::Duration::from_secs(86400 * 30);
    });
    let unit = Unit::deploy(&charm, &t);
    let (status, message) = unit.workload();
    assert_eq!(status, "blocked", "{message}");
    assert!(message.starts_with("vm: parked (SHUTOFF)"), "{message}");

    // status: the results read back as the types they were sent as, and agree
    // with the report they were made from.
    let task = unit.run(&t, "status", serde_json::json!({}));
    assert_eq!(task.status, "failed");
    let results: StatusResults = serde_json::from_value(task.results.clone())
        .unwrap_or_else(|e| panic!("{e}: {}", task.results));
    assert_eq!(results.result, "red");
    assert_eq!(results.exit_code.parse::<i32>().unwrap(), 10);
    assert_eq!(results.return_code, 0, "a failed action still exits 0");
    assert_eq!(results.lowest_red_layer.as_deref(), Some("vm"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&results.report).unwrap()).unwrap();
    let rows = report["report"]["layers"].as_array().unwrap();
    assert_eq!(rows.len(), results.layers.len());
    for row in rows {
        let sent = &results.layers[row["layer"].as_str().unwrap()];
        assert_eq!(sent.state, row["state"].as_str().unwrap());
        assert_eq!(sent.summary, row["summary"].as_str().unwrap());
    }
    assert_eq!(
        task.message
            .as_deref()
            .map(|m| m.contains("lowest red layer: vm")),
        Some(true)
    );

    // Bad params: Juju refuses them; the binary never runs.
    let refused = unit.action(
        &t,
        "failover",
        serde_json::json!({"load-balancers": ["not-a-uuid"], "confirm": true}),
    );
    assert!(refused.unwrap_err().contains("not-a-uuid"));
    assert!(
        unit.action(&t, "restore", serde_json::json!({"yes": true}))
            .is_err()
    );

    // restore without confirm: nothing destructive, failed with the reason.
    let task = unit.run(&t, "restore", serde_json::json!({}));
    assert_eq!(task.status, "failed");
    assert_eq!(task.results["result"], "refused", "{}", task.results);
    assert!(task.message.unwrap().contains("confirm=true"));
    crate::charm::nothing_destructive(&t);

    // Cancelled (SIGKILL) mid-restore, then run again: green.
    let cmd = unit
        .action(&t, "restore", serde_json::json!({"confirm": true}))
        .unwrap();
    let killed = crate::harness::signalled_after_a_while(cmd, "-KILL");
    assert_eq!(killed.status.code(), None, "killed");
    let id = unit.tasks.get();
    let task = unit.run(&t, "restore", serde_json::json!({"confirm": true}));
    println!("{}", task.shown(id));
    assert_eq!(task.status, "completed", "{}", task.shown(id));
    assert_eq!(task.results["result"], "green");
    assert!(!task.log.is_empty(), "progress reached action-log");
    // Wherever the kill landed, the load balancer was failed over once in all.
    assert_eq!(
        changes(&t)
            .iter()
            .filter(|c| c.contains("failover"))
            .count(),
        1,
        "{:?}",
        changes(&t)
    );
    let shown = task.shown(id);
    assert!(shown.len() < 16 * 1024, "{}", shown.len());
    for secret in [
        "twin-admin-password",
        "planted-ssh-key-material",
        PLANTED_KEY,
    ] {
        assert!(!shown.contains(secret));
    }

    // The unit's status follows; verify agrees.
    unit.hook(&t, "update-status");
    let (status, message) = unit.workload();
    assert_eq!(status, "active", "{message}");
    let task = unit.run(&t, "verify", serde_json::json!({}));
    assert_eq!(task.results["verdict"], "SUCCESS", "{}", task.results);
}

#[test]
fn every_action_of_the_unpacked_charm_answers_with_typed_results() {
    let Some(charm) = jammy() else { return };
    let t = TestTwin::default_scenario();
    let unit = Unit::deploy(&charm, &t);
    // On the parked stack, nothing confirmed: each answers, none changes anything.
    for (name, result) in [
        ("plan", "red"),
        ("headroom", "red"),
        ("sweep", "refused"),
        ("failover", "refused"),
        ("park", "green"),
        ("verify", "red"),
        ("journal", "green"),
    ] {
        let task = unit.run(&t, name, serde_json::json!({}));
        assert_eq!(task.results["return-code"], 0, "{name}: {}", task.results);
        assert_eq!(task.results["result"], result, "{name}: {}", task.results);
        assert_eq!(task.status == "completed", result == "green", "{name}");
        let shown = task.shown(1);
        assert!(shown.len() < 16 * 1024, "{name}: {}", shown.len());
        assert!(!shown.contains("--yes"), "{name}: {shown}");
        for secret in ["twin-admin-password", "planted-ssh-key-material"] {
            assert!(!shown.contains(secret), "{name}");
        }
    }
    assert!(changes(&t).is_empty(), "{:?}", changes(&t));
}
