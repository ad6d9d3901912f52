//! `window`: a maintenance window's timers or cron.d file, shown (`print`), written
//! (`install`, atomically, with a record of what was written), removed (`remove`,
//! exactly what the record names), and its pre-flight (`check`): would the park be
//! refused? Reads the cloud in `check` only; changes nothing in it.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::env::Env;
use crate::error::{Refused, UsageError};
use crate::exit::ExitStatus;
use crate::settings::Settings;
use crate::window::{Rendered, Scheduler, Window};

/// What `window` does.
#[derive(Debug, Clone)]
pub enum WindowAction {
    /// The commented template.
    Template,
    /// What would be written, and when it fires.
    Print(PathBuf),
    /// Write it under `root`.
    Install(PathBuf, PathBuf),
    /// Remove what was written under `root`.
    Remove(PathBuf, PathBuf),
    /// The pre-flight of the next park.
    Check(PathBuf),
}

/// The line every written file starts with: `remove` touches no file without it.
const MARK: &str = "written by `juju-capi-restore window install";

/// Runs `window`.
pub async fn run(
    settings: &Settings,
    env: &Env,
    action: WindowAction,
) -> anyhow::Result<ExitStatus> {
    match action {
        WindowAction::Template => {
            print!("{}", include_str!("../../templates/window.yaml"));
            Ok(ExitStatus::Success)
        }
        WindowAction::Print(file) => {
            let window = Window::load(&file)?;
            let files = render(&window)?;
            for f in &files {
                println!("# ==> /{} <==", f.path.display());
                print!("{}", f.text);
                println!();
            }
            firings(&window)?;
            Ok(ExitStatus::Success)
        }
        WindowAction::Install(file, root) => install(env, &Window::load(&file)?, &root),
        WindowAction::Remove(file, root) => remove(env, &Window::load(&file)?, &root),
        WindowAction::Check(file) => check(settings, env, &Window::load(&file)?).await,
    }
}

fn render(window: &Window) -> anyhow::Result<Vec<Rendered>> {
    let binary = match &window.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .context("cannot tell where this binary is: set `binary:` in the window")?,
    };
    if window.scheduler == Scheduler::Cron {
        let here = jiff::tz::TimeZone::system();
        // The same rules under another name (`UTC`, `Etc/UTC`) are the same zone.
        let same = here == window.zone
            || window
                .park
                .next(jiff::Timestamp::now(), &window.zone, 60)
                .iter()
                .all(|z| here.to_offset(z.timestamp()) == z.offset());
        if !same {
            return Err(UsageError(format!(
                "cron runs at this machine's time ({}), not the window's `{}`: use `scheduler: systemd` (timers take a time zone), or give the machine's",
                here.iana_name().unwrap_or("?"),
                window.zone_name
            ))
            .into());
        }
    }
    window
        .render(&binary)
        .map_err(|e| UsageError(format!("window `{}`: {e}", window.name)).into())
}

/// The next three firings of each job, checked by `systemd-analyze calendar` where
/// there is one.
fn firings(window: &Window) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    for (job, schedule) in window.jobs() {
        let times: Vec<String> = schedule
            .next(now, &window.zone, 3)
            .iter()
            .map(|z| z.strftime("%a %Y-%m-%d %H:%M %Z").to_string())
            .collect();
        println!(
            "{} ({}) next: {}",
            job.name(),
            schedule.text(),
            times.join(", ")
        );
        let expression = schedule.on_calendar(&window.zone_name);
        match std::process::Command::new("systemd-analyze")
            .args(["calendar", &expression])
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(out) if !out.status.success() => {
                return Err(UsageError(format!(
                    "systemd-analyze refuses `{expression}`: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
                .into());
            }
            // Absent: this tool's own reading stands.
            _ => {}
        }
    }
    Ok(())
}

/// Where the record of an install is kept.
fn record(env: &Env, window: &Window, root: &Path) -> PathBuf {
    let state_root = crate::state::root(env);
    let under = if root == Path::new("/") {
        state_root
    } else {
        root.join(state_root.strip_prefix("/").unwrap_or(&state_root))
    };
    under
        .join("windows")
        .join(format!("{}.installed", window.name))
}

fn install(env: &Env, window: &Window, root: &Path) -> anyhow::Result<ExitStatus> {
    // Cron reads /etc/cron.d files only when root owns them.
    // SAFETY: geteuid has no preconditions.
    if root == Path::new("/") && unsafe { libc::geteuid() } != 0 {
        return Err(Refused(
            "installing a window writes to /etc and must leave root-owned files: run it with sudo"
                .into(),
        )
        .into());
    }
    for path in write_window(env, window, root)? {
        println!("wrote {}", path.display());
    }
    if window.scheduler == Scheduler::Systemd {
        println!(
            "now: systemctl daemon-reload && systemctl enable --now {}",
            timers(window).join(" ")
        );
    }
    firings(window)?;
    Ok(ExitStatus::Success)
}

/// The timers of a systemd window.
pub fn timers(window: &Window) -> Vec<String> {
    window
        .jobs()
        .iter()
        .map(|(job, _)| format!("{}.timer", window.unit_stem(*job)))
        .collect()
}

/// Writes the window's files under `root`, with the record `remove` reads; the
/// paths written.
pub fn write_window(env: &Env, window: &Window, root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let files = render(window)?;
    let mut written = Vec::new();
    for f in &files {
        let path = root.join(&f.path);
        let dir = path.parent().unwrap_or(root);
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        write_public(&path, &f.text)?;
        written.push(path);
    }
    // The state every entry point shares, made now so the first scheduled run and
    // the operator's shell already agree on it.
    if root == Path::new("/") {
        crate::state::make_root(env).context("cannot make the site-wide state directory")?;
    }
    let record = record(env, window, root);
    std::fs::create_dir_all(record.parent().unwrap_or(root))?;
    let listed: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    crate::files::replace_private(&record, &format!("{}\n", listed.join("\n")))?;
    Ok(written)
}

/// Writes a file others may read (0644: cron.d and unit files), atomically.
fn write_public(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A name with a dot: cron ignores it while it is there.
    let tmp = dir.join(format!(".{name}.{}.tmp", crate::files::unique()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write `{}`", path.display()))
}

fn remove(env: &Env, window: &Window, root: &Path) -> anyhow::Result<ExitStatus> {
    if window.scheduler == Scheduler::Systemd {
        println!(
            "first: systemctl disable --now {} (a removed unit's timer stays loaded until then)",
            timers(window).join(" ")
        );
    }
    for line in remove_window(env, window, root)? {
        println!("{line}");
    }
    Ok(ExitStatus::Success)
}

/// Removes exactly what [`write_window`] recorded (each file carrying the mark);
/// what was done, a line per file.
pub fn remove_window(env: &Env, window: &Window, root: &Path) -> anyhow::Result<Vec<String>> {
    let record = record(env, window, root);
    let Ok(listed) = std::fs::read_to_string(&record) else {
        return Err(UsageError(format!(
            "window `{}` is not installed here (no record at `{}`): nothing removed",
            window.name,
            record.display()
        ))
        .into());
    };
    let mut done = Vec::new();
    for path in listed.lines().filter(|l| !l.is_empty()).map(PathBuf::from) {
        match std::fs::read_to_string(&path) {
            Ok(text) if text.lines().take(3).any(|l| l.contains(MARK)) => {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove `{}`", path.display()))?;
                done.push(format!("removed {}", path.display()));
            }
            Ok(_) => done.push(format!(
                "kept {} (not written by `window install`)",
                path.display()
            )),
            Err(_) => done.push(format!("gone already: {}", path.display())),
        }
    }
    std::fs::remove_file(&record)?;
    Ok(done)
}

/// The pre-flight: would the next park be refused? Each check on a line; exit 0
/// when it would go, 3 when it would be refused.
async fn check(settings: &Settings, env: &Env, window: &Window) -> anyhow::Result<ExitStatus> {
    let now = jiff::Timestamp::now();
    let next = window.park.next_after(now, &window.zone);
    println!(
        "window `{}`: next park {} (in {})",
        window.name,
        next.strftime("%a %Y-%m-%d %H:%M %Z"),
        crate::words::duration(next.timestamp().duration_since(now).unsigned_abs())
    );
    let mut refusals = Vec::new();
    let mut say = |ok: bool, what: String| {
        println!("  {} {what}", if ok { "ok:     " } else { "REFUSED:" });
        if !ok {
            refusals.push(what);
        }
    };
    // The window's own site and cloud, whoever runs the check.
    let settings = Settings {
        site_path: window.site.clone(),
        cloud: window.cloud.clone().or_else(|| settings.cloud.clone()),
        ..settings.clone()
    };
    let connected = super::connect(&settings, env).await;
    let (site, _session) = match connected {
        Ok(c) => {
            say(true, "the site file loads, and both scopes log in".into());
            c
        }
        Err(e) => {
            say(
                false,
                format!(
                    "credentials or site: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ),
            );
            return finish(refusals);
        }
    };
    let state = crate::state::for_site(env, &site);
    match state.writable() {
        Ok(()) => say(
            true,
            format!("the state directory `{}` is writable", state.path.display()),
        ),
        Err(e) => say(false, e.to_string()),
    }
    match crate::lock::RunLock::acquire(&state.path, "window check") {
        Ok(lock) => {
            drop(lock);
            say(true, "no run holds the lock".into());
        }
        Err(e) => say(
            false,
            e.to_string().lines().next().unwrap_or_default().to_string(),
        ),
    }
    let kubeconfig = crate::site::expand_home(&site.management.kubeconfig);
    match super::park::machines_in_flight(&site, &kubeconfig).await {
        Ok(busy) if busy.is_empty() => say(true, "no CAPI operation in flight".into()),
        Ok(busy) => say(
            false,
            format!("a CAPI operation is in flight: {}", busy.join(", ")),
        ),
        // Parked already, or Kubernetes down: the park has nothing to check against.
        Err(why) => say(false, why),
    }
    finish(refusals)
}

fn finish(refusals: Vec<String>) -> anyhow::Result<ExitStatus> {
    if refusals.is_empty() {
        println!("the park would go ahead");
        Ok(ExitStatus::Success)
    } else {
        println!("the park would be refused: fix the REFUSED lines before the window");
        Ok(ExitStatus::Refused)
    }
}
