//! The last run of each command as a node-exporter textfile-collector file
//! (`juju_capi_restore_<command>.prom`): when it ended, how long it took, its result
//! and exit code, each layer's last observed state and each gate's wait, so that
//! alerting can fire when a window's restore did not end green. Read back from the
//! run's own journal when it ends (the numbers are the journal's), written to a
//! temporary file and renamed, so the collector never reads half a file.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::exit::ExitStatus;
use crate::journal::{Entry, Line, Probe, Read, Wait};
use crate::layers::Health;

/// Names the textfile directory (node-exporter's `--collector.textfile.directory`;
/// Debian's default is `/var/lib/prometheus/node-exporter`).
pub const DIR_VAR: &str = "JUJU_CAPI_RESTORE_PROM_DIR";

/// The metrics of one finished run, in the text exposition format, with the run's
/// command; None when the journal has no start or no end.
pub fn render(journal: &Read) -> Option<(String, String)> {
    let lines = &journal.lines;
    let (start, end) = lines.iter().fold((None, None), |(s, e), l| match &l.entry {
        Entry::Start(start) => (Some((l, start)), e),
        Entry::End(end) => (s, Some((l, end))),
        _ => (s, e),
    });
    let ((start_line, start), (end_line, end)) = (start?, end?);
    let ended: jiff::Timestamp = end_line.at.parse().ok()?;
    let mut labels = vec![("command", start.command.clone())];
    if let Some(project) = &start.project {
        labels.push(("project", project.clone()));
    }
    if let Some(window) = start.options.get("window").and_then(|w| w.as_str()) {
        labels.push(("window", window.to_string()));
    }
    let base = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",");
    let status = status(end);
    let result = status.word().to_string();
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, series: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP juju_capi_restore_{name} {help}");
        let _ = writeln!(out, "# TYPE juju_capi_restore_{name} gauge");
        for (extra, value) in series {
            let sep = if extra.is_empty() { "" } else { "," };
            let _ = writeln!(
                out,
                "juju_capi_restore_{name}{{{base}{sep}{extra}}} {value}"
            );
        }
    };
    metric(
        "last_run_timestamp_seconds",
        "When the last run of the command ended (Unix time).",
        &[(String::new(), ended.as_second() as f64)],
    );
    metric(
        "last_run_duration_seconds",
        "How long the last run took.",
        &[(String::new(), end_line.elapsed_s - start_line.elapsed_s)],
    );
    metric(
        "last_run_exit_code",
        "The last run's exit code (README, Exit codes).",
        &[(String::new(), f64::from(status.code()))],
    );
    metric(
        "last_run_green",
        "1 when the last run ended green.",
        &[(String::new(), f64::from(u8::from(result == "green")))],
    );
    metric(
        "last_run_result",
        "The last run's result, as a label (always 1).",
        &[(format!("result=\"{}\"", escape(&result)), 1.0)],
    );
    let states = last_states(lines);
    if !states.is_empty() {
        metric(
            "layer_state",
            "Each layer's last observed state: 0 green, 1 yellow, 2 red, 3 unknown.",
            &states
                .iter()
                .map(|(layer, state)| (format!("layer=\"{layer}\""), f64::from(code(*state))))
                .collect::<Vec<_>>(),
        );
    }
    let waits = waits(lines);
    if !waits.is_empty() {
        metric(
            "gate_wait_seconds",
            "Each gate's wait in the last run, on the cloud's clock.",
            &waits
                .iter()
                .map(|(layer, secs)| (format!("gate=\"{layer}\""), *secs as f64))
                .collect::<Vec<_>>(),
        );
    }
    Some((start.command.clone(), out))
}

/// How the run ended, from what its end says: the ending, else the exit code, else
/// a success, a signal or a refusal; an end that says none of these was an error.
fn status(end: &crate::journal::End) -> ExitStatus {
    if let Some(ending) = &end.ending {
        return ending.status();
    }
    match (
        end.exit_code,
        end.success,
        end.interrupted_by_signal,
        &end.refused,
    ) {
        (Some(0), ..) | (None, Some(true), ..) => ExitStatus::Success,
        (Some(code), ..) => ExitStatus::Child(code),
        (None, _, Some(signal), _) => ExitStatus::of_signal(signal),
        (None, _, None, Some(_)) => ExitStatus::Refused,
        _ => ExitStatus::Internal,
    }
}

fn code(state: Health) -> u8 {
    match state {
        Health::Green => 0,
        Health::Yellow => 1,
        Health::Red => 2,
        Health::Unknown => 3,
    }
}

/// Each layer's last observed state.
fn last_states(lines: &[Line]) -> BTreeMap<&'static str, Health> {
    lines
        .iter()
        .filter_map(|l| match (&l.entry, l.layer) {
            (Entry::Probe(Probe::Row { state, .. }), Some(layer)) => Some((layer.name(), *state)),
            _ => None,
        })
        .collect()
}

/// Each gate's wait (the last, when a gate was waited at twice).
fn waits(lines: &[Line]) -> BTreeMap<&'static str, u64> {
    lines
        .iter()
        .filter_map(|l| match (&l.entry, l.layer) {
            (Entry::Wait(Wait::Done { waited_s, .. }), Some(layer)) => {
                Some((layer.name(), *waited_s))
            }
            _ => None,
        })
        .collect()
}

/// A label value as the format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes the metrics of the run journaled at `journal` into `dir`, atomically
/// (0644: node-exporter reads it as another user). A failure is said, never fatal:
/// the run's own outcome stands.
pub fn export(dir: &Path, journal: &Path) {
    let Some((command, text)) = render(&crate::journal::read(journal)) else {
        return;
    };
    let path = dir.join(format!("juju_capi_restore_{command}.prom"));
    // The collector reads `*.prom`: the temporary name does not match.
    let tmp = dir.join(format!(
        ".juju_capi_restore_{command}.prom.{}.tmp",
        crate::files::unique()
    ));
    let written = (|| {
        use std::io::Write as _;
        use std::os::unix::fs::PermissionsExt;
        let mut file = std::fs::File::create(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        eprintln!(
            "warning: cannot write the Prometheus textfile `{}`: {e}; check `{DIR_VAR}`",
            path.display()
        );
    }
}
