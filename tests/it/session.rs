//! The OpenStack session against the twin: token renewal, retry rules, paging and
//! version negotiation, as a user of the library meets them.

use std::time::Duration;

use capi_restore::cloud::nova::{self, ServerQuery};
use capi_restore::cloud::{ApiError, Scope, Session, magnum, octavia};
use capi_restore::commands::twin::{admin_cloud, site_for};
use twin::scenario::{AmphoraSpec, FaultKind, FaultSpec, LoadBalancerSpec, OrphanKind, OrphanSpec};

use crate::harness::TestTwin;

fn session(t: &TestTwin) -> Session {
    let site = site_for(
        &t.twin,
        std::path::Path::new(crate::harness::BIN),
        t.home.path(),
    );
    Session::new(
        admin_cloud(&t.twin),
        site.management.project_id.clone(),
        site.http.clone(),
    )
    .unwrap()
}

fn fault(service: &str, kind: FaultKind, count: u32, path: &str) -> FaultSpec {
    FaultSpec {
        count,
        path_contains: Some(path.into()),
        ..FaultSpec::new(service, kind)
    }
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_and_the_call_succeeds() {
    let t = TestTwin::default_scenario();
    let s = session(&t);
    let query = ServerQuery {
        name_regex: Some("^capi-mgmt-v2$".into()),
        ..Default::default()
    };
    assert_eq!(
        nova::list_servers(&s, Scope::Management, &query)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.stats().logins(), 1);
    t.steer(|c, _| c.tokens.clear()); // Keystone forgot every token (restart, revocation).
    assert_eq!(
        nova::list_servers(&s, Scope::Management, &query)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.stats().logins(), 2, "one renewal after the 401");
}

#[tokio::test]
async fn a_short_lived_token_is_reused_until_its_last_tenth() {
    let t = TestTwin::with(|s| {
        s.time_scale = 1.0;
        s.token_ttl = Duration::from_secs(60);
    });
    let s = session(&t);
    s.scope_info(Scope::Admin).await.unwrap();
    s.scope_info(Scope::Admin).await.unwrap();
    assert_eq!(
        s.stats().logins(),
        1,
        "no login per call for a one-minute token"
    );
}

#[tokio::test]
async fn a_server_action_is_never_retried_but_reads_are() {
    let t = TestTwin::with(|s| {
        s.time_scale = 1.0;
        s.faults.push(fault(
            "compute",
            FaultKind::ServiceUnavailable,
            1,
            "/action",
        ));
        s.faults.push(fault(
            "compute",
            FaultKind::ServiceUnavailable,
            2,
            "/servers/5d0c3e8a",
        ));
    });
    let s = session(&t);
    let id = t.steer(|c, _| c.management_server_id.clone());
    let e = nova::start_server(&s, Scope::Management, &id)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503), "{e}");
    assert_eq!(s.stats().retries(), 0, "POST is not idempotent: no retry");
    assert_eq!(
        t.steer(|c, _| c.server(&id).unwrap().task_state),
        None,
        "nothing was started behind our back"
    );
    let server = nova::show_server(&s, Scope::Management, &id).await.unwrap();
    assert_eq!(server.status, capi_restore::status::ServerStatus::Shutoff);
    assert_eq!(s.stats().retries(), 2, "GET retried through the burst");
}

#[tokio::test]
async fn listings_follow_every_page() {
    let t = TestTwin::with(|s| {
        for i in 0..23 {
            s.orphan_amphorae.push(OrphanSpec {
                amphora_id: format!("00000000-0000-4000-8000-{i:012}"),
                kind: OrphanKind::Zombie,
                host: Some("compute-1".into()),
                age: Duration::from_secs(60 * i),
            });
        }
        for i in 0..5 {
            s.load_balancers.push(LoadBalancerSpec {
                id: format!("11111111-0000-4000-8000-{i:012}"),
                name: format!("lb-{i}"),
                project: "capi-mgmt".into(),
                provisioning_status: twin::scenario::Provisioning::Active,
                operating_status: twin::scenario::Operating::Online,
                vip_address: "192.0.2.7".into(),
                floating_ip: None,
                amphorae: vec![AmphoraSpec {
                    id: format!("22222222-0000-4000-8000-{i:012}"),
                    status: twin::scenario::AmphoraStatus::Allocated,
                    role: "STANDALONE".into(),
                    host: "compute-2".into(),
                    lb_network_ip: "fc00::9".into(),
                }],
            });
        }
    });
    let s = session(&t);
    let query = ServerQuery {
        all_projects: true,
        project_id: None,
        name_regex: Some("^amphora-".into()),
    };
    let servers = nova::list_servers_paged(&s, Scope::Admin, &query, 5)
        .await
        .unwrap();
    assert_eq!(servers.len(), 1 + 2 + 23 + 5);
    let mut ids: Vec<&str> = servers.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), servers.len(), "no server twice across pages");
    assert_eq!(octavia::list_amphorae_paged(&s, 2).await.unwrap().len(), 6);
}

#[tokio::test]
async fn magnum_negotiates_its_version() {
    let t = TestTwin::default_scenario();
    let s = session(&t);
    let answer = magnum::show_cluster(&s, Scope::Management, "capi-test-1")
        .await
        .unwrap();
    assert_eq!(
        answer.api_version.as_deref(),
        Some("container-infrastructure-management 1.14")
    );
    assert_eq!(
        answer.cluster.health_status,
        Some(capi_restore::status::HealthStatus::Unhealthy)
    );
    match magnum::show_cluster(&s, Scope::Management, "no-such-cluster").await {
        Err(ApiError::Status {
            status: 404,
            message,
            ..
        }) => assert!(message.contains("could not be found"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failover_is_never_retried_behind_the_operators_back() {
    let t = TestTwin::with(|s| {
        s.faults.push(fault(
            "load-balancer",
            FaultKind::ServiceUnavailable,
            1,
            "/failover",
        ))
    });
    let s = session(&t);
    let lb = "0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17";
    let e = octavia::failover_load_balancer(&s, lb).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(s.stats().retries(), 0);
    let state = t.steer(|c, _| c.load_balancers[0].provisioning_status);
    assert_eq!(
        state,
        twin::scenario::Provisioning::Error,
        "no failover started"
    );
}
