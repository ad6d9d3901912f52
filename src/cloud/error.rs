//! What can go wrong talking to OpenStack, each with what to do about it.

use std::time::Duration;

use super::Scope;

/// A failed OpenStack API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No TCP/HTTP connection.
    #[error(
        "cannot reach {service} at `{url}`: {detail}\ncheck that this host can reach the endpoint (the catalog's `{interface}` interface was used; `OS_INTERFACE` / `interface` picks another)"
    )]
    Unreachable {
        /// Service name.
        service: &'static str,
        /// URL.
        url: String,
        /// The interface used.
        interface: &'static str,
        /// Why.
        detail: String,
    },
    /// TLS verification failed.
    #[error(
        "TLS verification of `{url}` failed: {detail}\nset `cacert` in clouds.yaml (or `OS_CACERT`) to the CA bundle that signed the endpoint's certificate"
    )]
    Tls {
        /// URL.
        url: String,
        /// Why.
        detail: String,
    },
    /// The request took longer than the site's `http.timeout`.
    #[error("{service} did not answer `{method} {url}` within {}\nthe API may be overloaded; raise `http.timeout` in the site file if this persists", humantime::format_duration(*after))]
    Timeout {
        /// Service.
        service: &'static str,
        /// Method.
        method: String,
        /// URL.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// Keystone refused the credentials for a scope.
    #[error("keystone at `{auth_url}` refused {who} for {scope}: {message}\n{hint}")]
    AuthRefused {
        /// Keystone URL.
        auth_url: String,
        /// Who tried.
        who: String,
        /// The scope asked for.
        scope: String,
        /// Keystone's message.
        message: String,
        /// What to do.
        hint: String,
    },
    /// The call needs a role the token lacks.
    #[error("{service} refused `{method} {url}` in the {scope} (403): {message}{}\n{}", request(.request_id), forbidden_hint(*.scope, *.admin_is_management))]
    Forbidden {
        /// Service.
        service: &'static str,
        /// Method.
        method: String,
        /// URL.
        url: String,
        /// The scope used.
        scope: Scope,
        /// The service's own message.
        message: String,
        /// `x-openstack-request-id`, to find the call in the service's log.
        request_id: Option<String>,
        /// The credentials' own scope is the management project: the runbook's scope
        /// preamble (`export OS_PROJECT_ID=<capi-mgmt>`) was sourced.
        admin_is_management: bool,
    },
    /// Any other unexpected status.
    #[error("{service} answered `{method} {url}` with {status}: {message}{}{}", request(.request_id), status_hint(*.status))]
    Status {
        /// Service.
        service: &'static str,
        /// Method.
        method: String,
        /// URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The service's own message.
        message: String,
        /// `x-openstack-request-id`, to find the call in the service's log.
        request_id: Option<String>,
    },
    /// A body that is not the JSON the API reference promises.
    #[error(
        "{service} answered `{method} {url}` with a body that is not the expected JSON ({detail}); it starts: {snippet:?}\nthe API or a proxy in front of it is misbehaving: retry, and check the service's logs"
    )]
    Garbage {
        /// Service.
        service: &'static str,
        /// Method.
        method: String,
        /// URL.
        url: String,
        /// Parser message.
        detail: String,
        /// The start of the body.
        snippet: String,
    },
    /// The catalog has no endpoint for a service.
    #[error("the catalog of the {scope} has no `{service_type}` endpoint for interface `{interface}`{}; it lists: {}\nset `region_name` (`OS_REGION_NAME`) and `interface` (`OS_INTERFACE`) to one it lists", region.as_ref().map(|r| format!(" in region `{r}`")).unwrap_or_default(), if available.is_empty() { "nothing" } else { available.as_str() })]
    NoEndpoint {
        /// Scope whose catalog it is.
        scope: Scope,
        /// Catalog type.
        service_type: &'static str,
        /// Interface asked for.
        interface: &'static str,
        /// Region asked for.
        region: Option<String>,
        /// What the catalog has.
        available: String,
    },
    /// Keystone gave a token with no project (no project named, and no default one).
    #[error(
        "keystone at `{auth_url}` gave {who} a token scoped to no project: cloud `{cloud}` names none\nname the admin project: `project_name` in clouds.yaml or `OS_PROJECT_NAME`"
    )]
    Unscoped {
        /// Keystone URL.
        auth_url: String,
        /// Who logged in.
        who: String,
        /// The cloud.
        cloud: String,
    },
    /// A management-scope call on a session made without a management project.
    #[error("internal: a management-scope call on a session that holds the admin scope only")]
    NoManagementScope,
    /// The HTTP client could not be built (bad CA file and the like).
    #[error("cannot set up HTTPS: {0}")]
    Setup(String),
}

impl ApiError {
    /// The HTTP status, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::AuthRefused { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// Whether retrying the same idempotent request may help.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable { .. } | ApiError::Timeout { .. } => true,
            ApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// What to do about a status, where there is something to say.
fn status_hint(status: u16) -> &'static str {
    match status {
        // The session already logged in again once before reporting a 401.
        401 => {
            "\nthe service refused a token Keystone had just issued: its keystonemiddleware may trust another Keystone, or the clocks disagree; check the service's `[keystone_authtoken]`"
        }
        502..=504 => {
            "\nthe service or the proxy in front of it is down or restarting: check its units (`juju status`) and retry"
        }
        _ => "",
    }
}

/// What to do about a 403, by scope.
fn forbidden_hint(scope: Scope, admin_is_management: bool) -> &'static str {
    match scope {
        Scope::Admin if admin_is_management => {
            "the credentials are scoped to the management project itself (`OS_PROJECT_ID` set to it, as the runbook's scope preamble does, or a user whose project it is), so there is no admin scope: this needs the admin role in the admin project; source the admin-openrc without that preamble (or `unset OS_PROJECT_ID OS_PROJECT_NAME`): this tool holds the management scope itself"
        }
        Scope::Admin => {
            "this needs the admin role: use the admin-openrc or a cloud whose user is admin"
        }
        Scope::Management => {
            "the user's role in the management project does not allow this: grant `member` there"
        }
    }
}

/// ` [request req-...]` when the service sent a request id.
fn request(id: &Option<String>) -> String {
    id.as_ref()
        .map(|id| format!(" [request {id}]"))
        .unwrap_or_default()
}

/// Pulls the human message out of any OpenStack service's error body.
pub fn service_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return snippet(&text);
    };
    // Keystone / keystonemiddleware: {"error": {"message"}}
    if let Some(m) = json.pointer("/error/message").and_then(|m| m.as_str()) {
        return m.to_string();
    }
    // Octavia: {"faultstring"}
    if let Some(m) = json.get("faultstring").and_then(|m| m.as_str()) {
        return m.to_string();
    }
    // Placement, Magnum: {"errors": [{"detail", "title"}]}
    if let Some(e) = json.pointer("/errors/0") {
        if let Some(m) = e.get("detail").and_then(|m| m.as_str()) {
            return m.split("\n\n").last().unwrap_or(m).trim().to_string();
        }
        if let Some(m) = e.get("title").and_then(|m| m.as_str()) {
            return m.to_string();
        }
    }
    // Nova: {"itemNotFound": {"message"}}
    if let Some(obj) = json.as_object()
        && let Some(m) = obj
            .values()
            .find_map(|v| v.get("message").and_then(|m| m.as_str()))
    {
        return m.to_string();
    }
    snippet(&text)
}

/// The first 160 characters of a body, on one line.
pub fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_out_of_every_services_error_shape() {
        assert_eq!(service_message(br#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#), "The request you have made requires authentication.");
        assert_eq!(service_message(br#"{"faultcode": "Client", "faultstring": "Invalid state PENDING_UPDATE of loadbalancer resource x", "debuginfo": null}"#), "Invalid state PENDING_UPDATE of loadbalancer resource x");
        assert_eq!(service_message(br#"{"conflictingRequest": {"code": 409, "message": "Cannot 'stop' instance x while it is in vm_state stopped"}}"#), "Cannot 'stop' instance x while it is in vm_state stopped");
        assert_eq!(service_message(br#"{"errors": [{"status": 404, "detail": "The resource could not be found.\n\n No resource provider with uuid x found  "}]}"#), "No resource provider with uuid x found");
        assert_eq!(
            service_message(b"<html>\n<h1>503</h1></html>"),
            "<html> <h1>503</h1></html>"
        );
    }
}
