//! What `restore` does about a layer, as a value: each layer's `assess` decides it
//! from its typed facts and puts it in its [`Row`](super::Row); `plan` shows it,
//! `restore` executes it, the journal records it. Nothing derives it again from a
//! summary or evidence line.

use serde::{Deserialize, Serialize};

use super::{Health, Layer};
use crate::site::Gate;

/// One layer's decision (DESIGN §4.0: the runbook's DECISION blocks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Green, or nothing that needs doing.
    Nothing,
    /// Start the parked VM (Nova `os-start`), then wait for ACTIVE.
    Start,
    /// Wait: the layer converges by itself; the gate says how long.
    Wait(Gate),
    /// Delete these orphan amphora servers (by server id), verify-then-delete and
    /// confirmed, before any failover; left alone when no failover needs them.
    Sweep(Vec<String>),
    /// Fail over these load balancers (ids, provisioning ERROR), one at a time,
    /// confirmed, after a sweep and a headroom check.
    Failover(Vec<String>),
    /// Measured again right before it matters (headroom, after the sweep).
    Recheck,
    /// An operator must act (the site file, another application): `restore` stops
    /// this branch and says how.
    Operator,
    /// Cannot proceed: the layer is broken or could not be observed.
    Stop,
}

impl Decision {
    /// A layer's decision when only its state is known: green needs nothing; the
    /// layers that converge by themselves are waited for (Kubernetes red, past its
    /// window, is a stop); a layer whose facts decide (VM, amphorae, headroom, load
    /// balancers) stops unless its `assess` decided otherwise: the safe side.
    pub fn by_state(layer: Layer, state: Health) -> Decision {
        match (layer, state) {
            (_, Health::Green) => Decision::Nothing,
            (Layer::Ssh, _) => Decision::Wait(Gate::SshPort),
            (Layer::Kubernetes, Health::Red) => Decision::Stop,
            (Layer::Kubernetes, _) => Decision::Wait(Gate::KubernetesReady),
            (Layer::CapiControllers, _) => Decision::Wait(Gate::Controllers),
            (Layer::Capo, _) => Decision::Wait(Gate::CapoAvailable),
            (Layer::Magnum, _) => Decision::Wait(Gate::MagnumHealthy),
            (Layer::LoadBalancers, _) => Decision::Operator,
            (Layer::Vm | Layer::Amphorae | Layer::Headroom, _) => Decision::Stop,
        }
    }

    /// Its name, as `plan` shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Nothing => "nothing",
            Decision::Start => "start-server",
            Decision::Wait(_) => "wait",
            Decision::Sweep(_) => "sweep",
            Decision::Failover(_) => "failover",
            Decision::Recheck => "check",
            Decision::Operator => "manual",
            Decision::Stop => "stop",
        }
    }
}
