"""The real Magnum API (from PyPI) for the contract tests: started by real_services.py.

With no conductor behind it (transport_url = fake://) and no Heat, the API alone
answers what the tool asks of Magnum: cluster show (by uuid or by name) and list,
with their microversion headers, health_status and health_status_reason. Magnum's
alembic migrations do not run on SQLite (they ALTER constraints), so the schema is
built as Magnum's own tests build it: create_all on its models. The database is
seeded directly with the runbook's cluster as the parked cloud shows it
(CREATE_COMPLETE, UNHEALTHY, no reason yet), its template and its node groups.
"""

import datetime
import os
import sys

from real_services import paste_config_dir, service_auth

# The runbook's cluster, as tests/it/contract.rs gives it to the twin.
CLUSTER = ("2e6a4f8c-0b1d-4e3f-9a5c-7d8e9f0a1b2c", "capi-test-1")
TEMPLATE = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"


def config(workdir, kurl, password):
    """Writes magnum.conf and Magnum's api-paste.ini into DIR/magnum."""
    confdir = paste_config_dir(workdir, "magnum")
    path = os.path.join(confdir, "magnum.conf")
    with open(path, "w") as f:
        f.write(f"""[DEFAULT]
log_file = {workdir}/magnum.log
transport_url = fake://
[api]
api_paste_config = {confdir}/api-paste.ini
[database]
connection = sqlite:///{workdir}/magnum.db
[oslo_concurrency]
lock_path = {workdir}/locks
{service_auth("keystone_authtoken", kurl, "magnum", password)}auth_version = v3
[trust]
cluster_user_trust = false
""")
    return path


def seed(workdir, project_id, user_id):
    """Builds the schema and seeds the cluster (run in the venv's python)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from magnum.db.sqlalchemy import models

    engine = create_engine(f"sqlite:///{workdir}/magnum.db")
    models.Base.metadata.create_all(engine)
    now = datetime.datetime(2026, 11, 1, 23, 34, 36)
    uuid, name = CLUSTER
    with Session(engine) as s:
        s.add(models.ClusterTemplate(
            uuid=TEMPLATE, name="k8s-capi", project_id=project_id, user_id=user_id,
            coe="kubernetes", image_id="ubuntu-2204-kube-v1.31.4", keypair_id="capi-mgmt-key",
            flavor_id="gp.mid", master_flavor_id="gp.mid", external_network_id="public",
            network_driver="calico", volume_driver="cinder", docker_storage_driver="overlay2",
            server_type="vm", labels={"kube_tag": "v1.31.4"}, public=False, hidden=False,
            tls_disabled=False, registry_enabled=False, master_lb_enabled=True,
            floating_ip_enabled=True, created_at=now))
        s.add(models.Cluster(
            uuid=uuid, name=name, project_id=project_id, user_id=user_id,
            cluster_template_id=TEMPLATE, keypair="capi-mgmt-key", docker_volume_size=None,
            labels={"kube_tag": "v1.31.4"}, master_flavor_id="gp.mid", flavor_id="gp.mid",
            stack_id=f"{name}-{uuid[:6]}", api_address="https://203.0.113.10:6443",
            status="CREATE_COMPLETE", status_reason=None, health_status="UNHEALTHY",
            health_status_reason={}, create_timeout=60, coe_version="v1.31.4",
            container_version=None, master_lb_enabled=True, floating_ip_enabled=True,
            fixed_network=None, fixed_subnet=None, etcd_ca_cert_ref=None, ca_cert_ref=None,
            magnum_cert_ref=None, discovery_url=None, created_at=now))
        for role, count, master in (("master", 1, True), ("worker", 2, False)):
            s.add(models.NodeGroup(
                uuid=f"{uuid[:-2]}{'0a' if master else '0b'}",
                name=f"default-{role}", cluster_id=uuid, project_id=project_id,
                docker_volume_size=None, labels={"kube_tag": "v1.31.4"}, flavor_id="gp.mid",
                image_id="ubuntu-2204-kube-v1.31.4", node_addresses=[], node_count=count,
                role=role, max_node_count=None, min_node_count=1, is_default=True,
                stack_id=f"{name}-{uuid[:6]}", status="CREATE_COMPLETE", status_reason=None,
                version=None, created_at=now))
        s.commit()


if __name__ == "__main__":
    # `real_magnum.py seed DIR PROJECT_ID USER_ID`: in a process of its own, so
    # Magnum's global configuration meets no other service's options.
    if len(sys.argv) != 5 or sys.argv[1] != "seed":
        raise SystemExit("usage: real_magnum.py seed DIR PROJECT_ID USER_ID")
    seed(*sys.argv[2:])
