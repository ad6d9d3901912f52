//! Keystone's state: projects, users, application credentials, the tokens it
//! issued; built from the scenario's `projects`, `users` and
//! `application_credentials`.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{Cloud, derived_hex};
use crate::scenario::Scenario;

/// Keystone's default domain.
pub const DEFAULT_DOMAIN: &str = "default";

/// A Keystone project.
#[derive(Debug, Clone)]
pub struct Project {
    /// 32 hex digits.
    pub id: String,
    /// Unique name in the default domain.
    pub name: String,
}

/// A Keystone user.
#[derive(Debug, Clone)]
pub struct User {
    /// 32 hex digits.
    pub id: String,
    /// Name in the default domain.
    pub name: String,
    /// Password.
    pub password: String,
    /// Project id → role names.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Project id of the default project.
    pub default_project_id: Option<String>,
}

/// An application credential.
#[derive(Debug, Clone)]
pub struct AppCredential {
    /// Id (32 hex digits).
    pub id: String,
    /// Name.
    pub name: String,
    /// Secret.
    pub secret: String,
    /// Owner's user id.
    pub user_id: String,
    /// Scope.
    pub project_id: String,
}

/// An issued token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The user.
    pub user_id: String,
    /// The scope.
    pub project_id: String,
    /// Roles on that project.
    pub roles: Vec<String>,
    /// Methods used.
    pub methods: Vec<String>,
    /// Issue time.
    pub issued_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
}

impl Token {
    /// Whether the token carries the `admin` role (Nova's and Octavia's admin policy).
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }
}

impl Cloud {
    /// Finds a project by id.
    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }
}

/// Projects, users and application credentials as the scenario's `projects`,
/// `users` and `application_credentials` give them.
pub(super) fn build(scenario: &Scenario) -> (Vec<Project>, Vec<User>, Vec<AppCredential>) {
    let projects: Vec<Project> = scenario
        .projects
        .iter()
        .map(|p| Project {
            id: p
                .id
                .clone()
                .unwrap_or_else(|| derived_hex("project", &p.name)),
            name: p.name.clone(),
        })
        .collect();
    let project_id = |name: &str| project_id(&projects, name);
    let users: Vec<User> = scenario
        .users
        .iter()
        .map(|u| User {
            id: derived_hex("user", &u.name),
            name: u.name.clone(),
            password: u.password.clone(),
            roles: u
                .roles
                .iter()
                .map(|(p, r)| (project_id(p), r.clone()))
                .collect(),
            default_project_id: u.default_project.as_deref().map(project_id),
        })
        .collect();
    let app_credentials = scenario
        .application_credentials
        .iter()
        .map(|a| AppCredential {
            id: a
                .id
                .clone()
                .unwrap_or_else(|| derived_hex("appcred", &a.name)),
            name: a.name.clone(),
            secret: a.secret.clone(),
            user_id: derived_hex("user", &a.user),
            project_id: project_id(&a.project),
        })
        .collect();
    (projects, users, app_credentials)
}

/// A project's id by name (the scenario is checked: every name it uses exists).
pub(super) fn project_id(projects: &[Project], name: &str) -> String {
    projects
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.id.clone())
        .expect("checked")
}
