//! The twin: a simulated charmed OpenStack cloud in one in-process HTTP server.
//!
//! It serves Keystone v3, Nova, Placement, Octavia v2 and Magnum v1 with the real
//! services' shapes, status codes and headers, on one loopback port under per-service
//! path prefixes listed in its catalog. State evolves in simulated time
//! ([`clock::Clock`]) by the rules in [`cloud`], so a client sees a parked stack come
//! back the way the runbook describes. It is the test bed of every integration test
//! and the embedded default of `juju-capi-restore demo`.

// Handlers answer an early `Err(Response)` as axum's own extractors do: a
// response is the error value by design, however large.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod clock;
pub mod cloud;
pub mod fault;
pub mod host;
pub mod scenario;
pub mod timeline;
pub mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use scenario::Scenario;
pub use tls::TlsIdentity;

use crate::clock::Clock;
use crate::cloud::Cloud;

/// State shared by every request handler.
#[derive(Debug)]
pub struct Shared {
    /// Simulated time.
    pub clock: Clock,
    /// The cloud.
    cloud: Mutex<Cloud>,
    /// `http://127.0.0.1:PORT`, for catalog and version links.
    pub base_url: String,
    /// The management cluster's API URL, as `k8s config` writes it.
    pub kube_url: String,
    /// The management cluster's serving identity (its CA goes into kubeconfigs).
    pub kube_tls: TlsIdentity,
    /// Every API request served, in order: the twin's own record, for tests and
    /// benchmarks (who asked what, when).
    pub requests: Mutex<Vec<RequestRecord>>,
    /// Called with each request's record once it is served and before its answer
    /// leaves: a chaos run kills its client here, at an exact request.
    pub on_request: RequestHook,
}

/// What [`RequestHook`] runs: the request's index (from 0) and its record.
pub type OnRequest = Box<dyn FnMut(usize, &RequestRecord) + Send>;

/// A function run after each served request, before its answer is sent.
#[derive(Default)]
pub struct RequestHook(Mutex<Option<OnRequest>>);

impl RequestHook {
    /// Sets (or with `None` clears) the function.
    pub fn set(&self, hook: Option<OnRequest>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = hook;
    }

    /// Runs it for the `index`th request (from 0).
    pub fn run(&self, index: usize, record: &RequestRecord) {
        if let Some(hook) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            hook(index, record);
        }
    }
}

impl std::fmt::Debug for RequestHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestHook")
    }
}

/// One request the twin served.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestRecord {
    /// Real time since the twin started.
    pub at: std::time::Duration,
    /// HTTP method.
    pub method: String,
    /// Path (without the query).
    pub path: String,
    /// Status answered.
    pub status: u16,
}

impl Shared {
    /// Locks the cloud after applying every transition due by now.
    pub fn cloud(&self) -> (MutexGuard<'_, Cloud>, jiff::Timestamp) {
        let mut cloud = self
            .cloud
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = self.clock.now();
        cloud.settle(now);
        (cloud, now)
    }
}

/// A running twin.
#[derive(Debug)]
pub struct Twin {
    shared: Arc<Shared>,
    scenario: Scenario,
    addr: SocketAddr,
    tls: Option<TlsIdentity>,
    ssh_port: u16,
    kube_port: u16,
    kube: tokio::task::JoinHandle<()>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    sshd: tokio::task::JoinHandle<()>,
}

impl Twin {
    /// Starts the twin on `listen` (use port 0 for any free port), over plain HTTP.
    /// Refuses any address that is not loopback: the twin is for this machine only.
    pub async fn start(scenario: Scenario, listen: SocketAddr) -> std::io::Result<Twin> {
        Twin::start_with(scenario, listen, None).await
    }

    /// Starts the twin over HTTPS with `tls` (see [`TlsIdentity::generate`]), or plain
    /// HTTP without it.
    pub async fn start_with(
        scenario: Scenario,
        listen: SocketAddr,
        tls: Option<TlsIdentity>,
    ) -> std::io::Result<Twin> {
        if !listen.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "the twin listens on loopback only, not `{listen}`: use 127.0.0.1 or [::1]"
                ),
            ));
        }
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{addr}");
        let clock = Clock::new(scenario.time_scale);
        let cloud = Cloud::new(&scenario, clock.now());
        // The management cluster's kube-apiserver gets a port of its own.
        let kube_port = held_port(listen.ip())?;
        let kube_url = format!("https://{}", SocketAddr::new(listen.ip(), kube_port));
        let kube_tls = TlsIdentity::generate().map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            clock,
            cloud: Mutex::new(cloud),
            base_url,
            kube_url,
            kube_tls,
            requests: Mutex::new(Vec::new()),
            on_request: RequestHook::default(),
        });
        let app = api::router(shared.clone());
        let (tx, rx) = oneshot::channel();
        let task = match &tls {
            None => tokio::spawn(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                    let _ = rx.await;
                });
                if let Err(e) = serve.await {
                    tracing::error!("twin server stopped: {e}");
                }
            }),
            Some(identity) => tokio::spawn(serve_tls(
                listener,
                app,
                identity.config.clone(),
                async move {
                    let _ = rx.await;
                },
            )),
        };
        // The VM's sshd: a port of its own on the same loopback address, listening
        // only while the cloud says sshd is up.
        let ssh_port = held_port(listen.ip())?;
        let sshd = tokio::spawn(run_sshd(
            shared.clone(),
            SocketAddr::new(listen.ip(), ssh_port),
        ));
        // It listens only once the cluster has converged.
        let kube = tokio::spawn(run_kube_api(
            shared.clone(),
            SocketAddr::new(listen.ip(), kube_port),
        ));
        Ok(Twin {
            shared,
            scenario,
            addr,
            tls,
            ssh_port,
            kube_port,
            kube,
            shutdown: Some(tx),
            task: Some(task),
            sshd,
        })
    }

    /// Every OpenStack API request served so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The management VM's ssh port (on the same loopback address as the APIs).
    pub fn ssh_port(&self) -> u16 {
        self.ssh_port
    }

    /// The management cluster's Kubernetes API port (listening once it is up).
    pub fn kube_port(&self) -> u16 {
        self.kube_port
    }

    /// The twin's base URL (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The CA certificate (PEM) clients must trust, when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Keystone's URL, as `auth_url` in clouds.yaml.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.shared.base_url)
    }

    /// The scenario it runs.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Shared state (for tests that inspect or steer the cloud).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Runs `f` on the cloud's state at the current simulated instant: tests use it to
    /// steer the cloud (start a server, expire tokens) or to read what happened.
    pub fn with_cloud<T>(&self, f: impl FnOnce(&mut Cloud, jiff::Timestamp) -> T) -> T {
        let (mut cloud, now) = self.shared.cloud();
        f(&mut cloud, now)
    }

    /// The id of a project named in the scenario.
    pub fn project_id(&self, name: &str) -> Option<String> {
        let (cloud, _) = self.shared.cloud();
        cloud
            .projects
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id.clone())
    }

    /// Stops serving and waits for the server task to end.
    pub async fn stop(mut self) {
        self.sshd.abort();
        self.kube.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Accepts TLS connections and serves the router on each until shutdown.
async fn serve_tls(
    listener: TcpListener,
    app: axum::Router,
    config: Arc<tokio_rustls::rustls::ServerConfig>,
    stop: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("twin accept failed: {e}");
                    continue;
                }
            },
            _ = &mut stop => return,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            // A client that rejects the certificate ends here: that is its business.
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
        });
    }
}

/// A task aborted when its handle is dropped (when the task owning it is aborted).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A free port on `ip`, for a listener opened later.
fn free_port(ip: std::net::IpAddr) -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// The ports this process's twins keep for listeners that open and close with the
/// cloud's state (the VM's sshd, its apiserver).
static HELD: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// A port for a listener that opens and closes with the cloud's state. While it is
/// closed the port is free, so one from the kernel's ephemeral range would go to the
/// next `bind(…:0)` anywhere on the machine (another twin's API, a client's socket),
/// and a kubeconfig naming it would reach a stranger. So: below the ephemeral range,
/// free now, and kept from this process's other twins until this one is dropped.
fn held_port(ip: std::net::IpAddr) -> std::io::Result<u16> {
    const FLOOR: u16 = 10_000;
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let span = u128::from(low.saturating_sub(FLOOR).max(1));
    for _ in 0..500 {
        let port = FLOOR + (uuid::Uuid::new_v4().as_u128() % span) as u16;
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        if !held.contains(&port) && std::net::TcpListener::bind((ip, port)).is_ok() {
            held.insert(port);
            return Ok(port);
        }
    }
    free_port(ip)
}

/// The VM's ssh port as the cloud's state says (see [`cloud::Cloud::ssh_port`]):
/// while it drops SYNs, a listener whose accept queue is kept full by connections of
/// its own (Linux then drops every further SYN, and a client's connect times out);
/// while it refuses, nothing bound; while sshd listens, one that greets each
/// connection as sshd would before closing it (enough for a port probe; commands go
/// through `/host/exec`).
async fn run_sshd(shared: Arc<Shared>, addr: SocketAddr) {
    use crate::host::SshPort;
    // Aborted with this task: dropping the handle alone would detach the listener.
    let mut bound: Option<(SshPort, PortHolder)> = None;
    loop {
        let want = {
            let (cloud, now) = shared.cloud();
            cloud.ssh_port(now)
        };
        if bound.as_ref().map(|(p, _)| *p) != Some(want)
            && !(bound.is_none() && want == SshPort::Refuses)
        {
            // Let go first: the next holder binds the same port.
            drop(bound.take());
            let holder = match want {
                SshPort::Refuses => None,
                SshPort::Drops => dropping_listener(addr).await.map(PortHolder::Dropping),
                SshPort::Listens => TcpListener::bind(addr).await.ok().map(|listener| {
                    PortHolder::Listening(AbortOnDrop(tokio::spawn(async move {
                        while let Ok((mut stream, _)) = listener.accept().await {
                            use tokio::io::AsyncWriteExt;
                            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6p1 twin\r\n").await;
                        }
                    })))
                }),
            };
            bound = holder.map(|h| (want, h));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// What keeps the VM's ssh port in its state.
enum PortHolder {
    /// A listener that never accepts, its queue full of its own connections.
    Dropping(#[allow(dead_code)] (TcpListener, Vec<tokio::net::TcpStream>)),
    /// sshd's stand-in.
    Listening(#[allow(dead_code)] AbortOnDrop),
}

/// A listener on `addr` with the smallest accept queue, filled by its own
/// connections until one more no longer completes: from then on Linux drops every
/// SYN to it, as a host that is not up does.
async fn dropping_listener(addr: SocketAddr) -> Option<(TcpListener, Vec<tokio::net::TcpStream>)> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .ok()?;
    socket.set_reuseaddr(true).ok()?;
    socket.bind(addr).ok()?;
    let listener = socket.listen(0).ok()?;
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(
            std::time::Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => fillers.push(stream),
            // Full: this SYN was dropped.
            _ => break,
        }
    }
    Some((listener, fillers))
}

/// Serves the management cluster's Kubernetes API on `addr` while the cloud says it
/// is up, and closes the port (connection refused, like a real apiserver) when not.
async fn run_kube_api(shared: Arc<Shared>, addr: SocketAddr) {
    let mut serving: Option<AbortOnDrop> = None;
    loop {
        let up = {
            let (cloud, now) = shared.cloud();
            cloud.management_api_up(now)
        };
        match (up, serving.is_some()) {
            (true, false) => {
                if let Ok(listener) = TcpListener::bind(addr).await {
                    let app = api::kube::router(shared.clone());
                    let config = shared.kube_tls.config.clone();
                    serving = Some(AbortOnDrop(tokio::spawn(async move {
                        serve_tls(listener, app, config, std::future::pending()).await;
                    })));
                }
            }
            (false, true) => {
                serving = None;
            }
            _ => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl Drop for Twin {
    fn drop(&mut self) {
        self.sshd.abort();
        self.kube.abort();
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.kube_port);
        held.remove(&self.ssh_port);
        drop(held);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
