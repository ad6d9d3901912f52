//! `plan`: what `restore` would do now, layer by layer along the dependency graph
//! (DESIGN §4.0), decided purely from the observed rows. Touches nothing.
//!
//! ```text
//! VM ─► SSH ─► k8s ─► CAPI controllers ─┐
//!                                       ├─► CAPO conditions ─► Magnum health
//! amphora sweep ─► headroom ─► failover ┘
//! ```

use serde::Serialize;

use crate::layers::{Health, Layer, Row};
use crate::site::Site;

/// What `restore` does for one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Already green.
    Nothing,
    /// Start the VM (Nova `os-start`, management scope), then wait for ACTIVE.
    StartServer,
    /// Wait: the layer converges by itself.
    Wait,
    /// Delete orphan amphora servers, verify-then-delete (confirmed).
    Sweep,
    /// Fail over load balancers in ERROR, one at a time (confirmed).
    Failover,
    /// Measured again right before it matters (headroom, after the sweep).
    Check,
    /// An operator must act; `restore` stops this branch and says how.
    Manual,
    /// Cannot proceed: the diagnosis says why.
    Stop,
}

impl Action {
    /// The action's name, as JSON shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Nothing => "nothing",
            Action::StartServer => "start-server",
            Action::Wait => "wait",
            Action::Sweep => "sweep",
            Action::Failover => "failover",
            Action::Check => "check",
            Action::Manual => "manual",
            Action::Stop => "stop",
        }
    }
}

/// One planned step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The layer.
    pub layer: Layer,
    /// What happens.
    pub action: Action,
    /// In words, with the runbook's figures.
    pub what: String,
    /// The layers it waits for.
    pub after: Vec<Layer>,
}

/// The layers each layer depends on (DESIGN §4.0).
pub fn depends_on(layer: Layer) -> &'static [Layer] {
    match layer {
        Layer::Vm | Layer::Amphorae => &[],
        Layer::Ssh => &[Layer::Vm],
        Layer::Kubernetes => &[Layer::Ssh],
        Layer::CapiControllers => &[Layer::Kubernetes],
        Layer::Headroom => &[Layer::Amphorae, Layer::Vm],
        Layer::LoadBalancers => &[Layer::Headroom],
        Layer::Capo => &[Layer::CapiControllers, Layer::LoadBalancers],
        Layer::Magnum => &[Layer::Capo],
    }
}

/// Whether `layer` depends on `on`, directly or through others (or is it).
pub fn rests_on(layer: Layer, on: Layer) -> bool {
    layer == on || depends_on(layer).iter().any(|l| rests_on(*l, on))
}

/// Decides each layer's step from its row (and the site's figures).
pub fn plan(rows: &[Row], site: &Site) -> Vec<Step> {
    let t = &site.timeouts;
    let mins = |d: std::time::Duration| format!("{} min", d.as_secs().div_ceil(60));
    rows.iter()
        .map(|row| {
            let (action, what) = match (row.layer, row.state) {
                (_, Health::Green) => (Action::Nothing, format!("nothing to do: {}", row.summary)),
                (Layer::Vm, _) if row.summary.starts_with("parked") => (
                    Action::StartServer,
                    format!("start `{}` in the management project, then wait for ACTIVE (~20 s; deadline {} s)", site.management.server, t.server_active.as_secs()),
                ),
                (Layer::Vm, Health::Yellow) => (Action::Wait, format!("wait for ACTIVE ({}; deadline {} s)", row.summary, t.server_active.as_secs())),
                (Layer::Vm, _) => (Action::Stop, format!("stop: {}", advice(row))),
                (Layer::Ssh, _) => (
                    Action::Wait,
                    format!("wait for sshd on {}:{} (~3.5 min after ACTIVE; deadline {})", site.management.floating_ip, site.ssh.port, mins(t.ssh_port)),
                ),
                (Layer::Kubernetes, Health::Red) => (Action::Stop, format!("stop: {}", advice(row))),
                (Layer::Kubernetes, _) => (
                    Action::Wait,
                    format!("wait for `cluster status: ready` (~{} from boot; window {}); never restart anything inside it", mins(t.k8s_expected), mins(t.k8s_convergence)),
                ),
                (Layer::CapiControllers, _) => (
                    Action::Wait,
                    format!("re-emit the kubeconfig if `{}` is missing, then wait for nodes Ready and controllers Running", site.management.kubeconfig.display()),
                ),
                (Layer::Amphorae, Health::Yellow) if !row.summary.contains("orphan amphora server") => (Action::Nothing, format!("nothing to sweep: {}; {}", row.summary, row.evidence.last().cloned().unwrap_or_default())),
                (Layer::Amphorae, Health::Yellow) => (Action::Sweep, format!("{}: swept before any failover (re-verified against Octavia's list just before each delete, by server UUID, after confirmation); left alone when no failover is needed", row.summary)),
                (Layer::Amphorae, _) => (Action::Stop, format!("stop: {}", advice(row))),
                (Layer::Headroom, Health::Yellow) => (Action::Nothing, format!("no slot, but no failover is needed: {}", row.summary)),
                (Layer::Headroom, Health::Red) => (Action::Check, format!("{}: measured again after the sweep, which may free one; without a slot the failover is refused, never attempted", row.summary)),
                (Layer::Headroom, _) => (Action::Stop, format!("stop: {}", advice(row))),
                (Layer::LoadBalancers, Health::Yellow) if row.summary.starts_with("no load balancers") => (Action::Manual, format!("{}: {}", row.summary, advice(row))),
                (Layer::LoadBalancers, Health::Yellow) => (Action::Wait, format!("wait for the load balancers to leave PENDING_*: {}", row.summary)),
                (Layer::LoadBalancers, Health::Red) if row.summary.contains("provisioning ERROR") => (
                    Action::Failover,
                    format!("{}: fail over each, one at a time, after a sweep and a headroom check (~108 s each; deadline {}); a failed failover is never retried", row.summary, mins(t.failover)),
                ),
                (Layer::LoadBalancers, _) => (Action::Manual, format!("{}: {}", row.summary, advice(row))),
                (Layer::Capo, _) => (Action::Wait, format!("wait for every Cluster to be Available (CAPO resync; deadline {})", mins(t.capo_resync))),
                (Layer::Magnum, _) => (Action::Wait, format!("wait for Magnum HEALTHY or the D-042 signature (deadline {})", mins(t.capo_resync))),
            };
            Step { layer: row.layer, action, what, after: depends_on(row.layer).to_vec() }
        })
        .collect()
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
            s.action.name(),
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
            Row::new(Layer::Vm, Health::Red, "parked (SHUTOFF)"),
            Row::waiting(Layer::Ssh, Layer::Vm),
            Row::waiting(Layer::Kubernetes, Layer::Vm),
            Row::new(
                Layer::LoadBalancers,
                Health::Red,
                "1 of 1 in provisioning ERROR",
            )
            .next("fail it over"),
        ];
        let steps = plan(&rows, &site());
        assert_eq!(
            steps.iter().map(|s| s.action.clone()).collect::<Vec<_>>(),
            [
                Action::StartServer,
                Action::Wait,
                Action::Wait,
                Action::Failover
            ]
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
        assert_eq!(steps[0].action, Action::Stop);
        assert_eq!(steps[1].action, Action::Nothing);
    }

    #[test]
    fn the_graph_joins_at_capo() {
        assert_eq!(
            depends_on(Layer::Capo),
            [Layer::CapiControllers, Layer::LoadBalancers]
        );
        assert_eq!(
            depends_on(Layer::Headroom),
            [Layer::Amphorae, Layer::Vm],
            "headroom is measured after the VM started"
        );
    }
}
