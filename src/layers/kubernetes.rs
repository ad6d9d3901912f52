//! Layer 3, Kubernetes on the management VM (runbook block "mgmt k8s readiness poll
//! (cold-start aware)", GATE `cluster status: ready`). Reads, over ssh in one
//! session, `uptime` and `sudo k8s status` (structured output where the snap accepts
//! it, else plain text). Changes nothing, and never restarts anything: inside the
//! convergence window the known noise is reported as expected.

use std::time::Duration;

use crate::diagnose;
use crate::host::k8s_status::{self, K8sStatus, Noise, Reading};
use crate::host::ssh::{RemoteCommand, SECTION_MARK, SshError, SshTarget, StatusForm};
use crate::host::uptime::{self, LoadTrend, Uptime};

use super::{Health, Layer, Probe, Row};

/// One poll of the management VM.
#[derive(Debug, Clone, PartialEq)]
pub struct K8sObservation {
    /// `uptime`, when it parsed.
    pub uptime: Option<Uptime>,
    /// `k8s status`.
    pub reading: Reading,
    /// Time since boot (from `uptime`, else from Nova's launch time).
    pub since_boot: Option<Duration>,
    /// The form of `k8s status` the VM understood.
    pub form: StatusForm,
    /// The VM's vCPUs, for judging load.
    pub vcpus: u32,
}

/// Polls once, starting with `form` (what worked last time; `Json` at first). A
/// snap that does not know a flag says so, and the next form is tried: the older
/// flag, then plain text. Time since boot comes from `uptime` only: Nova's
/// `launched_at` is the spawn time, not the last power-on.
pub async fn probe(p: Probe<'_>, vcpus: u32, form: StatusForm) -> Result<K8sObservation, SshError> {
    let target = SshTarget::from_site(p.site);
    let forms = [StatusForm::Json, StatusForm::LegacyJson, StatusForm::Plain];
    let start = forms.iter().position(|f| *f == form).unwrap_or(0);
    let mut last = None;
    for form in &forms[start..] {
        let finished = target.run(RemoteCommand::UptimeAndStatus(*form)).await?;
        let (up, status) = finished
            .stdout
            .split_once(SECTION_MARK)
            .unwrap_or(("", finished.stdout.as_str()));
        let uptime = uptime::parse(up);
        let unknown_flag = k8s_status::rejects_the_flag(&finished.stderr);
        let observation = K8sObservation {
            since_boot: uptime.and_then(|u| u.up),
            uptime,
            reading: k8s_status::read(status, &finished.stderr),
            form: *form,
            vcpus,
        };
        if !unknown_flag {
            return Ok(observation);
        }
        last = Some(observation);
    }
    Ok(last.expect("the plain form takes no flag"))
}

/// Ready is green. Not ready inside `window` is yellow, its noise expected; past the
/// window it is red, with the evidence.
pub fn assess(o: &K8sObservation, window: Duration, expected: Duration) -> Row {
    let minutes = o.since_boot.map(|d| d.as_secs() / 60);
    let trend = o.uptime.map(|u| LoadTrend::of(u.load, o.vcpus));
    let load_line = o.uptime.map(|u| {
        format!(
            "load {:.2} / {:.2} / {:.2} on {} vCPUs, {}",
            u.load[0],
            u.load[1],
            u.load[2],
            o.vcpus,
            trend.map(LoadTrend::word).unwrap_or("?")
        )
    });
    let boot_line = minutes.map(|m| {
        format!(
            "{m} min since boot (expected ready at ~{} min; window {} min)",
            expected.as_secs() / 60,
            window.as_secs() / 60
        )
    });
    let mut row = match &o.reading {
        Reading::Status(K8sStatus {
            ready: true,
            control_plane,
            datastore,
            ..
        }) => {
            Row::new(Layer::Kubernetes, Health::Green, "cluster status: ready").evidence(format!(
                "control plane {}; datastore {}",
                if control_plane.is_empty() {
                    "none listed".into()
                } else {
                    control_plane.join(", ")
                },
                datastore.as_deref().unwrap_or("?")
            ))
        }
        reading => {
            let inside = o.since_boot.is_none_or(|b| b < window);
            let (noise, other): (Vec<&Noise>, Vec<&Noise>) = match reading {
                Reading::Unavailable(n) => n.iter().partition(|n| n.is_cold_start_noise()),
                Reading::Status(_) => (Vec::new(), Vec::new()),
            };
            let summary = match reading {
                Reading::Status(_) => "cluster status: not ready".to_string(),
                Reading::Unavailable(_) => "k8s status not answering yet".to_string(),
            };
            let mut row = if inside {
                Row::new(
                    Layer::Kubernetes,
                    Health::Yellow,
                    format!("converging: {summary}"),
                )
            } else {
                Row::new(Layer::Kubernetes, Health::Red, format!("not converged: {summary}")).next(format!(
                    "not ready {} min after boot: look on the VM (`sudo k8s status`, `sudo journalctl -u snap.k8s.k8sd -n 100`); this tool restarts nothing",
                    minutes.unwrap_or(0)
                ))
            };
            for n in &noise {
                row = row.evidence(format!("{} (expected during the cold start)", n.line()));
            }
            for n in &other {
                row = row.evidence(format!("{} (not a known cold-start message)", n.line()));
            }
            if inside {
                let lines: Vec<String> = noise.iter().map(|n| n.line().to_string()).collect();
                let trend = trend.map(LoadTrend::word).unwrap_or("unknown");
                row = row.diagnosed(diagnose::cold_start_noise(
                    &lines,
                    minutes.unwrap_or(0),
                    trend,
                    o.vcpus,
                ));
            }
            row
        }
    };
    for line in [boot_line, load_line].into_iter().flatten() {
        row = row.evidence(line);
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(reading: Reading, minutes: u64, load: [f64; 3]) -> K8sObservation {
        K8sObservation {
            uptime: Some(Uptime {
                up: Some(Duration::from_secs(minutes * 60)),
                load,
            }),
            reading,
            since_boot: Some(Duration::from_secs(minutes * 60)),
            form: StatusForm::Json,
            vcpus: 2,
        }
    }

    const WINDOW: Duration = Duration::from_secs(30 * 60);
    const EXPECTED: Duration = Duration::from_secs(21 * 60);

    #[test]
    fn noise_inside_the_window_is_expected_and_yellow() {
        let noise = k8s_status::classify(
            "Error: Failed to retrieve the cluster status.\nThe error was: context deadline exceeded",
        );
        let row = assess(
            &obs(Reading::Unavailable(noise), 12, [104.0, 90.0, 50.0]),
            WINDOW,
            EXPECTED,
        );
        assert_eq!(row.state, Health::Yellow);
        assert_eq!(row.diagnosis[0].rule, diagnose::Rule::ColdStartNoise);
        assert!(row.diagnosis[0].next.contains("do not restart"));
        assert!(
            row.evidence
                .iter()
                .any(|e| e.contains("12 min since boot (expected ready at ~21 min"))
        );
        assert!(
            row.evidence.iter().any(|e| e.contains("rising")),
            "{:?}",
            row.evidence
        );
    }

    #[test]
    fn past_the_window_it_is_red_with_the_evidence() {
        let noise = k8s_status::classify(
            "Error: Failed to retrieve the cluster status.\nThe error was: context deadline exceeded",
        );
        let row = assess(
            &obs(Reading::Unavailable(noise), 31, [90.0, 95.0, 96.0]),
            WINDOW,
            EXPECTED,
        );
        assert_eq!(row.state, Health::Red);
        assert!(row.diagnosis.is_empty());
        assert!(row.next.unwrap().contains("restarts nothing"));
    }

    #[test]
    fn ready_is_green() {
        let s = k8s_status::parse_plain("cluster status:           ready\ncontrol plane nodes:      10.0.0.5:6400 (voter)\ndatastore:                k8s-dqlite\n").unwrap();
        assert_eq!(
            assess(
                &obs(Reading::Status(s), 22, [1.5, 20.0, 60.0]),
                WINDOW,
                EXPECTED
            )
            .state,
            Health::Green
        );
    }
}

/// Why the readiness wait stopped without `cluster status: ready`.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// Past the convergence window: a fault, with the layer's evidence.
    #[error("Kubernetes on the management VM did not converge: {}\n{}{}", .0.summary, .0.evidence.join("\n"), .0.next.as_ref().map(|n| format!("\nnext: {n}")).unwrap_or_default())]
    Window(Box<super::Row>),
    /// ssh fails in a way waiting will not cure (key, host key, no ssh binary).
    #[error(transparent)]
    Ssh(SshError),
    /// `sudo` on the VM wants a password: BatchMode cannot give one.
    #[error(
        "`sudo` on the management VM asks for a password; the tool runs `sudo -n`: give `{0}` passwordless sudo for `k8s` (as the cloud image's default user has)"
    )]
    SudoPassword(String),
}

/// One look at the readiness gate (`cluster status: ready`).
#[derive(Debug)]
pub enum Look {
    /// Ready: the observation that says so.
    Ready(Box<K8sObservation>),
    /// Not yet, with the evidence: inside the convergence window every not-ready
    /// answer (and an sshd too loaded to answer) is progress, never a reason to act.
    NotYet(String),
}

/// Looks once, in one ssh session; `form` is the `k8s status` form that worked last
/// and is kept for the next look. Past the window, or on an ssh failure that waiting
/// cannot cure, it is an error with the evidence.
pub async fn look(
    p: Probe<'_>,
    vcpus: u32,
    form: &std::cell::Cell<StatusForm>,
) -> Result<Look, NotReady> {
    let t = &p.site.timeouts;
    match probe(p, vcpus, form.get()).await {
        Ok(o) => {
            form.set(o.form);
            if sudo_wants_password(&o.reading) {
                return Err(NotReady::SudoPassword(p.site.ssh.user.clone()));
            }
            let row = assess(&o, t.k8s_convergence, t.k8s_expected);
            match row.state {
                Health::Green => Ok(Look::Ready(Box::new(o))),
                Health::Red => Err(NotReady::Window(Box::new(row))),
                _ => Ok(Look::NotYet(
                    std::iter::once(row.summary)
                        .chain(row.evidence)
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
            }
        }
        // A VM at load 100 may refuse or drop an ssh session: part of the storm.
        Err(
            e @ SshError::Transport {
                transient: true, ..
            },
        ) => Ok(Look::NotYet(
            e.to_string().lines().next().unwrap_or_default().to_string(),
        )),
        Err(e) => Err(NotReady::Ssh(e)),
    }
}

fn sudo_wants_password(reading: &Reading) -> bool {
    matches!(reading, Reading::Unavailable(noise) if noise.iter().any(|n| n.line().contains("a password is required")))
}
