//! Verify-then-delete (runbook Step 5a, DESIGN §4.5), pure: whether an orphan found
//! by the inventory may be deleted now, from Octavia's amphora list and Nova's server
//! as read again just before the delete. No I/O; the executor in [`super`] reads,
//! deletes and records.

use crate::cloud::nova::Server;
use crate::cloud::octavia::{Amphora, AmphoraStatus};
use crate::layers::amphorae::Orphan;

/// What to do with one orphan, now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Still an orphan, still the same server: delete it, by server UUID.
    Delete,
    /// Octavia has a row for it now (by amphora id or by compute id): in use.
    InUse {
        /// The row's amphora id.
        row: String,
        /// The row's status.
        status: AmphoraStatus,
    },
    /// The server is no longer the one classified (renamed, moved, rebuilt,
    /// resized): the reason.
    Changed(String),
    /// Nova no longer has it.
    AlreadyGone,
}

/// The amphora list's verdict: a row naming the orphan's amphora id or its server
/// makes it in use; `None`: the list does not stop the delete.
pub fn in_use(orphan: &Orphan, rows: &[Amphora]) -> Option<Verdict> {
    rows.iter()
        .find(|a| {
            a.id.eq_ignore_ascii_case(&orphan.amphora_id)
                || a.compute_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(&orphan.server_id))
        })
        .map(|row| Verdict::InUse {
            row: row.id.clone(),
            status: row.status.clone(),
        })
}

/// The verdict from both reads: the amphora list first, then the server as Nova shows
/// it now (`None`: 404).
pub fn verify(orphan: &Orphan, rows: &[Amphora], server: Option<&Server>) -> Verdict {
    if let Some(in_use) = in_use(orphan, rows) {
        return in_use;
    }
    match server {
        None => Verdict::AlreadyGone,
        Some(s) => match orphan.is_still(s) {
            Ok(()) => Verdict::Delete,
            Err(changed) => Verdict::Changed(changed),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::amphorae::OrphanKind;

    const AMP: &str = "6f0e3c2a-1b4d-4e8f-9a7b-5c6d7e8f9a0b";

    fn orphan() -> Orphan {
        Orphan {
            server_id: "s-1".into(),
            amphora_id: AMP.into(),
            kind: OrphanKind::Zombie,
            project_id: "svc".into(),
            host: Some("compute-1".into()),
            status: "ACTIVE".into(),
            created: "2026-06-10T08:00:00Z".into(),
            fault: None,
            image_id: "img".into(),
            flavor: "charm-octavia".into(),
        }
    }

    fn server(name: &str, project: &str, image: &str, flavor: &str) -> Server {
        serde_json::from_value(serde_json::json!({"id": "s-1", "name": name, "status": "ACTIVE", "tenant_id": project, "created": "2026-06-10T08:00:00Z", "image": {"id": image}, "flavor": {"original_name": flavor}})).unwrap()
    }

    fn row(id: &str, compute: Option<&str>) -> Amphora {
        serde_json::from_value(
            serde_json::json!({"id": id, "compute_id": compute, "status": "BOOTING"}),
        )
        .unwrap()
    }

    #[test]
    fn verify_then_delete_as_a_table() {
        let name = format!("amphora-{AMP}");
        let same = server(&name, "svc", "img", "charm-octavia");
        let rows: Vec<(&str, Vec<Amphora>, Option<Server>, Verdict)> = vec![
            (
                "still an orphan, same server: delete",
                vec![row("other", Some("s-9"))],
                Some(same.clone()),
                Verdict::Delete,
            ),
            (
                "a row appeared for its amphora id: in use",
                vec![row(&AMP.to_uppercase(), None)],
                Some(same.clone()),
                Verdict::InUse {
                    row: AMP.to_uppercase(),
                    status: AmphoraStatus::Booting,
                },
            ),
            (
                "a row points at the server: in use",
                vec![row("new", Some("S-1"))],
                Some(same.clone()),
                Verdict::InUse {
                    row: "new".into(),
                    status: AmphoraStatus::Booting,
                },
            ),
            (
                "gone from Nova meanwhile",
                vec![],
                None,
                Verdict::AlreadyGone,
            ),
            (
                "renamed: not the server classified",
                vec![],
                Some(server("my-vm", "svc", "img", "charm-octavia")),
                Verdict::Changed(
                    "it is now named `my-vm`, not `amphora-6f0e3c2a-1b4d-4e8f-9a7b-5c6d7e8f9a0b`"
                        .into(),
                ),
            ),
            (
                "moved to another project",
                vec![],
                Some(server(&name, "tenant", "img", "charm-octavia")),
                Verdict::Changed("it is now in project tenant".into()),
            ),
            (
                "rebuilt",
                vec![],
                Some(server(&name, "svc", "other", "charm-octavia")),
                Verdict::Changed("its image changed (rebuilt?)".into()),
            ),
            (
                "resized",
                vec![],
                Some(server(&name, "svc", "img", "m1.small")),
                Verdict::Changed("its flavor changed (resized?)".into()),
            ),
        ];
        for (what, amphorae, now, expected) in rows {
            assert_eq!(
                verify(&orphan(), &amphorae, now.as_ref()),
                expected,
                "{what}"
            );
        }
    }
}
