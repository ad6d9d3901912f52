//! OpenStack, natively: credentials, the two-scope session, and typed calls to the
//! services the runbook uses (Nova, Placement, Octavia, Magnum).

pub mod credentials;
pub mod error;
pub mod glance;
pub mod keyring;
pub mod magnum;
pub mod neutron;
pub mod nova;
pub mod octavia;
pub mod placement;
pub mod session;

pub use error::ApiError;
pub use session::{Call, Scope, Service, Session};

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A `rel`/`href` link as Nova and Octavia return them.
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    /// `next`, `previous`, `self`, ...
    pub rel: String,
    /// URL.
    pub href: String,
}

/// Fetches every page of a listing that pages by `limit`/`marker` with `*_links`.
///
/// The marker is the last item's id, sent to our own endpoint: a `next` link's host
/// (which a proxy may have rewritten) is never followed.
pub(crate) async fn collect_pages<T, P>(
    session: &Session,
    call: Call,
    page_size: usize,
    split: impl Fn(P) -> (Vec<T>, Vec<Link>),
    id: impl Fn(&T) -> String,
) -> Result<Vec<T>, ApiError>
where
    P: DeserializeOwned,
{
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let mut page_call = call.clone().query("limit", page_size.to_string());
        if let Some(m) = &marker {
            page_call = page_call.query("marker", m.clone());
        }
        let (items, links) = split(session.json::<P>(&page_call).await?);
        let has_next = links.iter().any(|l| l.rel == "next");
        let last = items.last().map(&id);
        all.extend(items);
        match (has_next, last) {
            // A marker seen before means the service is cycling: stop, keep what we have.
            (true, Some(last)) if seen.insert(last.clone()) => marker = Some(last),
            _ => return Ok(all),
        }
    }
}
