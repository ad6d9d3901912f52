//! `journal`: list past runs, and render one as text or as Markdown fit to paste into
//! the runbooks: the timeline, and each gate's measured wait beside the runbook's
//! verified figure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::cloud::credentials::Env;
use crate::ending::Ending;
use crate::error::UsageError;
use crate::exit::ExitStatus;
use crate::journal::{self, Action, Decided, End, Entry, Line, Start};
use crate::layers::Layer;

/// What an action was aimed at, when it names a server or a load balancer.
fn target(server: &Option<String>, load_balancer: &Option<String>) -> String {
    server
        .as_deref()
        .or(load_balancer.as_deref())
        .map(|id| format!(" {id}"))
        .unwrap_or_default()
}

/// What the runbook says each gate takes (AS-EXECUTED-VERIFIED 2026-06-10, gp.mid).
fn runbook_figure(layer: Layer) -> &'static str {
    match layer {
        Layer::Vm => "ACTIVE ~20 s",
        Layer::Ssh => "sshd ~3.5 min after ACTIVE",
        Layer::Kubernetes => "ready ~20-21 min from boot",
        Layer::CapiControllers => "Running soon after k8s ready",
        Layer::LoadBalancers => "failover ~108 s to ACTIVE",
        Layer::Amphorae => "orphan server gone: seconds",
        Layer::Capo => "Available within ~10 min of a failover",
        _ => "-",
    }
}

/// One journaled run, as `journal -f json|yaml` lists it.
#[derive(serde::Serialize)]
struct Listed {
    run: String,
    command: Option<String>,
    outcome: String,
    exit_code: Option<u8>,
    path: String,
}

/// Lists runs, or renders `run` (an id, a unique prefix, or `latest`): as text (or
/// Markdown), or for programs as `-f json|yaml` (the list; one run's entries).
/// Every journal there is, oldest first: the site-wide ones and this user's own
/// (run ids start with their UTC start time; name order is time order).
pub fn all_runs(env: &Env) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = crate::state::journal_dirs(env)
        .iter()
        .flat_map(|dir| journal::runs(dir))
        .collect();
    runs.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    runs.dedup();
    runs
}

pub fn run(
    env: &Env,
    run: Option<&str>,
    markdown: bool,
    format: crate::ui::Format,
) -> anyhow::Result<ExitStatus> {
    let structured = format != crate::ui::Format::Table;
    let runs = all_runs(env);
    let searched = crate::state::journal_dirs(env)
        .iter()
        .map(|d| format!("`{}`", d.display()))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(wanted) = run else {
        if structured {
            let listed: Vec<Listed> = runs
                .iter()
                .rev()
                .map(|path| {
                    let entries = journal::read(path).lines;
                    Listed {
                        run: stem(path),
                        command: start(&entries).map(|s| s.command.clone()),
                        outcome: outcome(&entries),
                        exit_code: end(&entries).and_then(|e| e.exit_code),
                        path: path.display().to_string(),
                    }
                })
                .collect();
            print!("{}", crate::ui::structured(&listed, format));
            return Ok(ExitStatus::Success);
        }
        if runs.is_empty() {
            println!("no runs journaled under {searched} yet");
        }
        for path in runs.iter().rev() {
            println!("{}  {}", stem(path), outcome(&journal::read(path).lines));
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
    let path = match chosen.as_slice() {
        [one] => *one,
        [] => return Err(UsageError(format!(
            "no journaled run `{wanted}` under {searched}: `juju-capi-restore journal` lists them"
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
    let read = journal::read(path);
    if structured {
        #[derive(serde::Serialize)]
        struct Run<'a> {
            run: String,
            outcome: String,
            path: String,
            entries: &'a [Line],
            /// Lines this release cannot read as entries.
            unreadable: usize,
        }
        let one = Run {
            run: stem(path),
            outcome: outcome(&read.lines),
            path: path.display().to_string(),
            entries: &read.lines,
            unreadable: read.unreadable,
        };
        print!("{}", crate::ui::structured(&one, format));
        return Ok(ExitStatus::Success);
    }
    print!("{}", render(&stem(path), &read, markdown));
    Ok(ExitStatus::Success)
}

/// A journal's run id (its file name).
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The run's start, if its journal has one.
fn start(entries: &[Line]) -> Option<&Start> {
    entries.iter().find_map(|l| match &l.entry {
        Entry::Start(s) => Some(s),
        _ => None,
    })
}

/// The run's end (the last one not about a layer).
fn end(entries: &[Line]) -> Option<&End> {
    entries.iter().rev().find_map(|l| match &l.entry {
        Entry::End(e) if l.layer.is_none() => Some(e),
        _ => None,
    })
}

/// One line on how a run ended.
pub fn outcome(entries: &[Line]) -> String {
    let took = entries.last().map_or(0.0, |l| l.elapsed_s);
    // "stopped at vm, headroom", from the stops a run recorded.
    let stopped_at = |e: &End| {
        e.stopped.as_ref().filter(|s| !s.is_empty()).map(|stops| {
            let layers: Vec<&str> = stops.iter().map(|s| s.layer.name()).collect();
            format!("stopped at {}", layers.join(", "))
        })
    };
    let result = match end(entries) {
        None => "did not finish (killed?)".to_string(),
        Some(e) if e.interrupted_by_signal.is_some() => "interrupted".to_string(),
        Some(e) if e.success == Some(true) => "SUCCESS".to_string(),
        Some(e) if e.ending.is_some() => match e.ending.as_ref() {
            Some(Ending::Green) => "ended green".to_string(),
            // The shell and the charm share the journal: how to confirm is theirs to say.
            Some(Ending::NotConfirmed) => "not confirmed (nothing destructive done)".to_string(),
            Some(Ending::Unobserved { layer }) => {
                format!("could not observe `{}` (a cloud API failed)", layer.name())
            }
            Some(Ending::Red { .. }) | None => {
                stopped_at(e).unwrap_or_else(|| format!("ended with `{}` red", layer_name(e)))
            }
        },
        Some(End {
            refused: Some(why), ..
        }) => format!("refused: {why}"),
        Some(End {
            error: Some(error), ..
        }) => format!("failed: {error}"),
        Some(e) => stopped_at(e).unwrap_or_else(|| match e.lowest_red {
            Some(layer) => format!("ended with `{}` red", layer.name()),
            None => "ended green".to_string(),
        }),
    };
    format!("{result} ({took:.0} s)")
}

/// The red layer an end names.
fn layer_name(e: &End) -> &'static str {
    match &e.ending {
        Some(Ending::Red { layer }) => layer.name(),
        _ => "?",
    }
}

/// Renders a run: the timeline of decisions, actions and gates, and the gate table.
pub fn render(id: &str, read: &journal::Read, markdown: bool) -> String {
    let entries = &read.lines;
    let mut out = String::new();
    let start = start(entries);
    let heading = format!(
        "{} of `{}` on cloud `{}`, {}",
        start.map_or("run", |s| s.command.as_str()),
        start.and_then(|s| s.server.as_deref()).unwrap_or("?"),
        start.and_then(|s| s.cloud.as_deref()).unwrap_or("?"),
        entries.first().map_or("?", |l| l.at.as_str())
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
        .and_then(|s| s.time_scale)
        .filter(|x| x.is_finite() && *x > 0.0)
        .unwrap_or(1.0);
    let clock = if scale != 1.0 {
        format!("simulated time, {scale}x")
    } else {
        "real time".to_string()
    };
    out.push_str(&format!("times: {clock}\n"));
    timeline(&mut out, entries, scale);
    if read.unreadable > 0 {
        out.push_str(&format!(
            "({} line(s) of this journal are not entries this release can read)\n",
            read.unreadable
        ));
    }
    gates(&mut out, entries, markdown, &clock);
    out
}

/// The timeline: one line per decision, action, gate passed and confirmation.
fn timeline(out: &mut String, entries: &[Line], scale: f64) {
    let mut last_decision: HashMap<Option<Layer>, &str> = HashMap::new();
    for l in entries {
        let t = (l.elapsed_s * scale) as u64;
        if let Entry::Decision(Decided::Step { what, .. }) = &l.entry {
            last_decision.insert(l.layer, what);
        }
        let Some(text) = say(l, &last_decision) else {
            continue;
        };
        let layer = l.layer.map_or("", Layer::name);
        out.push_str(&format!(
            "+{:02}:{:02}  {layer:<16} {text}\n",
            t / 60,
            t % 60
        ));
    }
}

/// One entry in words, for the timeline (None: not shown).
fn say(l: &Line, last_decision: &HashMap<Option<Layer>, &str>) -> Option<String> {
    Some(match &l.entry {
        // A stop whose reason is the decision just above says only that.
        Entry::Decision(Decided::Stopped { stopped, .. }) => {
            if last_decision.get(&l.layer) == Some(&stopped.as_str()) {
                "stopped here".to_string()
            } else {
                format!("stopped: {stopped}")
            }
        }
        Entry::Decision(Decided::NothingChanged { .. }) => "nothing changed".to_string(),
        Entry::Decision(Decided::Step { what, .. }) => format!("decided: {what}"),
        Entry::Decision(Decided::AbortedDelete { why, .. }) => format!("decided: {why}"),
        Entry::Decision(Decided::RefusedFailover { because, .. }) => {
            format!("decided: no failover, {because}")
        }
        // Journaled before the request is sent, so a crash mid-request still shows
        // what may have happened.
        Entry::Action(Action::Requested { requested: r }) => format!(
            "ACTION {}{}: requested",
            r.request,
            target(&r.server, &r.load_balancer)
        ),
        Entry::Action(Action::Result(r)) => format!(
            "ACTION {}{}: {}",
            r.request,
            target(&r.server, &r.load_balancer),
            r.result
        ),
        Entry::Wait(journal::Wait::Done {
            waited_s, attempts, ..
        }) => format!("gate passed after {waited_s} s ({attempts} attempts)"),
        Entry::Confirmation(c) => format!("confirmation: {} -> {}", c.question, c.answer),
        _ => return None,
    })
}

/// The gates passed, with the runbook's figure beside each.
fn gates(out: &mut String, entries: &[Line], markdown: bool, clock: &str) {
    let gates: Vec<(Layer, u64)> = entries
        .iter()
        .filter_map(|l| match (&l.entry, l.layer) {
            (Entry::Wait(journal::Wait::Done { waited_s, .. }), Some(layer)) => {
                Some((layer, *waited_s))
            }
            _ => None,
        })
        .collect();
    let took =
        |secs: u64| humantime::format_duration(std::time::Duration::from_secs(secs)).to_string();
    if markdown {
        out.push_str("```\n\n| gate | waited | runbook |\n|---|---|---|\n");
        for (layer, secs) in &gates {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                layer.name(),
                took(*secs),
                runbook_figure(*layer)
            ));
        }
    } else if !gates.is_empty() {
        out.push_str(&format!("\ngates (waited vs the runbook; {clock}):\n"));
        for (layer, secs) in &gates {
            out.push_str(&format!(
                "  {:<16} {:>10}   {}\n",
                layer.name(),
                took(*secs),
                runbook_figure(*layer)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn entry(t: f64, event: &str, layer: Option<&str>, detail: Value) -> Line {
        serde_json::from_value(json!({"at": "2026-06-10T07:00:00Z", "elapsed_s": t, "run": "r", "event": event, "layer": layer, "detail": detail})).unwrap()
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
        let read = journal::Read {
            lines: entries,
            unreadable: 0,
        };
        insta::assert_snapshot!(render("20260610T070000Z-restore-4242", &read, true));
    }

    #[test]
    fn a_journal_from_the_release_before_still_renders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jsonl");
        std::fs::write(
            &path,
            include_str!("../../tests/fixtures/journal-v0.1-restore-fast-fail.jsonl"),
        )
        .unwrap();
        let text = render("old", &journal::read(&path), false);
        assert!(
            text.contains("run old: stopped at load-balancers"),
            "{text}"
        );
        assert!(
            text.contains(
                "ACTION loadbalancer failover 0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17: ERROR after 15s"
            ),
            "{text}"
        );
        assert!(
            !text.contains("not entries this release can read"),
            "{text}"
        );
    }
}
