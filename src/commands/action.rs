//! The charm's actions: the tool's commands with their params from `action-get` and
//! their results through `action-set`, built from the same typed values the command
//! line prints (the report, the ending, the plan's decisions), never parsed from
//! output. No prompt ever. A run that does not end green calls `action-fail` with
//! its closing line and still exits 0 (Juju would replace the message with "exit
//! status N"); its own exit code is the `exit-code` result. The full report goes to
//! a private file whose path is the `report` result.
//!
//! Every action of `actions/actions.yaml` is answered here.

use std::path::PathBuf;

use serde_json::json;

use crate::charm::hook_tools::HookTools;
use crate::charm::params::{ParamError, Params};
use crate::charm::results::Results;
use crate::ending::Ending;
use crate::engine::plan;
use crate::engine::restore::Options;
use crate::env::Env;
use crate::exit::ExitStatus;
use crate::layers::Layer;
use crate::report::{self, Report};

use super::frame::Frame;
use crate::settings::Settings;

/// Runs action `name`; the process's own exit status (0 unless the hook tools
/// themselves failed: then there is no other way left to say so).
pub async fn run(name: &str, settings: &Settings, env: &Env) -> ExitStatus {
    let tools = HookTools;
    let outcome = match (name, env.unreadable().first()) {
        // Never its value: it may be a password.
        (_, Some(variable)) => Err(Failed {
            status: ExitStatus::BadInput,
            message: format!(
                "the environment variable `{variable}` is not valid UTF-8 (its value is not shown): fix the unit's environment"
            ),
        }),
        // The journal needs no cloud; every other action its configuration.
        (name @ "journal", None) => act(name, settings, env).await,
        (name, None) => {
            match crate::charm::config::configure(&tools, env, &crate::state::charm_dir(env)).await
            {
                Ok(configured) => {
                    let settings = Settings {
                        site_path: configured.site_path,
                        credentials: Some(configured.cloud),
                        ..settings.clone()
                    };
                    act(name, &settings, env).await
                }
                Err(e) => Err(Failed {
                    status: ExitStatus::BadInput,
                    message: e.to_string(),
                }),
            }
        }
    };
    let told = match outcome {
        Ok((results, None)) => tools.set(&results).await,
        Ok((results, Some(message))) => match tools.set(&results).await {
            Ok(()) => tools.fail(&message).await,
            Err(e) => Err(e),
        },
        Err(failed) => {
            let mut results = Results::default();
            results
                .set("result", failed.status.word())
                .set("exit-code", failed.status.code().to_string());
            match tools.set(&results).await {
                Ok(()) => tools.fail(&failed.message).await,
                Err(e) => Err(e),
            }
        }
    };
    match told {
        Ok(()) => ExitStatus::Success,
        Err(e) => {
            eprintln!("error: {e}");
            ExitStatus::Internal
        }
    }
}

/// The action itself: its results and, when it did not end green, the closing line
/// to fail with.
async fn act(
    name: &str,
    settings: &Settings,
    env: &Env,
) -> Result<(Results, Option<String>), Failed> {
    match name {
        "status" | "plan" => observe(name, settings, env).await,
        "restore" => restore(settings, env).await,
        "verify" => verify(settings, env).await,
        "headroom" => headroom(settings, env).await,
        "sweep" => sweep(settings, env).await,
        "failover" => failover(settings, env).await,
        "park" => park(settings, env).await,
        "journal" => journal(env).await,
        other => Err(Failed {
            status: ExitStatus::BadInput,
            message: format!(
                "`{other}` is not an action of this charm: its actions are {}",
                crate::charm::ACTIONS.join(", ")
            ),
        }),
    }
}

/// An action that could not run, with its status and what to do.
struct Failed {
    status: ExitStatus,
    message: String,
}

impl From<anyhow::Error> for Failed {
    fn from(e: anyhow::Error) -> Failed {
        // An action has no `--yes` and no terminal: its confirmation is a param.
        let message = match e.downcast_ref::<crate::error::NotConfirmed>() {
            Some(not) => format!(
                "not confirmed: {}: run the action again with `confirm=true`",
                not.question
            ),
            None => e.to_string(),
        };
        Failed {
            status: ExitStatus::of_error(&e),
            message,
        }
    }
}

/// `status` and `plan`: observes every layer; the results and, when the stack is not
/// green, the closing line to fail with.
async fn observe(
    name: &str,
    settings: &Settings,
    env: &Env,
) -> Result<(Results, Option<String>), Failed> {
    let (site, session) = super::connect(settings, env).await?;
    let report = report::observe(crate::layers::Probe {
        session: &session,
        site: &site,
    })
    .await;
    let ending = Ending::observed(&[], &report.red(), report.lowest_unobserved());
    let mut results = layer_results(&report, &ending, report.lowest_red());
    if name == "plan" {
        for step in plan::plan(&report.layers, &site) {
            let key = |what: &str| format!("layers.{}.{what}", step.layer.name());
            results.set(&key("decision"), step.action);
            results.set(&key("what"), step.what.clone());
        }
    }
    let state = crate::state::for_site(env, &site);
    let path = write_report(&state.path, name, &report, &ending).map_err(Failed::from)?;
    results.set("report", path.display().to_string());
    let closing = (ending != Ending::Green).then(|| match ending {
        Ending::Unobserved { .. } => ending.line(&[]),
        _ => crate::ui::table::lowest_red(&report),
    });
    Ok((results, closing))
}

/// `restore` (params `confirm`, `until`, `strict-order`, `dry-run`): the runbook
/// as the command runs it, in the same frame, unattended: a destructive step without
/// `confirm=true` changes nothing and the action fails saying what it would have done.
async fn restore(settings: &Settings, env: &Env) -> Result<(Results, Option<String>), Failed> {
    let params = params().await?;
    let bad = |message: String| Failed {
        status: ExitStatus::BadInput,
        message,
    };
    let until = match params.text("until").map_err(bad_param)? {
        None => None,
        Some(name) => Some(Layer::parse(&name).map_err(bad)?),
    };
    if params.flag("dry-run").map_err(bad_param)? {
        return observe("plan", settings, env).await;
    }
    let options = Options {
        until,
        strict_order: params.flag("strict-order").map_err(bad_param)?,
        yes: params.flag("confirm").map_err(bad_param)?,
        ..Options::default()
    };
    let frame = Frame::open(settings, env, "restore", super::restore::start(options)).await?;
    let restored = super::restore::restore_in(&frame, options)
        .await
        .map_err(|status| Failed {
            status,
            message: "interrupted: the next `restore` continues from what it observes".into(),
        })?;
    super::restore::finish(&frame, &restored);
    let mut results = layer_results(&restored.report, &restored.ending, restored.lowest_red);
    for (n, change) in restored.outcome.changes.iter().enumerate() {
        results.set(&format!("changes.{}", n + 1), change.clone());
    }
    for stop in &restored.outcome.stopped {
        results.set(&format!("stopped.{}", stop.layer.name()), stop.why.clone());
    }
    results.set("journal", frame.journal.path().display().to_string());
    let path = write_report(&frame.state, "restore", &restored.report, &restored.ending)?;
    results.set("report", path.display().to_string());
    let closing = (restored.ending != Ending::Green).then(|| restored.closing.clone());
    Ok((results, closing))
}

/// `verify`: the runbook's final verify; `verdict` is SUCCESS or "not yet".
async fn verify(settings: &Settings, env: &Env) -> Result<(Results, Option<String>), Failed> {
    let frame = Frame::observing(settings, env, "verify").await?;
    let verified = super::verify::verify_in(&frame, settings, super::verify::Shown::Report).await;
    let Some(report) = verified.report else {
        return Err(Failed {
            status: verified.status,
            message: "interrupted: nothing was changed".into(),
        });
    };
    let (ending, closing) = super::verify::verdict(&verified.stopped);
    let mut results = layer_results(&report, &ending, report.lowest_red());
    results.set(
        "verdict",
        if ending == Ending::Green {
            "SUCCESS"
        } else {
            "not yet"
        },
    );
    for stop in &verified.stopped {
        results.set(&format!("stopped.{}", stop.layer.name()), stop.why.clone());
    }
    results.set("journal", frame.journal.path().display().to_string());
    let path = write_report(&frame.state, "verify", &report, &ending)?;
    results.set("report", path.display().to_string());
    Ok((results, (ending != Ending::Green).then_some(closing)))
}

/// `headroom`: free amphora slots per enabled compute host, from Placement.
async fn headroom(settings: &Settings, env: &Env) -> Result<(Results, Option<String>), Failed> {
    let (site, session) = super::connect(settings, env).await?;
    let probe = crate::layers::Probe {
        session: &session,
        site: &site,
    };
    let providers = crate::layers::headroom::probe(probe)
        .await
        .map_err(|e| Failed::from(anyhow::Error::from(e)))?;
    let hosts = crate::layers::headroom::compute(&providers, &site.amphora_flavor);
    let total: u64 = hosts.iter().map(|h| h.slots).sum();
    let status = ExitStatus::of_layer((total == 0).then_some(Layer::Headroom));
    let mut results = Results::default();
    results
        .set("result", status.word())
        .set("exit-code", status.code().to_string())
        .set("total-slots", total.to_string());
    // Host names hold dots: the hosts are numbered, each with its name.
    for (n, h) in hosts.iter().enumerate() {
        let key = |what: &str| format!("hosts.{}.{what}", n + 1);
        results.set(&key("name"), h.host.clone());
        results.set(&key("slots"), h.slots.to_string());
        results.set(&key("disabled"), h.disabled.to_string());
    }
    let closing = (total == 0).then(|| {
        "no amphora slot on any enabled compute host: a failover would fail with NoValidHost; the orphan sweep usually frees one".to_string()
    });
    Ok((results, closing))
}

/// `sweep` (param `confirm`): orphans deleted verify-then-delete; without
/// `confirm=true` they are listed and the action fails saying so.
async fn sweep(settings: &Settings, env: &Env) -> Result<(Results, Option<String>), Failed> {
    let confirm = params().await?.flag("confirm").map_err(bad_param)?;
    let frame = Frame::open(
        settings,
        env,
        "sweep",
        super::frame::options([("yes", json!(confirm))]),
    )
    .await?;
    let ran = super::octavia::sweep_in(&frame, confirm).await;
    let mut results = Results::default();
    if let Some(swept) = &ran.value {
        results.set("orphans", swept.orphans.len().to_string());
        results.set("lookalikes", swept.lookalikes.len().to_string());
        let lists = [
            ("deleted", &swept.deleted),
            ("aborted", &swept.aborted),
            ("left", &swept.left),
            ("kept", &swept.kept),
        ];
        for (name, ids) in lists {
            for (n, id) in ids.iter().enumerate() {
                results.set(&format!("{name}.{}", n + 1), id.clone());
            }
        }
    }
    Ok(step_five_end(&frame, ran.stops, &ran.changes, results))
}

/// `failover` (params `load-balancers`, `confirm`): one at a time, never retrying a
/// failed one; without `confirm=true` none is started.
async fn failover(settings: &Settings, env: &Env) -> Result<(Results, Option<String>), Failed> {
    let params = params().await?;
    let confirm = params.flag("confirm").map_err(bad_param)?;
    let ids = params.list("load-balancers").map_err(bad_param)?;
    let frame = super::octavia::failover_frame(settings, env, &ids, confirm).await?;
    let ran = super::octavia::failover_in(&frame, &ids, confirm).await?;
    let mut results = Results::default();
    for (n, done) in ran.value.iter().flatten().enumerate() {
        let key = |what: &str| format!("failed-over.{}.{what}", n + 1);
        results.set(&key("load-balancer"), done.load_balancer.clone());
        results.set(&key("took-s"), done.took.as_secs().to_string());
    }
    Ok(step_five_end(&frame, ran.stops, &ran.changes, results))
}

/// Ends a Step-5 action: the ending from its stops, journaled; the results with
/// the changes, stops and journal; the closing line when it did not end green.
fn step_five_end(
    frame: &Frame,
    stops: Vec<crate::ending::Stopped>,
    changes: &[String],
    mut results: Results,
) -> (Results, Option<String>) {
    let ending = Ending::of(&stops, None);
    let mut more = super::frame::Options::new();
    more.insert("nothing_changed".into(), json!(changes.is_empty()));
    let status = frame.finish(
        &ending,
        &stops,
        crate::journal::End {
            actions: Some(changes.len()),
            more,
            ..crate::journal::End::default()
        },
    );
    results
        .set("result", status.word())
        .set("exit-code", status.code().to_string());
    for (n, change) in changes.iter().enumerate() {
        results.set(&format!("changes.{}", n + 1), change.clone());
    }
    for stop in &stops {
        results.set(&format!("stopped.{}", stop.layer.name()), stop.why.clone());
    }
    results.set("journal", frame.journal.path().display().to_string());
    let closing = (ending != Ending::Green).then(|| ending.line_for(&stops, frame.confirm_by));
    (results, closing)
}

/// `park` (params `confirm`, `force`, `file-secrets`): pre-checks, then the VM
/// stopped; without `confirm=true` nothing is stopped.
async fn park(settings: &Settings, env: &Env) -> Result<(Results, Option<String>), Failed> {
    let p = params().await?;
    let park = super::park::ParkSettings {
        force: p.flag("force").map_err(bad_param)?,
        yes: p.flag("confirm").map_err(bad_param)?,
        file_secrets: p
            .text("file-secrets")
            .map_err(bad_param)?
            .map(PathBuf::from),
        window: None,
    };
    let frame = Frame::open(
        settings,
        env,
        "park",
        super::frame::options([("force", json!(park.force)), ("yes", json!(park.yes))]),
    )
    .await?;
    let status = super::park::park_in(&frame, park).await?;
    let mut results = Results::default();
    results
        .set("result", status.word())
        .set("exit-code", status.code().to_string())
        .set("journal", frame.journal.path().display().to_string());
    let closing = (status != ExitStatus::Success)
        .then(|| format!("park ended {} (exit code {})", status.word(), status.code()));
    Ok((results, closing))
}

/// `journal` (params `run`, `markdown`): the runs journaled, or one rendered on
/// stdout; the most recent twenty with their outcomes as results.
async fn journal(env: &Env) -> Result<(Results, Option<String>), Failed> {
    let p = params().await?;
    let mut results = Results::default();
    results.set("result", "green").set("exit-code", "0");
    if let Some(run) = p.text("run").map_err(bad_param)? {
        let run = run.as_str();
        super::journal::run(
            env,
            Some(run),
            p.flag("markdown").map_err(bad_param)?,
            crate::ui::Format::Table,
        )?;
        results.set("run", run);
        return Ok((results, None));
    }
    let runs = super::journal::all_runs(env);
    for (n, path) in runs.iter().rev().take(20).enumerate() {
        let key = |what: &str| format!("runs.{}.{what}", n + 1);
        results.set(&key("id"), super::journal::stem(path));
        results.set(
            &key("outcome"),
            super::journal::outcome(&crate::journal::read(path).lines),
        );
    }
    Ok((results, None))
}

/// The action's params (validated and defaulted by Juju, their types checked again).
async fn params() -> Result<Params, Failed> {
    let value = HookTools.params().await.map_err(|e| Failed {
        status: ExitStatus::Internal,
        message: e.to_string(),
    })?;
    Params::from_value(value).map_err(bad_param)
}

/// A param of the wrong type: the operator's to fix (exit 2), nothing done.
fn bad_param(e: ParamError) -> Failed {
    Failed {
        status: ExitStatus::BadInput,
        message: e.to_string(),
    }
}

/// The results every observing action gives: the ending, its exit code, the lowest
/// red layer, and each layer's state and summary.
fn layer_results(report: &Report, ending: &Ending, lowest_red: Option<Layer>) -> Results {
    let mut results = Results::default();
    let status = ending.status();
    results
        .set("result", status.word())
        .set("exit-code", status.code().to_string());
    if let Some(layer) = lowest_red {
        results.set("lowest-red-layer", layer.name());
    }
    for row in &report.layers {
        let key = |what: &str| format!("layers.{}.{what}", row.layer.name());
        results.set(&key("state"), row.state.word());
        results.set(&key("summary"), row.summary.clone());
    }
    results
}

/// Writes the whole report (JSON, 0600) under the state directory; its path.
fn write_report(
    state: &std::path::Path,
    action: &str,
    report: &Report,
    ending: &Ending,
) -> anyhow::Result<PathBuf> {
    let dir = state.join("reports");
    crate::state::make_dir(&dir, 0o700).map_err(crate::files::FileError::on(
        &dir,
        "create the reports directory",
    ))?;
    let path = dir.join(format!(
        "{}-{action}-{}.json",
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ"),
        std::process::id()
    ));
    let text = serde_json::to_string_pretty(&json!({
        "report": report,
        "ending": ending,
        "exit_code": ending.code(),
    }))?;
    crate::files::create_private(&path, &text)
        .map_err(crate::files::FileError::on(&path, "write the report"))?;
    Ok(path)
}
