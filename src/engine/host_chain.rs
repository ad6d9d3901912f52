//! The restore's management-VM chain (runbook blocks "start + ssh-port gate", "mgmt
//! k8s readiness poll", "post-start CAPI + LB verify", DESIGN §4.1–§4.4): VM → SSH →
//! Kubernetes → CAPI controllers, each acted on only once the one below is green.
//! Changes one thing, starting the VM (Nova `os-start`), and re-emits a missing or
//! stale kubeconfig; the rest is waiting at the gates, never restarting anything.

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;

use super::run::{Run, first_line, secs};
use super::wait::{Attempt, Check, Wait, WaitError, Waited};
use crate::cloud::nova::{self, ServerStatus};
use crate::cloud::{ApiError, Scope};
use crate::ending::Stopped;
use crate::host::ssh::StatusForm;
use crate::journal::{ActionResult, Request};
use crate::layers::kubernetes::{self, K8sObservation, Look, NotReady};
use crate::layers::vm::VmObservation;
use crate::layers::{self, Decision, Layer, Probe};
use crate::site::Gate;

impl Run<'_> {
    /// VM → SSH → Kubernetes → CAPI controllers, stopping at the first that cannot
    /// be made green (or at `--until`, or on a signal).
    pub(crate) async fn host_chain(&self) -> Result<(), Stopped> {
        let vm = self.vm().await;
        // Headroom may be measured now, if the VM is up: it depends on it (DESIGN §4.0).
        let _ = self.vm_done.send(Some(vm.is_ok()));
        let vcpus = vm?;
        if self.done_with(Layer::Vm) {
            return Ok(());
        }
        self.ssh().await?;
        if self.done_with(Layer::Ssh) {
            return Ok(());
        }
        self.kubernetes(vcpus).await?;
        if self.done_with(Layer::Kubernetes) {
            return Ok(());
        }
        self.kubeconfig().await?;
        self.await_layer(Layer::CapiControllers).await
    }

    /// The VM: start it if parked, then wait for ACTIVE; ERROR stops at once.
    /// Returns its vCPUs (for reading its load average).
    async fn vm(&self) -> Result<u32, Stopped> {
        let observation = layers::vm::probe(self.p)
            .await
            .map_err(|e| self.stop(Layer::Vm, first_line(&e)))?;
        let row = layers::vm::assess(&observation);
        let (decision, what) = self.decide(&row);
        let Some(server) = observation.server.as_ref() else {
            return Err(self.stop(Layer::Vm, what));
        };
        match decision {
            Decision::Nothing => {
                self.progress
                    .line(Layer::Vm, &format!("`{}` is ACTIVE", server.name));
                return Ok(layers::vm::vcpus(&observation));
            }
            Decision::Start => self.start_vm(&observation).await?,
            Decision::Wait(_) => {}
            _ => return Err(self.stop(Layer::Vm, what)),
        }
        self.await_active(&server.id, &server.name).await?;
        Ok(layers::vm::vcpus(&observation))
    }

    /// Starts the parked VM, in the management project's scope when the token has it.
    async fn start_vm(&self, observation: &VmObservation) -> Result<(), Stopped> {
        let Some(server) = observation.server.as_ref() else {
            return Err(self.stop(Layer::Vm, "no server to start".into()));
        };
        self.progress.line(
            Layer::Vm,
            &format!(
                "starting `{}` ({}) in project `{}`",
                server.name, server.id, observation.project_id
            ),
        );
        let scope = if self.p.in_management_project().await.unwrap_or(false) {
            Scope::Management
        } else {
            Scope::Admin
        };
        // A signal during the probes (the scope check may log in): change nothing.
        if crate::interrupt::requested().is_some() {
            return Err(self.stop(Layer::Vm, "interrupted before starting the VM".into()));
        }
        let request = Request::new("os-start")
            .server(&server.id)
            .with("scope", scope.to_string());
        let result = self
            .journal
            .change(
                Layer::Vm,
                request,
                nova::start_server(self.p.session, scope, &server.id),
            )
            .await;
        match result {
            Ok(()) => {
                self.changed(format!("started `{}` ({})", server.name, server.id));
                Ok(())
            }
            // A 409 means someone else started it meanwhile: waiting is right.
            Err(e) if e.status() == Some(409) => Ok(()),
            Err(e) => Err(self.stop(Layer::Vm, first_line(&e))),
        }
    }

    /// Waits for ACTIVE. A VM that went to ERROR ends the wait but passes no gate
    /// (so it is not journaled as one).
    async fn await_active(&self, id: &str, name: &str) -> Result<(), Stopped> {
        let session = self.p.session;
        let expected = Gate::ServerActive.expected(self.p.site);
        let waited = Wait::at(self.p.site, Gate::ServerActive, format!("`{name}` ACTIVE"))
            .until(
                || async move {
                    let s = nova::show_server(session, Scope::Admin, id).await?;
                    Ok::<_, ApiError>(match (&s.status, s.task_state.as_ref()) {
                        (ServerStatus::Active, None) => Check::Done(Ok(())),
                        (ServerStatus::Error, _) => Check::Done(Err(format!(
                            "`{}` went to ERROR: {}",
                            s.name,
                            s.fault
                                .map(|f| f.message)
                                .unwrap_or_else(|| "no fault recorded".into())
                        ))),
                        (status, task) => Check::NotYet(format!(
                            "{status}{}",
                            task.map(|t| format!(", {t}")).unwrap_or_default()
                        )),
                    })
                },
                self.attempt(Layer::Vm, &expected),
            )
            .await
            .map_err(|e| self.stop(Layer::Vm, e.to_string()))?;
        if let Err(fault) = &waited.value {
            return Err(self.stop(Layer::Vm, format!("{fault}; a VM in ERROR needs an operator (`openstack server show` and the nova-compute log)")));
        }
        self.waited(Layer::Vm, &waited);
        self.progress
            .line(Layer::Vm, &format!("ACTIVE after {}", secs(waited.elapsed)));
        Ok(())
    }

    /// The ssh-port gate (`SSH-PORT-OK`).
    async fn ssh(&self) -> Result<(), Stopped> {
        let first = layers::ssh_gate::probe(self.p).await;
        let gate = layers::ssh_gate::assess(&first);
        if self.decide(&gate).0 == Decision::Nothing {
            self.progress.line(Layer::Ssh, "SSH-PORT-OK");
            return Ok(());
        }
        let expected = Gate::SshPort.expected(self.p.site);
        let waited = await_ssh_port(self.p, self.attempt(Layer::Ssh, &expected))
            .await
            .map_err(|e| self.stop(Layer::Ssh, e.to_string()))?;
        self.waited(Layer::Ssh, &waited);
        self.progress.line(
            Layer::Ssh,
            &format!(
                "SSH-PORT-OK after {} ({} attempts)",
                secs(waited.elapsed),
                waited.attempts
            ),
        );
        Ok(())
    }

    /// The readiness gate, `cluster status: ready`, inside the convergence window.
    async fn kubernetes(&self, vcpus: u32) -> Result<(), Stopped> {
        let expected = Gate::KubernetesReady.expected(self.p.site);
        let ready =
            await_kubernetes_ready(self.p, vcpus, self.attempt(Layer::Kubernetes, &expected))
                .await
                .map_err(|e| self.stop(Layer::Kubernetes, e.to_string()))?;
        self.waited(Layer::Kubernetes, &ready);
        self.progress.line(
            Layer::Kubernetes,
            &format!(
                "cluster status: ready ({} attempts, {} waited)",
                ready.attempts,
                secs(ready.elapsed)
            ),
        );
        Ok(())
    }

    /// The kubeconfig: re-emitted when missing (the runbook's phase-06 Step 6.5), and
    /// once when kubectl says it does not fit the cluster that is now up (a CA or
    /// server from before a rebuild), instead of polling a wrong server until the
    /// deadline.
    async fn kubeconfig(&self) -> Result<(), Stopped> {
        if self.p.site.management.kubectl == crate::site::KubectlAt::OnHost {
            // The VM's own kubectl needs no kubeconfig here.
            return Ok(());
        }
        let path = crate::site::expand_home(&self.p.site.management.kubeconfig);
        let why = if !path.is_file() {
            "missing".to_string()
        } else {
            let kubectl = crate::capi::Kubectl::new(&path, self.p.site.timeouts.kubectl);
            match layers::controllers::probe(&kubectl).await {
                // Kubernetes is ready: a refused connection is the wrong server.
                Err(e)
                    if matches!(
                        e.trouble(),
                        crate::capi::KubectlTrouble::Credentials
                            | crate::capi::KubectlTrouble::Unreachable
                    ) =>
                {
                    format!("does not fit the cluster that is up ({})", first_line(&e))
                }
                // Slow or anything else: not the kubeconfig's fault; never overwrite it.
                _ => return Ok(()),
            }
        };
        self.progress.line(
            Layer::CapiControllers,
            &format!(
                "kubeconfig `{}` {why}: re-emitting it over ssh",
                path.display()
            ),
        );
        let result = crate::host::kubeconfig::emit(self.p.site, &path).await;
        if result.is_ok() {
            self.changed(format!("re-emitted the kubeconfig `{}`", path.display()));
        }
        let said = match &result {
            Ok(_) => "written 0600".to_string(),
            Err(e) => first_line(e),
        };
        let request = Request::new("k8s config --server").with("path", path.display().to_string());
        self.journal
            .action(Layer::CapiControllers, ActionResult::of(&request, said));
        result
            .map(|_| ())
            .map_err(|e| self.stop(Layer::CapiControllers, e.to_string()))
    }
}

/// The ssh-port gate on its own: probes until sshd answers or the gate's deadline.
pub async fn await_ssh_port(
    p: Probe<'_>,
    progress: impl FnMut(&Attempt<'_>),
) -> Result<Waited<()>, WaitError<Infallible>> {
    let addr = SocketAddr::new(p.site.management.floating_ip, p.site.ssh.port);
    Wait::at(p.site, Gate::SshPort, format!("ssh port {addr}"))
        .until(
            || async move {
                let o = layers::ssh_gate::probe(p).await;
                Ok(match layers::ssh_gate::not_open_yet(&o) {
                    None => Check::Done(()),
                    Some(seen) => Check::NotYet(seen),
                })
            },
            progress,
        )
        .await
}

/// The readiness gate on its own: looks until `cluster status: ready`, past the
/// convergence window (or on an ssh failure waiting cannot cure) an error.
pub async fn await_kubernetes_ready(
    p: Probe<'_>,
    vcpus: u32,
    progress: impl FnMut(&Attempt<'_>),
) -> Result<Waited<Box<K8sObservation>>, WaitError<NotReady>> {
    // One ssh session per poll: the form that worked is kept for the next one.
    let form = Cell::new(StatusForm::Json);
    let form = &form;
    Wait::at(p.site, Gate::KubernetesReady, "cluster status: ready")
        .until(
            || async move {
                Ok(match kubernetes::look(p, vcpus, form).await? {
                    Look::Ready(o) => Check::Done(o),
                    Look::NotYet(seen) => Check::NotYet(seen),
                })
            },
            progress,
        )
        .await
}
