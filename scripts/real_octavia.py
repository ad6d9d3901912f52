"""The real Octavia API (from PyPI) for the contract tests: started by real_services.py.

With no worker behind it (transport_url = fake://, noop compute, network and amphora
drivers), the API alone answers: lists, shows, the admin amphora API and failover's
state checks. Octavia's alembic migrations do not run on SQLite, so the schema is
built as Octavia's own functional tests build it (create_all on its models, then
the lookup tables and the DELETED placeholders), and the database is seeded
directly with the states the runbook meets: a load balancer in provisioning ERROR
(the runbook's own id), one ACTIVE, one PENDING_UPDATE, each with its amphora.
"""

import datetime
import os

from real_services import service_auth

# The runbook's load balancer and two more, as the contract tests expect them.
LOAD_BALANCERS = [
    ("0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17", "ERROR", "7a2b9c4d-1e3f-4a5b-8c6d-9e0f1a2b3c4d"),
    ("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "ACTIVE", "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"),
    ("9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f", "PENDING_UPDATE", "3c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e7f"),
]


def config(workdir, kurl, password):
    path = os.path.join(workdir, "octavia.conf")
    with open(path, "w") as f:
        f.write(f"""[DEFAULT]
log_file = {workdir}/octavia.log
transport_url = fake://
[api_settings]
auth_strategy = keystone
enabled_provider_drivers = amphora:The Octavia Amphora driver.,noop_driver:The noop driver.
default_provider_driver = amphora
[database]
connection = sqlite:///{workdir}/octavia.db
pool_timeout =
[controller_worker]
amphora_driver = amphora_noop_driver
compute_driver = compute_noop_driver
network_driver = network_noop_driver
image_driver = image_noop_driver
volume_driver = volume_noop_driver
[certificates]
cert_manager = noop_cert_manager
{service_auth("keystone_authtoken", kurl, "octavia", password)}""")
    return path


def seed(workdir, project_id):
    """Builds the schema and seeds the load balancers (run in the venv's python)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from octavia.common import constants
    from octavia.db import base_models
    from octavia.db import models

    engine = create_engine(f"sqlite:///{workdir}/octavia.db")
    base_models.BASE.metadata.create_all(engine)
    now = datetime.datetime(2026, 11, 1, 23, 34, 36)
    with Session(engine) as s:
        for names, model in [
            (constants.SUPPORTED_PROVISIONING_STATUSES, models.ProvisioningStatus),
            (constants.SUPPORTED_HEALTH_MONITOR_TYPES, models.HealthMonitorType),
            (constants.SUPPORTED_LB_ALGORITHMS, models.Algorithm),
            (constants.SUPPORTED_PROTOCOLS, models.Protocol),
            (constants.SUPPORTED_OPERATING_STATUSES, models.OperatingStatus),
            (constants.SUPPORTED_SP_TYPES, models.SessionPersistenceType),
            (constants.SUPPORTED_AMPHORA_ROLES, models.AmphoraRoles),
            (constants.SUPPORTED_LB_TOPOLOGIES, models.LBTopology),
            (constants.SUPPORTED_VRRP_AUTH, models.VRRPAuthMethod),
            (constants.SUPPORTED_L7RULE_TYPES, models.L7RuleType),
            (constants.SUPPORTED_L7RULE_COMPARE_TYPES, models.L7RuleCompareType),
            (constants.SUPPORTED_L7POLICY_ACTIONS, models.L7PolicyAction),
            (constants.SUPPORTED_CLIENT_AUTH_MODES, models.ClientAuthenticationMode),
        ]:
            for name in names:
                s.add(model(name=name))
        s.add(models.FlavorProfile(id=constants.NIL_UUID, name="DELETED-PLACEHOLDER",
                                   provider_name=constants.DELETED, flavor_data="{}"))
        s.flush()
        s.add(models.Flavor(id=constants.NIL_UUID, flavor_profile_id=constants.NIL_UUID,
                            name="DELETED-PLACEHOLDER", enabled=False, description="placeholder"))
        s.add(models.AvailabilityZoneProfile(id=constants.NIL_UUID, name="DELETED-PLACEHOLDER",
                                             provider_name=constants.DELETED,
                                             availability_zone_data="{}"))
        s.flush()
        s.add(models.AvailabilityZone(availability_zone_profile_id=constants.NIL_UUID,
                                      name=constants.NIL_UUID, enabled=False,
                                      description="placeholder"))
        s.flush()
        for i, (lb_id, status, amphora_id) in enumerate(LOAD_BALANCERS):
            s.add(models.LoadBalancer(
                id=lb_id, project_id=project_id,
                name=f"k8s-clusterapi-cluster-magnum-{project_id}-capi-test-{i + 1}-kubeapi",
                description="", provisioning_status=status, operating_status="ONLINE",
                topology="SINGLE", enabled=True, provider="amphora",
                created_at=now, updated_at=now))
            s.flush()
            s.add(models.Vip(load_balancer_id=lb_id, ip_address=f"192.0.2.{100 + i}",
                             port_id=f"00000000-0000-4000-8000-00000000000{i}",
                             subnet_id="11111111-1111-4111-8111-111111111111",
                             network_id="22222222-2222-4222-8222-222222222222"))
            s.add(models.Amphora(
                id=amphora_id, load_balancer_id=lb_id,
                compute_id=f"33333333-3333-4333-8333-33333333333{i}",
                lb_network_ip=f"fc00:4f::{i + 0x2a:x}", vrrp_ip=f"192.0.2.{150 + i}",
                ha_ip=f"192.0.2.{100 + i}", status="ALLOCATED", role="STANDALONE",
                cert_busy=False, cert_expiration=now + datetime.timedelta(days=60),
                created_at=now, updated_at=now))
        s.commit()
