//! `sweep`, `headroom` and `failover`: the runbook's Step 5 on its own, for an
//! operator who wants one piece of it (see [`crate::engine::octavia`]). `sweep` and
//! `failover` change things: they take the run lock, journal every step, and confirm
//! (a terminal question or `--yes`). `headroom` only reads.

use std::fmt::Write as _;

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::json;

use super::frame::{Frame, options};
use crate::cloud::Scope;
use crate::cloud::credentials::Env;
use crate::cloud::octavia::{self, LoadBalancer};
use crate::ending::Ending;
use crate::ending::Stopped;
use crate::engine::failover::FailedOver;
use crate::engine::run::Run;
use crate::engine::sweep::Swept;
use crate::error::UsageError;
use crate::exit::ExitStatus;
use crate::journal::End;
use crate::layers::headroom::{self, HostHeadroom};
use crate::layers::{Layer, Probe};
use crate::settings::Settings;
use crate::site::AmphoraFlavor;
use crate::ui::{self, Format};

/// Ends a Step-5 command: interrupted, or its ending from where it stopped (a
/// non-green one said on stderr even with -q: cron mail must carry why).
fn end(frame: &Frame, stops: &[Stopped], actions: usize) -> ExitStatus {
    let counted = End {
        actions: Some(actions),
        ..End::default()
    };
    if let Some(status) = frame.interrupted(counted.clone()) {
        return status;
    }
    let ending = Ending::of(stops, None);
    if ending != Ending::Green {
        eprintln!("{}", ending.line(stops));
    }
    let mut more = super::frame::Options::new();
    more.insert("nothing_changed".into(), json!(actions == 0));
    frame.finish(&ending, stops, End { more, ..counted })
}

/// What a Step-5 command did: its value (when it got that far), where it stopped,
/// and the changes it made.
pub struct Ran<T> {
    /// The sweep's or the failovers' result.
    pub value: Option<T>,
    /// Where it stopped.
    pub stops: Vec<Stopped>,
    /// The changes, in words.
    pub changes: Vec<String>,
}

/// `sweep [--yes]`.
pub async fn sweep(settings: &Settings, env: &Env, yes: bool) -> anyhow::Result<ExitStatus> {
    let frame = Frame::open(settings, env, "sweep", options([("yes", json!(yes))])).await?;
    let ran = sweep_in(&frame, yes).await;
    if let Some(swept) = &ran.value {
        print(&render_swept(
            swept,
            &frame.site.amphora_flavor,
            settings.format,
        ));
    }
    Ok(end(&frame, &ran.stops, ran.changes.len()))
}

/// The sweep in its frame (also the action's): orphans left in place for want of a
/// confirmation are a "not confirmed" stop.
pub async fn sweep_in(frame: &Frame, yes: bool) -> Ran<Swept> {
    let run = frame.run(yes);
    let result = run.sweep().await;
    let mut stops: Vec<Stopped> = result.as_ref().err().cloned().into_iter().collect();
    if let Ok(swept) = &result
        && !swept.left.is_empty()
    {
        stops.push(run.not_confirmed(
            Layer::Amphorae,
            format!(
                "{} left in place; {} deletes them",
                crate::words::count(
                    swept.left.len(),
                    "orphan amphora server",
                    "orphan amphora servers"
                ),
                frame.confirm_by.again("sweep", "", "")
            ),
        ));
    }
    Ran {
        value: result.ok(),
        stops,
        changes: run.changed_list(),
    }
}

/// `headroom`: read-only.
pub async fn headroom(settings: &Settings, env: &Env) -> anyhow::Result<ExitStatus> {
    let (site, session) = super::connect(settings, env).await?;
    let providers = headroom::probe(Probe {
        session: &session,
        site: &site,
    })
    .await?;
    let hosts = headroom::compute(&providers, &site.amphora_flavor);
    let total: u64 = hosts.iter().map(|h| h.slots).sum();
    print(&render_headroom(
        &hosts,
        &site.amphora_flavor,
        settings.format,
    ));
    Ok(if total == 0 {
        ExitStatus::of_layer(Some(Layer::Headroom))
    } else {
        ExitStatus::Success
    })
}

/// `failover [LB...] [--yes]`.
pub async fn failover(
    settings: &Settings,
    env: &Env,
    ids: &[String],
    yes: bool,
) -> anyhow::Result<ExitStatus> {
    let frame = failover_frame(settings, env, ids, yes).await?;
    let ran = failover_in(&frame, ids, yes).await?;
    match (&ran.value, settings.format) {
        (Some(done), Format::Table) => print(
            &done
                .iter()
                .map(|f| {
                    format!(
                        "{}: failed over in {}\n",
                        f.load_balancer,
                        crate::engine::run::secs(f.took)
                    )
                })
                .collect::<String>(),
        ),
        (Some(done), format) => print(&ui::structured(done, format)),
        (None, _) => {}
    }
    Ok(end(&frame, &ran.stops, ran.changes.len()))
}

/// The failover's frame, once the ids given are load balancer ids.
pub async fn failover_frame(
    settings: &Settings,
    env: &Env,
    ids: &[String],
    yes: bool,
) -> anyhow::Result<Frame> {
    for id in ids {
        crate::site::Uuid::parse(id).map_err(|e| {
            UsageError(format!(
                "`{id}` is not a load balancer id: {e}; `openstack loadbalancer list` shows them"
            ))
        })?;
    }
    Frame::open(
        settings,
        env,
        "failover",
        options([("load_balancers", json!(ids)), ("yes", json!(yes))]),
    )
    .await
}

/// The failovers in their frame (also the action's): the named load balancers, or
/// the site's in provisioning ERROR, one at a time. A name that is not the site's
/// is bad input (journaled).
pub async fn failover_in(
    frame: &Frame,
    ids: &[String],
    yes: bool,
) -> anyhow::Result<Ran<Vec<FailedOver>>> {
    let run = frame.run(yes);
    let chosen = match choose(frame.probe(), &run, ids).await {
        Ok(lbs) => lbs,
        Err(Unchosen::BadInput(why)) => return Err(frame.failed(UsageError(why).into())),
        Err(Unchosen::Stop(why)) => {
            let stopped = run.stop(Layer::LoadBalancers, why);
            return Ok(Ran {
                value: None,
                stops: vec![stopped],
                changes: Vec::new(),
            });
        }
    };
    if chosen.is_empty() {
        frame.progress.line(
            Layer::LoadBalancers,
            "nothing to fail over: no load balancer of the site is in provisioning ERROR (`juju-capi-restore status` shows any still PENDING)",
        );
        return Ok(Ran {
            value: Some(Vec::new()),
            stops: Vec::new(),
            changes: Vec::new(),
        });
    }
    let result = run.failover_each(&chosen, !ids.is_empty()).await;
    Ok(Ran {
        stops: result.as_ref().err().cloned().into_iter().collect(),
        value: result.ok(),
        changes: run.changed_list(),
    })
}

/// Why no load balancer was chosen.
enum Unchosen {
    /// The operator named something that cannot be failed over: exit 2.
    BadInput(String),
    /// The cloud could not say, or a named one is busy.
    Stop(String),
}

/// The load balancers to fail over: the named ones (ACTIVE or ERROR, as Octavia
/// allows; only the site's), else the site's in provisioning ERROR.
async fn choose(
    p: Probe<'_>,
    run: &Run<'_>,
    ids: &[String],
) -> Result<Vec<LoadBalancer>, Unchosen> {
    if ids.is_empty() {
        let o = crate::layers::load_balancers::probe(p)
            .await
            .map_err(|e| Unchosen::Stop(e.to_string()))?;
        run.left_alone(&o);
        return Ok(o
            .all()
            .filter(|lb| lb.provisioning_status == crate::cloud::octavia::ProvisioningStatus::Error)
            .cloned()
            .collect());
    }
    let mut chosen: Vec<LoadBalancer> = Vec::new();
    for id in ids {
        // Named twice is one failover.
        if chosen.iter().any(|lb| lb.id.eq_ignore_ascii_case(id)) {
            continue;
        }
        // A name on the command line is not an identity either: only the site's.
        if !p
            .site
            .load_balancers
            .iter()
            .any(|l| l.as_str().eq_ignore_ascii_case(id))
        {
            return Err(Unchosen::BadInput(format!(
                "load balancer {id} is not in the site file's `load_balancers`, so it is not this site's and is left alone: if it is a kube-api load balancer of this site, add it there (`juju-capi-restore site discover` finds CAPO's) and run again"
            )));
        }
        let lb = octavia::show_load_balancer(p.session, Scope::Admin, id)
            .await
            .map_err(|e| match e.status() {
                Some(404) => Unchosen::BadInput(format!(
                    "load balancer {id} does not exist (admin scope looked in every project): correct it in the site file's `load_balancers` or on the command line"
                )),
                _ => Unchosen::Stop(e.to_string()),
            })?;
        if !lb.provisioning_status.is_settled() {
            return Err(Unchosen::Stop(format!(
                "load balancer {id} is {}: Octavia accepts a failover only from ACTIVE or ERROR; wait for it to settle",
                lb.provisioning_status
            )));
        }
        chosen.push(lb);
    }
    Ok(chosen)
}

fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn table() -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_content_arrangement(ContentArrangement::Disabled);
    table
}

fn trimmed(table: &Table) -> String {
    table
        .to_string()
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// The sweep's result, for people or programs.
fn render_swept(swept: &Swept, flavor: &AmphoraFlavor, format: Format) -> String {
    if format != Format::Table {
        return ui::structured(swept, format);
    }
    let mut out = String::new();
    for l in &swept.lookalikes {
        out.push_str(&format!("{}\n", l.describe()));
    }
    if swept.orphans.is_empty() {
        out.push_str("no orphan amphora servers\n");
        return out;
    }
    let mut t = table();
    t.set_header([
        "SERVER", "NAME", "KIND", "PROJECT", "HOST", "CREATED", "FREES", "RESULT",
    ]);
    for o in &swept.orphans {
        let result = if swept.deleted.contains(&o.server_id) {
            "deleted"
        } else if swept.aborted.contains(&o.server_id) {
            "ABORTED: row appeared"
        } else if swept.left.contains(&o.server_id) {
            "left (not confirmed)"
        } else {
            "gone already"
        };
        let frees = match &o.host {
            Some(_) => format!(
                "{} MB/{} vCPU/{} GB",
                flavor.memory_mb, flavor.vcpus, flavor.disk_gb
            ),
            None => "nothing".into(),
        };
        t.add_row([
            o.server_id.clone(),
            format!("amphora-{}", o.amphora_id),
            o.status.to_string(),
            o.project_id.clone(),
            o.host.clone().unwrap_or_else(|| "-".into()),
            o.created.clone(),
            frees,
            result.into(),
        ]);
    }
    out.push_str(&trimmed(&t));
    out
}

/// Headroom as a table, JSON or YAML.
fn render_headroom(hosts: &[HostHeadroom], flavor: &AmphoraFlavor, format: Format) -> String {
    let total: u64 = hosts.iter().map(|h| h.slots).sum();
    let disagree: Vec<&str> = hosts
        .iter()
        .filter(|h| !h.disabled && h.slots == 0 && h.runbook_memory_slots > 0)
        .map(|h| h.host.as_str())
        .collect();
    if format != Format::Table {
        #[derive(Serialize)]
        struct Out<'a> {
            flavor: &'a AmphoraFlavor,
            hosts: &'a [HostHeadroom],
            total_slots: u64,
            runbook_formula_says_yes_placement_says_no: &'a [&'a str],
        }
        return ui::structured(
            &Out {
                flavor,
                hosts,
                total_slots: total,
                runbook_formula_says_yes_placement_says_no: &disagree,
            },
            format,
        );
    }
    let fig = |c: Option<headroom::ClassFit>| {
        c.map_or("-".to_string(), |c| format!("{}/{}", c.free, c.capacity))
    };
    let mut t = table();
    t.set_header([
        "HOST",
        "SERVICE",
        "MEMORY_MB free/cap",
        "VCPU free/cap",
        "DISK_GB free/cap",
        "SLOTS",
        "RUNBOOK FORMULA",
    ]);
    for h in hosts {
        t.add_row([
            h.host.clone(),
            if h.disabled {
                "disabled".into()
            } else {
                "enabled".to_string()
            },
            fig(h.memory),
            fig(h.vcpu),
            fig(h.disk),
            h.slots.to_string(),
            h.runbook_memory_slots.to_string(),
        ]);
    }
    let mut out = format!(
        "amphora flavor: {} MB / {} vCPU / {} GB; Placement: capacity = (total - reserved) × allocation_ratio, free = capacity - used\n\n",
        flavor.memory_mb, flavor.vcpus, flavor.disk_gb
    );
    out.push_str(&trimmed(&t));
    let _ = writeln!(out, "\n{total} amphora slot(s) in total on enabled hosts");
    for host in disagree {
        let _ = writeln!(
            out,
            "{host}: the runbook's formula (physical × 1.5 − reserved) says yes; Placement, which the scheduler uses, says no"
        );
    }
    if total == 0 {
        out.push_str("no slot: a failover now would fail with NoValidHost and mint another orphan; sweep orphans first (`juju-capi-restore sweep`), else power off a disposable VM\n");
    }
    out
}
