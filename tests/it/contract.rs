//! Contract tests: the same client checks run against real Keystone, Placement and
//! the APIs of Octavia, Nova and Magnum (from PyPI, started on 127.0.0.1 by
//! `scripts/test`) and against the twin, so the twin is proven to answer like the
//! real thing where the real thing runs here.
//!
//! Under `scripts/test` (the README's test command) the real services are required;
//! a plain `cargo test` without them says loudly that it skipped this half.

use std::collections::BTreeMap;

use capi_restore::cloud::credentials::{
    AuthMethod, CloudConfig, DomainRef, Interface, ProjectRef, Tls, UserRef,
};
use capi_restore::cloud::octavia;
use capi_restore::cloud::placement::{self, ProviderCapacity};
use capi_restore::cloud::{ApiError, Call, Scope, Service, Session};
use capi_restore::layers::headroom;
use capi_restore::site::{AmphoraFlavor, Http, ProjectId};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::harness::TestTwin;

/// One identity service and what was provisioned in it.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: &'static str,
    pub auth_url: String,
    pub admin_password: String,
    pub admin_project_id: String,
    pub management_project_id: String,
    pub no_role_project_id: String,
    pub operator_password: String,
    pub appcred_id: String,
    pub appcred_secret: String,
}

/// The real services, when `CAPI_RESTORE_CONTRACT` names their contract file.
pub fn real() -> Option<Target> {
    let Ok(path) = std::env::var("CAPI_RESTORE_CONTRACT") else {
        if std::env::var_os("CAPI_RESTORE_REQUIRE_REAL").is_some() {
            panic!(
                "CAPI_RESTORE_REQUIRE_REAL is set but CAPI_RESTORE_CONTRACT is not: run the tests through `scripts/test`, which starts real Keystone, Placement, Octavia, Nova and Magnum"
            );
        }
        eprintln!(
            "SKIPPED the real-service half of this contract test: no real Keystone/Placement (run `scripts/test` to start them)"
        );
        return None;
    };
    let c: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let s = |p: &str| {
        c.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{p} missing in {path}"))
            .to_string()
    };
    Some(Target {
        name: "real",
        auth_url: s("/auth_url"),
        admin_password: s("/admin/password"),
        admin_project_id: s("/admin/project_id"),
        management_project_id: s("/management_project_id"),
        no_role_project_id: s("/no_role_project_id"),
        operator_password: s("/operator/password"),
        appcred_id: s("/application_credential/id"),
        appcred_secret: s("/application_credential/secret"),
    })
}

/// The twin, with the same users and projects.
pub fn twin(t: &TestTwin) -> Target {
    let appcred = &t.twin.scenario().application_credentials[0];
    Target {
        name: "twin",
        auth_url: t.twin.auth_url(),
        admin_password: "twin-admin-password".into(),
        admin_project_id: t.twin.project_id("admin").unwrap(),
        management_project_id: t.twin.project_id("capi-mgmt").unwrap(),
        no_role_project_id: t.twin.project_id("service").unwrap(),
        operator_password: "twin-operator-password".into(),
        appcred_id: appcred
            .id
            .clone()
            .unwrap_or_else(|| twin::cloud::derived_hex("appcred", &appcred.name)),
        appcred_secret: appcred.secret.clone(),
    }
}

fn password_cloud(t: &Target, user: &str, password: &str, project: &str) -> CloudConfig {
    CloudConfig {
        name: t.name.into(),
        origin: "contract test".into(),
        auth_url: t.auth_url.clone(),
        auth: AuthMethod::Password {
            user: UserRef::Name {
                name: user.into(),
                domain: DomainRef::Name("Default".into()),
            },
            password: SecretString::from(password.to_string()),
            project: Some(ProjectRef::Name {
                name: project.into(),
                domain: DomainRef::Id("default".into()),
            }),
        },
        management_auth: None,
        region: Some("RegionOne".into()),
        interface: Interface::Public,
        tls: Tls::default(),
    }
}

fn session(config: CloudConfig, management: &str) -> Session {
    let http = Http {
        timeout: std::time::Duration::from_secs(20),
        retries: 1,
        backoff: std::time::Duration::from_millis(50),
    };
    Session::new(config, ProjectId::parse(management).unwrap(), http).unwrap()
}

/// Everything the tool relies on from Keystone.
async fn keystone_contract(t: &Target) {
    let who = t.name;
    // Two tokens at once: admin scope and management scope, from one credential.
    let s = session(
        password_cloud(t, "admin", &t.admin_password, "admin"),
        &t.management_project_id,
    );
    let admin = s.scope_info(Scope::Admin).await.unwrap();
    assert_eq!(
        admin.project.as_ref().unwrap().id,
        t.admin_project_id,
        "{who}"
    );
    assert!(admin.roles.iter().any(|r| r == "admin"), "{who}: {admin:?}");
    let mgmt = s.scope_info(Scope::Management).await.unwrap();
    assert_eq!(
        mgmt.project.as_ref().unwrap().id,
        t.management_project_id,
        "{who}"
    );
    assert!(mgmt.roles.iter().any(|r| r == "member"), "{who}: {mgmt:?}");
    s.scope_info(Scope::Admin).await.unwrap();
    assert_eq!(
        s.stats().logins(),
        2,
        "{who}: each scope logs in once and the token is reused"
    );

    // The endpoint comes from the token's catalog.
    let providers: Value = s
        .json(&Call::get(
            Scope::Admin,
            Service::Placement,
            "/resource_providers",
        ))
        .await
        .unwrap();
    assert!(
        providers["resource_providers"].is_array(),
        "{who}: {providers}"
    );

    // A wrong password: refused, and said so.
    let bad = session(
        password_cloud(t, "admin", "not-the-password", "admin"),
        &t.management_project_id,
    );
    match bad.scope_info(Scope::Admin).await {
        Err(ApiError::AuthRefused { message, .. }) => assert!(
            message.contains("requires authentication"),
            "{who}: {message}"
        ),
        other => panic!("{who}: wrong password gave {other:?}"),
    }

    // A management project the user has no role in: 401 for that scope, with the fix.
    let no_role = session(
        password_cloud(t, "admin", &t.admin_password, "admin"),
        &t.no_role_project_id,
    );
    let e = no_role.scope_info(Scope::Management).await.unwrap_err();
    assert!(matches!(e, ApiError::AuthRefused { .. }), "{who}: {e:?}");
    assert!(
        e.to_string().contains("no role on the management project"),
        "{who}: {e}"
    );
    no_role
        .scope_info(Scope::Admin)
        .await
        .expect("the admin scope is unaffected");

    // A member-only user: Placement refuses (403), and the error says admin is needed.
    let operator = session(
        password_cloud(t, "capi-operator", &t.operator_password, "capi-mgmt"),
        &t.management_project_id,
    );
    let e = operator
        .json::<Value>(&Call::get(
            Scope::Admin,
            Service::Placement,
            "/resource_providers",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{who}: {e:?}");
    assert!(e.to_string().contains("admin role"), "{who}: {e}");

    // An application credential: one fixed scope serves both.
    let ac = CloudConfig {
        auth: AuthMethod::ApplicationCredential {
            id: Some(t.appcred_id.clone()),
            name: None,
            user: None,
            secret: SecretString::from(t.appcred_secret.clone()),
        },
        ..password_cloud(t, "x", "x", "x")
    };
    let s = session(ac.clone(), &t.management_project_id);
    let info = s.scope_info(Scope::Management).await.unwrap();
    assert_eq!(
        info.project.unwrap().id,
        t.admin_project_id,
        "{who}: the credential's own project"
    );
    assert_eq!(s.stats().logins(), 1, "{who}");

    // Two application credentials (the charm's `credentials` secret may hold one
    // per scope): each scope logs in with its own.
    let two = CloudConfig {
        management_auth: Some(ac.auth.clone()),
        ..ac
    };
    let s = session(two, &t.management_project_id);
    for scope in [Scope::Admin, Scope::Management] {
        s.scope_info(scope).await.unwrap();
    }
    assert_eq!(s.stats().logins(), 2, "{who}: one login per credential");
}

#[tokio::test]
async fn keystone_answers_the_client_alike_on_the_twin_and_for_real() {
    let t = TestTwin::default_scenario();
    keystone_contract(&twin(&t)).await;
    if let Some(real) = real() {
        keystone_contract(&real).await;
    }
}

/// Creates `hosts` in a real Placement with the twin's inventories, usages and traits
/// (names suffixed with `run`), through the real API.
async fn provision_placement(
    t: &Target,
    hosts: &[(twin::scenario::HypervisorSpec, twin::scenario::Usage)],
    run: &str,
) {
    let s = session(
        password_cloud(t, "admin", &t.admin_password, "admin"),
        &t.management_project_id,
    );
    let client = reqwest::Client::new();
    // The tool has no write calls for Placement; fetch a token the plain way.
    let login = client
        .post(format!("{}/auth/tokens", t.auth_url))
        .json(&json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": t.admin_password}}}, "scope": {"project": {"id": t.admin_project_id}}}}))
        .send()
        .await
        .unwrap();
    let token = login.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = login.json().await.unwrap();
    let url = body["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "placement")
        .unwrap()["endpoints"][0]["url"]
        .as_str()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let send = |method: reqwest::Method, path: String, body: Value| {
        client
            .request(method, format!("{url}{path}"))
            .header("x-auth-token", &token)
            .header("openstack-api-version", "placement 1.28")
            .json(&body)
            .send()
    };
    let user_id = s.scope_info(Scope::Admin).await.unwrap();
    let _ = user_id;
    for (spec, usage) in hosts {
        let uuid = uuid::Uuid::new_v4().to_string();
        let r = send(
            reqwest::Method::POST,
            "/resource_providers".into(),
            json!({"name": format!("{}.maas-{run}", spec.name), "uuid": uuid}),
        )
        .await
        .unwrap();
        assert!(
            r.status().is_success(),
            "create provider: {}",
            r.text().await.unwrap()
        );
        let inv = |total: u64, reserved: u64, ratio: f64| json!({"total": total, "reserved": reserved, "min_unit": 1, "max_unit": total, "step_size": 1, "allocation_ratio": ratio});
        let r = send(reqwest::Method::PUT, format!("/resource_providers/{uuid}/inventories"), json!({"resource_provider_generation": 0, "inventories": {
            "MEMORY_MB": inv(spec.memory_mb, spec.reserved_memory_mb, spec.ram_allocation_ratio),
            "VCPU": inv(spec.vcpus, 0, spec.cpu_allocation_ratio),
            "DISK_GB": inv(spec.disk_gb, 0, spec.disk_allocation_ratio),
        }})).await.unwrap();
        assert!(
            r.status().is_success(),
            "inventories: {}",
            r.text().await.unwrap()
        );
        // One allocation may not exceed max_unit: spread the usage over consumers.
        let pieces = [
            usage.memory_mb.div_ceil(spec.memory_mb),
            usage.vcpus.div_ceil(spec.vcpus),
            usage.disk_gb.div_ceil(spec.disk_gb),
            1,
        ]
        .into_iter()
        .max()
        .unwrap();
        for i in 0..pieces {
            let part = |total: u64| total / pieces + u64::from(i < total % pieces);
            let mut resources = serde_json::Map::new();
            for (class, amount) in [
                ("MEMORY_MB", part(usage.memory_mb)),
                ("VCPU", part(usage.vcpus)),
                ("DISK_GB", part(usage.disk_gb)),
            ] {
                if amount > 0 {
                    resources.insert(class.into(), json!(amount));
                }
            }
            let r = send(reqwest::Method::PUT, format!("/allocations/{}", uuid::Uuid::new_v4()), json!({
                "allocations": {&uuid: {"resources": resources}}, "project_id": t.admin_project_id, "user_id": t.admin_project_id, "consumer_generation": null,
            })).await.unwrap();
            assert!(
                r.status().is_success(),
                "allocation: {}",
                r.text().await.unwrap()
            );
        }
        if spec.disabled {
            let generation: Value = send(
                reqwest::Method::GET,
                format!("/resource_providers/{uuid}"),
                Value::Null,
            )
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            let r = send(reqwest::Method::PUT, format!("/resource_providers/{uuid}/traits"), json!({"resource_provider_generation": generation["generation"], "traits": ["COMPUTE_STATUS_DISABLED"]})).await.unwrap();
            assert!(
                r.status().is_success(),
                "traits: {}",
                r.text().await.unwrap()
            );
        }
    }
}

fn by_host(capacities: Vec<ProviderCapacity>, suffix: &str) -> BTreeMap<String, ProviderCapacity> {
    capacities
        .into_iter()
        .filter_map(|mut c| {
            let host = c.provider.name.strip_suffix(suffix)?.to_string();
            c.provider.name = host.clone();
            Some((host, c))
        })
        .collect()
}

#[tokio::test]
async fn placement_gives_the_same_headroom_on_the_twin_and_for_real() {
    let t = TestTwin::default_scenario();
    let hosts = t.steer(|c, _| {
        c.hypervisors
            .iter()
            .map(|h| (h.spec.clone(), c.usage(&h.spec.name)))
            .collect::<Vec<_>>()
    });
    let tw = twin(&t);
    let twin_session = session(
        password_cloud(&tw, "admin", &tw.admin_password, "admin"),
        &tw.management_project_id,
    );
    let twin_side = by_host(
        placement::provider_capacities(&twin_session).await.unwrap(),
        ".maas",
    );
    assert_eq!(twin_side.len(), 3);
    let flavor = AmphoraFlavor::default();
    let twin_headroom =
        headroom::compute(&twin_side.values().cloned().collect::<Vec<_>>(), &flavor);
    assert_eq!(
        twin_headroom.iter().map(|h| h.slots).sum::<u64>(),
        0,
        "the default scenario has no slot"
    );

    let Some(real) = real() else { return };
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    provision_placement(&real, &hosts, &run).await;
    let real_session = session(
        password_cloud(&real, "admin", &real.admin_password, "admin"),
        &real.management_project_id,
    );
    let real_side = by_host(
        placement::provider_capacities(&real_session).await.unwrap(),
        &format!(".maas-{run}"),
    );
    assert_eq!(real_side.len(), 3, "{real_side:?}");
    for (host, real_cap) in &real_side {
        let twin_cap = &twin_side[host];
        assert_eq!(
            real_cap.inventories, twin_cap.inventories,
            "{host}: inventories"
        );
        assert_eq!(real_cap.usages, twin_cap.usages, "{host}: usages");
        assert_eq!(
            real_cap
                .traits
                .contains(&"COMPUTE_STATUS_DISABLED".to_string()),
            twin_cap
                .traits
                .contains(&"COMPUTE_STATUS_DISABLED".to_string()),
            "{host}: disabled trait"
        );
    }
    let real_headroom =
        headroom::compute(&real_side.values().cloned().collect::<Vec<_>>(), &flavor);
    assert_eq!(
        real_headroom, twin_headroom,
        "headroom computed from real Placement equals the twin's"
    );
}

/// The load balancers real Octavia's database is seeded with (scripts/real_octavia.py)
/// and the twin is given: the runbook's in ERROR, one ACTIVE, one PENDING_UPDATE,
/// each with one amphora: (load balancer, provisioning status, amphora).
const OCTAVIA_LBS: [(&str, &str, &str); 3] = [
    (
        "0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17",
        "ERROR",
        "7a2b9c4d-1e3f-4a5b-8c6d-9e0f1a2b3c4d",
    ),
    (
        "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "ACTIVE",
        "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    ),
    (
        "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f",
        "PENDING_UPDATE",
        "3c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e7f",
    ),
];

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

/// A call's status code and its JSON body.
async fn raw(s: &Session, call: Call) -> (u16, Value) {
    match s.send(&call).await {
        Ok(answer) => (
            answer.status.as_u16(),
            serde_json::from_slice(&answer.body).unwrap_or(Value::Null),
        ),
        Err(e) => (e.status().unwrap_or(0), json!({"error": e.to_string()})),
    }
}

/// What a call the tool makes to change something observes: accepted, or the status
/// and the message the tool keeps.
fn outcome(result: Result<(), ApiError>) -> Value {
    match result {
        Ok(()) => json!("accepted"),
        Err(ApiError::Status {
            status, message, ..
        }) => json!([status, message]),
        Err(other) => json!(other.to_string()),
    }
}

/// Every observation the same on the twin and on the real `service`; a failure
/// lists each that differs, with both sides.
fn assert_alike(service: &str, twin_side: &[(String, Value)], real_side: &[(String, Value)]) {
    let differences: Vec<String> = twin_side
        .iter()
        .zip(real_side)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((what, a), (_, b))| format!("{what}:\n  twin: {a}\n  real: {b}"))
        .collect();
    assert!(
        differences.is_empty(),
        "twin vs real {service}:\n{}",
        differences.join("\n")
    );
    assert_eq!(
        twin_side.len(),
        real_side.len(),
        "{service}: as many observations"
    );
}

/// What the tool's calls to Octavia observe, in order: every status, every key set,
/// every message the tool keeps (ids are the same on both sides; project ids, URLs
/// and times are not compared).
async fn octavia_contract(s: &Session, project: &str) -> Vec<(String, Value)> {
    use capi_restore::cloud::Service::LoadBalancer;
    let mut seen = Vec::new();
    let lbs = "/lbaas/loadbalancers";
    // A page of one: Octavia's `next` link, with the marker.
    let (status, page) = raw(
        s,
        Call::get(Scope::Admin, LoadBalancer, lbs)
            .query("project_id", project)
            .query("limit", "1"),
    )
    .await;
    seen.push(("page status".into(), json!(status)));
    seen.push(("page keys".into(), json!(keys(&page))));
    seen.push((
        "load balancer keys".into(),
        json!(keys(&page["loadbalancers"][0])),
    ));
    let link = &page["loadbalancers_links"][0];
    seen.push(("next link rel".into(), link["rel"].clone()));
    let href = link["href"].as_str().unwrap_or_default();
    seen.push((
        "next link has limit and marker".into(),
        json!(href.contains("limit=1") && href.contains("marker=")),
    ));
    // Every page, through the tool's own client.
    let mut all: Vec<(String, String)> =
        octavia::list_load_balancers(s, Scope::Admin, Some(project))
            .await
            .unwrap()
            .into_iter()
            .map(|lb| (lb.id, format!("{:?}", lb.provisioning_status)))
            .collect();
    all.sort();
    seen.push(("listed".into(), json!(all)));
    let amphorae = octavia::list_amphorae_paged(s, 1).await.unwrap();
    let mut amphora_ids: Vec<String> = amphorae.into_iter().map(|a| a.id).collect();
    amphora_ids.sort();
    seen.push(("amphorae, a page at a time".into(), json!(amphora_ids)));
    let (status, body) = raw(
        s,
        Call::get(Scope::Admin, LoadBalancer, "/octavia/amphorae"),
    )
    .await;
    seen.push(("amphora list status".into(), json!(status)));
    seen.push(("amphora keys".into(), json!(keys(&body["amphorae"][0]))));
    // Not found, and the failover's state rule.
    let missing = "00000000-0000-4000-8000-000000000099";
    for (what, result) in [
        (
            "show missing",
            octavia::show_load_balancer(s, Scope::Admin, missing)
                .await
                .map(|_| ()),
        ),
        (
            "failover missing",
            octavia::failover_load_balancer(s, missing).await,
        ),
        (
            "failover PENDING_UPDATE",
            octavia::failover_load_balancer(s, OCTAVIA_LBS[2].0).await,
        ),
        (
            "failover ERROR",
            octavia::failover_load_balancer(s, OCTAVIA_LBS[0].0).await,
        ),
        (
            "failover ACTIVE",
            octavia::failover_load_balancer(s, OCTAVIA_LBS[1].0).await,
        ),
        (
            "failover again while PENDING_UPDATE",
            octavia::failover_load_balancer(s, OCTAVIA_LBS[0].0).await,
        ),
    ] {
        seen.push((what.into(), outcome(result)));
    }
    // What a failover leaves for the poll to see.
    let (status, shown) = raw(
        s,
        Call::get(
            Scope::Admin,
            LoadBalancer,
            format!("{lbs}/{}", OCTAVIA_LBS[0].0),
        ),
    )
    .await;
    seen.push(("show status".into(), json!(status)));
    seen.push(("show keys".into(), json!(keys(&shown))));
    seen.push((
        "after failover".into(),
        shown["loadbalancer"]["provisioning_status"].clone(),
    ));
    seen
}

#[tokio::test]
async fn octavia_answers_the_tools_calls_alike_on_the_twin_and_for_real() {
    let t = TestTwin::with(|s| {
        let base = s.load_balancers[0].clone();
        s.load_balancers[0].amphorae[0].id = OCTAVIA_LBS[0].2.into();
        for (i, (id, status, amphora)) in OCTAVIA_LBS.iter().enumerate().skip(1) {
            let mut lb = base.clone();
            lb.id = (*id).into();
            lb.name = format!("{}-{i}", base.name);
            lb.provisioning_status = status.parse().unwrap();
            lb.vip_address = format!("192.0.2.{}", 100 + i);
            lb.floating_ip = None;
            lb.amphorae[0].id = (*amphora).into();
            s.load_balancers.push(lb);
        }
        // Octavia's own failover flow is not what is compared: keep it pending.
        s.timings.failover = std::time::Duration::from_secs(86400);
        s.timings.failover_fast_fail = std::time::Duration::from_secs(86400);
    });
    let tw = twin(&t);
    let twin_side = octavia_contract(
        &session(
            password_cloud(&tw, "admin", &tw.admin_password, "admin"),
            &tw.management_project_id,
        ),
        &tw.management_project_id,
    )
    .await;
    let expected = |what: &str| {
        twin_side
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(expected("failover ERROR"), json!("accepted"));
    assert_eq!(
        expected("failover PENDING_UPDATE"),
        json!([
            409,
            format!(
                "Invalid state PENDING_UPDATE of loadbalancer resource {}",
                OCTAVIA_LBS[2].0
            )
        ])
    );
    assert_eq!(expected("after failover"), json!("PENDING_UPDATE"));

    let Some(real) = real() else { return };
    let real_side = octavia_contract(
        &session(
            password_cloud(&real, "admin", &real.admin_password, "admin"),
            &real.management_project_id,
        ),
        &real.management_project_id,
    )
    .await;
    assert_alike("Octavia", &twin_side, &real_side);
}

/// The servers real Nova's cell database is seeded with (scripts/real_nova.py) and
/// the twin is given: (id, name, status). The first is the management VM.
const NOVA_SERVERS: [(&str, &str, &str); 3] = [
    (
        "5d0c3e8a-7b1f-4c2a-9e6d-2f8b4a1c7e90",
        "capi-mgmt-v2",
        "SHUTOFF",
    ),
    (
        "6e1d4f9b-2c3d-4e4f-9a5b-6c7d8e9f0a12",
        "capi-worker-0",
        "ACTIVE",
    ),
    (
        "7f2e5a0c-3d4e-4f5a-8b6c-7d8e9f0a1b23",
        "amphora-8a3f1c2e-4b5d-4e6f-9a7b-8c9d0e1f2a3b",
        "ACTIVE",
    ),
];

/// What the tool's calls to Nova observe, in order: every status, every key set,
/// every state field and message it reads (ids are the same on both sides; project
/// ids, URLs and times are not compared).
async fn nova_contract(s: &Session) -> Vec<(String, Value)> {
    use capi_restore::cloud::nova::{self, ServerQuery};
    let mut seen = Vec::new();
    let (mgmt, worker, amphora) = (NOVA_SERVERS[0].0, NOVA_SERVERS[1].0, NOVA_SERVERS[2].0);
    let missing = "00000000-0000-4000-8000-000000000099";
    // A page of one, as the tool asks (microversion 2.47, admin, every project).
    let (status, page) = raw(
        s,
        Call::get(Scope::Admin, Service::Compute, "/servers/detail")
            .query("all_tenants", "1")
            .query("name", "^capi-")
            .query("limit", "1"),
    )
    .await;
    seen.push(("page status".into(), json!(status)));
    seen.push(("page keys".into(), json!(keys(&page))));
    seen.push(("server keys".into(), json!(keys(&page["servers"][0]))));
    seen.push((
        "flavor keys".into(),
        json!(keys(&page["servers"][0]["flavor"])),
    ));
    let link = &page["servers_links"][0];
    seen.push(("next link rel".into(), link["rel"].clone()));
    let href = link["href"].as_str().unwrap_or_default();
    seen.push((
        "next link has limit and marker".into(),
        json!(href.contains("limit=1") && href.contains("marker=")),
    ));
    // Every page, through the tool's own client.
    let query = ServerQuery {
        all_projects: true,
        project_id: None,
        name_regex: Some("^capi-".into()),
    };
    let mut listed: Vec<(String, String)> = nova::list_servers_paged(s, Scope::Admin, &query, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.name, format!("{:?}", v.status)))
        .collect();
    listed.sort();
    seen.push(("listed a page at a time".into(), json!(listed)));
    // What the tool reads of one server, before and after each change.
    let state = |v: nova::Server| {
        json!({
            "status": format!("{:?}", v.status),
            "vm_state": v.vm_state,
            "task_state": v.task_state.as_ref().map(|t| format!("{t:?}")),
            "power_state": v.power_state,
            "host": v.host,
            "flavor": v.flavor_name().map(str::to_string),
            "fault": v.fault.is_some(),
        })
    };
    let show = |id: &'static str| async move {
        match nova::show_server(s, Scope::Admin, id).await {
            Ok(v) => state(v),
            Err(ApiError::Status {
                status, message, ..
            }) => json!([status, message]),
            Err(other) => json!(other.to_string()),
        }
    };
    seen.push(("show management VM".into(), show(mgmt).await));
    seen.push(("show missing".into(), show(missing).await));
    // (what, os-start or os-stop, on which server), in order: each sees the last.
    for (what, start, id) in [
        ("start ACTIVE", true, worker),
        ("stop SHUTOFF", false, mgmt),
        ("start missing", true, missing),
        ("start SHUTOFF", true, mgmt),
        ("start again while powering on", true, mgmt),
        ("stop while powering on", false, mgmt),
    ] {
        let result = if start {
            nova::start_server(s, Scope::Admin, id).await
        } else {
            nova::stop_server(s, Scope::Admin, id).await
        };
        seen.push((what.into(), outcome(result)));
    }
    seen.push(("show after start".into(), show(mgmt).await));
    seen.push((
        "delete the amphora's server".into(),
        outcome(nova::delete_server(s, Scope::Admin, amphora).await),
    ));
    seen.push(("show after delete".into(), show(amphora).await));
    seen.push((
        "delete missing".into(),
        outcome(nova::delete_server(s, Scope::Admin, missing).await),
    ));
    seen
}

#[tokio::test]
async fn nova_answers_the_tools_calls_alike_on_the_twin_and_for_real() {
    let t = TestTwin::with(|s| {
        let base = s
            .servers
            .iter()
            .find(|v| v.name == NOVA_SERVERS[0].1)
            .cloned()
            .unwrap();
        assert_eq!(base.id.as_deref(), Some(NOVA_SERVERS[0].0));
        for (id, name, _) in NOVA_SERVERS.iter().skip(1) {
            let mut server = base.clone();
            server.id = Some((*id).into());
            server.name = (*name).into();
            server.status = twin::scenario::ServerStatus::Active;
            if name.starts_with("amphora-") {
                server.project = "service".into();
                server.image = twin::cloud::AMPHORA_IMAGE.into();
            }
            s.servers.push(server);
        }
        // Real Nova's servers have no ports (no Neutron here): nor have the twin's.
        for server in &mut s.servers {
            server.fixed_ip = None;
            server.floating_ip = None;
        }
        // Nova's own compute work is not what is compared: nothing finishes.
        s.timings.server_start = std::time::Duration::from_secs(86400);
        s.timings.server_stop = std::time::Duration::from_secs(86400);
        s.timings.server_delete = std::time::Duration::from_secs(86400);
    });
    let tw = twin(&t);
    let twin_side = nova_contract(&session(
        password_cloud(&tw, "admin", &tw.admin_password, "admin"),
        &tw.management_project_id,
    ))
    .await;
    let expected = |what: &str| {
        twin_side
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        expected("stop SHUTOFF"),
        json!([
            409,
            format!(
                "Cannot 'stop' instance {} while it is in vm_state stopped",
                NOVA_SERVERS[0].0
            )
        ])
    );
    assert_eq!(expected("start SHUTOFF"), json!("accepted"));
    assert_eq!(
        expected("show after delete")["task_state"],
        json!("Deleting")
    );

    let Some(real) = real() else { return };
    let real_side = nova_contract(&session(
        password_cloud(&real, "admin", &real.admin_password, "admin"),
        &real.management_project_id,
    ))
    .await;
    assert_alike("Nova", &twin_side, &real_side);
}

/// The runbook's Magnum cluster, as real Magnum's database is seeded with it
/// (scripts/real_magnum.py) and as the twin's default scenario has it.
const MAGNUM_CLUSTER: (&str, &str) = ("2e6a4f8c-0b1d-4e3f-9a5c-7d8e9f0a1b2c", "capi-test-1");

/// What the tool's calls to Magnum observe on the parked cloud, in order: status,
/// the version header it reads, key sets, the health fields it decides by, and the
/// not-found message (project ids, URLs and times are not compared).
async fn magnum_contract(admin: &Session, management: &Session) -> Vec<(String, Value)> {
    use capi_restore::cloud::Service::ContainerInfra;
    use capi_restore::cloud::magnum;
    let mut seen = Vec::new();
    let (uuid, name) = MAGNUM_CLUSTER;
    let (status, shown) = raw(
        admin,
        Call::get(Scope::Admin, ContainerInfra, format!("/clusters/{uuid}")),
    )
    .await;
    seen.push(("show status".into(), json!(status)));
    seen.push(("show keys".into(), json!(keys(&shown))));
    for (what, session, scope, ident) in [
        ("show by uuid, admin", admin, Scope::Admin, uuid),
        (
            "show by name, management",
            management,
            Scope::Management,
            name,
        ),
    ] {
        let observed = match magnum::show_cluster(session, scope, ident).await {
            Ok(answer) => json!({
                "uuid": answer.cluster.uuid,
                "status": answer.cluster.status,
                "health_status": format!("{:?}", answer.cluster.health_status),
                "health_status_reason": answer.cluster.health_status_reason,
                "api_version": answer.api_version,
            }),
            Err(e) => json!(e.to_string()),
        };
        seen.push((what.into(), observed));
    }
    let (status, listed) = raw(
        management,
        Call::get(Scope::Management, ContainerInfra, "/clusters"),
    )
    .await;
    seen.push(("list status".into(), json!(status)));
    seen.push(("list item keys".into(), json!(keys(&listed["clusters"][0]))));
    let clusters: Vec<(String, String, String)> =
        magnum::list_clusters(management, Scope::Management)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.uuid, c.name, c.status))
            .collect();
    seen.push(("listed".into(), json!(clusters)));
    let missing = "00000000-0000-4000-8000-000000000099";
    let not_found = match magnum::show_cluster(admin, Scope::Admin, missing).await {
        Ok(_) => json!("found"),
        Err(ApiError::Status {
            status, message, ..
        }) => json!([status, message]),
        Err(other) => json!(other.to_string()),
    };
    seen.push(("show missing".into(), not_found));
    seen
}

#[tokio::test]
async fn magnum_answers_the_tools_calls_alike_on_the_twin_and_for_real() {
    // The parked cloud: the management VM is down, so Magnum has no reason yet.
    let t = TestTwin::default_scenario();
    let sides = |target: Target| async move {
        let admin = session(
            password_cloud(&target, "admin", &target.admin_password, "admin"),
            &target.management_project_id,
        );
        let management = session(
            password_cloud(&target, "admin", &target.admin_password, "capi-mgmt"),
            &target.management_project_id,
        );
        magnum_contract(&admin, &management).await
    };
    let twin_side = sides(twin(&t)).await;
    let expected = |what: &str| {
        twin_side
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        expected("show by uuid, admin")["health_status"],
        json!("Some(Unhealthy)")
    );
    assert_eq!(
        expected("show by uuid, admin")["health_status_reason"],
        json!({})
    );

    let Some(real) = real() else { return };
    let real_side = sides(real).await;
    assert_alike("Magnum", &twin_side, &real_side);
}
