//! A `status` report: every observable layer probed (concurrently where independent)
//! and assessed, bottom-up. Read-only.

use serde::Serialize;

use crate::layers::{self, Health, Layer, Probe, Row};

/// The rows of one status run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Which cloud and site were probed.
    pub target: Target,
    /// One row per layer, bottom-up.
    pub layers: Vec<Row>,
}

/// What a report is about.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// clouds.yaml cloud name (`envvars` for `OS_*`).
    pub cloud: String,
    /// Keystone URL.
    pub auth_url: String,
    /// The management project.
    pub project_id: String,
    /// The management VM's name.
    pub server: String,
}

impl Report {
    /// The lowest layer that is red or could not be observed.
    pub fn lowest_red(&self) -> Option<Layer> {
        self.layers
            .iter()
            .filter(|r| r.state.is_blocking())
            .map(|r| r.layer)
            .min()
    }
}

/// Probes every layer it can: the VM, then (when it runs) its ssh port, then (when
/// that answers) Kubernetes; concurrently, the Octavia side and Magnum.
pub async fn observe(p: Probe<'_>) -> Report {
    let vm_chain = async {
        let vm = layers::vm::probe(p).await;
        let vm_row = match &vm {
            Ok(o) => layers::vm::assess(o),
            Err(e) => Row::unobservable(Layer::Vm, e),
        };
        if vm_row.state != Health::Green {
            return vec![
                vm_row,
                Row::waiting(Layer::Ssh, Layer::Vm),
                Row::waiting(Layer::Kubernetes, Layer::Vm),
            ];
        }
        let server = vm.as_ref().ok().and_then(|o| o.server.as_ref());
        let launched = server
            .and_then(|s| s.launched_at.as_deref())
            .and_then(since);
        let vcpus = server
            .and_then(|s| s.flavor.as_ref())
            .and_then(|f| f.vcpus)
            .unwrap_or(2);
        let gate = layers::ssh_gate::probe(p).await;
        let ssh_row = layers::ssh_gate::assess(&gate);
        if ssh_row.state != Health::Green {
            return vec![vm_row, ssh_row, Row::waiting(Layer::Kubernetes, Layer::Ssh)];
        }
        let timeouts = &p.site.timeouts;
        let k8s_row = match layers::kubernetes::probe(p, launched, vcpus).await {
            Ok(o) => {
                layers::kubernetes::assess(&o, timeouts.k8s_convergence, timeouts.k8s_expected)
            }
            Err(e) => Row::unobservable(Layer::Kubernetes, &e),
        };
        vec![vm_row, ssh_row, k8s_row]
    };
    let (mut rows, amphorae, headroom, lbs, magnum) = tokio::join!(
        vm_chain,
        layers::amphorae::probe(p),
        layers::headroom::probe(p),
        layers::load_balancers::probe(p),
        layers::magnum::probe(p),
    );
    let needs_failover = lbs.as_ref().is_ok_and(|o| o.needs_failover());
    let mut magnum = magnum;
    magnum.vm_up = rows[0].state == Health::Green;
    rows.extend([
        match &amphorae {
            Ok(o) => layers::amphorae::assess(o),
            Err(e) => Row::unobservable(Layer::Amphorae, e),
        },
        match &headroom {
            Ok(o) => layers::headroom::assess(o, &p.site.amphora_flavor, needs_failover),
            Err(e) => Row::unobservable(Layer::Headroom, e),
        },
        match &lbs {
            Ok(o) => layers::load_balancers::assess(o),
            Err(e) => Row::unobservable(Layer::LoadBalancers, e),
        },
        layers::magnum::assess(&magnum),
    ]);
    Report {
        target: Target {
            cloud: p.session.config().name.clone(),
            auth_url: p.session.config().auth_url.clone(),
            project_id: p.site.management.project_id.to_string(),
            server: p.site.management.server.clone(),
        },
        layers: rows,
    }
}

/// Time since a Nova timestamp (`2026-06-10T08:15:02.000000`, no zone: UTC).
fn since(nova_time: &str) -> Option<std::time::Duration> {
    let t: jiff::Timestamp = nova_time
        .parse()
        .or_else(|_| format!("{nova_time}Z").parse())
        .ok()?;
    Some(jiff::Timestamp::now().duration_since(t).unsigned_abs())
}
