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

/// Probes the OpenStack-visible layers: VM, amphorae, headroom, load balancers, Magnum.
pub async fn observe(p: Probe<'_>) -> Report {
    let (vm, amphorae, headroom, lbs, magnum) = tokio::join!(
        layers::vm::probe(p),
        layers::amphorae::probe(p),
        layers::headroom::probe(p),
        layers::load_balancers::probe(p),
        layers::magnum::probe(p),
    );
    let vm_row = match &vm {
        Ok(o) => layers::vm::assess(o),
        Err(e) => Row::unobservable(Layer::Vm, e),
    };
    let needs_failover = lbs.as_ref().is_ok_and(|o| o.needs_failover());
    let mut magnum = magnum;
    magnum.vm_up = vm_row.state == Health::Green;
    let rows = vec![
        vm_row,
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
    ];
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
