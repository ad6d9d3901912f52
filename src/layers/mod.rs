//! The runbook's layers, bottom-up. Each layer module has an I/O `probe` that gathers
//! a typed observation and a pure `assess` that turns it into a [`Row`]: state,
//! evidence, diagnosis (what `status` shows) and the [`Decision`] (what `restore`
//! does about it, which `plan` shows). The engine executes decisions; it never reads
//! a decision back out of a row's words.

pub mod amphorae;
pub mod capo;
pub mod controllers;
pub mod decision;
pub mod headroom;
pub mod kubernetes;
pub mod load_balancers;
pub mod magnum;
pub mod ssh_gate;
pub mod vm;

use serde::{Deserialize, Serialize};

use crate::cloud::{ApiError, Scope, Session};
use crate::diagnose::Diagnosis;
use crate::site::Site;
pub use decision::Decision;

/// A layer of the stack, in the runbook's bottom-up order (DESIGN §4.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// The management VM in Nova.
    Vm,
    /// sshd on the floating IP.
    Ssh,
    /// Canonical Kubernetes on the VM.
    Kubernetes,
    /// CAPI controller pods.
    CapiControllers,
    /// Amphora rows vs amphora servers (orphans, zombies).
    Amphorae,
    /// Free amphora slots per compute host.
    Headroom,
    /// The kube-api load balancers.
    LoadBalancers,
    /// CAPO's Cluster conditions.
    Capo,
    /// Magnum cluster health.
    Magnum,
}

impl Layer {
    /// Every layer, bottom-up.
    pub const ALL: [Layer; 9] = [
        Layer::Vm,
        Layer::Ssh,
        Layer::Kubernetes,
        Layer::CapiControllers,
        Layer::Amphorae,
        Layer::Headroom,
        Layer::LoadBalancers,
        Layer::Capo,
        Layer::Magnum,
    ];

    /// Name as shown and as `--until` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Vm => "vm",
            Layer::Ssh => "ssh",
            Layer::Kubernetes => "kubernetes",
            Layer::CapiControllers => "capi-controllers",
            Layer::Amphorae => "amphorae",
            Layer::Headroom => "headroom",
            Layer::LoadBalancers => "load-balancers",
            Layer::Capo => "capo",
            Layer::Magnum => "magnum",
        }
    }

    /// The layers it depends on (DESIGN §4.0).
    pub fn depends_on(self) -> &'static [Layer] {
        match self {
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

    /// Whether it depends on `on`, directly or through others (or is it).
    pub fn rests_on(self, on: Layer) -> bool {
        self == on || self.depends_on().iter().any(|l| l.rests_on(on))
    }

    /// The layer with this name.
    pub fn parse(name: &str) -> Result<Layer, String> {
        Layer::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown layer `{name}`: one of {}",
                    Layer::ALL.map(|l| l.name()).join(", ")
                )
            })
    }
}

/// A layer's state. Meaning is in the word, never only in a colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Working.
    Green,
    /// Working, with something to look at (in progress, orphans, known false alarm).
    Yellow,
    /// Not working.
    Red,
    /// Could not be observed.
    Unknown,
}

impl Health {
    /// The word shown.
    pub fn word(self) -> &'static str {
        match self {
            Health::Green => "green",
            Health::Yellow => "yellow",
            Health::Red => "red",
            Health::Unknown => "unknown",
        }
    }

    /// Whether this state fails the run (red, or not known to be working).
    pub fn is_blocking(self) -> bool {
        matches!(self, Health::Red | Health::Unknown)
    }
}

/// One layer's assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Which layer.
    pub layer: Layer,
    /// Its state.
    pub state: Health,
    /// One line saying what it is.
    pub summary: String,
    /// The facts it rests on.
    pub evidence: Vec<String>,
    /// What the observation table makes of it.
    pub diagnosis: Vec<Diagnosis>,
    /// The next step, when there is one and no diagnosis gives it (null otherwise).
    pub next: Option<String>,
    /// Unknown because a call to observe it failed (not because a layer below it is
    /// down): a cloud fault, exit 4, rather than a red layer.
    #[serde(skip)]
    pub unobserved: bool,
    /// What the layer's facts decided, when its state alone does not say it.
    #[serde(skip)]
    pub decided: Option<Decision>,
}

impl Row {
    /// A row with no evidence yet.
    pub fn new(layer: Layer, state: Health, summary: impl Into<String>) -> Row {
        Row {
            layer,
            state,
            summary: summary.into(),
            evidence: Vec::new(),
            diagnosis: Vec::new(),
            next: None,
            unobserved: false,
            decided: None,
        }
    }

    /// Sets the decision the layer's facts give.
    pub fn decided(mut self, decision: Decision) -> Row {
        self.decided = Some(decision);
        self
    }

    /// What `restore` does about this layer: the facts' decision, else the state's
    /// (see [`Decision::by_state`]).
    pub fn decision(&self) -> Decision {
        self.decided
            .clone()
            .unwrap_or_else(|| Decision::by_state(self.layer, self.state))
    }

    /// Adds evidence.
    pub fn evidence(mut self, line: impl Into<String>) -> Row {
        self.evidence.push(line.into());
        self
    }

    /// Adds a diagnosis.
    pub fn diagnosed(mut self, diagnosis: Option<Diagnosis>) -> Row {
        self.diagnosis.extend(diagnosis);
        self
    }

    /// Sets the next step.
    pub fn next(mut self, next: impl Into<String>) -> Row {
        self.next = Some(next.into());
        self
    }

    /// A layer not probed because one it depends on is not green.
    pub fn waiting(layer: Layer, on: Layer) -> Row {
        Row::new(
            layer,
            Health::Unknown,
            format!("not probed: waiting for `{}`", on.name()),
        )
    }

    /// A layer that could not be observed because a call failed.
    pub fn unobservable(layer: Layer, error: &dyn std::fmt::Display) -> Row {
        let text = error.to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default().to_string();
        let mut row = Row::new(layer, Health::Unknown, "could not be observed").evidence(first);
        row.unobserved = true;
        let rest: Vec<&str> = lines.collect();
        if !rest.is_empty() {
            row = row.next(rest.join(" "));
        }
        row
    }
}

/// What a probe needs: the OpenStack session and the site.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// OpenStack.
    pub session: &'a Session,
    /// The site's literals.
    pub site: &'a Site,
}

impl Probe<'_> {
    /// Whether the management-scope token really is scoped to the site's project. It
    /// is not when an application credential fixes its own scope elsewhere; probes
    /// then read the project through admin calls filtered by project id.
    pub async fn in_management_project(&self) -> Result<bool, ApiError> {
        let info = self.session.scope_info(Scope::Management).await?;
        Ok(info
            .project
            .is_some_and(|p| p.id == self.site.management.project_id.as_str()))
    }
}
