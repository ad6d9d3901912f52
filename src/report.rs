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
    /// The lowest red layer. A layer that could not be observed (or was not probed
    /// because one below it is down) is unknown, not red: it is shown as such and
    /// does not set the exit code.
    pub fn lowest_red(&self) -> Option<Layer> {
        self.layers
            .iter()
            .filter(|r| r.state == crate::layers::Health::Red)
            .map(|r| r.layer)
            .min()
    }
}

impl Report {
    /// Every red layer, bottom-up.
    pub fn red(&self) -> Vec<Layer> {
        self.layers
            .iter()
            .filter(|r| r.state == crate::layers::Health::Red)
            .map(|r| r.layer)
            .collect()
    }

    /// The lowest layer that could not be observed because a call failed.
    pub fn lowest_unobserved(&self) -> Option<Layer> {
        self.layers
            .iter()
            .filter(|r| r.unobserved)
            .map(|r| r.layer)
            .min()
    }
}

/// Probes every layer it can: the VM, then (when it runs) its ssh port, then (when
/// that answers) Kubernetes; concurrently, the Octavia side and Magnum.
pub async fn observe(p: Probe<'_>) -> Report {
    let vm_chain = observe_host_chain(p);
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
            Ok(o) => layers::amphorae::assess(o, &p.site.octavia),
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
    rows.sort_by_key(|r| r.layer);
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

/// The layers the cloud's APIs alone show (the VM, the amphorae, the load balancers,
/// Magnum): no ssh, no Kubernetes, no Placement. What `update-status` reads, which
/// must stay cheap: a hook holds the unit while it runs.
pub async fn observe_openstack(p: Probe<'_>) -> Vec<Row> {
    let (vm, amphorae, lbs, magnum) = tokio::join!(
        layers::vm::probe(p),
        layers::amphorae::probe(p),
        layers::load_balancers::probe(p),
        layers::magnum::probe(p),
    );
    let vm = match &vm {
        Ok(o) => layers::vm::assess(o),
        Err(e) => Row::unobservable(Layer::Vm, e),
    };
    let mut magnum = magnum;
    magnum.vm_up = vm.state == Health::Green;
    vec![
        vm,
        match &amphorae {
            Ok(o) => layers::amphorae::assess(o, &p.site.octavia),
            Err(e) => Row::unobservable(Layer::Amphorae, e),
        },
        match &lbs {
            Ok(o) => layers::load_balancers::assess(o),
            Err(e) => Row::unobservable(Layer::LoadBalancers, e),
        },
        layers::magnum::assess(&magnum),
    ]
}

/// The layers on the management VM, in order; the first that is not green stops
/// the chain, and the layers after it say what they wait for.
const HOST_CHAIN: [Layer; 5] = [
    Layer::Vm,
    Layer::Ssh,
    Layer::Kubernetes,
    Layer::CapiControllers,
    Layer::Capo,
];

async fn observe_host_chain(p: Probe<'_>) -> Vec<Row> {
    let vm = layers::vm::probe(p).await;
    let vm_row = match &vm {
        Ok(o) => layers::vm::assess(o),
        Err(e) => Row::unobservable(Layer::Vm, e),
    };
    if vm_row.state != Health::Green {
        return blocked_after(vec![vm_row]);
    }
    let vcpus = vm
        .as_ref()
        .map_or(layers::vm::DEFAULT_VCPUS, layers::vm::vcpus);
    let ssh_row = layers::ssh_gate::assess(&layers::ssh_gate::probe(p).await);
    if ssh_row.state != Health::Green {
        return blocked_after(vec![vm_row, ssh_row]);
    }
    let timeouts = &p.site.timeouts;
    let k8s_row = match layers::kubernetes::probe(p, vcpus, crate::host::ssh::StatusForm::Json)
        .await
    {
        Ok(o) => layers::kubernetes::assess(&o, timeouts.k8s_convergence, timeouts.k8s_expected),
        Err(e) => Row::unobservable(Layer::Kubernetes, &e),
    };
    if k8s_row.state != Health::Green {
        return blocked_after(vec![vm_row, ssh_row, k8s_row]);
    }
    let mut rows = vec![vm_row, ssh_row, k8s_row];
    rows.extend(observe_capi(p).await);
    rows
}

/// Adds a waiting row for every host-chain layer after the last one observed.
fn blocked_after(mut rows: Vec<Row>) -> Vec<Row> {
    let on = rows.last().map_or(Layer::Vm, |r| r.layer);
    rows.extend(
        HOST_CHAIN
            .iter()
            .filter(|l| **l > on)
            .map(|l| Row::waiting(*l, on)),
    );
    rows
}

/// The CAPI controllers and CAPO's objects, through the VM's own kubectl over ssh
/// (`management.kubectl: on-host`), or kubectl here with the site's kubeconfig, or
/// (when it is missing) one fetched for this run only.
pub async fn observe_capi(p: Probe<'_>) -> Vec<Row> {
    if p.site.management.kubectl == crate::site::KubectlAt::OnHost {
        let (controllers, capo) = read_capi(&crate::capi::Kubectl::on_host(p.site), p.site).await;
        return vec![controllers, capo];
    }
    let site_path = crate::site::expand_home(&p.site.management.kubeconfig);
    let mut temporary = None;
    let kubeconfig = if site_path.is_file() {
        site_path.clone()
    } else {
        match TemporaryKubeconfig::fetch(p.site).await {
            Ok(t) => temporary.insert(t).path.clone(),
            Err(e) => {
                let row = |layer| {
                    Row::unobservable(layer, &e).next("the kubeconfig is missing and could not be fetched: run `juju-capi-restore kubeconfig` once Kubernetes is up")
                };
                return vec![row(Layer::CapiControllers), row(Layer::Capo)];
            }
        }
    };
    let note = |row: Row| {
        match &temporary {
        Some(_) => row.evidence(format!(
            "kubeconfig `{}` is missing: read with one fetched over ssh for this run only (write it with `juju-capi-restore kubeconfig`)",
            site_path.display()
        )),
        None => row,
    }
    };
    let kubectl = crate::capi::Kubectl::new(&kubeconfig, p.site.timeouts.kubectl);
    let (controllers, capo) = read_capi(&kubectl, p.site).await;
    vec![note(controllers), capo]
}

/// The controllers' row and CAPO's, read through `kubectl`.
async fn read_capi(kubectl: &crate::capi::Kubectl, site: &crate::site::Site) -> (Row, Row) {
    let controllers = match layers::controllers::probe(kubectl).await {
        Ok(o) => layers::controllers::assess(&o),
        Err(e) => Row::unobservable(Layer::CapiControllers, &e),
    };
    let capo = match layers::capo::probe(kubectl, &site.management.namespace()).await {
        Ok(o) => layers::capo::assess(&o),
        Err(e) => Row::unobservable(Layer::Capo, &e),
    };
    (controllers, capo)
}

/// A kubeconfig fetched for one run, in a private file removed afterwards.
struct TemporaryKubeconfig {
    path: std::path::PathBuf,
}

impl TemporaryKubeconfig {
    async fn fetch(
        site: &crate::site::Site,
    ) -> Result<TemporaryKubeconfig, crate::host::kubeconfig::KubeconfigError> {
        let text = crate::host::kubeconfig::fetch(site).await?;
        let path = std::env::temp_dir().join(format!(
            "juju-capi-restore-{}-{}.kubeconfig",
            std::process::id(),
            crate::files::unique()
        ));
        // A new file (O_EXCL, 0600): never one somebody prepared in the temp directory.
        crate::files::create_private(&path, &text).map_err(|source| {
            crate::host::kubeconfig::KubeconfigError::Write {
                path: path.display().to_string(),
                source,
            }
        })?;
        Ok(TemporaryKubeconfig { path })
    }
}

impl Drop for TemporaryKubeconfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
