//! Nova: server show/start/stop/delete and `servers/detail` listings (own project or
//! `all_tenants`, name regex, every page).

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, Call, Link, Scope, Service, Session, collect_pages};

pub use crate::status::{ServerStatus, TaskState};

/// A server as `GET /servers/{id}` and `/servers/detail` return it (microversion 2.47).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Server {
    /// UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// ACTIVE, SHUTOFF, ERROR, BUILD, ...
    pub status: ServerStatus,
    /// Owning project.
    pub tenant_id: String,
    /// vm_state.
    #[serde(rename = "OS-EXT-STS:vm_state", default)]
    pub vm_state: Option<String>,
    /// task_state (`powering-on`, ...), null when idle.
    #[serde(rename = "OS-EXT-STS:task_state", default)]
    pub task_state: Option<TaskState>,
    /// Power state number (1 RUNNING, 4 SHUTDOWN).
    #[serde(rename = "OS-EXT-STS:power_state", default)]
    pub power_state: Option<u8>,
    /// Compute host (admin only).
    #[serde(rename = "OS-EXT-SRV-ATTR:host", default)]
    pub host: Option<String>,
    /// Creation time.
    pub created: String,
    /// Last update.
    #[serde(default)]
    pub updated: Option<String>,
    /// When it last booted.
    #[serde(rename = "OS-SRV-USG:launched_at", default)]
    pub launched_at: Option<String>,
    /// Fault, for ERROR servers.
    #[serde(default)]
    pub fault: Option<Fault>,
    /// Addresses per network.
    #[serde(default)]
    pub addresses: std::collections::BTreeMap<String, Vec<Address>>,
    /// The flavor as embedded from microversion 2.47.
    #[serde(default)]
    pub flavor: Option<Flavor>,
    /// The image it was built from; None when booted from a volume (Nova says `""`).
    #[serde(default, deserialize_with = "image_ref")]
    pub image: Option<ImageRef>,
}

/// A server's image as Nova embeds it (`{"id": ..., "links": [...]}`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ImageRef {
    /// The Glance image id.
    pub id: String,
}

/// Nova writes `"image": ""` for a server booted from a volume, an object otherwise.
fn image_ref<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ImageRef>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Image {
        Embedded(ImageRef),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Image>::deserialize(d)? {
        Some(Image::Embedded(image)) => Some(image),
        _ => None,
    })
}

/// An embedded flavor (2.47+).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Flavor {
    /// vCPUs.
    #[serde(default)]
    pub vcpus: Option<u32>,
    /// Memory.
    #[serde(default)]
    pub ram: Option<u64>,
    /// The flavor's name.
    #[serde(default)]
    pub original_name: Option<String>,
}

/// A server's fault.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Fault {
    /// Code.
    #[serde(default)]
    pub code: Option<u16>,
    /// Message (`No valid host was found. ...`).
    #[serde(default)]
    pub message: String,
}

/// One address of a server.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Address {
    /// The address.
    pub addr: String,
    /// `fixed` or `floating`.
    #[serde(rename = "OS-EXT-IPS:type", default)]
    pub kind: Option<String>,
}

#[derive(Deserialize)]
struct ServerBody {
    server: Server,
}

#[derive(Deserialize)]
struct ServerPage {
    servers: Vec<Server>,
    #[serde(default)]
    servers_links: Vec<Link>,
}

/// A `servers/detail` query.
#[derive(Debug, Clone, Default)]
pub struct ServerQuery {
    /// `all_tenants=1` (admin only).
    pub all_projects: bool,
    /// `project_id=` (with `all_projects`).
    pub project_id: Option<String>,
    /// `name=` (Nova matches it as an unanchored regex).
    pub name_regex: Option<String>,
}

/// Page size for listings: Nova's default maximum.
pub const PAGE_SIZE: usize = 1000;

/// `GET /servers/{id}`.
pub async fn show_server(session: &Session, scope: Scope, id: &str) -> Result<Server, ApiError> {
    let body: ServerBody = session
        .json(&Call::get(
            scope,
            Service::Compute,
            format!("/servers/{id}"),
        ))
        .await?;
    Ok(body.server)
}

/// `GET /servers/detail`, every page.
pub async fn list_servers(
    session: &Session,
    scope: Scope,
    query: &ServerQuery,
) -> Result<Vec<Server>, ApiError> {
    list_servers_paged(session, scope, query, PAGE_SIZE).await
}

/// `GET /servers/detail` with a given page size.
pub async fn list_servers_paged(
    session: &Session,
    scope: Scope,
    query: &ServerQuery,
    page_size: usize,
) -> Result<Vec<Server>, ApiError> {
    let call = detail_call(scope, query);
    collect_pages(
        session,
        call,
        page_size,
        |p: ServerPage| (p.servers, p.servers_links),
        |s| s.id.clone(),
    )
    .await
}

/// One page of `GET /servers/detail` (at most `limit` servers): enough to tell an
/// empty listing from a full one without reading it all.
pub async fn first_page(
    session: &Session,
    scope: Scope,
    query: &ServerQuery,
    limit: usize,
) -> Result<Vec<Server>, ApiError> {
    let call = detail_call(scope, query).query("limit", limit.to_string());
    Ok(session.json::<ServerPage>(&call).await?.servers)
}

fn detail_call(scope: Scope, query: &ServerQuery) -> Call {
    let mut call = Call::get(scope, Service::Compute, "/servers/detail");
    if query.all_projects {
        call = call.query("all_tenants", "1");
        if let Some(p) = &query.project_id {
            call = call.query("project_id", p.clone());
        }
    }
    if let Some(n) = &query.name_regex {
        call = call.query("name", n.clone());
    }
    call
}

async fn action(session: &Session, scope: Scope, id: &str, action: &str) -> Result<(), ApiError> {
    let call = Call::with(
        scope,
        Service::Compute,
        Method::POST,
        format!("/servers/{id}/action"),
        Some(json!({action: null})),
    );
    session.send(&call).await.map(|_| ())
}

/// `os-start` (202; 409 unless SHUTOFF and idle).
pub async fn start_server(session: &Session, scope: Scope, id: &str) -> Result<(), ApiError> {
    action(session, scope, id, "os-start").await
}

/// `os-stop` (202; 409 unless ACTIVE/ERROR and idle).
pub async fn stop_server(session: &Session, scope: Scope, id: &str) -> Result<(), ApiError> {
    action(session, scope, id, "os-stop").await
}

/// `DELETE /servers/{id}` (204).
pub async fn delete_server(session: &Session, scope: Scope, id: &str) -> Result<(), ApiError> {
    let call = Call::with(
        scope,
        Service::Compute,
        Method::DELETE,
        format!("/servers/{id}"),
        None,
    );
    session.send(&call).await.map(|_| ())
}

impl Server {
    /// The flavor's name (`original_name`), when Nova embeds it.
    pub fn flavor_name(&self) -> Option<&str> {
        self.flavor.as_ref()?.original_name.as_deref()
    }

    /// The image id, None when booted from a volume.
    pub fn image_id(&self) -> Option<&str> {
        self.image.as_ref().map(|i| i.id.as_str())
    }

    /// The floating address, if it has one.
    pub fn floating_ip(&self) -> Option<&str> {
        self.addresses
            .values()
            .flatten()
            .find(|a| a.kind.as_deref() == Some("floating"))
            .map(|a| a.addr.as_str())
    }
}
