//! A fake of Juju's hook tools (`twin-hook-tool`, hidden), for tests: what Juju's
//! own jujuc commands enforce, enforced the same way with the same messages (`ERROR
//! ...` on stderr, exit 2 on bad arguments, 1 when the agent refuses):
//! `action-set` keys (each dotted part `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`, not a
//! reserved key, every argument `key=value`), `action-log` with a message,
//! `action-fail` with at most one, `status-set` with one of the four statuses,
//! `juju-log` with a message, `secret-get` of a secret URI granted to the
//! application (`ERROR permission denied` otherwise, `ERROR secret "ID" not found`
//! for none), `config-get`. The unit's state is a directory
//! (`CAPI_RESTORE_FAKE_ACTION`): `params.json`, `config.json` and `secrets.json`
//! (`{ID: {"content": {...}, "granted": bool}}`) in; `results.json`, `log`,
//! `failed`, `status.json` and `unit.log` out, as the unit agent would hand them on.
//! This is not Juju: it says so, and tests name it a fake.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::charm::results::key_refused;
use crate::env::Env;
use crate::error::UsageError;
use crate::exit::ExitStatus;

/// Runs one fake hook tool.
pub fn run(tool: &str, args: &[String], env: &Env) -> anyhow::Result<ExitStatus> {
    let dir = env
        .get("CAPI_RESTORE_FAKE_ACTION")
        .map(PathBuf::from)
        .ok_or_else(|| {
            UsageError(
                "twin-hook-tool: set CAPI_RESTORE_FAKE_ACTION to the fake action's directory"
                    .into(),
            )
        })?;
    let result = match tool {
        "action-get" => action_get(&dir, args),
        "action-set" => action_set(&dir, args),
        "action-log" => action_log(&dir, args),
        "action-fail" => action_fail(&dir, args),
        "config-get" => config_get(&dir, args),
        "secret-get" => return Ok(secret_get(&dir, args)),
        "status-set" => status_set(&dir, args),
        "juju-log" => juju_log(&dir, args),
        other => Err(format!("twin-hook-tool: no fake of `{other}`")),
    };
    Ok(match result {
        Ok(()) => ExitStatus::Success,
        Err(message) => {
            // As jujuc reports an Init error.
            eprintln!("ERROR {message}");
            ExitStatus::BadInput
        }
    })
}

/// Reads a JSON file of the fake unit, `{}` when there is none.
fn read_json(path: &Path) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| Value::Object(Map::new()))
}

/// Splits `--format json` (the only format this fake speaks) from the other words.
fn json_format(args: &[String]) -> Result<Vec<&str>, String> {
    let mut words = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--format" => match iter.next().map(String::as_str) {
                Some("json") => {}
                other => {
                    return Err(format!(
                        "invalid value {other:?} for option --format: this fake speaks json only"
                    ));
                }
            },
            "--format=json" => {}
            word => words.push(word),
        }
    }
    Ok(words)
}

fn config_get(dir: &Path, args: &[String]) -> Result<(), String> {
    let config = read_json(&dir.join("config.json"));
    match json_format(args)?.as_slice() {
        [] => println!("{config}"),
        [key] => println!("{}", config.get(*key).cloned().unwrap_or(Value::Null)),
        [_, extra, ..] => return Err(format!("unrecognized args: [{extra:?}]")),
    }
    Ok(())
}

/// `secret-get ID [KEY] --format json`: the content of a secret granted to the
/// application. A refusal is the agent's (exit 1), bad arguments jujuc's (exit 2).
fn secret_get(dir: &Path, args: &[String]) -> ExitStatus {
    let words = match json_format(args) {
        Ok(words) => words,
        Err(message) => {
            eprintln!("ERROR {message}");
            return ExitStatus::BadInput;
        }
    };
    let (uri, key) = match words.as_slice() {
        [] => {
            eprintln!("ERROR require either a secret URI or label");
            return ExitStatus::BadInput;
        }
        [uri] => (*uri, None),
        [uri, key] => (*uri, Some(*key)),
        [_, _, extra, ..] => {
            eprintln!("ERROR unrecognized args: [{extra:?}]");
            return ExitStatus::BadInput;
        }
    };
    let id = uri.strip_prefix("secret:").unwrap_or(uri);
    let id = id.rsplit('/').next().unwrap_or(id);
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        eprintln!("ERROR secret URI {uri:?} not valid");
        return ExitStatus::BadInput;
    }
    let secrets = read_json(&dir.join("secrets.json"));
    let Some(secret) = secrets.get(id) else {
        eprintln!("ERROR secret {id:?} not found");
        return ExitStatus::Child(1);
    };
    if secret["granted"] != Value::Bool(true) {
        eprintln!("ERROR permission denied");
        return ExitStatus::Child(1);
    }
    let content = &secret["content"];
    match key {
        None => println!("{content}"),
        Some(k) => println!("{}", content.get(k).cloned().unwrap_or(Value::Null)),
    }
    ExitStatus::Success
}

fn status_set(dir: &Path, args: &[String]) -> Result<(), String> {
    let args: Vec<&String> = args.iter().filter(|a| *a != "--application").collect();
    let (status, message) = match args.as_slice() {
        [] => return Err("invalid args, require <status> [message] [data]".into()),
        [status] => (status.as_str(), ""),
        [status, message, ..] => (status.as_str(), message.as_str()),
    };
    if !matches!(status, "maintenance" | "blocked" | "waiting" | "active") {
        return Err(format!(
            "invalid status {status:?}, expected one of [maintenance blocked waiting active]"
        ));
    }
    let record = serde_json::json!({"status": status, "message": message});
    append(&dir.join("statuses"), &record.to_string())?;
    std::fs::write(dir.join("status.json"), record.to_string()).map_err(|e| e.to_string())
}

fn juju_log(dir: &Path, args: &[String]) -> Result<(), String> {
    let mut level = "INFO".to_string();
    let mut words = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-l" | "--log-level" => level = iter.next().cloned().unwrap_or_default(),
            "--debug" => level = "DEBUG".into(),
            word => words.push(word.to_string()),
        }
    }
    if words.is_empty() {
        return Err("no message specified".into());
    }
    append(
        &dir.join("unit.log"),
        &format!("{level} {}", words.join(" ")),
    )
}

fn action_get(dir: &Path, args: &[String]) -> Result<(), String> {
    let key = match json_format(args)?.as_slice() {
        [] => None,
        [key] => Some(key.to_string()),
        [_, extra, ..] => return Err(format!("unrecognized args: [{extra:?}]")),
    };
    let params = read_json(&dir.join("params.json"));
    let value = match key {
        None => params,
        Some(k) => k
            .split('.')
            .try_fold(&params, |v, part| v.get(part))
            .cloned()
            .unwrap_or(Value::Null),
    };
    println!("{value}");
    Ok(())
}

fn action_set(dir: &Path, args: &[String]) -> Result<(), String> {
    // Every argument is checked before any is set, as jujuc's Init does.
    let mut pairs = Vec::new();
    for arg in args {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(format!("argument {arg:?} must be of the form key...=value"));
        };
        if let Some(refused) = key_refused(key) {
            return Err(refused);
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    let path = dir.join("results.json");
    let mut results = read_json(&path);
    for (key, value) in pairs {
        let parts: Vec<&str> = key.split('.').collect();
        let mut node = &mut results;
        for part in &parts[..parts.len() - 1] {
            if !node[*part].is_object() {
                node[*part] = Value::Object(Map::new());
            }
            node = &mut node[*part];
        }
        node[parts[parts.len() - 1]] = Value::String(value);
    }
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&results).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())
}

fn action_log(dir: &Path, args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err("no message specified".into());
    }
    append(&dir.join("log"), &args.join(" "))
}

fn action_fail(dir: &Path, args: &[String]) -> Result<(), String> {
    let message = match args {
        [] => "action failed without reason given, check action for errors".to_string(),
        [one] => one.clone(),
        [_, rest @ ..] => return Err(format!("unrecognized args: {rest:?}")),
    };
    std::fs::write(dir.join("failed"), message).map_err(|e| e.to_string())
}

fn append(path: &Path, line: &str) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    writeln!(file, "{line}").map_err(|e| e.to_string())
}
