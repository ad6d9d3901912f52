//! The twin's HTTP surface: one router, a path prefix per service, token checks and
//! injected faults in one place.

pub mod host;
pub mod keystone;
pub mod kube;
pub mod magnum;
pub mod nova;
pub mod octavia;
pub mod placement;
pub mod record;
pub mod stubs;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Shared;
use crate::cloud::Token;
use crate::scenario::{FaultKind, Reach};

/// Shared state as axum passes it.
pub type AppState = Arc<Shared>;

/// One service of the twin, registered once: what the catalog and the fault model
/// call it, where its routes live, and the routes themselves. Its state lives in
/// `Cloud`, built from its scenario section.
pub struct Service {
    /// Catalog type (`compute`): also the `service` a fault names.
    pub kind: &'static str,
    /// Catalog name (`nova`); None for the management host, which no catalog lists.
    pub catalog_name: Option<&'static str>,
    /// Path prefix its routes are nested under.
    pub prefix: &'static str,
    /// The endpoint URL's path the catalog gives.
    pub endpoint: &'static str,
    /// Its routes, relative to `prefix`.
    pub routes: fn() -> Router<AppState>,
}

/// Every service the twin serves, in catalog order.
pub const SERVICES: &[Service] = &[
    Service {
        kind: "identity",
        catalog_name: Some("keystone"),
        prefix: "/identity",
        endpoint: "/identity/v3",
        routes: keystone::routes,
    },
    Service {
        kind: "compute",
        catalog_name: Some("nova"),
        prefix: "/compute",
        endpoint: "/compute/v2.1",
        routes: nova::routes,
    },
    Service {
        kind: "placement",
        catalog_name: Some("placement"),
        prefix: "/placement",
        endpoint: "/placement",
        routes: placement::routes,
    },
    Service {
        kind: "load-balancer",
        catalog_name: Some("octavia"),
        prefix: "/load-balancer",
        endpoint: "/load-balancer",
        routes: octavia::routes,
    },
    Service {
        kind: "container-infra",
        catalog_name: Some("magnum"),
        prefix: "/container-infra",
        endpoint: "/container-infra/v1",
        routes: magnum::routes,
    },
    Service {
        kind: "network",
        catalog_name: Some("neutron"),
        prefix: "/networking",
        endpoint: "/networking",
        routes: stubs::network_routes,
    },
    Service {
        kind: "image",
        catalog_name: Some("glance"),
        prefix: "/image",
        endpoint: "/image",
        routes: stubs::image_routes,
    },
    Service {
        kind: "host",
        catalog_name: None,
        prefix: "/host",
        endpoint: "/host",
        routes: host::routes,
    },
];

/// The whole twin API.
pub fn router(state: AppState) -> Router {
    SERVICES
        .iter()
        .fold(Router::new(), |router, service| {
            router.nest(service.prefix, (service.routes)())
        })
        .nest(record::PREFIX, record::routes())
        .layer(middleware::from_fn_with_state(state.clone(), inject_faults))
        .layer(middleware::from_fn_with_state(state.clone(), request_id))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// Keeps the twin's own record of every request (the outermost layer: it sees what
/// the client saw, injected faults included), the management cluster's Kubernetes
/// API's too, so a chaos run's kill point can land on any of them.
pub(crate) async fn record(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if path.starts_with(record::PREFIX) {
        // Reading the record is not part of it.
        return response;
    }
    let record = crate::RequestRecord {
        at: state.clock.real_elapsed(),
        method,
        path,
        status: response.status().as_u16(),
    };
    let index = {
        let mut requests = state.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests.push(record.clone());
        requests.len() - 1
    };
    state.on_request.run(index, &record);
    response
}

/// Every OpenStack service tags its answers with a request id for its logs, and
/// every HTTP server with a `Date` from its clock: here the simulated one, so a
/// client that reads the cloud's time sees the twin's.
async fn request_id(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(v) = HeaderValue::from_str(&format!("req-{}", uuid::Uuid::new_v4())) {
        response.headers_mut().insert("x-openstack-request-id", v);
    }
    let date = state
        .clock
        .now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(header::DATE, v);
    }
    response
}

/// Which service a request path belongs to.
fn service_of(path: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| {
        path.strip_prefix(s.prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Answers a request in its service's place when a request fault strikes it.
async fn inject_faults(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let fault = service_of(&path).and_then(|service| {
        let (mut cloud, now) = state.cloud();
        cloud
            .faults
            .strike(Reach::Request, service.kind, &path, now)
    });
    let Some(fault) = fault else {
        return next.run(request).await;
    };
    match fault.kind {
        // Octavia's worker and the timeline draw these; a request never strikes them.
        FaultKind::NoValidHost
        | FaultKind::AmphoraBootTimeout
        | FaultKind::SshdDies
        | FaultKind::K8sBreaks
        | FaultKind::JujuLoginExpires => next.run(request).await,
        FaultKind::AmphoraRowAppears => {
            let response = next.run(request).await;
            let (mut cloud, now) = state.cloud();
            cloud.adopt_orphan(now);
            response
        }
        FaultKind::ServiceUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
        )
            .into_response(),
        FaultKind::InternalError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"computeFault": {"code": 500, "message": "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n<class 'oslo_db.exception.DBConnectionError'>"}})),
        )
            .into_response(),
        FaultKind::GatewayTimeout => (
            StatusCode::GATEWAY_TIMEOUT,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
        )
            .into_response(),
        FaultKind::Hang => {
            tokio::time::sleep(fault.hang_for).await;
            next.run(request).await
        }
        FaultKind::TokensExpire => {
            {
                let (mut cloud, now) = state.cloud();
                for token in cloud.tokens.values_mut() {
                    token.expires_at = token.expires_at.min(now);
                }
            }
            next.run(request).await
        }
        FaultKind::GarbageJson => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"servers\": [{\"id\": \"5d0c3e8a\", \"name\": <html>proxy error",
        )
            .into_response(),
    }
}

/// keystonemiddleware's answer to a missing, unknown or expired token.
pub fn unauthorized(state: &Shared) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{}/identity\"", state.base_url)) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// A request's token, checked as keystonemiddleware checks it in front of every
/// service: a handler that takes one never runs for a missing, unknown or expired
/// token (the client gets keystonemiddleware's 401).
pub struct Authenticated(pub Token);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(id) = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
        else {
            return Err(unauthorized(state));
        };
        let (cloud, now) = state.cloud();
        match cloud.tokens.get(id) {
            Some(token) if token.expires_at > now => Ok(Authenticated(token.clone())),
            _ => Err(unauthorized(state)),
        }
    }
}

/// A JSON response with a status.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// An empty response (202/204).
pub fn empty(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .expect("static response")
}

/// Absolute URL for a path under the twin.
pub fn url(state: &Shared, path: &str) -> String {
    format!("{}{}", state.base_url, path)
}

/// A parsed `OpenStack-API-Version: <service> X.Y` (or legacy header) request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion(pub u32, pub u32);

impl std::fmt::Display for Microversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// Reads the microversion a client asked of `service` (any of its `names`), bounded
/// by `[min, max]`. `Ok(None)` means none asked; `Err` means out of range or garbage.
pub fn requested_microversion(
    headers: &HeaderMap,
    names: &[&str],
    legacy_header: Option<&str>,
    max: Microversion,
) -> Result<Option<Microversion>, String> {
    let mut asked = None;
    for value in headers.get_all("openstack-api-version") {
        let text = value.to_str().unwrap_or_default();
        for part in text.split(',') {
            let mut words = part.split_whitespace();
            if let (Some(service), Some(version)) = (words.next(), words.next())
                && names.contains(&service)
            {
                asked = Some(version.to_string());
            }
        }
    }
    if asked.is_none()
        && let Some(legacy) = legacy_header
    {
        asked = headers
            .get(legacy)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
    }
    let Some(asked) = asked else { return Ok(None) };
    if asked == "latest" {
        return Ok(Some(max));
    }
    let parsed = asked
        .split_once('.')
        .and_then(|(a, b)| Some(Microversion(a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| format!("Invalid API version requested: {asked}"))?;
    if parsed > max || parsed.0 != max.0 {
        return Err(format!(
            "Version {asked} is not supported by the API. Minimum is {}.1 and maximum is {max}.",
            max.0
        ));
    }
    Ok(Some(parsed))
}

/// Applies `limit` / `marker` paging to ids in order; returns the page and whether
/// it came back full (Nova and Octavia add a `next` link only then).
pub fn page<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
    limit: Option<usize>,
    marker: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, bool), String> {
    let start = match marker {
        None => 0,
        Some(m) => items
            .iter()
            .position(|i| id(i) == m)
            .map(|p| p + 1)
            .ok_or_else(|| format!("marker [{m}] not found"))?,
    };
    let limit = limit.unwrap_or(max).min(max);
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    // Like Nova and Octavia: a full page gets a `next` link even when it is the last.
    let full = limit > 0 && page.len() == limit;
    Ok((page, full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_follows_markers_and_marks_full_pages() {
        let items: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        let (p, more) = page(items.clone(), |s| s, Some(2), None, 1000).unwrap();
        assert_eq!((p, more), (vec!["0".to_string(), "1".to_string()], true));
        let (p, more) = page(items.clone(), |s| s, Some(2), Some("3"), 1000).unwrap();
        assert_eq!((p, more), (vec!["4".to_string()], false));
        let (p, more) = page(items.clone(), |s| s, Some(5), None, 1000).unwrap();
        assert_eq!((p.len(), more), (5, true));
        assert!(page(items, |s| s, None, Some("x"), 1000).is_err());
    }

    #[test]
    fn microversions_parse_and_bound() {
        let mut h = HeaderMap::new();
        h.insert(
            "openstack-api-version",
            HeaderValue::from_static("compute 2.47"),
        );
        let max = Microversion(2, 96);
        assert_eq!(
            requested_microversion(&h, &["compute"], None, max),
            Ok(Some(Microversion(2, 47)))
        );
        h.insert(
            "openstack-api-version",
            HeaderValue::from_static("compute 2.200"),
        );
        assert!(requested_microversion(&h, &["compute"], None, max).is_err());
        h.insert(
            "openstack-api-version",
            HeaderValue::from_static("compute latest"),
        );
        assert_eq!(
            requested_microversion(&h, &["compute"], None, max),
            Ok(Some(max))
        );
    }
}
