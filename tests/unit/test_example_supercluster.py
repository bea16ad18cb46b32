"""The example supercluster inventory (inventories/supercluster), as a site adopts it: its own PKI
next to the inventory (made with openssl, every node's DNS name and route address as SANs) and its
vault values; the roles' preflight checks pass on every host, on the controller only, and the
gateways they would configure point at the other region's nodes."""
import os
import re
import shutil
import subprocess

import yaml

from recap import parse_recap
from test_preflight import HERE, PLAYBOOK, ROOT

INVENTORY = os.path.join(ROOT, "inventories", "supercluster")
VAULT = {"vault_nats_route_password": "route-secret", "vault_nats_gateway_password": "gateway-secret",
         "vault_nats_leaf_password": "leaf-secret", "vault_nats_cim_admin_password": "admin-secret",
         "vault_nats_cim_publisher_password": "publisher-secret",
         "vault_nats_cim_consumer_password": "consumer-secret", "vault_nats_sys_password": "sys-secret"}


def _site_copy(tmp_path):
    """The example inventory copied (links resolved), with a site PKI for each of its hosts."""
    site = tmp_path / "inventory"
    shutil.copytree(INVENTORY, site, symlinks=False)
    with open(site / "hosts.yml") as handle:
        children = yaml.safe_load(handle)["all"]["children"]
    hosts = {}
    for group in children["nats_supercluster"]["children"].values():
        hosts.update(group["hosts"])
    hosts.update(children["nats_leaf"]["hosts"])
    sans = []
    for name, values in hosts.items():
        addresses = [values["nats_cluster_advertise"]] if "nats_cluster_advertise" in values \
            else values.get("nats_server_tls_cert_names", [])
        sans.append("%s=DNS:%s%s" % (name, name, "".join(",IP:" + address for address in addresses)))
    subprocess.run([os.path.join(ROOT, "tests", "support", "make_site_pki.sh"), str(site / "pki")] + sans,
                   check=True, capture_output=True)
    return site, hosts


def _run(site, tmp_path, playbook, *extra):
    vault = tmp_path / "vault.yml"
    vault.write_text(yaml.safe_dump(VAULT))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    command = [PLAYBOOK, "-i", str(site / "hosts.yml"), playbook, "-e", "@" + str(vault),
               "-e", "ansible_connection=local", "-e", "ansible_python_interpreter={{ ansible_playbook_python }}"]
    for value in extra:
        command += ["-e", value]
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          check=False, timeout=300)


def test_the_example_supercluster_passes_every_preflight_check(tmp_path):
    site, hosts = _site_copy(tmp_path)
    proc = _run(site, tmp_path, os.path.join(HERE, "supercluster_example.yml"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    found = parse_recap(proc.stdout)
    assert sorted(found) == sorted(hosts), proc.stdout[-2000:]
    assert all(counts["failed"] == 0 for counts in found.values()), found


def test_the_gateways_point_at_the_other_region(tmp_path):
    site, _hosts = _site_copy(tmp_path)
    playbook = tmp_path / "gateways.yml"
    check = {"name": "Check the cluster settings",
             "ansible.builtin.include_role": {"name": "cim.nats.nats_cluster", "tasks_from": "preflight.yml", "public": True}}
    show = {"name": "Show the gateways", "ansible.builtin.debug": {"msg": "{{ _nats_cluster_gateways | to_json }}"}}
    playbook.write_text(yaml.safe_dump([{
        "name": "Show the gateways of a node of each region", "gather_facts": False, "tasks": [check, show],
        "hosts": "nats-east-1.example.internal:nats-west-1.example.internal"}]))
    proc = _run(site, tmp_path, str(playbook))
    assert proc.returncode == 0, proc.stdout[-4000:]
    west = ", ".join('"nats://gateway:gateway-secret@10.0.2.1%d:7222"' % n for n in (1, 2, 3))
    east = ", ".join('"nats://gateway:gateway-secret@10.0.1.1%d:7222"' % n for n in (1, 2, 3))
    shown = re.sub(r"\s+", " ", proc.stdout)
    assert '[{"name": "west", "urls": [%s]}]' % west in shown, proc.stdout[-3000:]
    assert '[{"name": "east", "urls": [%s]}]' % east in shown, proc.stdout[-3000:]
