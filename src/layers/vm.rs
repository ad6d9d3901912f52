//! Layer 1, the management VM (runbook block "capi-mgmt-v2 start + ssh-port gate",
//! first half). Reads: Nova, in the management project's scope, the server named in
//! the site file; when it is not there, whether the scope lists anything at all and
//! whether another project has it (admin scope). Changes nothing.

use crate::cloud::nova::{self, Server, ServerQuery, ServerStatus, TaskState};
use crate::cloud::{ApiError, Scope};
use crate::diagnose;

use super::{Decision, Health, Layer, Probe, Row};
use crate::site::Gate;

/// What was seen of the management VM.
#[derive(Debug, Clone, PartialEq)]
pub struct VmObservation {
    /// The server, when found in the management project.
    pub server: Option<Server>,
    /// The server name searched for.
    pub name: String,
    /// The project searched.
    pub project_id: String,
    /// The searched scope lists no servers at all.
    pub scope_listing_empty: bool,
    /// Another project holding a server of that name (admin view).
    pub found_in: Option<String>,
}

/// Anchored Nova name filter: Nova treats `name` as an unanchored regex.
pub fn exact_name_regex(name: &str) -> String {
    let escaped: String = name
        .chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect();
    format!("^{escaped}$")
}

/// Finds the management VM (management scope; falls back to an admin listing filtered
/// by project when the credential's scope is fixed elsewhere).
pub async fn probe(p: Probe<'_>) -> Result<VmObservation, ApiError> {
    let name = p.site.management.server.clone();
    let project_id = p.site.management.project_id.to_string();
    let info = p.session.scope_info(Scope::Management).await?;
    let in_project = info
        .project
        .as_ref()
        .is_some_and(|proj| proj.id == project_id);
    let (scope, base) = if in_project {
        (Scope::Management, ServerQuery::default())
    } else {
        (
            Scope::Admin,
            ServerQuery {
                all_projects: true,
                project_id: Some(project_id.clone()),
                name_regex: None,
            },
        )
    };
    let query = ServerQuery {
        name_regex: Some(exact_name_regex(&name)),
        ..base.clone()
    };
    let mut found: Vec<Server> = nova::list_servers(p.session, scope, &query).await?;
    found.retain(|s| s.name == name && s.tenant_id == project_id);
    if let Some(server) = found.into_iter().next() {
        return Ok(VmObservation {
            server: Some(server),
            name,
            project_id,
            scope_listing_empty: false,
            found_in: None,
        });
    }
    let listing = nova::first_page(p.session, scope, &base, 1).await?;
    let elsewhere = nova::list_servers(
        p.session,
        Scope::Admin,
        &ServerQuery {
            all_projects: true,
            project_id: None,
            name_regex: Some(exact_name_regex(&name)),
        },
    )
    .await
    .unwrap_or_default();
    Ok(VmObservation {
        server: None,
        name: name.clone(),
        project_id,
        scope_listing_empty: listing.is_empty(),
        found_in: elsewhere
            .into_iter()
            .find(|s| s.name == name)
            .map(|s| s.tenant_id),
    })
}

/// The VM's state: ACTIVE and idle is green; starting/stopping yellow; SHUTOFF,
/// ERROR or missing red.
pub fn assess(o: &VmObservation) -> Row {
    let Some(s) = &o.server else {
        return Row::new(
            Layer::Vm,
            Health::Red,
            format!("server `{}` not found", o.name),
        )
        .evidence(format!(
            "searched project `{}` for `{}`",
            o.project_id, o.name
        ))
        .diagnosed(Some(diagnose::server_not_found(
            &o.name,
            &o.project_id,
            o.scope_listing_empty,
            o.found_in.as_deref(),
        )));
    };
    let task = s.task_state.as_ref();
    let mut facts = format!("`{}` {} status {}", s.name, s.id, s.status);
    if let Some(t) = task {
        facts.push_str(&format!(", task {t}"));
    }
    if let Some(h) = &s.host {
        facts.push_str(&format!(", host {h}"));
    }

    match (&s.status, task) {
        (ServerStatus::Active, None) => Row::new(Layer::Vm, Health::Green, "ACTIVE")
            .evidence(facts)
            .evidence(match &s.launched_at {
                Some(t) => format!("launched (spawned) at {t}"),
                None => "boot time not reported".into(),
            }),
        (ServerStatus::Shutoff, Some(TaskState::PoweringOn)) | (ServerStatus::Active, Some(_)) | (ServerStatus::Build, _) => {
            Row::new(Layer::Vm, Health::Yellow, format!("{} ({})", s.status, task.map_or("building", |t| t.as_str()))).evidence(facts).decided(Decision::Wait(Gate::ServerActive))
        }
        (ServerStatus::Shutoff, _) => Row::new(Layer::Vm, Health::Red, "parked (SHUTOFF)")
            .evidence(facts)
            .decided(Decision::Start)
            .next(format!("start it in the management project (runbook D-041 manual start: `openstack --os-project-id {} server start {}`)", o.project_id, s.name)),
        (ServerStatus::Error, _) => match s.fault.as_ref().map(|f| f.message.as_str()).filter(|m| !m.trim().is_empty()) {
            Some(fault) => Row::new(Layer::Vm, Health::Red, "ERROR")
                .evidence(facts)
                .evidence(format!("fault: {fault}"))
                .next("read the fault above; a VM in ERROR needs an operator (`openstack server show` and the nova-compute log)"),
            None => Row::new(Layer::Vm, Health::Red, "ERROR")
                .evidence(facts)
                .evidence("Nova recorded no fault for it")
                .next("with no fault recorded, the cause is in nova-compute's log on its host (`juju debug-log --include nova-compute`); a VM in ERROR needs an operator"),
        },
        (other, _) => Row::new(Layer::Vm, Health::Red, other.to_string()).evidence(facts),
    }
}

/// When Nova does not say how many vCPUs the VM has: gp.mid's, the runbook's flavor.
pub const DEFAULT_VCPUS: u32 = 2;

/// The VM's vCPUs, for reading its load average (Nova's flavor, else
/// [`DEFAULT_VCPUS`]).
pub fn vcpus(o: &VmObservation) -> u32 {
    o.server
        .as_ref()
        .and_then(|s| s.flavor.as_ref())
        .and_then(|f| f.vcpus)
        .unwrap_or(DEFAULT_VCPUS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: &str, task: Option<&str>) -> Server {
        serde_json::from_value(serde_json::json!({
            "id": "5d0c3e8a-7b1f-4c2a-9e6d-2f8b4a1c7e90", "name": "capi-mgmt-v2", "status": status,
            "tenant_id": "p", "created": "2026-06-10T08:00:00Z", "OS-EXT-STS:task_state": task,
        }))
        .unwrap()
    }

    fn obs(server: Option<Server>) -> VmObservation {
        VmObservation {
            server,
            name: "capi-mgmt-v2".into(),
            project_id: "p".into(),
            scope_listing_empty: true,
            found_in: None,
        }
    }

    #[test]
    fn states_map_to_health() {
        assert_eq!(
            assess(&obs(Some(server("ACTIVE", None)))).state,
            Health::Green
        );
        assert_eq!(
            assess(&obs(Some(server("SHUTOFF", Some("powering-on"))))).state,
            Health::Yellow
        );
        let parked = assess(&obs(Some(server("SHUTOFF", None))));
        assert_eq!(
            (parked.state, parked.summary.as_str()),
            (Health::Red, "parked (SHUTOFF)")
        );
        assert_eq!(assess(&obs(Some(server("ERROR", None)))).state, Health::Red);
    }

    #[test]
    fn a_vm_in_error_points_at_its_fault_only_when_there_is_one() {
        let row = assess(&obs(Some(server("ERROR", None))));
        let said = format!("{:?} {:?}", row.evidence, row.next);
        assert!(
            !said.contains("read the fault above") && said.contains("no fault"),
            "{said}"
        );
        let mut faulty = server("ERROR", None);
        faulty.fault =
            serde_json::from_value(serde_json::json!({"code": 500, "message": "disk full"}))
                .unwrap();
        let row = assess(&obs(Some(faulty)));
        let said = format!("{:?} {:?}", row.evidence, row.next);
        assert!(
            said.contains("fault: disk full") && said.contains("read the fault above"),
            "{said}"
        );
    }

    #[test]
    fn a_missing_server_in_an_empty_scope_is_the_wrong_scope() {
        let row = assess(&obs(None));
        assert_eq!(row.state, Health::Red);
        assert_eq!(row.diagnosis[0].rule, diagnose::Rule::WrongScope);
    }

    #[test]
    fn names_are_anchored_and_escaped() {
        assert_eq!(exact_name_regex("capi-mgmt-v2"), "^capi-mgmt-v2$");
        assert_eq!(exact_name_regex("a.b"), "^a\\.b$");
    }
}
