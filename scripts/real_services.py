#!/usr/bin/env python3
"""Start real Keystone, Placement, and the APIs of Octavia, Nova and Magnum (from
PyPI) on 127.0.0.1 for the contract tests.

Usage: real_services.py DIR

Writes configs, sqlite databases and fernet keys under DIR, starts the services
under gunicorn in the background (Octavia's as real_octavia.py describes, Nova's as
real_nova.py does, with neutron_standin.py for the two Neutron reads Nova makes,
Magnum's as real_magnum.py does), provisions the projects, users and roles the
contract tests expect (the same shape as the twin's default scenario), and writes
DIR/contract.json with URLs, ids, credentials and the gunicorn pids. Everything
listens on loopback only; nothing here reaches the network.
"""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

STARTED = []
TAKEN = set()

ADMIN_PASSWORD = "contract-admin-password"
PLACEMENT_PASSWORD = "contract-placement-password"
OCTAVIA_PASSWORD = "contract-octavia-password"
NOVA_PASSWORD = "contract-nova-password"
MAGNUM_PASSWORD = "contract-magnum-password"
OPERATOR_PASSWORD = "contract-operator-password"


def free_port():
    """A free port below the kernel's ephemeral range: a port handed out for `bind(0)`
    could go to any other process's socket (a test's twin) between our check and
    gunicorn's bind, and a service would then answer on it in gunicorn's place."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randrange(10000, max(low, 10001))
        if port in TAKEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        TAKEN.add(port)
        return port
    raise SystemExit("no free port below the ephemeral range on 127.0.0.1")


def service_auth(section, kurl, user, password):
    """A config section with a service user's Keystone credentials (keystonemiddleware's
    `keystone_authtoken`, or a client section such as Nova's `neutron`)."""
    return f"""[{section}]
www_authenticate_uri = {kurl}
auth_url = {kurl}
auth_type = password
username = {user}
password = {password}
project_name = service
user_domain_id = default
project_domain_id = default
"""


def paste_config_dir(workdir, name):
    """DIR/NAME holding the service's api-paste.ini as its package ships it (in the
    venv's etc/NAME), for the service's own config file to join."""
    confdir = os.path.join(workdir, name)
    os.makedirs(confdir, exist_ok=True)
    venv = os.path.dirname(os.path.dirname(os.path.abspath(sys.executable)))
    shutil.copy(os.path.join(venv, "etc", name, "api-paste.ini"), confdir)
    return confdir


def run(*args, env=None):
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)


def request(method, url, token=None, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
            return resp.status, dict(resp.headers), (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {url} -> {e.code}: {e.read()[:300]!r}")


def wait_for(url, what, seconds=180, log=None):
    """Waits until `url` answers, and (given gunicorn's `log`) until gunicorn itself
    says it listens there: an answer from anything else is not the service."""
    deadline = time.time() + seconds
    port = url.split(":")[2].split("/")[0]
    while time.time() < deadline:
        if log is not None:
            try:
                with open(log) as f:
                    if f"Listening at: http://127.0.0.1:{port}" not in f.read():
                        time.sleep(0.2)
                        continue
            except OSError:
                time.sleep(0.2)
                continue
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers: 300/401 are fine
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start listening on {url} within {seconds}s (see {log})")


def gunicorn(venv_bin, workdir, module, port, env, log, argv=()):
    wsgi = os.path.join(workdir, f"{module}_wsgi.py")
    target = {"keystone": "keystone.wsgi.api", "placement": "placement.wsgi.api",
              "octavia": "octavia.wsgi.api", "nova": "nova.wsgi.osapi_compute",
              "magnum": "magnum.wsgi.api"}[module]
    with open(wsgi, "w") as f:
        # oslo.config parses sys.argv: hide gunicorn's arguments from it.
        f.write(f"import sys\nsys.argv = sys.argv[:1] + {list(argv)!r}\nfrom {target} import application\n")
    proc = subprocess.Popen(
        [os.path.join(venv_bin, "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "4", "--no-control-socket", "--chdir", workdir, f"{module}_wsgi:application"],
        env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    return proc.pid


def main():
    workdir = os.path.abspath(sys.argv[1])
    venv_bin = os.path.dirname(os.path.abspath(sys.executable))
    os.makedirs(workdir, exist_ok=True)
    kport, pport, oport, nport, neutron_port, mport = (free_port() for _ in range(6))
    kurl, purl = f"http://127.0.0.1:{kport}/v3", f"http://127.0.0.1:{pport}"
    ourl = f"http://127.0.0.1:{oport}"
    nurl, neutron_url = f"http://127.0.0.1:{nport}/v2.1", f"http://127.0.0.1:{neutron_port}"
    murl = f"http://127.0.0.1:{mport}/v1"

    # --- Keystone -------------------------------------------------------------
    kconf = os.path.join(workdir, "keystone.conf")
    with open(kconf, "w") as f:
        f.write(f"""[DEFAULT]
log_file = {workdir}/keystone.log
[database]
connection = sqlite:///{workdir}/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = {workdir}/fernet-keys
[credential]
key_repository = {workdir}/credential-keys
[cache]
enabled = true
backend = dogpile.cache.memory
[identity]
password_hash_rounds = 4
""")
    kenv = dict(os.environ, OS_KEYSTONE_CONFIG_DIR=workdir)
    manage = [os.path.join(venv_bin, "keystone-manage"), "--config-file", kconf]
    run(*manage, "db_sync", env=kenv)
    run(*manage, "fernet_setup", "--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid()), env=kenv)
    run(*manage, "credential_setup", "--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid()), env=kenv)
    run(*manage, "bootstrap", "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-username", "admin",
        "--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin",
        "--bootstrap-service-name", "keystone", "--bootstrap-region-id", "RegionOne",
        "--bootstrap-admin-url", kurl, "--bootstrap-public-url", kurl, "--bootstrap-internal-url", kurl, env=kenv)
    kpid = gunicorn(venv_bin, workdir, "keystone", kport, kenv, os.path.join(workdir, "keystone.out"))
    STARTED.append(kpid)
    wait_for(kurl, "keystone", log=os.path.join(workdir, "keystone.out"))

    def login(user, password, project):
        _, headers, body = request("POST", f"{kurl}/auth/tokens", body={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
        return headers["X-Subject-Token"], body

    token, body = login("admin", ADMIN_PASSWORD, "admin")
    admin_id = body["token"]["user"]["id"]
    admin_project_id = body["token"]["project"]["id"]
    roles = {r["name"]: r["id"] for r in request("GET", f"{kurl}/roles", token)[2]["roles"]}

    def project(name):
        return request("POST", f"{kurl}/projects", token, {"project": {"name": name, "domain_id": "default"}})[2]["project"]["id"]

    def user(name, password, project_id):
        return request("POST", f"{kurl}/users", token, {"user": {"name": name, "password": password, "domain_id": "default", "default_project_id": project_id}})[2]["user"]["id"]

    def grant(project_id, user_id, role):
        request("PUT", f"{kurl}/projects/{project_id}/users/{user_id}/roles/{roles[role]}", token)

    capi_id, service_id, other_id = project("capi-mgmt"), project("service"), project("unrelated")
    grant(capi_id, admin_id, "member")
    operator_id = user("capi-operator", OPERATOR_PASSWORD, capi_id)
    grant(capi_id, operator_id, "member")

    def register(kind, name, password, url):
        """A service as a deployment registers it: its user (admin in the service
        project, for keystonemiddleware) and its catalog entry on all three interfaces."""
        grant(service_id, user(name, password, service_id), "admin")
        svc = request("POST", f"{kurl}/services", token, {"service": {"type": kind, "name": name}})[2]["service"]["id"]
        for interface in ("public", "internal", "admin"):
            request("POST", f"{kurl}/endpoints", token, {"endpoint": {"service_id": svc, "interface": interface, "url": url, "region_id": "RegionOne"}})

    register("placement", "placement", PLACEMENT_PASSWORD, purl)
    register("load-balancer", "octavia", OCTAVIA_PASSWORD, ourl)
    register("compute", "nova", NOVA_PASSWORD, nurl)
    register("container-infra", "magnum", MAGNUM_PASSWORD, murl)
    appcred = request("POST", f"{kurl}/users/{admin_id}/application_credentials", token,
                      {"application_credential": {"name": "capi-restore"}})[2]["application_credential"]

    # --- Placement ------------------------------------------------------------
    pconf_dir = os.path.join(workdir, "placement")
    os.makedirs(pconf_dir, exist_ok=True)
    with open(os.path.join(pconf_dir, "placement.conf"), "w") as f:
        f.write(f"""[DEFAULT]
log_file = {workdir}/placement.log
[api]
auth_strategy = keystone
[placement_database]
connection = sqlite:///{workdir}/placement.db
{service_auth("keystone_authtoken", kurl, "placement", PLACEMENT_PASSWORD)}""")
    penv = dict(os.environ, OS_PLACEMENT_CONFIG_DIR=pconf_dir)
    run(os.path.join(venv_bin, "placement-manage"), "--config-file", os.path.join(pconf_dir, "placement.conf"), "db", "sync", env=penv)
    ppid = gunicorn(venv_bin, workdir, "placement", pport, penv, os.path.join(workdir, "placement.out"))
    STARTED.append(ppid)
    wait_for(purl, "placement", log=os.path.join(workdir, "placement.out"))

    # --- Octavia's API -----------------------------------------------------------
    import real_octavia
    oconf = real_octavia.config(workdir, kurl, OCTAVIA_PASSWORD)
    real_octavia.seed(workdir, capi_id)
    opid = gunicorn(venv_bin, workdir, "octavia", oport, dict(os.environ),
                    os.path.join(workdir, "octavia.out"), argv=["--config-file", oconf])
    STARTED.append(opid)
    wait_for(ourl, "octavia", seconds=180, log=os.path.join(workdir, "octavia.out"))

    # --- Nova's API -------------------------------------------------------------
    import real_nova
    neutron_pid = subprocess.Popen(
        [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "neutron_standin.py"),
         str(neutron_port)], start_new_session=True,
        # Not our stdout: scripts/test reads it to its end for contract.json's path.
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid
    STARTED.append(neutron_pid)
    nconf = real_nova.config(workdir, kurl, NOVA_PASSWORD, neutron_url)
    real_nova.prepare(venv_bin, workdir, nconf)
    subprocess.run([sys.executable, real_nova.__file__, "seed", nconf, capi_id, admin_id, service_id],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    npid = gunicorn(venv_bin, workdir, "nova", nport, dict(os.environ, OS_NOVA_CONFIG_DIR=os.path.dirname(nconf)),
                    os.path.join(workdir, "nova.out"))
    STARTED.append(npid)
    wait_for(f"http://127.0.0.1:{nport}/", "nova", seconds=180, log=os.path.join(workdir, "nova.out"))

    # --- Magnum's API -----------------------------------------------------------
    import real_magnum
    mconf = real_magnum.config(workdir, kurl, MAGNUM_PASSWORD)
    subprocess.run([sys.executable, real_magnum.__file__, "seed", workdir, capi_id, admin_id],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mpid = gunicorn(venv_bin, workdir, "magnum", mport, dict(os.environ),
                    os.path.join(workdir, "magnum.out"), argv=["--config-file", mconf])
    STARTED.append(mpid)
    wait_for(f"http://127.0.0.1:{mport}/", "magnum", seconds=180, log=os.path.join(workdir, "magnum.out"))

    contract = {
        "auth_url": kurl,
        "placement_url": purl,
        "octavia_url": ourl,
        "nova_url": nurl,
        "magnum_url": murl,
        "region": "RegionOne",
        "admin": {"username": "admin", "password": ADMIN_PASSWORD, "project": "admin", "project_id": admin_project_id, "user_id": admin_id},
        "operator": {"username": "capi-operator", "password": OPERATOR_PASSWORD, "project": "capi-mgmt"},
        "management_project_id": capi_id,
        "no_role_project_id": other_id,
        "application_credential": {"id": appcred["id"], "secret": appcred["secret"]},
        "pids": [kpid, ppid, opid, neutron_pid, npid, mpid],
    }
    with open(os.path.join(workdir, "contract.json"), "w") as f:
        json.dump(contract, f, indent=2)
    os.chmod(os.path.join(workdir, "contract.json"), 0o600)
    print(os.path.join(workdir, "contract.json"))


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        # Leave nothing running behind a failed start.
        for pid in STARTED:
            try:
                os.killpg(pid, 15)
            except OSError:
                pass
        raise
