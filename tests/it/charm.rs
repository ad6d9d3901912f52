//! The charm's actions and hooks as Juju runs them: the binary started by a
//! `dispatch` path with no arguments, stdin from /dev/null, `TERM` set and no
//! terminal, no clouds.yaml nor `OS_*`: its configuration from `config-get`, its
//! credentials and ssh key from `secret-get`, its params from `action-get` and its
//! results through `action-set`. The hook tools are this project's fake
//! (`twin-hook-tool`, which enforces jujuc's rules); there is no Juju controller here.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use crate::harness::{BIN, TestTwin, stderr};

/// The hook tools the unit agent puts on PATH.
pub const HOOK_TOOLS: [&str; 8] = [
    "action-get",
    "action-set",
    "action-log",
    "action-fail",
    "config-get",
    "secret-get",
    "status-set",
    "juju-log",
];

/// The secret ids of the charm's configuration (Juju's are 20 base32 characters).
pub const CREDENTIALS_ID: &str = "d5fj493sf2bh7nljq620";
/// The ssh key's secret.
pub const SSH_KEY_ID: &str = "d5fj493sf2bh7nljq621";
/// The planted private key: it must never show anywhere but its 0600 file.
pub const PLANTED_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nplanted-ssh-key-material\n-----END OPENSSH PRIVATE KEY-----";

/// Configures a fake unit in `dir` for the twin `t`, as an operator would: the site
/// file as the `site` option, the admin login and the ssh key as Juju secrets
/// granted to the application.
pub fn configure_unit(dir: &Path, t: &TestTwin) {
    let site = std::fs::read_to_string(&t.files.site).unwrap();
    let config = serde_json::json!({
        "site": site,
        "credentials": format!("secret:{CREDENTIALS_ID}"),
        "ssh-key": format!("secret:{SSH_KEY_ID}"),
    });
    let secrets = serde_json::json!({
        CREDENTIALS_ID: {"granted": true, "content": {
            "auth-url": t.twin.auth_url(),
            "username": "admin",
            "password": "twin-admin-password",
            "project-name": "admin",
            "region": t.twin.scenario().region,
        }},
        SSH_KEY_ID: {"granted": true, "content": {"private-key": PLANTED_KEY}},
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("secrets.json"), secrets.to_string()).unwrap();
}

/// Changes one part of a fake unit's JSON file (`config.json`, `secrets.json`).
pub fn edit_unit(dir: &Path, file: &str, f: impl FnOnce(&mut Value)) {
    let path = dir.join(file);
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut value);
    std::fs::write(path, value.to_string()).unwrap();
}

/// The environment the unit agent gives a hook or action: PATH with the hook tools
/// first, the dispatch path, the unit, `TERM` without a terminal, stdin /dev/null,
/// the unit's state directory; no credentials of any other kind.
pub fn as_the_unit_agent(
    cmd: &mut std::process::Command,
    t: &TestTwin,
    unit: &Path,
    dispatch: &str,
) {
    let path = format!(
        "{}:{}",
        unit.join("tools").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path)
        .env("JUJU_DISPATCH_PATH", dispatch)
        .env("JUJU_UNIT_NAME", "capi-restore/0")
        .env("JUJU_MODEL_NAME", "openstack")
        .env("JUJU_VERSION", "3.6.9")
        .env("TERM", "tmux-256color")
        .env("CAPI_RESTORE_FAKE_ACTION", unit)
        // The unit's /etc, for the window's timers.
        .env(
            "JUJU_CAPI_RESTORE_SYSTEM_ROOT",
            t.home.path().join("system-root"),
        )
        // Where the CLI tests look for journals: one state for both.
        .env(
            "JUJU_CAPI_RESTORE_STATE_DIR",
            t.home.path().join(".local/state/juju-capi-restore"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
}

/// Writes the fake hook tools into `unit/tools`.
pub fn install_hook_tools(unit: &Path) {
    let tools = unit.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    for tool in HOOK_TOOLS {
        let path = tools.join(tool);
        std::fs::write(
            &path,
            format!("#!/bin/sh\nexec '{BIN}' twin-hook-tool {tool} \"$@\"\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// One fake action: its directory (params in; results, log and failure out) and
/// the hook tools on PATH.
struct Action {
    dir: TempDir,
    params: Value,
}

impl Action {
    fn new(params: Value) -> Action {
        let dir = tempfile::tempdir().unwrap();
        install_hook_tools(dir.path());
        Action { dir, params }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs action `name` as the unit agent does, its params validated and
    /// defaulted against actions.yaml first, as Juju does before the action runs.
    fn run(&self, t: &TestTwin, name: &str) -> Output {
        self.command(t, name).output().unwrap()
    }

    /// The action's process, not yet started.
    fn command(&self, t: &TestTwin, name: &str) -> std::process::Command {
        let params = crate::actions_yaml::params(name, self.params.clone())
            .unwrap_or_else(|e| panic!("Juju would refuse these params: {e}"));
        std::fs::write(self.path().join("params.json"), params.to_string()).unwrap();
        if !self.path().join("config.json").exists() {
            configure_unit(self.path(), t);
        }
        let mut cmd = crate::harness::bare_std_cmd(t.home.path().to_path_buf());
        as_the_unit_agent(&mut cmd, t, self.path(), &format!("actions/{name}"));
        cmd.env("JUJU_ACTION_NAME", name)
            .env("JUJU_ACTION_UUID", "1");
        cmd
    }

    fn results(&self) -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.path().join("results.json")).unwrap_or_default(),
        )
        .unwrap_or(Value::Null)
    }

    fn failed(&self) -> Option<String> {
        std::fs::read_to_string(self.path().join("failed")).ok()
    }
}

/// Every output of an action, for the planted-secret scan.
fn everything(action: &Action, output: &Output) -> String {
    let mut all = String::from_utf8_lossy(&output.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&output.stderr));
    for file in ["results.json", "log", "failed"] {
        all.push_str(&std::fs::read_to_string(action.path().join(file)).unwrap_or_default());
    }
    if let Some(report) = action.results()["report"].as_str() {
        all.push_str(&std::fs::read_to_string(report).unwrap());
    }
    all
}

#[test]
fn the_status_action_of_a_parked_stack_fails_with_the_lowest_red_layer_and_typed_results() {
    let t = TestTwin::default_scenario();
    let action = Action::new(serde_json::json!({}));
    let output = action.run(&t, "status");
    // A failed action still exits 0: Juju would replace the message otherwise.
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = action.results();
    assert_eq!(results["result"], "red", "{results}");
    assert_eq!(results["exit-code"], "10");
    assert_eq!(results["lowest-red-layer"], "vm");
    assert_eq!(results["layers"]["vm"]["state"], "red");
    assert_eq!(results["layers"]["vm"]["summary"], "parked (SHUTOFF)");
    assert_eq!(results["layers"]["load-balancers"]["state"], "red");
    let failed = action.failed().expect("the action failed");
    assert!(failed.contains("lowest red layer: vm"), "{failed}");
    // The whole report is a private file; its rows are the results' source.
    let report_path = PathBuf::from(results["report"].as_str().unwrap());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["exit_code"], 10);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&report_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // No secret anywhere an action's output goes.
    let all = everything(&action, &output);
    for secret in [
        "twin-admin-password",
        "twin-octavia-password",
        "twin-operator-password",
        "planted-ssh-key-material",
    ] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
}

#[test]
fn the_plan_action_gives_each_layers_decision() {
    let t = TestTwin::default_scenario();
    let action = Action::new(serde_json::json!({}));
    let output = action.run(&t, "plan");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = action.results();
    assert_eq!(
        results["layers"]["vm"]["decision"], "start-server",
        "{results}"
    );
    assert_eq!(results["layers"]["amphorae"]["decision"], "sweep");
    assert_eq!(results["layers"]["load-balancers"]["decision"], "failover");
    assert!(
        results["layers"]["ssh"]["what"]
            .as_str()
            .unwrap()
            .contains("wait for sshd")
    );
    // Well under the argument-length limit: the whole report is in the file.
    assert!(
        results.to_string().len() < 8 * 1024,
        "{}",
        results.to_string().len()
    );
}

/// The runbook's parked stack on a fast clock.
fn parked() -> TestTwin {
    TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = std::time::Duration::from_secs(86400 * 30);
    })
}

/// Nothing was deleted or failed over in the cloud.
pub fn nothing_destructive(t: &TestTwin) {
    assert!(
        changes(t)
            .iter()
            .all(|c| !c.starts_with("DELETE") && !c.contains("failover")),
        "{:?}",
        changes(t)
    );
}

/// The requests that changed something in the cloud (not logins, not the VM's or
/// Juju's side doors, which read).
pub fn changes(t: &TestTwin) -> Vec<String> {
    t.twin
        .requests()
        .iter()
        .filter(|r| {
            r.method != "GET" && !r.path.contains("/auth/tokens") && !r.path.starts_with("/host/")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn restore_confirm_true_brings_a_parked_stack_to_green_with_progress_in_action_log() {
    let t = parked();
    let action = Action::new(serde_json::json!({"confirm": true}));
    let output = action.run(&t, "restore");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = action.results();
    assert_eq!(results["result"], "green", "{results}\n{}", stderr(&output));
    assert_eq!(results["exit-code"], "0");
    assert!(action.failed().is_none(), "{:?}", action.failed());
    assert!(
        results["changes"]["1"]
            .as_str()
            .unwrap()
            .starts_with("started `capi-mgmt-v2`"),
        "{results}"
    );
    assert!(std::path::Path::new(results["journal"].as_str().unwrap()).is_file());
    // Progress reached `juju run` as it happened: decisions, waits, the failover.
    let log = std::fs::read_to_string(action.path().join("log")).unwrap();
    assert!(log.contains("starting `capi-mgmt-v2`"), "{log}");
    assert!(
        log.contains("waiting") && log.contains("/ runbook ~"),
        "{log}"
    );
    assert!(log.contains("failover succeeded"), "{log}");
    let all = everything(&action, &output);
    assert!(!all.contains("twin-admin-password"));
    assert!(!all.contains("planted-ssh-key-material"));
    // And the status and verify actions agree.
    let status = Action::new(serde_json::json!({}));
    status.run(&t, "status");
    assert_eq!(status.results()["result"], "green");
    let verify = Action::new(serde_json::json!({}));
    verify.run(&t, "verify");
    assert_eq!(
        verify.results()["verdict"],
        "SUCCESS",
        "{}",
        verify.results()
    );
    assert!(verify.failed().is_none());
}

#[test]
fn headroom_and_verify_on_a_parked_stack_fail_with_their_figures() {
    let t = TestTwin::default_scenario();
    let headroom = Action::new(serde_json::json!({}));
    headroom.run(&t, "headroom");
    let results = headroom.results();
    assert_eq!(results["total-slots"], "0", "{results}");
    assert_eq!(results["exit-code"], "15");
    assert_eq!(results["hosts"]["1"]["name"], "compute-1.maas");
    assert!(headroom.failed().unwrap().contains("NoValidHost"));
    let verify = Action::new(serde_json::json!({}));
    verify.run(&t, "verify");
    let results = verify.results();
    assert_eq!(results["verdict"], "not yet", "{results}");
    assert_eq!(results["exit-code"], "10");
    assert!(
        results["stopped"]["vm"]
            .as_str()
            .unwrap()
            .contains("run `juju-capi-restore restore` first")
    );
}

#[test]
fn restore_without_confirm_changes_nothing_in_octavia_and_fails_with_what_it_would_do() {
    let t = parked();
    let action = Action::new(serde_json::json!({}));
    let output = action.run(&t, "restore");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = action.results();
    assert_eq!(results["result"], "refused", "{results}");
    assert_eq!(results["exit-code"], "3");
    let failed = action.failed().unwrap();
    assert!(
        failed.contains("orphan(s) left in place hold a slot") && failed.contains("confirm=true"),
        "{failed}"
    );
    // An action has no `--yes`: nothing it says asks for one.
    let all = everything(&action, &output);
    assert!(
        !all.contains("--yes"),
        "{}",
        all.lines()
            .filter(|l| l.contains("--yes"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Starting the parked VM is the runbook's first step, not a destructive one;
    // nothing was deleted or failed over.
    nothing_destructive(&t);
}

#[test]
fn an_action_the_charm_does_not_declare_fails_saying_so_and_park_of_a_parked_vm_is_a_no_op() {
    let t = TestTwin::default_scenario();
    // Juju would not run it; a stray entry point does, and must fail cleanly.
    let action = Action::new(serde_json::json!({}));
    std::fs::write(action.path().join("params.json"), "{}").unwrap();
    let mut cmd = action.command(&t, "status");
    cmd.env("JUJU_DISPATCH_PATH", "actions/rebuild");
    cmd.output().unwrap();
    assert_eq!(action.results()["result"], "bad-input");
    assert!(
        action
            .failed()
            .unwrap()
            .contains("`rebuild` is not an action of this charm")
    );

    let park = Action::new(serde_json::json!({}));
    park.run(&t, "park");
    assert_eq!(park.results()["result"], "green", "{}", park.results());
    assert!(park.failed().is_none());
    assert!(changes(&t).is_empty(), "{:?}", changes(&t));
}

#[test]
fn the_fake_hook_tools_refuse_what_juju_refuses() {
    let action = Action::new(serde_json::json!({}));
    std::fs::write(action.path().join("params.json"), r#"{"until": "vm"}"#).unwrap();
    let tool = |args: &[&str]| {
        std::process::Command::new(BIN)
            .arg("twin-hook-tool")
            .args(args)
            .env("CAPI_RESTORE_FAKE_ACTION", action.path())
            .output()
            .unwrap()
    };
    let bad = tool(&["action-set", "Result=green"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        stderr(&bad).trim(),
        "ERROR key \"Result\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
    );
    let reserved = tool(&["action-set", "stdout=x"]);
    assert_eq!(
        stderr(&reserved).trim(),
        "ERROR cannot set reserved action key \"stdout\""
    );
    let bare = tool(&["action-set", "result"]);
    assert_eq!(
        stderr(&bare).trim(),
        "ERROR argument \"result\" must be of the form key...=value"
    );
    assert_eq!(tool(&["action-log"]).status.code(), Some(2));
    assert!(
        action.results().is_null(),
        "nothing was set by a refused call"
    );
    let get = tool(&["action-get", "until", "--format", "json"]);
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "\"vm\"");
}

#[test]
fn a_restore_action_cancelled_with_sigkill_leaves_a_whole_journal_and_the_next_one_ends_green() {
    // `juju cancel-task` sends SIGKILL, no SIGTERM first.
    let t = TestTwin::with(|s| {
        s.time_scale = 300.0;
        s.token_ttl = std::time::Duration::from_secs(86400 * 30);
    });
    let first = Action::new(serde_json::json!({"confirm": true}));
    // Into the Kubernetes wait: the VM is started, sshd is up.
    let killed = crate::harness::signalled_after_a_while(first.command(&t, "restore"), "-KILL");
    assert_eq!(killed.status.code(), None, "killed by the signal");
    // Every journal is whole lines of JSON, the killed run's included.
    for entry in crate::restore::journal(&t) {
        assert!(entry.is_object());
    }
    let again = Action::new(serde_json::json!({"confirm": true}));
    let output = again.run(&t, "restore");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(again.results()["result"], "green", "{}", again.results());
    // The journal action lists both: the killed run as what it was.
    let journal = Action::new(serde_json::json!({}));
    journal.run(&t, "journal");
    let runs = &journal.results()["runs"];
    assert!(
        runs["1"]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("ended green"),
        "{runs}"
    );
    assert!(
        runs["2"]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("did not finish"),
        "{runs}"
    );
}

#[test]
fn sweep_deletes_only_with_confirm_and_failover_refuses_a_load_balancer_not_the_sites() {
    let t = TestTwin::default_scenario();
    let unconfirmed = Action::new(serde_json::json!({}));
    unconfirmed.run(&t, "sweep");
    let results = unconfirmed.results();
    assert_eq!(results["result"], "refused", "{results}");
    assert_eq!(results["left"].as_object().unwrap().len(), 2);
    assert!(unconfirmed.failed().unwrap().contains("confirm=true"));
    assert!(!unconfirmed.failed().unwrap().contains("--yes"));
    assert!(
        changes(&t).iter().all(|c| !c.starts_with("DELETE")),
        "{:?}",
        changes(&t)
    );

    let confirmed = Action::new(serde_json::json!({"confirm": true}));
    confirmed.run(&t, "sweep");
    let results = confirmed.results();
    assert_eq!(results["result"], "green", "{results}");
    assert_eq!(results["deleted"].as_object().unwrap().len(), 2);
    assert!(
        results["changes"]["1"]
            .as_str()
            .unwrap()
            .starts_with("deleted orphan amphora server")
    );
    assert_eq!(
        changes(&t)
            .iter()
            .filter(|c| c.starts_with("DELETE"))
            .count(),
        2
    );

    // A valid id that is not in the site file: bad input, nothing failed over.
    let other = Action::new(serde_json::json!({
        "load-balancers": ["4b1c2d3e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"], "confirm": true
    }));
    other.run(&t, "failover");
    assert_eq!(
        other.results()["result"],
        "bad-input",
        "{}",
        other.results()
    );
    assert!(other.failed().unwrap().contains("not in the site file"));
    assert!(changes(&t).iter().all(|c| !c.contains("failover")));
}

/// Runs hook `name` on the fake unit `unit` as the unit agent does.
fn hook(t: &TestTwin, unit: &Path, name: &str) -> Output {
    let mut cmd = crate::harness::bare_std_cmd(t.home.path().to_path_buf());
    as_the_unit_agent(&mut cmd, t, unit, &format!("hooks/{name}"));
    cmd.output().unwrap()
}

/// The unit's workload status as the last `status-set` left it.
fn workload(unit: &Path) -> (String, String) {
    let status: Value =
        serde_json::from_str(&std::fs::read_to_string(unit.join("status.json")).unwrap()).unwrap();
    (
        status["status"].as_str().unwrap().to_string(),
        status["message"].as_str().unwrap().to_string(),
    )
}

#[test]
fn misconfiguration_fails_the_action_with_the_command_that_fixes_it_and_changes_nothing() {
    let t = parked();
    /// Breaks the unit's config and secrets.
    type Break = fn(&mut Value, &mut Value);
    let cases: [(&str, Break, &str); 5] = [
        (
            "no credentials",
            |config, _| config["credentials"] = Value::Null,
            "`juju add-secret capi-restore-credentials auth-url=",
        ),
        (
            "a secret not granted",
            |_, secrets| secrets[CREDENTIALS_ID]["granted"] = Value::Bool(false),
            "(ERROR permission denied): grant it to this application with `juju grant-secret secret:d5fj493sf2bh7nljq620 capi-restore`",
        ),
        (
            "a secret that is gone",
            |config, _| config["ssh-key"] = Value::String("secret:d5fj493sf2bh7nljq699".into()),
            "`juju grant-secret secret:d5fj493sf2bh7nljq699 capi-restore`",
        ),
        (
            "a malformed site",
            |config, _| {
                config["site"] = Value::String("management:\n  floating_ip: not-an-ip\n".into())
            },
            "the `site` option is not a valid site file",
        ),
        (
            "no ssh key",
            |config, _| config["ssh-key"] = Value::String(String::new()),
            "`juju add-secret capi-restore-ssh-key private-key#file=",
        ),
    ];
    for (case, break_it, says) in cases {
        let action = Action::new(serde_json::json!({"confirm": true}));
        configure_unit(action.path(), &t);
        let (mut config, mut secrets) = (Value::Null, Value::Null);
        edit_unit(action.path(), "config.json", |c| config = c.clone());
        edit_unit(action.path(), "secrets.json", |s| secrets = s.clone());
        break_it(&mut config, &mut secrets);
        edit_unit(action.path(), "config.json", |c| *c = config);
        edit_unit(action.path(), "secrets.json", |s| *s = secrets);
        let output = action.run(&t, "restore");
        assert_eq!(output.status.code(), Some(0), "{case}: {}", stderr(&output));
        assert_eq!(action.results()["result"], "bad-input", "{case}");
        let failed = action.failed().unwrap_or_default();
        assert!(failed.contains(says), "{case}: {failed}");
        assert!(!stderr(&output).contains("panicked"), "{case}");
        let all = everything(&action, &output);
        assert!(
            !all.contains("twin-admin-password") && !all.contains("planted-ssh-key-material"),
            "{case}"
        );
    }
    assert!(changes(&t).is_empty(), "{:?}", changes(&t));
}

#[test]
fn the_hooks_show_the_stack_in_the_units_status_and_remove_forgets_the_key() {
    let t = parked();
    let unit = tempfile::tempdir().unwrap();
    install_hook_tools(unit.path());

    // Installed with no configuration: blocked, saying what to run.
    std::fs::write(unit.path().join("config.json"), "{}").unwrap();
    let output = hook(&t, unit.path(), "install");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (status, message) = workload(unit.path());
    assert_eq!(status, "blocked");
    assert!(message.starts_with("no `site` configured"), "{message}");

    // Configured: the parked stack, from the OpenStack side, without ssh.
    configure_unit(unit.path(), &t);
    let before = t.twin.requests().len();
    let output = hook(&t, unit.path(), "config-changed");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (status, message) = workload(unit.path());
    assert_eq!(status, "blocked", "{message}");
    assert!(
        message.starts_with("vm: parked (SHUTOFF); ")
            && message.ends_with("(run the restore action)"),
        "{message}"
    );
    assert_eq!(
        message,
        "vm: parked (SHUTOFF); load-balancers: 1 of 1 in provisioning ERROR; magnum: capi-test-1 UNHEALTHY (run the restore action)"
    );
    assert!(changes(&t).is_empty(), "a hook changes nothing");
    assert!(t.twin.requests().len() > before);
    // The key is root-only, in a root-only directory; the site file too.
    let state = t.home.path().join(".local/state/juju-capi-restore/charm");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state.join("ssh")), 0o700);
    assert_eq!(mode(&state.join("ssh/id")), 0o600);
    assert_eq!(mode(&state.join("site.yaml")), 0o600);

    // Restored: green at the next update-status.
    let restore = Action::new(serde_json::json!({"confirm": true}));
    restore.run(&t, "restore");
    assert_eq!(
        restore.results()["result"],
        "green",
        "{}",
        restore.results()
    );
    let output = hook(&t, unit.path(), "update-status");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (status, message) = workload(unit.path());
    assert_eq!(status, "active", "{message}");
    assert!(
        message.starts_with("stack green on the OpenStack side"),
        "{message}"
    );

    // The secret revoked: blocked with the grant line; a hook that has nothing to do
    // does nothing.
    edit_unit(unit.path(), "secrets.json", |s| {
        s[CREDENTIALS_ID]["granted"] = Value::Bool(false)
    });
    hook(&t, unit.path(), "secret-changed");
    let (status, message) = workload(unit.path());
    assert_eq!(status, "blocked");
    assert!(
        message.contains("juju grant-secret secret:d5fj493sf2bh7nljq620 capi-restore"),
        "{message}"
    );
    let statuses = std::fs::read_to_string(unit.path().join("statuses")).unwrap();
    hook(&t, unit.path(), "leader-elected");
    assert_eq!(
        std::fs::read_to_string(unit.path().join("statuses")).unwrap(),
        statuses
    );

    // Removed: the key and site are gone, the journals stay.
    hook(&t, unit.path(), "remove");
    assert!(!state.exists());
    assert!(state.parent().unwrap().join("runs").is_dir());
    let log = std::fs::read_to_string(unit.path().join("unit.log")).unwrap();
    assert!(log.contains("INFO remove: maintenance: removing"), "{log}");
    for text in [log, statuses, stderr(&output)] {
        assert!(
            !text.contains("twin-admin-password") && !text.contains("planted-ssh-key-material")
        );
    }
}

#[test]
fn the_charms_window_installs_timers_whose_runs_read_the_credentials_from_the_secret() {
    let t = TestTwin::with(|s| {
        s.time_scale = 600.0;
        s.token_ttl = std::time::Duration::from_secs(86400 * 30);
        s.servers[0].status = twin::scenario::ServerStatus::Active;
        s.load_balancers[0].provisioning_status = twin::scenario::Provisioning::Active;
    });
    let unit = tempfile::tempdir().unwrap();
    install_hook_tools(unit.path());
    configure_unit(unit.path(), &t);
    let now = jiff::Timestamp::now();
    let when = |at: jiff::Timestamp| at.strftime("%a %H:%M").to_string();
    edit_unit(unit.path(), "config.json", |c| {
        c["window-park"] = Value::String(when(now));
        c["window-restore"] = Value::String(when(now + jiff::SignedDuration::from_hours(4)));
        c["window-time-zone"] = Value::String("UTC".into());
        c["window-preflight"] = Value::String(String::new());
    });
    let output = hook(&t, unit.path(), "config-changed");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (status, message) = workload(unit.path());
    assert_eq!(status, "active", "{message}");
    assert!(
        message.ends_with(&format!(
            "; window {} to {} UTC",
            when(now),
            when(now + jiff::SignedDuration::from_hours(4))
        )),
        "{message}"
    );

    // The park's unit runs the charm's binary through juju-exec, with `--charm`.
    let units = t.home.path().join("system-root/etc/systemd/system");
    let service =
        std::fs::read_to_string(units.join("juju-capi-restore-capi-restore-park.service")).unwrap();
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/usr/bin/juju-exec capi-restore/0 \""))
        .unwrap_or_else(|| panic!("{service}"))
        .strip_suffix('"')
        .unwrap()
        .to_string();
    assert!(exec.contains(" --charm park --yes --window "), "{exec}");
    assert!(
        units
            .join("juju-capi-restore-capi-restore-restore.timer")
            .is_file()
    );

    // The timer fires: juju-exec runs the command in the unit's hook context.
    let mut park = std::process::Command::new("sh");
    park.args(["-c", &exec]).env_clear();
    for (k, v) in crate::harness::bare_std_cmd(t.home.path().to_path_buf()).get_envs() {
        if let Some(v) = v {
            park.env(k, v);
        }
    }
    as_the_unit_agent(&mut park, &t, unit.path(), "");
    let output = park.output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let parked = t.steer(|c, _| c.server(&c.management_server_id).unwrap().vm_state);
    assert_eq!(parked, twin::cloud::VmState::Stopped);
    let runs = crate::restore::journal(&t);
    assert_eq!(runs[0]["detail"]["command"], "park");
    // No secret sits in what the timers run, nor in the window's file.
    let window = std::fs::read_to_string(
        t.home
            .path()
            .join(".local/state/juju-capi-restore/charm/window.yaml"),
    )
    .unwrap();
    for text in [&service, &window, &stderr(&output)] {
        assert!(
            !text.contains("twin-admin-password") && !text.contains("planted-ssh-key-material")
        );
    }

    // Removed with the unit: the timers go too.
    hook(&t, unit.path(), "remove");
    assert_eq!(std::fs::read_dir(&units).unwrap().count(), 0);
}
