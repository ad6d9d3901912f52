//! A fake of Juju's hook tools for an action (`twin-hook-tool`, hidden), for tests:
//! what Juju's own jujuc commands enforce, enforced the same way with the same
//! messages (`ERROR ...` on stderr, exit 2 on bad arguments): `action-set` keys
//! (each dotted part `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`, not a reserved key, every
//! argument `key=value`), `action-log` with a message, `action-fail` with at most
//! one. The action's state is a directory (`CAPI_RESTORE_FAKE_ACTION`):
//! `params.json` in; `results.json`, `log` and `failed` out, as the unit agent would
//! hand them to `juju run`. This is not Juju: it says so, and tests name it a fake.

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

fn action_get(dir: &Path, args: &[String]) -> Result<(), String> {
    let mut key = None;
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
            k if key.is_none() => key = Some(k.to_string()),
            extra => return Err(format!("unrecognized args: [{extra:?}]")),
        }
    }
    let params: Value = std::fs::read_to_string(dir.join("params.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| Value::Object(Map::new()));
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
    let mut results: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| Value::Object(Map::new()));
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
