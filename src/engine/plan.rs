//! `plan`: what `restore` would do now, layer by layer along the dependency graph
//! (DESIGN §4.0), decided purely from the observed rows. Touches nothing.
//!
//! ```text
//! VM ─► SSH ─► k8s ─► CAPI controllers ─┐
//!                                       ├─► CAPO conditions ─► Magnum health
//! amphora sweep ─► headroom ─► failover ┘
//! ```

use serde::Serialize;

use crate::layers::{Decision, Health, Layer, Row};
use crate::site::{Gate, Site};

/// One planned step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The layer.
    pub layer: Layer,
    /// The decision's name (`start-server`, `wait`, `sweep`, `failover`, ...).
    pub action: &'static str,
    /// The decision itself, as the layer's facts gave it.
    #[serde(skip)]
    pub decision: Decision,
    /// In words, with the runbook's figures.
    pub what: String,
    /// What a stop at it says: for a stop, the way forward alone (`what` less its
    /// "stop: "); else `what`.
    #[serde(skip)]
    pub why: String,
    /// The layers it waits for.
    pub after: Vec<Layer>,
}

/// Each layer's step: the decision its row carries, said with the site's figures.
pub fn plan(rows: &[Row], site: &Site) -> Vec<Step> {
    rows.iter()
        .map(|row| {
            let decision = row.decision();
            let what = say(row, &decision, site);
            let why = match decision {
                Decision::Stop => advice(row),
                _ => what.clone(),
            };
            Step {
                layer: row.layer,
                action: decision.name(),
                what,
                why,
                decision,
                after: row.layer.depends_on().to_vec(),
            }
        })
        .collect()
}

/// A decision in words, with the runbook's figures and the site's deadlines.
fn say(row: &Row, decision: &Decision, site: &Site) -> String {
    let t = &site.timeouts;
    let summary = &row.summary;
    match (decision, row.layer, row.state) {
        (Decision::Nothing, _, Health::Green) => format!("nothing to do: {summary}"),
        (Decision::Nothing, Layer::Amphorae, _) => format!(
            "nothing to sweep: {summary}; {}",
            row.evidence.last().cloned().unwrap_or_default()
        ),
        (Decision::Nothing, Layer::Headroom, _) => {
            format!("no slot, but no failover is needed: {summary}")
        }
        (Decision::Nothing, ..) => format!("nothing to do: {summary}"),
        (Decision::Start, ..) => format!(
            "start `{}` in the management project, then wait for ACTIVE (~20 s; deadline {} s)",
            site.management.server,
            t.server_active.as_secs()
        ),
        (Decision::Wait(gate), ..) => wait(*gate, row, site),
        (Decision::Sweep(_), ..) => format!(
            "{summary}: swept before any failover (re-verified against Octavia's list just before each delete, by server UUID, after confirmation); left alone when no failover is needed"
        ),
        (Decision::Failover(_), ..) => format!(
            "{summary}: fail over each, one at a time, after a sweep and a headroom check (~108 s each; deadline {}); a failed failover is never retried",
            mins(t.failover)
        ),
        (Decision::Recheck, ..) => format!(
            "{summary}: measured again after the sweep, which may free one; without a slot the failover is refused, never attempted"
        ),
        (Decision::Operator, ..) => format!("{summary}: {}", advice(row)),
        (Decision::Stop, ..) => format!("stop: {}", advice(row)),
    }
}

/// A wait in words: what it waits for, the runbook's figure and the deadline.
fn wait(gate: Gate, row: &Row, site: &Site) -> String {
    let t = &site.timeouts;
    let deadline = mins(site.gate(gate).deadline);
    match gate {
        Gate::ServerActive => format!(
            "wait for ACTIVE ({}; deadline {} s)",
            row.summary,
            t.server_active.as_secs()
        ),
        Gate::SshPort => format!(
            "wait for sshd on {}:{} (~3.5 min after ACTIVE; deadline {deadline})",
            site.management.floating_ip, site.ssh.port
        ),
        Gate::KubernetesReady => format!(
            "wait for `cluster status: ready` (~{} from boot; window {deadline}); never restart anything inside it",
            mins(t.k8s_expected)
        ),
        Gate::Controllers => format!(
            "re-emit the kubeconfig if `{}` is missing, then wait for nodes Ready and controllers Running",
            site.management.kubeconfig.display()
        ),
        Gate::LoadBalancersSettled => format!(
            "wait for the load balancers to leave PENDING_*: {}",
            row.summary
        ),
        Gate::CapoAvailable => {
            format!("wait for every Cluster to be Available (CAPO resync; deadline {deadline})")
        }
        Gate::MagnumHealthy => {
            format!("wait for Magnum HEALTHY or the D-042 signature (deadline {deadline})")
        }
        Gate::ServerStopped | Gate::Failover | Gate::ServerGone => {
            format!("wait ({gate:?}; deadline {deadline})")
        }
    }
}

/// A deadline in whole minutes, rounded up.
fn mins(d: std::time::Duration) -> String {
    format!("{} min", d.as_secs().div_ceil(60))
}

/// The row's own advice: its diagnosis' next step, else its `next`, else its summary.
fn advice(row: &Row) -> String {
    row.diagnosis
        .first()
        .map(|d| d.next.clone())
        .or_else(|| row.next.clone())
        .unwrap_or_else(|| row.summary.clone())
}

/// Renders a plan for people.
pub fn render(steps: &[Step]) -> String {
    let mut out = String::from("restore would, in dependency order:\n");
    for s in steps {
        let after = if s.after.is_empty() {
            String::new()
        } else {
            format!(
                " (after {})",
                s.after
                    .iter()
                    .map(|l| l.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push_str(&format!(
            "  {:<16} {:<12} {}{after}\n",
            s.layer.name(),
            s.action,
            s.what
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::parse("management:\n  project_id: 674171fd28d446d3a37073b6a761e910\n  floating_ip: 127.0.0.1\n").unwrap()
    }

    #[test]
    fn a_parked_vm_is_started_and_the_host_chain_waited_for() {
        let rows = vec![
            Row::new(Layer::Vm, Health::Red, "parked (SHUTOFF)").decided(Decision::Start),
            Row::waiting(Layer::Ssh, Layer::Vm),
            Row::waiting(Layer::Kubernetes, Layer::Vm),
            Row::new(
                Layer::LoadBalancers,
                Health::Red,
                "1 of 1 in provisioning ERROR",
            )
            .next("fail it over")
            .decided(Decision::Failover(vec!["lb".into()])),
        ];
        let steps = plan(&rows, &site());
        assert_eq!(
            steps.iter().map(|s| s.action).collect::<Vec<_>>(),
            ["start-server", "wait", "wait", "failover"]
        );
        assert!(steps[1].what.contains("127.0.0.1:22") && steps[1].what.contains("3.5 min"));
        assert!(steps[2].what.contains("never restart"));
        assert!(
            steps[3].what.contains("one at a time") && steps[3].what.contains("never retried"),
            "{}",
            steps[3].what
        );
    }

    #[test]
    fn green_layers_need_nothing_and_a_broken_vm_stops() {
        let steps = plan(
            &[
                Row::new(Layer::Vm, Health::Red, "ERROR").next("read the fault"),
                Row::new(Layer::Magnum, Health::Green, "capi-test-1 HEALTHY"),
            ],
            &site(),
        );
        assert_eq!(steps[0].decision, Decision::Stop);
        assert_eq!(steps[1].decision, Decision::Nothing);
    }

    #[test]
    fn a_decision_is_read_from_the_row_never_from_its_words() {
        // Words that once decided: rewording a summary must change nothing.
        let rows = [
            Row::new(Layer::Vm, Health::Red, "parked (SHUTOFF) looks parked"),
            Row::new(
                Layer::LoadBalancers,
                Health::Red,
                "1 of 1 in provisioning ERROR",
            ),
            Row::new(Layer::Amphorae, Health::Yellow, "2 orphan amphora servers"),
            Row::new(Layer::Amphorae, Health::Yellow, "stuck rows")
                .decided(Decision::Sweep(vec!["s".into()])),
        ];
        let steps = plan(&rows, &site());
        assert_eq!(
            steps.iter().map(|s| s.action).collect::<Vec<_>>(),
            ["stop", "manual", "stop", "sweep"]
        );
    }

    #[test]
    fn the_graph_joins_at_capo() {
        assert_eq!(
            Layer::Capo.depends_on(),
            [Layer::CapiControllers, Layer::LoadBalancers]
        );
        assert_eq!(
            Layer::Headroom.depends_on(),
            [Layer::Amphorae, Layer::Vm],
            "headroom is measured after the VM started"
        );
    }
}
