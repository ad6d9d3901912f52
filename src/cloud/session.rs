//! The one HTTP client to OpenStack: two Keystone tokens held at once (admin scope and
//! management-project scope), endpoints from each token's catalog, renewal on 401 or
//! near expiry, bounded retries with backoff for reads, a timeout on every
//! request, and a count of calls for the journal and the benchmarks.
//!
//! Tokens and secrets live in [`SecretString`]s: they reach the wire and nothing else.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::credentials::{AuthMethod, CloudConfig, DomainRef, ProjectRef, UserRef};
use super::error::{ApiError, service_message, snippet};
use crate::clock::Clock;
use crate::site::{Http, ProjectId};

/// Which token a call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The credentials' own project (admin in an admin-openrc): all-projects
    /// listings, amphorae, Placement, failover.
    Admin,
    /// The management project (`capi-mgmt`): the VM, its load balancers, Magnum.
    Management,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Admin => "admin scope",
            Scope::Management => "management-project scope",
        })
    }
}

/// An OpenStack service, by catalog type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// Nova.
    Compute,
    /// Placement.
    Placement,
    /// Octavia.
    LoadBalancer,
    /// Magnum.
    ContainerInfra,
    /// Neutron (floating IPs on load-balancer VIP ports).
    Network,
    /// Glance (whether a server's image is the amphora image).
    Image,
}

impl Service {
    /// Catalog type.
    pub fn catalog_type(self) -> &'static str {
        match self {
            Service::Compute => "compute",
            Service::Placement => "placement",
            Service::LoadBalancer => "load-balancer",
            Service::ContainerInfra => "container-infra",
            Service::Network => "network",
            Service::Image => "image",
        }
    }

    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Compute => "nova",
            Service::Placement => "placement",
            Service::LoadBalancer => "octavia",
            Service::ContainerInfra => "magnum",
            Service::Network => "neutron",
            Service::Image => "glance",
        }
    }

    /// Turns a catalog URL into the base the API paths hang off: Nova's `/v2.1`,
    /// Magnum's `/v1` and Octavia's `/v2` are added when the catalog leaves them out.
    fn api_base(self, url: &str) -> String {
        let url = url.trim_end_matches('/');
        match self {
            Service::Compute if !url.contains("/v2") => format!("{url}/v2.1"),
            Service::ContainerInfra if !url.ends_with("/v1") => format!("{url}/v1"),
            Service::Network if !url.ends_with("/v2.0") => format!("{url}/v2.0"),
            Service::LoadBalancer => {
                let root = url.trim_end_matches("/v2.0").trim_end_matches("/v2");
                format!("{root}/v2")
            }
            Service::Image => format!("{}/v2", url.trim_end_matches("/v2")),
            _ => url.to_string(),
        }
    }

    /// The microversion header this tool asks for, where the service has them.
    fn microversion(self) -> Option<&'static str> {
        match self {
            // 2.47 embeds the flavor and is old enough for every supported cloud.
            Service::Compute => Some("compute 2.47"),
            // 1.14 adds parent/root providers; traits need 1.6.
            Service::Placement => Some("placement 1.14"),
            // Magnum negotiates: it answers with the version it used.
            Service::ContainerInfra => Some("container-infra latest"),
            Service::LoadBalancer | Service::Network | Service::Image => None,
        }
    }
}

/// One catalog entry.
#[derive(Debug, Clone, Deserialize)]
struct CatalogEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogEndpoint {
    interface: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    url: String,
}

/// A scoped token with its catalog.
struct ScopedToken {
    id: SecretString,
    expires_at: Timestamp,
    issued_at: Timestamp,
    project: Option<TokenProject>,
    roles: Vec<String>,
    catalog: Vec<CatalogEntry>,
}

/// The project a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenProject {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenFields,
}

#[derive(Deserialize)]
struct TokenFields {
    expires_at: String,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    project: Option<TokenProject>,
    #[serde(default)]
    roles: Vec<RoleRef>,
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
}

#[derive(Deserialize)]
struct RoleRef {
    name: String,
}

impl ScopedToken {
    /// Whether to renew before use: inside the last tenth of its life (at most the last
    /// two minutes), so a short-lived token is not renewed on every call.
    fn near_expiry(&self, now: Timestamp) -> bool {
        let lifetime = self
            .expires_at
            .duration_since(self.issued_at)
            .unsigned_abs();
        let margin = RENEW_MARGIN.min(lifetime / 10);
        self.expires_at <= now.saturating_add(margin).unwrap_or(Timestamp::MAX)
    }
}

/// What a caller learns about a held token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeInfo {
    /// The project it is scoped to.
    pub project: Option<TokenProject>,
    /// Role names there.
    pub roles: Vec<String>,
}

/// One API call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Which token.
    pub scope: Scope,
    /// Which service.
    pub service: Service,
    /// HTTP method.
    pub method: Method,
    /// Path under the service's API base (`/servers/detail`), or an absolute URL
    /// from a `next` link.
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
}

impl Call {
    /// A GET.
    pub fn get(scope: Scope, service: Service, path: impl Into<String>) -> Call {
        Call {
            scope,
            service,
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Call {
        self.query.push((key.to_string(), value.into()));
        self
    }

    /// A request with a method and JSON body.
    pub fn with(
        scope: Scope,
        service: Service,
        method: Method,
        path: impl Into<String>,
        body: Option<Value>,
    ) -> Call {
        Call {
            scope,
            service,
            method,
            path: path.into(),
            query: Vec::new(),
            body,
        }
    }

    /// Only reads are ever repeated. A PUT failover or a DELETE is "idempotent" in
    /// HTTP's sense, but a destructive call that may have happened is never re-sent
    /// behind the operator's back (DESIGN §4.7): its failure is reported instead.
    fn retryable(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// The URL that answered.
    pub url: String,
}

impl Answer {
    /// Parses the body as `T`, or reports garbage.
    pub fn json<T: DeserializeOwned>(&self, service: Service, method: &str) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::Garbage {
            service: service.name(),
            method: method.to_string(),
            url: self.url.clone(),
            detail: e.to_string(),
            snippet: snippet(&String::from_utf8_lossy(&self.body)),
        })
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Counters of calls made, per service and scope.
#[derive(Debug, Default)]
pub struct CallStats {
    requests: AtomicU64,
    retries: AtomicU64,
    logins: AtomicU64,
}

impl CallStats {
    /// HTTP requests sent to services (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// Of those, retries.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
    /// Keystone logins (token issues).
    pub fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }
}

/// The OpenStack session.
pub struct Session {
    http: reqwest::Client,
    config: CloudConfig,
    management_project: Option<ProjectId>,
    policy: Http,
    tokens: BTreeMap<Scope, Mutex<Option<Arc<ScopedToken>>>>,
    stats: CallStats,
    /// The cloud's clock as its last answer gave it (`Date`), and when that was here.
    cloud_clock: std::sync::Mutex<Option<(Timestamp, Instant)>>,
    /// The local wall clock (a token's expiry; the cloud's time before its first answer).
    clock: Clock,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("cloud", &self.config.name)
            .field("auth_url", &self.config.auth_url)
            .finish_non_exhaustive()
    }
}

/// Renew a token this long before Keystone says it expires.
const RENEW_MARGIN: Duration = Duration::from_secs(120);

impl Session {
    /// A session for `config`, holding tokens for the admin and management scopes.
    pub fn new(
        config: CloudConfig,
        management_project: ProjectId,
        policy: Http,
    ) -> Result<Session, ApiError> {
        Session::build(config, Some(management_project), policy)
    }

    /// A session that holds only the admin scope (site discovery, before the
    /// management project is known).
    pub fn admin_only(config: CloudConfig, policy: Http) -> Result<Session, ApiError> {
        Session::build(config, None, policy)
    }

    fn build(
        config: CloudConfig,
        management_project: Option<ProjectId>,
        policy: Http,
    ) -> Result<Session, ApiError> {
        let mut builder = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("juju-capi-restore/", env!("CARGO_PKG_VERSION")))
            // Everything here is loopback or the operator's own cloud: no proxies.
            .no_proxy()
            // A redirect would carry `X-Auth-Token` (or a re-POSTed password) to
            // wherever it points: OpenStack APIs do not redirect, so refuse.
            .redirect(reqwest::redirect::Policy::none());
        if config.tls.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        } else if let Some(path) = &config.tls.cacert {
            let pem = std::fs::read(path).map_err(|e| {
                ApiError::Setup(format!("cannot read `cacert` `{}`: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ApiError::Setup(format!(
                    "`cacert` `{}` is not a PEM bundle: {e}",
                    path.display()
                ))
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| ApiError::Setup(e.to_string()))?;
        let tokens = [Scope::Admin, Scope::Management]
            .into_iter()
            .map(|s| (s, Mutex::new(None)))
            .collect();
        Ok(Session {
            http,
            config,
            management_project,
            policy,
            tokens,
            stats: CallStats::default(),
            cloud_clock: std::sync::Mutex::new(None),
            clock: Clock::system(),
        })
    }

    /// The same session on another wall clock (tests fix it).
    pub fn on_clock(mut self, clock: Clock) -> Session {
        self.clock = clock;
        self
    }

    /// The local wall clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The cloud in use.
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// Call counters.
    pub fn stats(&self) -> &CallStats {
        &self.stats
    }

    /// The credential that logs in to `scope`.
    fn auth(&self, scope: Scope) -> &AuthMethod {
        match (scope, &self.config.management_auth) {
            (Scope::Management, Some(auth)) => auth,
            _ => &self.config.auth,
        }
    }

    /// Whether `scope`'s credential fixes its own scope (an application credential).
    fn is_fixed(&self, scope: Scope) -> bool {
        matches!(self.auth(scope), AuthMethod::ApplicationCredential { .. })
    }

    /// Authenticates `scope` now if needed and says what it is scoped to.
    pub async fn scope_info(&self, scope: Scope) -> Result<ScopeInfo, ApiError> {
        let token = self.token(scope, None).await?;
        Ok(ScopeInfo {
            project: token.project.clone(),
            roles: token.roles.clone(),
        })
    }

    fn scope_request(&self, scope: Scope) -> Option<ProjectRef> {
        match (self.auth(scope), scope) {
            (AuthMethod::ApplicationCredential { .. }, _) => None,
            (AuthMethod::Password { project, .. }, Scope::Admin) => project.clone(),
            (AuthMethod::Password { .. }, Scope::Management) => self
                .management_project
                .as_ref()
                .map(|p| ProjectRef::Id(p.to_string())),
        }
    }

    fn auth_body(&self, scope: Scope) -> Value {
        fn domain(d: &DomainRef) -> Value {
            match d {
                DomainRef::Id(id) => json!({"id": id}),
                DomainRef::Name(n) => json!({"name": n}),
            }
        }
        fn user(u: &UserRef) -> Value {
            match u {
                UserRef::Id(id) => json!({"id": id}),
                UserRef::Name { name, domain: d } => json!({"name": name, "domain": domain(d)}),
            }
        }
        let identity = match self.auth(scope) {
            AuthMethod::Password {
                user: u, password, ..
            } => {
                let mut u = user(u);
                u["password"] = json!(password.expose_secret());
                json!({"methods": ["password"], "password": {"user": u}})
            }
            AuthMethod::ApplicationCredential {
                id,
                name,
                user: u,
                secret,
            } => {
                let mut ac = json!({"secret": secret.expose_secret()});
                if let Some(id) = id {
                    ac["id"] = json!(id);
                } else {
                    ac["name"] = json!(name);
                    if let Some(u) = u {
                        ac["user"] = user(u);
                    }
                }
                json!({"methods": ["application_credential"], "application_credential": ac})
            }
        };
        let mut auth = json!({"identity": identity});
        match self.scope_request(scope) {
            Some(ProjectRef::Id(id)) => auth["scope"] = json!({"project": {"id": id}}),
            Some(ProjectRef::Name { name, domain: d }) => {
                auth["scope"] = json!({"project": {"name": name, "domain": domain(&d)}})
            }
            None => {}
        }
        json!({"auth": auth})
    }

    /// The held token for `scope`, logging in when there is none, when it is near
    /// expiry, or when a service just refused it (`refused`). Concurrent callers that
    /// saw the same refusal log in once: only the token that was refused is replaced.
    async fn token(
        &self,
        scope: Scope,
        refused: Option<&Arc<ScopedToken>>,
    ) -> Result<Arc<ScopedToken>, ApiError> {
        if scope == Scope::Management && self.management_project.is_none() && !self.is_fixed(scope)
        {
            return Err(ApiError::NoManagementScope);
        }
        // One application credential has one fixed scope: both scopes share its token.
        let slot_scope = if self.is_fixed(scope) && self.config.management_auth.is_none() {
            Scope::Admin
        } else {
            scope
        };
        let mut slot = self.tokens[&slot_scope].lock().await;
        if let Some(token) = slot.as_ref() {
            let was_refused = refused.is_some_and(|r| Arc::ptr_eq(r, token));
            if !was_refused && !token.near_expiry(self.clock.now()) {
                return Ok(token.clone());
            }
        }
        let token = Arc::new(self.login(scope).await?);
        *slot = Some(token.clone());
        Ok(token)
    }

    /// Logs in for `scope`, retried like every other service: Keystone unreachable
    /// or answering 5xx is retried with backoff (a token request changes nothing, so
    /// re-sending it is safe), and a garbage answer once. A refusal (401/403) is never
    /// retried, nor a timeout (a slow login may still be running: retrying would
    /// stack them up).
    async fn login(&self, scope: Scope) -> Result<ScopedToken, ApiError> {
        let mut garbage_seen = false;
        loop {
            let attempt = || async { self.login_once(scope).await };
            match attempt
                .retry(self.backoff())
                .when(|e: &ApiError| e.is_transient() && !matches!(e, ApiError::Timeout { .. }))
                .notify(|e, wait| {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("keystone login failed ({e}); retrying in {wait:?}")
                })
                .await
            {
                Err(e @ ApiError::Garbage { .. }) if !garbage_seen => {
                    garbage_seen = true;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("{e}; retrying once");
                }
                result => return result,
            }
        }
    }

    async fn login_once(&self, scope: Scope) -> Result<ScopedToken, ApiError> {
        let url = format!("{}/auth/tokens", self.config.auth_url);
        let body = self.auth_body(scope);
        let started = Instant::now();
        self.stats.logins.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(e, "keystone", "POST", &url))?;
        let status = response.status();
        self.read_cloud_clock(response.headers());
        let token_id = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e, "keystone", "POST", &url))?;
        tracing::debug!(target: "capi_restore::http", "POST {url} ({scope}) -> {status} in {:?}", started.elapsed());
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(self.refused(scope, &self.scrub(service_message(&bytes))));
        }
        if !status.is_success() {
            return Err(ApiError::Status {
                service: "keystone",
                method: "POST".into(),
                url,
                status: status.as_u16(),
                message: self.scrub(service_message(&bytes)),
                request_id: None,
            });
        }
        let garbage = |detail: String| ApiError::Garbage {
            service: "keystone",
            method: "POST".into(),
            url: url.clone(),
            detail,
            snippet: self.scrub(snippet(&String::from_utf8_lossy(&bytes))),
        };
        let id = token_id.ok_or_else(|| garbage("no `X-Subject-Token` header".into()))?;
        let body: TokenBody = serde_json::from_slice(&bytes).map_err(|e| garbage(e.to_string()))?;
        let expires_at: Timestamp = body
            .token
            .expires_at
            .parse()
            .map_err(|e| garbage(format!("`expires_at`: {e}")))?;
        let issued_at: Timestamp = match &body.token.issued_at {
            Some(t) => t
                .parse()
                .map_err(|e| garbage(format!("`issued_at`: {e}")))?,
            None => self.clock.now(),
        };
        if body.token.project.is_none() {
            return Err(ApiError::Unscoped {
                auth_url: self.config.auth_url.clone(),
                who: self.config.who(),
                cloud: self.config.name.clone(),
            });
        }
        Ok(ScopedToken {
            id: SecretString::from(id),
            expires_at,
            issued_at,
            project: body.token.project,
            roles: body.token.roles.into_iter().map(|r| r.name).collect(),
            catalog: body.token.catalog,
        })
    }

    fn refused(&self, scope: Scope, message: &str) -> ApiError {
        let scope_text = match self.scope_request(scope) {
            Some(p) => format!("{scope} ({p})"),
            None => format!("{scope} (fixed by the application credential)"),
        };
        let hint = match scope {
            Scope::Management => {
                let project = self
                    .management_project
                    .as_ref()
                    .map(ProjectId::as_str)
                    .unwrap_or("?");
                format!(
                    "either the password is wrong or {} has no role on the management project `{project}`: check `management.project_id` in the site file, and grant a role with `openstack role add --user <user> --project {project} member`",
                    self.config.who()
                )
            }
            Scope::Admin => format!(
                "check the password and project of cloud `{}` ({}); an admin-openrc must name the admin project",
                self.config.name, self.config.origin
            ),
        };
        ApiError::AuthRefused {
            auth_url: self.config.auth_url.clone(),
            who: self.config.who(),
            scope: scope_text,
            message: message.to_string(),
            hint,
        }
    }

    /// Removes the credential's secret from text that came back from the network (a
    /// misbehaving proxy may echo a request body).
    fn scrub(&self, text: String) -> String {
        [
            Some(&self.config.auth),
            self.config.management_auth.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|auth| match auth {
            AuthMethod::Password { password, .. } => password.expose_secret(),
            AuthMethod::ApplicationCredential { secret, .. } => secret.expose_secret(),
        })
        .filter(|secret| !secret.is_empty())
        .fold(text, |text, secret| text.replace(secret, "[redacted]"))
    }

    fn transport_error(
        &self,
        e: reqwest::Error,
        service: &'static str,
        method: &str,
        url: &str,
    ) -> ApiError {
        transport_error(e, service, method, url, &self.config, self.policy.timeout)
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.policy.backoff)
            .with_max_delay(self.policy.backoff * 8)
            .with_max_times(self.policy.retries as usize)
            .with_jitter()
    }

    fn endpoint(
        &self,
        token: &ScopedToken,
        scope: Scope,
        service: Service,
    ) -> Result<String, ApiError> {
        let interface = self.config.interface.as_str();
        let region = self.config.region.as_deref();
        let entry = token
            .catalog
            .iter()
            .find(|e| e.kind == service.catalog_type());
        let found = entry.and_then(|e| {
            e.endpoints.iter().find(|ep| {
                ep.interface == interface
                    && region.is_none_or(|r| {
                        ep.region.as_deref() == Some(r) || ep.region_id.as_deref() == Some(r)
                    })
            })
        });
        match found {
            Some(ep) => Ok(service.api_base(&ep.url)),
            None => Err(ApiError::NoEndpoint {
                scope,
                service_type: service.catalog_type(),
                interface,
                region: self.config.region.clone(),
                available: token
                    .catalog
                    .iter()
                    .flat_map(|e| {
                        e.endpoints.iter().map(move |ep| {
                            format!(
                                "{} {} {}",
                                e.kind,
                                ep.interface,
                                ep.region.as_deref().unwrap_or("-")
                            )
                        })
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The cloud's time now: its last answer's `Date` plus the time since here, or
    /// this machine's clock before any answer. Ages and "recent" windows of what the
    /// cloud reports are measured on this clock, so a skewed jumphost (or the twin's
    /// simulated clock) does not make a fresh event look old.
    pub fn cloud_now(&self) -> Timestamp {
        let seen = *self.cloud_clock.lock().unwrap_or_else(|p| p.into_inner());
        match seen {
            Some((date, at)) => date.saturating_add(at.elapsed()).unwrap_or(date),
            None => self.clock.now(),
        }
    }

    fn read_cloud_clock(&self, headers: &reqwest::header::HeaderMap) {
        let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| jiff::fmt::rfc2822::parse(v).ok())
        else {
            return;
        };
        *self.cloud_clock.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((date.timestamp(), Instant::now()));
    }

    /// Sends a call: token for its scope, endpoint from that token's catalog, one
    /// renewal on 401, retries with backoff on transient failures of reads.
    pub async fn send(&self, call: &Call) -> Result<Answer, ApiError> {
        let attempt = || async { self.attempt(call).await };
        let retryable = call.retryable();
        attempt
            .retry(self.backoff())
            .when(|e: &ApiError| retryable && e.is_transient())
            .notify(|e, wait| {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "{e}; retrying in {}",
                    humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
                );
            })
            .await
    }

    /// Sends a call and parses its JSON answer. A read whose answer is not the
    /// expected JSON (a proxy's error page with a 200, a truncated body) is sent once
    /// more, as a 5xx would be; the second garbage is reported, with the service, the
    /// URL and the start of the body.
    pub async fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, ApiError> {
        let parse = |answer: Answer| answer.json(call.service, call.method.as_str());
        match parse(self.send(call).await?) {
            Err(e @ ApiError::Garbage { .. }) if call.retryable() => {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("{e}; retrying once");
                parse(self.send(call).await?)
            }
            result => result,
        }
    }

    async fn attempt(&self, call: &Call) -> Result<Answer, ApiError> {
        let mut refused: Option<Arc<ScopedToken>> = None;
        loop {
            let token = self.token(call.scope, refused.as_ref()).await?;
            // Always the catalog's endpoint: the token goes nowhere else.
            let url = format!(
                "{}{}",
                self.endpoint(&token, call.scope, call.service)?,
                call.path
            );
            let mut request = self
                .http
                .request(call.method.clone(), &url)
                .header("x-auth-token", token.id.expose_secret())
                .header("accept", "application/json");
            if let Some(v) = call.service.microversion() {
                request = request.header("openstack-api-version", v);
            }
            if !call.query.is_empty() {
                request = request.query(&call.query);
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let started = Instant::now();
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let method = call.method.as_str();
            let name = call.service.name();
            let response = request
                .send()
                .await
                .map_err(|e| self.transport_error(e, name, method, &url))?;
            let status = response.status();
            let final_url = response.url().to_string();
            let headers = response.headers().clone();
            self.read_cloud_clock(&headers);
            let request_id = ["x-openstack-request-id", "x-compute-request-id"]
                .iter()
                .find_map(|h| {
                    headers
                        .get(*h)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                });
            let body = response
                .bytes()
                .await
                .map_err(|e| self.transport_error(e, name, method, &url))?
                .to_vec();
            tracing::debug!(target: "capi_restore::http", "{method} {final_url} ({}) -> {status} in {:?}", call.scope, started.elapsed());
            if status == StatusCode::UNAUTHORIZED && refused.is_none() {
                // The token expired or was revoked early: log in again, once.
                refused = Some(token);
                continue;
            }
            if status == StatusCode::FORBIDDEN {
                let admin_is_management = call.scope == Scope::Admin
                    && token.project.as_ref().is_some_and(|p| {
                        self.management_project
                            .as_ref()
                            .is_some_and(|m| m.as_str() == p.id)
                    });
                return Err(ApiError::Forbidden {
                    service: name,
                    method: method.into(),
                    url: final_url,
                    scope: call.scope,
                    message: service_message(&body),
                    request_id,
                    admin_is_management,
                });
            }
            if !status.is_success() {
                return Err(ApiError::Status {
                    service: name,
                    method: method.into(),
                    url: final_url,
                    status: status.as_u16(),
                    message: service_message(&body),
                    request_id,
                });
            }
            return Ok(Answer {
                status,
                headers,
                body,
                url: final_url,
            });
        }
    }
}

/// Classifies a transport failure: TLS, timeout or unreachable.
fn transport_error(
    e: reqwest::Error,
    service: &'static str,
    method: &str,
    url: &str,
    config: &CloudConfig,
    timeout: Duration,
) -> ApiError {
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let detail = chain.last().cloned().unwrap_or_default();
    // The top-level message names the URL; classify on the causes below it only.
    let all = chain[1.min(chain.len())..].join(": ").to_ascii_lowercase();
    if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        ApiError::Tls {
            url: url.to_string(),
            detail,
        }
    } else if e.is_timeout() {
        ApiError::Timeout {
            service,
            method: method.to_string(),
            url: url.to_string(),
            after: timeout,
        }
    } else {
        ApiError::Unreachable {
            service,
            url: url.to_string(),
            interface: config.interface.as_str(),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_cloud_has_said_its_time_the_injected_clock_does() {
        use super::super::credentials::{Interface, Tls};
        let config = CloudConfig {
            name: "t".into(),
            origin: "a test".into(),
            auth_url: "http://127.0.0.1:9/v3".into(),
            auth: AuthMethod::Password {
                user: UserRef::Name {
                    name: "admin".into(),
                    domain: DomainRef::Id("default".into()),
                },
                password: SecretString::from("x".to_string()),
                project: None,
            },
            management_auth: None,
            region: None,
            interface: Interface::Public,
            tls: Tls::default(),
        };
        let at: Timestamp = "2026-06-10T07:00:00Z".parse().unwrap();
        let project = ProjectId::parse("674171fd28d446d3a37073b6a761e910").unwrap();
        let session = Session::new(config, project, Http::default())
            .unwrap()
            .on_clock(Clock::fixed(at));
        assert_eq!(session.cloud_now(), at);
    }

    fn token(issued: i64, lifetime: i64) -> ScopedToken {
        let issued_at = Timestamp::from_second(issued).unwrap();
        ScopedToken {
            id: SecretString::from("t".to_string()),
            issued_at,
            expires_at: Timestamp::from_second(issued + lifetime).unwrap(),
            project: None,
            roles: Vec::new(),
            catalog: Vec::new(),
        }
    }

    #[test]
    fn renewal_comes_in_the_last_tenth_of_a_tokens_life_at_most_two_minutes() {
        let at = |s: i64| Timestamp::from_second(s).unwrap();
        let hour = token(1_000_000, 3600);
        assert!(!hour.near_expiry(at(1_000_000 + 3600 - 121)));
        assert!(
            hour.near_expiry(at(1_000_000 + 3600 - 119)),
            "two minutes before an hour-long token ends"
        );
        let minute = token(1_000_000, 60);
        assert!(
            !minute.near_expiry(at(1_000_000 + 53)),
            "a short token is not renewed on every call"
        );
        assert!(minute.near_expiry(at(1_000_000 + 55)));
    }

    #[test]
    fn api_bases_follow_the_catalog_conventions() {
        assert_eq!(
            Service::Compute.api_base("http://h/compute/v2.1/"),
            "http://h/compute/v2.1"
        );
        assert_eq!(
            Service::Compute.api_base("http://h:8774"),
            "http://h:8774/v2.1"
        );
        assert_eq!(
            Service::ContainerInfra.api_base("http://h:9511"),
            "http://h:9511/v1"
        );
        assert_eq!(
            Service::ContainerInfra.api_base("http://h:9511/v1"),
            "http://h:9511/v1"
        );
        assert_eq!(
            Service::LoadBalancer.api_base("http://h:9876"),
            "http://h:9876/v2"
        );
        assert_eq!(
            Service::LoadBalancer.api_base("http://h:9876/v2.0/"),
            "http://h:9876/v2"
        );
        assert_eq!(
            Service::Placement.api_base("http://h/placement"),
            "http://h/placement"
        );
    }
}
