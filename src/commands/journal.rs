//! `journal`: list past runs, and render one as text or as Markdown fit to paste into
//! the runbooks: the timeline, and each gate's measured wait beside the runbook's
//! verified figure.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cloud::credentials::Env;
use crate::error::UsageError;
use crate::exit::ExitStatus;
use crate::journal;

/// What an action was aimed at, when it names a server or a load balancer.
fn target(detail: &serde_json::Value) -> String {
    ["server", "load_balancer"]
        .iter()
        .find_map(|k| detail[*k].as_str())
        .map(|id| format!(" {id}"))
        .unwrap_or_default()
}

/// What the runbook says each gate takes (AS-EXECUTED-VERIFIED 2026-06-10, gp.mid).
fn runbook_figure(layer: &str) -> &'static str {
    match layer {
        "vm" => "ACTIVE ~20 s",
        "ssh" => "sshd ~3.5 min after ACTIVE",
        "kubernetes" => "ready ~20-21 min from boot",
        "capi-controllers" => "Running soon after k8s ready",
        "load-balancers" => "failover ~108 s to ACTIVE",
        "amphorae" => "orphan server gone: seconds",
        "capo" => "Available within ~10 min of a failover",
        _ => "-",
    }
}

/// One journaled run, as `journal -f json|yaml` lists it.
#[derive(serde::Serialize)]
struct Listed {
    run: String,
    command: Option<String>,
    outcome: String,
    exit_code: Option<i64>,
    path: String,
}

/// Lists runs, or renders `run` (an id, a unique prefix, or `latest`): as text (or
/// Markdown), or for programs as `-f json|yaml` (the list; one run's entries).
pub fn run(
    env: &Env,
    run: Option<&str>,
    markdown: bool,
    format: crate::ui::Format,
) -> anyhow::Result<ExitStatus> {
    let structured = format != crate::ui::Format::Table;
    let runs_dir = journal::state_dir(env).join("runs");
    let mut runs: Vec<PathBuf> = match std::fs::read_dir(&runs_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(_) => Vec::new(),
    };
    runs.sort();
    let Some(wanted) = run else {
        if structured {
            let listed: Vec<Listed> = runs
                .iter()
                .rev()
                .map(|path| {
                    let entries = read(path);
                    let end = entries.iter().rev().find(|e| e["event"] == "end");
                    Listed {
                        run: stem(path),
                        command: entries
                            .first()
                            .and_then(|e| e["detail"]["command"].as_str())
                            .map(str::to_string),
                        outcome: outcome(&entries),
                        exit_code: end.and_then(|e| e["detail"]["exit_code"].as_i64()),
                        path: path.display().to_string(),
                    }
                })
                .collect();
            print!("{}", crate::ui::structured(&listed, format));
            return Ok(ExitStatus::Success);
        }
        if runs.is_empty() {
            println!("no runs journaled under `{}` yet", runs_dir.display());
        }
        for path in runs.iter().rev() {
            let entries = read(path);
            println!("{}  {}", stem(path), outcome(&entries));
        }
        return Ok(ExitStatus::Success);
    };
    let chosen: Vec<&PathBuf> = if wanted == "latest" {
        runs.last().into_iter().collect()
    } else {
        runs.iter()
            .filter(|p| stem(p).starts_with(wanted))
            .collect()
    };
    let path =
        match chosen.as_slice() {
            [one] => *one,
            [] => return Err(UsageError(format!(
                "no journaled run `{wanted}` under `{}`: `juju-capi-restore journal` lists them",
                runs_dir.display()
            ))
            .into()),
            many => {
                return Err(UsageError(format!(
                    "`{wanted}` matches {} runs: give more of the id",
                    many.len()
                ))
                .into());
            }
        };
    let entries = read(path);
    if structured {
        #[derive(serde::Serialize)]
        struct Run<'a> {
            run: String,
            outcome: String,
            path: String,
            entries: &'a [Value],
        }
        let one = Run {
            run: stem(path),
            outcome: outcome(&entries),
            path: path.display().to_string(),
            entries: &entries,
        };
        print!("{}", crate::ui::structured(&one, format));
        return Ok(ExitStatus::Success);
    }
    print!("{}", render(&stem(path), &entries, markdown));
    Ok(ExitStatus::Success)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// One line on how a run ended.
fn outcome(entries: &[Value]) -> String {
    let end = entries
        .iter()
        .rev()
        .find(|e| e["event"] == "end" && e["layer"].is_null());
    let took = entries
        .last()
        .and_then(|e| e["elapsed_s"].as_f64())
        .unwrap_or(0.0);
    // "stopped at vm, headroom", from the stops a run recorded.
    let stopped_at = |d: &Value| {
        d["stopped"]
            .as_array()
            .filter(|s| !s.is_empty())
            .map(|stops| {
                let layers: Vec<&str> = stops.iter().filter_map(|s| s["layer"].as_str()).collect();
                format!("stopped at {}", layers.join(", "))
            })
    };
    let result = match end {
        None => "did not finish (killed?)".to_string(),
        Some(e) if e["detail"]["interrupted_by_signal"].is_number() => "interrupted".to_string(),
        Some(e) if e["detail"]["success"] == true => "SUCCESS".to_string(),
        // Newer runs record their ending as a value: read it as one.
        Some(e) if e["detail"]["ending"]["result"].is_string() => {
            let d = &e["detail"];
            let layer = d["ending"]["layer"].as_str().unwrap_or("?");
            match d["ending"]["result"].as_str().unwrap_or_default() {
                "green" => "ended green".to_string(),
                "not-confirmed" => "not confirmed (needs `--yes`)".to_string(),
                "unobserved" => format!("could not observe `{layer}` (a cloud API failed)"),
                _ => stopped_at(d).unwrap_or_else(|| format!("ended with `{layer}` red")),
            }
        }
        Some(e) if e["detail"]["refused"].is_string() => {
            format!("refused: {}", e["detail"]["refused"].as_str().unwrap_or(""))
        }
        Some(e) if e["detail"]["error"].is_string() => {
            format!("failed: {}", e["detail"]["error"].as_str().unwrap_or(""))
        }
        Some(e) => {
            stopped_at(&e["detail"]).unwrap_or_else(|| match e["detail"]["lowest_red"].as_str() {
                Some(layer) => format!("ended with `{layer}` red"),
                None => "ended green".to_string(),
            })
        }
    };
    format!("{result} ({took:.0} s)")
}

/// Renders a run: the timeline of decisions, actions and gates, and the gate table.
pub fn render(id: &str, entries: &[Value], markdown: bool) -> String {
    let mut out = String::new();
    let start = entries.first().map(|e| &e["detail"]);
    let heading = format!(
        "{} of `{}` on cloud `{}`, {}",
        start.and_then(|d| d["command"].as_str()).unwrap_or("run"),
        start.and_then(|d| d["server"].as_str()).unwrap_or("?"),
        start.and_then(|d| d["cloud"].as_str()).unwrap_or("?"),
        entries
            .first()
            .and_then(|e| e["at"].as_str())
            .unwrap_or("?")
    );
    if markdown {
        out.push_str(&format!(
            "### As-executed: {heading}\n\nRun `{id}`: {}.\n\n```\n",
            outcome(entries)
        ));
    } else {
        out.push_str(&format!("{heading}\nrun {id}: {}\n\n", outcome(entries)));
    }
    // One clock for every time shown: the cloud's. A run against the twin recorded
    // its time scale; its real seconds become simulated ones, and the heading says so.
    let scale = start
        .and_then(|d| d["time_scale"].as_f64())
        .filter(|x| x.is_finite() && *x > 0.0)
        .unwrap_or(1.0);
    let clock = if scale != 1.0 {
        format!("simulated time, {scale}x")
    } else {
        "real time".to_string()
    };
    out.push_str(&format!("times: {clock}\n"));
    let mut last_decision = std::collections::HashMap::new();
    for e in entries {
        let t = (e["elapsed_s"].as_f64().unwrap_or(0.0) * scale) as u64;
        let layer = e["layer"].as_str().unwrap_or("");
        let d = &e["detail"];
        if let Some(what) = d["what"].as_str() {
            last_decision.insert(layer, what);
        }
        let text = match e["event"].as_str().unwrap_or("") {
            // A stop whose reason is the decision just above says only that.
            "decision" if d["stopped"].is_string() => match d["stopped"].as_str() {
                Some(why) if last_decision.get(layer) == Some(&why) => "stopped here".to_string(),
                why => format!("stopped: {}", why.unwrap_or("")),
            },
            "decision" if d["nothing_changed"] == true => "nothing changed".to_string(),
            "decision" => format!("decided: {}", d["what"].as_str().unwrap_or("")),
            // Journaled before the request is sent, so a crash mid-request still
            // shows what may have happened.
            "action" if d["requested"].is_object() => format!(
                "ACTION {}{}: requested",
                d["requested"]["request"].as_str().unwrap_or(""),
                target(&d["requested"])
            ),
            "action" => format!(
                "ACTION {}{}: {}",
                d["request"].as_str().unwrap_or(""),
                target(d),
                d["result"].as_str().unwrap_or("")
            ),
            "wait" if d["done"] == true => format!(
                "gate passed after {} s ({} attempts)",
                d["waited_s"], d["attempts"]
            ),
            "confirmation" => format!(
                "confirmation: {} -> {}",
                d["question"].as_str().unwrap_or(""),
                d["answer"].as_str().unwrap_or("")
            ),
            "end" if !layer.is_empty() => format!(
                "stopped: {}",
                d["stopped"].as_str().or(d["result"].as_str()).unwrap_or("")
            ),
            _ => continue,
        };
        out.push_str(&format!(
            "+{:02}:{:02}  {layer:<16} {text}\n",
            t / 60,
            t % 60
        ));
    }
    let gates: Vec<(&str, u64)> = entries
        .iter()
        .filter(|e| e["event"] == "wait" && e["detail"]["done"] == true)
        .filter_map(|e| Some((e["layer"].as_str()?, e["detail"]["waited_s"].as_u64()?)))
        .collect();
    if markdown {
        out.push_str("```\n\n| gate | waited | runbook |\n|---|---|---|\n");
        for (layer, secs) in &gates {
            out.push_str(&format!(
                "| {layer} | {} | {} |\n",
                humantime::format_duration(std::time::Duration::from_secs(*secs)),
                runbook_figure(layer)
            ));
        }
    } else if !gates.is_empty() {
        out.push_str(&format!("\ngates (waited vs the runbook; {clock}):\n"));
        for (layer, secs) in &gates {
            out.push_str(&format!(
                "  {layer:<16} {:>10}   {}\n",
                humantime::format_duration(std::time::Duration::from_secs(*secs)).to_string(),
                runbook_figure(layer)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(t: f64, event: &str, layer: Option<&str>, detail: Value) -> Value {
        json!({"at": "2026-06-10T07:00:00Z", "elapsed_s": t, "run": "r", "event": event, "layer": layer, "detail": detail})
    }

    #[test]
    fn a_restore_renders_as_markdown_for_the_runbooks() {
        let entries = vec![
            entry(
                0.0,
                "start",
                None,
                json!({"command": "restore", "cloud": "prod", "server": "capi-mgmt-v2"}),
            ),
            entry(
                0.4,
                "decision",
                Some("vm"),
                json!({"action": "start-server", "what": "start `capi-mgmt-v2` in the management project, then wait for ACTIVE (~20 s; deadline 200 s)"}),
            ),
            entry(
                0.6,
                "action",
                Some("vm"),
                json!({"request": "os-start", "result": "accepted"}),
            ),
            entry(
                21.0,
                "wait",
                Some("vm"),
                json!({"done": true, "waited_s": 20, "attempts": 5}),
            ),
            entry(
                232.0,
                "wait",
                Some("ssh"),
                json!({"done": true, "waited_s": 211, "attempts": 43}),
            ),
            entry(
                1285.0,
                "wait",
                Some("kubernetes"),
                json!({"done": true, "waited_s": 1053, "attempts": 36}),
            ),
            entry(
                1286.0,
                "action",
                Some("capi-controllers"),
                json!({"request": "k8s config --server", "result": "written 0600"}),
            ),
            entry(
                1290.0,
                "end",
                None,
                json!({"stopped": [], "lowest_red": null}),
            ),
        ];
        insta::assert_snapshot!(render("20260610T070000Z-restore-4242", &entries, true));
    }
}
