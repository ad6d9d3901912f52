//! Glance, only for the sweep's identity rule: whether a server's image is the
//! amphora image (Octavia picks it by `amp_image_tag`, optionally `amp_image_owner_id`).

use serde::Deserialize;

use super::{ApiError, Call, Scope, Service, Session};

/// An image as `GET /v2/images/{id}` returns it (only what the sweep reads).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Image {
    /// UUID.
    pub id: String,
    /// Name (`amphora-haproxy-x86_64-ubuntu-22.04-...` with the retrofit charm).
    #[serde(default)]
    pub name: Option<String>,
    /// Owning project.
    #[serde(default)]
    pub owner: Option<String>,
    /// Tags (`octavia-amphora`).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `GET /v2/images/{id}` in admin scope (admin sees every project's images).
pub async fn show_image(session: &Session, id: &str) -> Result<Image, ApiError> {
    session
        .json(&Call::get(
            Scope::Admin,
            Service::Image,
            format!("/images/{id}"),
        ))
        .await
}
