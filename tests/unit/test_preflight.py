"""The preflight checks of nats_server and nats_cluster, run by ansible-playbook on the controller
only (tests/unit/preflight: three hosts with a local connection, plays that include nothing but
the roles' preflight.yml). Bad input must stop the run with the one check that failed, in words
that name the variable to fix; the server-side claims behind the checks are verified against the
real nats-server."""
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.cim.nats.plugins.filter.nats_server import nats_conf
from nats_harness import NatsServer, validate_config
from recap import parse_recap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "unit", "preflight")
INVENTORY = os.path.join(HERE, "inventory.yml")
PLAYBOOK = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")

# One line per result, as JSON: "failed: [n1] (item=route password) => {...}".
RESULT_RE = re.compile(r"^(ok|failed|fatal): \[(\S+)\](?: \(item=(.*?)\))? => (\{.*\})$", re.M)


def run_play(playbook, tmp_path, extra=(), host_vars=None, groups=None):
    """Run one test playbook; return (exit code, [(status, host, label, result)], output).

    ``host_vars`` are added to hosts of the nats group, ``groups`` are more inventory groups."""
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ANSIBLE_CALLBACK_FORMAT_PRETTY="false",
               ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    command = [PLAYBOOK, "-i", INVENTORY, os.path.join(HERE, playbook)]
    if host_vars or groups:
        extra_inventory = tmp_path / "host_vars.yml"
        extra_inventory.write_text(yaml.safe_dump(dict({"nats": {"hosts": host_vars or {}}}, **(groups or {}))))
        command += ["-i", str(extra_inventory)]
    for value in extra:
        command += ["-e", value if isinstance(value, str) else json.dumps(value)]
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env, check=False, timeout=120)
    results = [(status, host, label, json.loads(body))
               for status, host, label, body in RESULT_RE.findall(proc.stdout)]
    return proc.returncode, results, proc.stdout


def failures(results):
    return {(label, result.get("msg", "")) for status, _host, label, result in results
            if status in ("failed", "fatal")}


def assert_only_check_failed(run, check, words):
    """The run stopped at the one check `check`, whose message holds every one of `words`."""
    code, results, output = run
    assert code != 0, output
    failed = failures(results)
    assert {label for label, _message in failed} == {check}, output
    for _label, message in failed:
        for word in words:
            assert word in message, message


SYSTEM_ACCOUNT_WITH_JETSTREAM = {"SYS": {"jetstream": True, "users": [{"user": "sys", "password": "p"}]},
                                 "APP": {"jetstream": True, "users": [{"user": "app", "password": "p"}]}}

# (id, playbook, extra vars, host vars, the check that must fail, words its message must hold)
BAD_INPUT = [
    ("domain with a dot", "server.yml", ["nats_server_jetstream_domain=hub.eu"], None,
     "JetStream domain", ["nats_server_jetstream_domain 'hub.eu'", "may not contain"]),
    ("domain with a space", "server.yml", [{"nats_server_jetstream_domain": "hub eu"}], None,
     "JetStream domain", ["nats_server_jetstream_domain 'hub eu'", "white space"]),
    ("domain with a star", "server.yml", ["nats_server_jetstream_domain=hub*"], None,
     "JetStream domain", ["nats_server_jetstream_domain 'hub*'"]),
    ("domain with a gt", "server.yml", ["nats_server_jetstream_domain=hub>"], None,
     "JetStream domain", ["nats_server_jetstream_domain 'hub>'"]),
    ("server: JetStream on the system account", "server.yml",
     [{"nats_server_accounts": SYSTEM_ACCOUNT_WITH_JETSTREAM, "nats_server_system_account": "SYS"}], None,
     "system account JetStream", ["nats_server_accounts.SYS.jetstream is on", "remove jetstream"]),
    ("server: JetStream limits on the system account", "server.yml",
     [{"nats_server_accounts": {"SYS": {"jetstream": {"max_mem": "1G"}}}, "nats_server_system_account": "SYS"}],
     None, "system account JetStream", ["nats_server_accounts.SYS.jetstream is on"]),
    ("cluster: JetStream on the system account", "cluster.yml",
     [{"nats_cluster_accounts": SYSTEM_ACCOUNT_WITH_JETSTREAM, "nats_cluster_system_account": "SYS"}], None,
     "system account JetStream", ["nats_cluster_accounts.SYS.jetstream is on", "nats_cluster_system_account"]),
    ("cluster without JetStream", "cluster.yml", ["nats_server_jetstream_enabled=false"], None,
     "JetStream", ["nats_server_jetstream_enabled is false", "set nats_server_jetstream_enabled to true"]),
    ("two nodes with one server name", "cluster.yml", [],
     {"n1": {"nats_server_name": "twin"}, "n3": {"nats_server_name": "twin"}},
     "server names", ["share a nats_server_name", "n1: twin, n2: n2, n3: twin"]),
    ("token and global users", "server.yml",
     [{"nats_server_auth_token": "tok", "nats_server_users": [{"user": "app", "password": "p"}]}], None,
     "token or users", ["nats_server_auth_token cannot go with users", "app"]),
    ("token and account users", "server.yml",
     [{"nats_server_auth_token": "tok",
       "nats_server_accounts": {"APP": {"users": [{"user": "app", "password": "p"}]}}}], None,
     "token or users", ["nats_server_auth_token cannot go with users", "nats_server_accounts.*.users", "app"]),
    ("client TLS timeout with a unit", "server.yml", ["nats_server_tls_timeout=5s"], None,
     "nats_server_tls_timeout", ["nats_server_tls_timeout = '5s'", "positive number"]),
    ("route TLS timeout zero", "server.yml", ["nats_server_cluster_tls_timeout=0"], None,
     "nats_server_cluster_tls_timeout", ["nats_server_cluster_tls_timeout = '0'", "positive number"]),
    ("cluster TLS timeout not a number", "cluster.yml", ["nats_cluster_tls_timeout=fast"], None,
     "TLS timeout", ["nats_cluster_tls_timeout = 'fast'", "positive number"]),
    ("cluster user twice", "cluster.yml",
     [{"nats_cluster_users": [{"user": "app", "password": "p"}],
       "nats_cluster_accounts": {"APP": {"users": [{"user": "app", "password": "q"}, {"user": "ops", "password": "r"}]}}}],
     None, "unique user names", ["must be unique", "given more than once: app."]),
    ("cluster route user among the users", "cluster.yml",
     [{"nats_cluster_users": [{"user": "route", "password": "p"}]}], None,
     "route user apart", ["nats_cluster_route_user 'route' is also a user"]),
    ("cluster route password unset", "cluster.yml", ["nats_cluster_route_password="], None,
     "route password", ["nats_cluster_route_password must be set"]),
    # Listeners, gateways and leaf nodes (the supercluster's settings).
    ("two listeners on one port", "server.yml",
     [{"nats_server_leafnodes_enabled": True, "nats_server_leafnodes_port": 8222}], None,
     "ports", ["share one", "nats_server_monitor_port=8222", "nats_server_leafnodes_port=8222"]),
    ("a gateway named unlike its cluster", "server.yml",
     [{"nats_server_gateway_enabled": True, "nats_server_cluster_enabled": True, "nats_server_cluster_name": "east",
       "nats_server_gateway_name": "west"}], None,
     "gateway name", ["'west' and 'east'", "the cluster's name"]),
    ("a leaf remote without a scheme", "server.yml",
     [{"nats_server_leafnodes_remotes": [{"urls": ["hub-1:7422"]}]}], None,
     "leaf node remotes", ["needs a scheme", "nats-leaf://hub:7422"]),
    ("a leaf remote password without a user", "server.yml",
     [{"nats_server_leafnodes_remotes": [{"urls": ["tls://hub-1:7422"], "password": "p"}]}], None,
     "leaf node remotes", ["password goes with a user"]),
    ("MQTT without JetStream", "server.yml",
     [{"nats_server_mqtt_enabled": True, "nats_server_jetstream_enabled": False}], None,
     "MQTT", ["set nats_server_jetstream_enabled=true"]),
    ("a unique tag the server has no tag for", "server.yml",
     [{"nats_server_jetstream_unique_tag": "az:", "nats_server_tags": ["region:east"]}], None,
     "unique tag", ["has no tag starting with it", "region:east"]),
    ("gateway groups without this cluster", "cluster.yml",
     [{"nats_cluster_gateway_groups": ["west"], "nats_cluster_gateway_password": "g"}], None,
     "gateway groups", ["'nats' among them", "west="]),
    ("gateway groups without names of their own", "cluster.yml",
     [{"nats_cluster_gateway_groups": ["nats", "west"], "nats_cluster_gateway_password": "g"}], None,
     "gateway groups", ["set its own nats_cluster_name", "nats=", "west="]),
    ("gateways without a password", "cluster.yml",
     [{"nats_cluster_gateway_groups": ["nats"], "nats_cluster_name": "east"}], None,
     "gateway password", ["set nats_cluster_gateway_user and nats_cluster_gateway_password"]),
]


@pytest.mark.parametrize("playbook, extra, host_vars, check, words",
                         [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_bad_input_fails_the_one_check_that_names_it(tmp_path, playbook, extra, host_vars, check, words):
    assert_only_check_failed(run_play(playbook, tmp_path, extra, host_vars), check, words)


@pytest.mark.parametrize("playbook, extra, checks", [
    ("cluster.yml", ["nats_cluster_route_password=", "nats_cluster_roll_gate_timeout=5"],
     {"route password": "nats_cluster_route_password must be set",
      "roll gate timeout": "nats_cluster_roll_gate_timeout must be at least 10 seconds; got '5'"}),
    ("server.yml", ["nats_server_jetstream_domain=hub.eu", "nats_server_lame_duck_duration=10s"],
     {"JetStream domain": "nats_server_jetstream_domain 'hub.eu' may not contain",
      "lame duck": "nats_server_lame_duck_duration must be at least 30s"}),
], ids=["cluster settings", "server settings"])
def test_several_bad_inputs_are_all_named(tmp_path, playbook, extra, checks):
    """One run names every check of a task that fails, each with its own message."""
    code, results, output = run_play(playbook, tmp_path, extra)
    assert code != 0, output
    failed = failures(results)
    assert {label for label, _message in failed} == set(checks), output
    for label, message in failed:
        assert checks[label] in message, message


SYSTEM_ACCOUNT = [{"nats_cluster_accounts": {"SYS": {"users": [{"user": "sys", "password": "p"}]}},
                   "nats_cluster_system_account": "SYS"}]


def retiring(*hosts):
    return {"nats_retire": {"hosts": dict((host, None) for host in hosts)}}


@pytest.mark.parametrize("extra, groups, check, words", [
    (SYSTEM_ACCOUNT, retiring("n4", "n5", "n6", "n7"), "retire a minority",
     ["Retiring 4 of 7 nodes at once (n4, n5, n6, n7)", "at most 3"]),
    ([], retiring("n4", "n5"), "retire needs the system account", ["set nats_cluster_system_account"]),
    (SYSTEM_ACCOUNT, retiring("n3"), "retire group apart", ["n3 is in both nats_cluster_group 'nats'"]),
], ids=["a majority at once", "without a system account", "in both groups"])
def test_scale_in_is_refused_before_any_host_is_touched(tmp_path, extra, groups, check, words):
    assert_only_check_failed(run_play("cluster.yml", tmp_path, extra, groups=groups), check, words)


@pytest.mark.parametrize("playbook, extra", [
    ("server.yml", []),
    # Strings from the command line are numbers to nats-server once rendered.
    ("server.yml", ["nats_server_tls_timeout=5", "nats_server_cluster_tls_timeout=0.5"]),
    ("server.yml", [{"nats_server_jetstream_domain": "hub-eu_1",
                     "nats_server_accounts": {"SYS": {"jetstream": "disabled"}, "APP": {"jetstream": True}},
                     "nats_server_system_account": "SYS"}]),
    ("cluster.yml", []),
    ("cluster.yml", ["nats_cluster_tls_timeout=5"]),
    # What nats_cluster hands nats_server passes nats_server's own checks, with gateways or without.
    ("cluster_server.yml", ["nats_cluster_tls_enabled=false", "nats_cluster_tls_dev_ca=false"]),
    ("cluster_server.yml", ["nats_cluster_tls_enabled=false", "nats_cluster_tls_dev_ca=false",
                            {"nats_cluster_gateway_groups": ["nats"], "nats_cluster_gateway_password": "g"}]),
], ids=["server defaults", "server string timeouts", "server domain and accounts",
        "cluster defaults", "cluster string timeout", "cluster member's server", "cluster member's server with gateways"])
def test_good_input_passes(tmp_path, playbook, extra):
    code, results, output = run_play(playbook, tmp_path, extra)
    assert code == 0, output
    assert not failures(results)
    assert {host: counts["failed"] for host, counts in parse_recap(output).items()} == {"n1": 0, "n2": 0, "n3": 0}, output


def test_string_tls_timeouts_render_as_numbers_nats_server_accepts(tmp_path, tls_material):
    """-e nats_server_tls_timeout=5 is the string "5"; the role must still write a number."""
    config_dir = tmp_path / "etc"
    (config_dir / "tls").mkdir(parents=True)
    for source, name in (("server_cert", "server-cert.pem"), ("server_key", "server-key.pem"), ("ca", "ca.pem")):
        shutil.copy(tls_material[source], config_dir / "tls" / name)
    code, results, output = run_play("render.yml", tmp_path, [
        "nats_server_tls_timeout=5", "nats_server_cluster_tls_timeout=0.5",
        {"nats_server_config_dir": str(config_dir),
         "nats_server_jetstream_store_dir": str(tmp_path / "js"),
         "nats_server_log_file": "", "nats_server_port": 14222, "nats_server_monitor_port": 18222,
         "nats_server_tls_enabled": True, "nats_server_cluster_enabled": True,
         "nats_server_cluster_tls_enabled": True, "nats_server_cluster_name": "c1",
         "nats_server_tls_cert_src": tls_material["server_cert"], "nats_server_tls_key_src": tls_material["server_key"],
         "nats_server_tls_ca_src": tls_material["ca"]}])
    assert code == 0, output
    text = [result["msg"] for status, _host, label, result in results if "msg" in result][-1]
    assert re.search(r"^tls \{[^}]*\n  timeout: 5\n", text, re.M), text
    assert re.search(r"^cluster \{.*\n  tls \{[^}]*\n    timeout: 0\.5\n", text, re.M | re.S), text
    conf = tmp_path / "nats.conf"
    conf.write_text(text)
    check = validate_config(conf)
    assert check.returncode == 0 and "is valid" in check.stdout, check.stdout + text
    # The same timeout quoted, as it was written before: nats-server refuses it.
    conf.write_text(text.replace("  timeout: 5\n", '  timeout: "5"\n', 1))
    check = validate_config(conf)
    assert check.returncode != 0 and "timeout" in check.stdout, check.stdout


def _start_fails(tmp_path, config):
    """nats-server -t accepts the config, but the server exits at start: return its words."""
    conf = tmp_path / "start.conf"
    conf.write_text(nats_conf(dict({"port": -1, "jetstream": {"store_dir": str(tmp_path / "js")}}, **config)))
    check = validate_config(conf)
    assert check.returncode == 0, check.stdout
    server = NatsServer(tmp_path / "start", conf.read_text())
    try:
        server.start(timeout=20)
    except RuntimeError as exc:
        assert "nats-server exited" in str(exc), exc
        return server.log_text()
    server.stop()
    raise AssertionError("nats-server started: " + server.log_text())


@pytest.mark.parametrize("domain", ["hub.eu", "hub eu", "hub*", "hub>"])
def test_nats_server_passes_t_but_refuses_to_start_with_such_a_domain(tmp_path, domain):
    words = _start_fails(tmp_path, {"jetstream": {"store_dir": str(tmp_path / "js"), "domain": domain}})
    assert "invalid domain name" in words


def test_nats_server_passes_t_but_refuses_to_start_with_jetstream_on_the_system_account(tmp_path):
    words = _start_fails(tmp_path, {"accounts": {"SYS": {"jetstream": True}}, "system_account": "SYS"})
    assert "Not allowed to enable JetStream on the system account" in words


@pytest.mark.parametrize("accounts, users", [
    (None, [{"user": "app", "password": "p"}]),
    ({"APP": {"users": [{"user": "app", "password": "p"}]}}, None),
], ids=["global users", "account users"])
def test_nats_server_refuses_a_token_beside_users(tmp_path, accounts, users):
    authorization = {"token": "tok", "users": users} if users else {"token": "tok"}
    config = {"port": -1, "authorization": authorization}
    if accounts:
        config["accounts"] = accounts
    conf = tmp_path / "token.conf"
    conf.write_text(nats_conf(config))
    check = validate_config(conf)
    assert check.returncode != 0 and "Can not have a token" in check.stdout, check.stdout
