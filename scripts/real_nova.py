"""The real Nova API (from PyPI) for the contract tests: started by real_services.py.

With no conductor, scheduler or compute behind it (transport_url = fake://: a cast
is queued and never read), the API alone answers: server lists with paging, show,
os-start/os-stop with Nova's state rules (409s), delete. Nova's alembic migrations
run on SQLite (`nova-manage api_db sync`, `db sync`); cell0 and cell1 are mapped as
`nova-manage cell_v2` maps them. The cell database is then seeded directly with the
servers the runbook meets, through Nova's own objects: the parked management VM
(SHUTOFF), an ACTIVE server, and an amphora's server (a heartbeating zombie), all on
one compute host whose nova-compute service is up (so a delete is sent to it, as on
a live cloud). An unscheduled ERROR server is not seeded: Nova deletes one locally,
which unbinds its ports in Neutron, and Neutron does not run here.
"""

import os
import subprocess
import sys

from real_services import paste_config_dir, service_auth

# The servers the contract tests expect, as tests/it/contract.rs gives them to the
# twin: (uuid, name, vm_state, power_state). The first is the twin's management VM.
SERVERS = [
    ("5d0c3e8a-7b1f-4c2a-9e6d-2f8b4a1c7e90", "capi-mgmt-v2", "stopped", 4),
    ("6e1d4f9b-2c3d-4e4f-9a5b-6c7d8e9f0a12", "capi-worker-0", "active", 1),
    ("7f2e5a0c-3d4e-4f5a-8b6c-7d8e9f0a1b23", "amphora-8a3f1c2e-4b5d-4e6f-9a7b-8c9d0e1f2a3b", "active", 1),
]
HOST = "compute-1"


def config(workdir, kurl, password, neutron_url):
    """Writes nova.conf and Nova's api-paste.ini into DIR/nova (OS_NOVA_CONFIG_DIR)."""
    confdir = paste_config_dir(workdir, "nova")
    path = os.path.join(confdir, "nova.conf")
    with open(path, "w") as f:
        f.write(f"""[DEFAULT]
log_file = {workdir}/nova.log
transport_url = fake://
state_path = {workdir}
host = nova-api-contract
# The seeded nova-compute never reports; keep it "up" for the whole run so a delete
# goes to it (a cast nobody reads) rather than Nova's local delete, which calls Neutron.
service_down_time = 315360000
[api]
auth_strategy = keystone
[api_database]
connection = sqlite:///{workdir}/nova_api.db
[database]
connection = sqlite:///{workdir}/nova.db
[glance]
# Only to write the image link of a server; nothing asks Glance.
endpoint_override = http://127.0.0.1:9/image
{service_auth("neutron", kurl, "nova", password)}# Nova asks Neutron for a server's ports while it renders one: scripts/neutron_standin.py.
endpoint_override = {neutron_url}
[oslo_concurrency]
lock_path = {workdir}/locks
{service_auth("keystone_authtoken", kurl, "nova", password)}""")
    return path


def prepare(venv_bin, workdir, conf):
    """Builds both databases and maps cell0 and cell1."""
    manage = [os.path.join(venv_bin, "nova-manage"), "--config-file", conf]

    def run(*args):
        subprocess.run(manage + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    run("api_db", "sync")
    run("cell_v2", "map_cell0", "--database_connection", f"sqlite:///{workdir}/nova_cell0.db")
    run("db", "sync")
    run("cell_v2", "create_cell", "--name", "cell1", "--transport-url", "fake://",
        "--database_connection", f"sqlite:///{workdir}/nova.db")


def seed(conf, project_id, user_id, service_project_id):
    """Seeds cell1 through Nova's own objects (run in the venv's python)."""
    import datetime

    from nova import config as nova_config
    from nova import context, objects
    from nova.network import model as network_model

    objects.register_all()
    nova_config.parse_args(["real_nova", "--config-file", conf])
    admin = context.get_admin_context()
    cell = next(c for c in objects.CellMappingList.get_all(admin) if c.name == "cell1")
    # The twin's management flavor (twin/scenarios/default.yaml).
    flavor = objects.Flavor(context=admin, name="gp.mid", flavorid="gp.mid", memory_mb=4096,
                            vcpus=2, root_gb=40, ephemeral_gb=0, swap=0, extra_specs={})
    flavor.create()
    launched = datetime.datetime(2026, 11, 1, 23, 30, tzinfo=datetime.timezone.utc)
    with context.target_cell(admin, cell) as cctxt:
        objects.Service(cctxt, host=HOST, binary="nova-compute", topic="compute",
                        report_count=1).create()
        node = objects.ComputeNode(
            cctxt, host=HOST, hypervisor_hostname=HOST, uuid="0e6b7c2d-9a8f-4b1e-8c3d-2f4a5b6c7d8e",
            vcpus=32, memory_mb=257684, local_gb=1800, vcpus_used=0, memory_mb_used=0,
            local_gb_used=0, hypervisor_type="QEMU", hypervisor_version=8002000,
            cpu_info="{}", free_ram_mb=257684, free_disk_gb=1800, current_workload=0,
            running_vms=0, disk_available_least=1800, host_ip="192.0.2.11",
            supported_hv_specs=[], pci_device_pools=None, cpu_allocation_ratio=16.0,
            ram_allocation_ratio=1.5, disk_allocation_ratio=1.0)
        node.create()
        for uuid, name, vm_state, power in SERVERS:
            amphora = name.startswith("amphora-")
            instance = objects.Instance(
                context=cctxt, uuid=uuid, display_name=name, hostname=name[:63],
                project_id=service_project_id if amphora else project_id, user_id=user_id,
                vm_state=vm_state, power_state=power, task_state=None,
                host=HOST, node=HOST, compute_id=node.id,
                flavor=flavor, old_flavor=None, new_flavor=None,
                memory_mb=flavor.memory_mb, vcpus=flavor.vcpus, root_gb=flavor.root_gb,
                ephemeral_gb=0, instance_type_id=flavor.id,
                image_ref="4a6f2b3c-8d9e-4f0a-b1c2-d3e4f5a6b7c8",
                launched_at=launched,
                availability_zone="nova", locked=False, metadata={}, system_metadata={},
                info_cache=objects.InstanceInfoCache(network_info=network_model.NetworkInfo()),
            )
            instance.create()
            objects.InstanceMapping(admin, instance_uuid=uuid, cell_mapping=cell,
                                    project_id=instance.project_id, user_id=user_id,
                                    queued_for_delete=False).create()


if __name__ == "__main__":
    # `real_nova.py seed CONF PROJECT_ID USER_ID SERVICE_PROJECT_ID`: in a process of
    # its own, so Nova's global configuration meets no other service's options.
    if len(sys.argv) != 6 or sys.argv[1] != "seed":
        raise SystemExit("usage: real_nova.py seed CONF PROJECT_ID USER_ID SERVICE_PROJECT_ID")
    seed(*sys.argv[2:])
