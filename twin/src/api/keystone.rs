//! Keystone v3: version discovery and `POST /v3/auth/tokens` with password and
//! application-credential methods, project scope by id or by name and domain, and the
//! rule that a user without a role on the requested project gets 401.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{AppState, SERVICES, json_response, url};
use crate::Shared;
use crate::clock::{after, iso_micros};
use crate::cloud::{Cloud, DEFAULT_DOMAIN, Token, derived_hex};

/// Routes under `/identity`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(versions))
        .route("/v3", get(version))
        .route("/v3/", get(version))
        .route("/v3/auth/tokens", get(validate_token).post(issue_token))
}

fn version_doc(state: &Shared) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": url(state, "/identity/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
    })
}

async fn versions(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::MULTIPLE_CHOICES,
        json!({"versions": {"values": [version_doc(&state)]}}),
    )
}

async fn version(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, json!({"version": version_doc(&state)}))
}

fn keystone_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": status.as_u16(), "title": status.canonical_reason().unwrap_or(""), "message": message}}),
    )
}

fn bad_request(message: &str) -> Response {
    keystone_error(StatusCode::BAD_REQUEST, message)
}

/// Who authenticated, and what scope the credential fixes (application credentials).
struct Identity {
    user_id: String,
    fixed_project: Option<String>,
    app_credential: Option<(String, String)>,
}

fn in_default_domain(domain: Option<&Value>) -> bool {
    match domain {
        None => false,
        Some(d) => {
            d.get("id").and_then(Value::as_str) == Some(DEFAULT_DOMAIN)
                || d.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case("default"))
        }
    }
}

fn find_user<'a>(
    cloud: &'a Cloud,
    user: &Value,
) -> Result<Option<&'a crate::cloud::User>, Response> {
    if let Some(id) = user.get("id").and_then(Value::as_str) {
        return Ok(cloud.users.iter().find(|u| u.id == id));
    }
    let Some(name) = user.get("name").and_then(Value::as_str) else {
        return Err(bad_request(
            "Expecting to find id or name in user - the server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
        ));
    };
    if user.get("domain").is_none() {
        return Err(bad_request(
            "Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
        ));
    }
    if !in_default_domain(user.get("domain")) {
        return Ok(None);
    }
    Ok(cloud.users.iter().find(|u| u.name == name))
}

fn authenticate_identity(cloud: &Cloud, identity: &Value) -> Result<Identity, Response> {
    let methods: Vec<&str> = identity
        .get("methods")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if methods.contains(&"password") {
        let user = identity
            .pointer("/password/user")
            .ok_or_else(|| bad_request("Expecting to find user in password."))?;
        let password = user
            .get("password")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return match find_user(cloud, user)? {
            Some(u) if u.password == password => Ok(Identity {
                user_id: u.id.clone(),
                fixed_project: None,
                app_credential: None,
            }),
            _ => Err(unauthorized_message(
                "The request you have made requires authentication.",
            )),
        };
    }
    if methods.contains(&"application_credential") {
        let ac = identity
            .get("application_credential")
            .ok_or_else(|| bad_request("Expecting to find application_credential."))?;
        let secret = ac.get("secret").and_then(Value::as_str).unwrap_or_default();
        let found = if let Some(id) = ac.get("id").and_then(Value::as_str) {
            cloud.app_credentials.iter().find(|a| a.id == id)
        } else {
            let name = ac.get("name").and_then(Value::as_str).unwrap_or_default();
            let owner = ac
                .get("user")
                .map(|u| find_user(cloud, u))
                .transpose()?
                .flatten();
            owner.and_then(|o| {
                cloud
                    .app_credentials
                    .iter()
                    .find(|a| a.name == name && a.user_id == o.id)
            })
        };
        return match found {
            Some(a) if a.secret == secret => Ok(Identity {
                user_id: a.user_id.clone(),
                fixed_project: Some(a.project_id.clone()),
                app_credential: Some((a.id.clone(), a.name.clone())),
            }),
            _ => Err(unauthorized_message(
                "The request you have made requires authentication.",
            )),
        };
    }
    Err(keystone_error(
        StatusCode::UNAUTHORIZED,
        "Attempted to authenticate with an unsupported method.",
    ))
}

fn unauthorized_message(message: &str) -> Response {
    keystone_error(StatusCode::UNAUTHORIZED, message)
}

/// Resolves the requested (or default) project scope to a project id.
fn resolve_scope(
    cloud: &Cloud,
    auth: &Value,
    identity: &Identity,
) -> Result<Option<String>, Response> {
    let scope = auth.get("scope");
    if let Some(fixed) = &identity.fixed_project {
        if scope.is_some() {
            return Err(unauthorized_message(
                "Application credentials cannot request a scope.",
            ));
        }
        return Ok(Some(fixed.clone()));
    }
    let Some(scope) = scope else {
        let user = cloud.users.iter().find(|u| u.id == identity.user_id);
        return Ok(user.and_then(|u| u.default_project_id.clone()));
    };
    let Some(project) = scope.get("project") else {
        return Err(unauthorized_message(
            "The request you have made requires authentication.",
        ));
    };
    let found = if let Some(id) = project.get("id").and_then(Value::as_str) {
        cloud.project(id)
    } else if let Some(name) = project.get("name").and_then(Value::as_str) {
        if project.get("domain").is_none() {
            return Err(bad_request(
                "Expecting to find domain in project. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
            ));
        }
        in_default_domain(project.get("domain"))
            .then(|| cloud.projects.iter().find(|p| p.name == name))
            .flatten()
    } else {
        return Err(bad_request("Expecting to find id or name in project."));
    };
    match found {
        Some(p) => Ok(Some(p.id.clone())),
        None => Err(unauthorized_message(
            "The request you have made requires authentication.",
        )),
    }
}

async fn issue_token(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("Malformed JSON in request body.");
    };
    let Some(auth) = request.get("auth") else {
        return bad_request("Expecting to find auth in request body.");
    };
    let Some(identity_json) = auth.get("identity") else {
        return bad_request("Expecting to find identity in auth.");
    };
    let (mut cloud, now) = state.cloud();
    let identity = match authenticate_identity(&cloud, identity_json) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let project_id = match resolve_scope(&cloud, auth, &identity) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let user = cloud
        .users
        .iter()
        .find(|u| u.id == identity.user_id)
        .expect("authenticated")
        .clone();
    let roles = match &project_id {
        Some(p) => match user.roles.get(p) {
            Some(r) if !r.is_empty() => r.clone(),
            // Keystone: no role on the requested project is 401, not 403.
            _ => return unauthorized_message("The request you have made requires authentication."),
        },
        None => Vec::new(),
    };
    let methods = if identity.app_credential.is_some() {
        vec!["application_credential".to_string()]
    } else {
        vec!["password".to_string()]
    };
    let token = Token {
        user_id: user.id.clone(),
        project_id: project_id.clone().unwrap_or_default(),
        roles,
        methods,
        issued_at: now,
        expires_at: after(now, cloud.token_ttl),
    };
    let token_id = format!(
        "gAAAAAB{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    );
    let body = token_body(&state, &cloud, &token, identity.app_credential.as_ref());
    cloud.tokens.insert(token_id.clone(), token);
    let mut response = json_response(StatusCode::CREATED, body);
    response.headers_mut().insert(
        "x-subject-token",
        HeaderValue::from_str(&token_id).expect("ascii token"),
    );
    response
}

async fn validate_token(
    State(state): State<AppState>,
    _: super::Authenticated,
    headers: HeaderMap,
) -> Response {
    let Some(subject) = headers.get("x-subject-token").and_then(|v| v.to_str().ok()) else {
        return bad_request("Expecting to find X-Subject-Token.");
    };
    let (cloud, now) = state.cloud();
    match cloud.tokens.get(subject) {
        Some(t) if t.expires_at > now => {
            let mut r = json_response(StatusCode::OK, token_body(&state, &cloud, t, None));
            r.headers_mut().insert(
                "x-subject-token",
                HeaderValue::from_str(subject).expect("ascii token"),
            );
            r
        }
        _ => keystone_error(StatusCode::NOT_FOUND, "Could not find token."),
    }
}

fn token_body(
    state: &Shared,
    cloud: &Cloud,
    token: &Token,
    app_credential: Option<&(String, String)>,
) -> Value {
    let user = cloud.users.iter().find(|u| u.id == token.user_id);
    let domain = json!({"id": DEFAULT_DOMAIN, "name": "Default"});
    let mut body = json!({
        "methods": token.methods,
        "user": {"domain": domain, "id": token.user_id, "name": user.map(|u| u.name.as_str()).unwrap_or(""), "password_expires_at": null},
        "audit_ids": [Uuid::new_v4().simple().to_string()[..22].to_string()],
        "expires_at": iso_micros(token.expires_at),
        "issued_at": iso_micros(token.issued_at),
    });
    if let Some(project) = cloud.project(&token.project_id) {
        body["project"] = json!({"domain": domain, "id": project.id, "name": project.name});
        body["is_domain"] = json!(false);
        body["roles"] = token
            .roles
            .iter()
            .map(|r| json!({"id": derived_hex("role", r), "name": r}))
            .collect();
        body["catalog"] = catalog(state, &cloud.region);
    }
    if let Some((id, name)) = app_credential {
        body["application_credential"] = json!({"id": id, "name": name, "restricted": true});
    }
    json!({"token": body})
}

/// The service catalog: every service on all three interfaces, one region.
pub fn catalog(state: &Shared, region: &str) -> Value {
    SERVICES
        .iter()
        .filter_map(|s| Some((s.kind, s.catalog_name?, s.endpoint)))
        .map(|(kind, name, path)| {
            let endpoints: Vec<Value> = ["public", "internal", "admin"]
                .iter()
                .map(|interface| {
                    json!({
                        "id": derived_hex("endpoint", &format!("{kind}/{interface}")),
                        "interface": interface,
                        "region": region,
                        "region_id": region,
                        "url": url(state, path),
                    })
                })
                .collect();
            json!({"endpoints": endpoints, "id": derived_hex("service", kind), "type": kind, "name": name})
        })
        .collect()
}
