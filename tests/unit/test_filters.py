"""The nats_server role's filters (plugins/filter/nats_server.py), checked against the real
nats-server binary where it has the last word: the rendered config must parse to the values we
meant, hashed passwords must authenticate, and the reload-versus-restart list in
roles/nats_server/vars/main.yml must agree with what the server accepts on reload."""
import asyncio
import copy
import json
import os
import time
import urllib.request

import bcrypt
import nats
import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.cim.nats.plugins.filter.nats_server import (
    FilterModule, nats_bcrypt, nats_conf, nats_duration_seconds, nats_hash_passwords, nats_redact,
    nats_shared_hashes,
    nats_server_change, nats_size_bytes)
from nats_harness import SERVER_BIN, NatsServer, free_port, release_binary, releases_on_disk, validate_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "nats_server")
# The binary the server fixture starts; the release fixture points it at another release's.
BIN = SERVER_BIN


def _role_yaml(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


ROLE_VARS = _role_yaml("vars", "main.yml")
RELOADABLE = ROLE_VARS["_nats_server_reloadable_paths"]
INCREASE_ONLY = ROLE_VARS["_nats_server_increase_only_paths"]


class Server(NatsServer):
    """A nats-server started from a config dict rendered by nats_conf, in its own directory."""

    def __init__(self, directory, config):
        self.dir = directory
        self.http = free_port()
        self.config = self._complete(config)
        super().__init__(directory, nats_conf(self.config), binary=BIN)
        self.start(timeout=10)

    def _complete(self, config):
        config = copy.deepcopy(config)
        config.setdefault("port", free_port())
        config["http"] = "127.0.0.1:%d" % self.http
        if config.get("jetstream"):
            config["jetstream"].setdefault("store_dir", str(self.dir / "js"))
        return config

    def reload_with(self, config):
        """True if the server applied this config on reload."""
        return self.reload(nats_conf(config))


@pytest.fixture
def server(tmp_path):
    started = []

    def start(config):
        srv = Server(tmp_path / ("s%d" % len(started)), config)
        started.append(srv)
        return srv

    for path in ("s0", "s1", "s2"):
        (tmp_path / path).mkdir()
    yield start
    for srv in started:
        srv.stop()


def check_config(tmp_path, config):
    path = tmp_path / "check.conf"
    path.write_text(nats_conf(config))
    return validate_config(path, binary=BIN)


# --- nats_conf -----------------------------------------------------------------------------------

def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "nats_conf", "nats_bcrypt", "nats_hash_passwords", "nats_shared_hashes", "nats_size_bytes",
        "nats_duration_seconds", "nats_server_change", "nats_redact"}


def test_rendering_is_readable_and_leaves_none_out():
    text = nats_conf({"server_name": "a", "port": 4222, "debug": False, "client_advertise": None,
                      "jetstream": {"store_dir": "/d", "max_memory_store": "1GB", "domain": None},
                      "cluster": {"routes": ["nats-route://h:6222"], "no_advertise": True}})
    assert text == (
        'server_name: "a"\n'
        "port: 4222\n"
        "debug: false\n"
        "jetstream {\n"
        '  store_dir: "/d"\n'
        "  max_memory_store: 1GB\n"
        "}\n"
        "cluster {\n"
        '  routes: ["nats-route://h:6222"]\n'
        "  no_advertise: true\n"
        "}\n")


def test_sizes_stay_bare_only_under_size_keys():
    text = nats_conf({"max_payload": "1MB", "server_name": "1MB", "max_pending": 1024})
    assert "max_payload: 1MB\n" in text
    assert 'server_name: "1MB"\n' in text
    assert "max_pending: 1024\n" in text


def test_rejects_values_it_cannot_render():
    with pytest.raises(AnsibleFilterError, match="cannot render"):
        nats_conf({"port": object()})
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        nats_conf(["port"])


def test_full_config_parses_to_the_values_meant(server, tls_material):
    """Everything the role writes, read back from the running server's /varz."""
    hashed = nats_bcrypt("s3cret")
    srv = server({
        "server_name": 'odd"name\\with$HOME',
        "max_connections": 321,
        "max_payload": "2MB",
        "max_pending": "10MB",
        "max_control_line": "4KB",
        "write_deadline": "7s",
        "ping_interval": "1m30s",
        "ping_max": 3,
        "lame_duck_duration": "45s",
        "lame_duck_grace_period": "5s",
        "logtime": True,
        "logfile_size_limit": "10MB",
        "logfile_max_num": 3,
        "jetstream": {"max_memory_store": "256MB", "max_file_store": "1G", "domain": "hub"},
        "tls": {"cert_file": tls_material["server_cert"], "key_file": tls_material["server_key"],
                "ca_file": tls_material["ca"], "verify": False, "timeout": 3},
        "accounts": {
            "APP": {"jetstream": True, "users": [
                {"user": "app", "password": hashed,
                 "permissions": {"publish": {"allow": ["app.>"], "deny": ["app.secret"]},
                                 "subscribe": ["app.>", "_INBOX.>"],
                                 "allow_responses": {"max": 1, "expires": "1m"}}}]},
            "SYS": {"users": [{"user": "sys", "password": hashed}]},
        },
        "system_account": "SYS",
        "no_auth_user": "app",
    })
    varz = srv.varz()
    assert varz["server_name"] == 'odd"name\\with$HOME'
    assert varz["max_connections"] == 321
    assert varz["max_payload"] == 2 * 1024 * 1024
    assert varz["max_pending"] == 10 * 1024 * 1024
    assert varz["max_control_line"] == 4096
    assert varz["write_deadline"] == 7 * 10 ** 9
    assert varz["ping_interval"] == 90 * 10 ** 9
    assert varz["ping_max"] == 3
    assert varz["tls_timeout"] == 3
    assert varz["tls_required"] is True
    assert varz["system_account"] == "SYS"
    assert varz["jetstream"]["config"]["max_memory"] == 256 * 1024 * 1024
    assert varz["jetstream"]["config"]["max_storage"] == 10 ** 9
    assert varz["jetstream"]["config"]["domain"] == "hub"


def test_rendered_config_with_cluster_and_token_passes_nats_server_t(tmp_path, tls_material):
    config = {
        "server_name": "n1", "port": 4222,
        "authorization": {"token": nats_bcrypt("tok"), "timeout": 2},
        "jetstream": {"store_dir": str(tmp_path / "js")},
        "cluster": {"name": "c1", "host": "0.0.0.0", "port": 6222,
                    "routes": ["nats-route://ruser:rpass@n2:6222", "nats-route://ruser:rpass@n3:6222"],
                    "no_advertise": True,
                    "authorization": {"user": "ruser", "password": nats_bcrypt("rpass")},
                    "tls": {"cert_file": tls_material["server_cert"], "key_file": tls_material["server_key"],
                            "ca_file": tls_material["ca"], "verify": True, "timeout": 2}},
    }
    result = check_config(tmp_path, config)
    assert result.returncode == 0, result.stdout
    assert "is valid" in result.stdout


def test_nats_server_refuses_a_misspelt_key_with_its_own_words(tmp_path):
    result = check_config(tmp_path, {"port": 4222, "max_payloadd": "1MB"})
    assert result.returncode != 0
    assert 'unknown field "max_payloadd"' in result.stdout


def test_control_characters_are_escaped(tmp_path):
    text = nats_conf({"server_name": "a\tb\x01c\nd"})
    assert text == 'server_name: "a\\tb\\x01c\\nd"\n'
    # nats-server reads it (and then refuses the name for its whitespace, in its own words)
    result = check_config(tmp_path, {"server_name": "a\tb"})
    assert "Parse error" not in result.stdout


# --- bcrypt --------------------------------------------------------------------------------------

def salt(hashed):
    """The 22 characters of a bcrypt hash that encode its salt."""
    return hashed[7:29]


def test_bcrypt_salts_are_random_and_the_hash_is_what_nats_server_reads():
    first, second = nats_bcrypt("password"), nats_bcrypt("password")
    assert salt(first) != salt(second)
    assert first.startswith("$2a$11$") and len(first) == 60
    assert bcrypt.checkpw(b"password", first.encode())
    assert not bcrypt.checkpw(b"Password", first.encode())
    assert nats_bcrypt("pw", None, 4).startswith("$2a$04$")


def test_bcrypt_keeps_the_deployed_hash_only_while_it_verifies_at_the_same_cost():
    deployed = nats_bcrypt("password", None, 4)
    assert nats_bcrypt("password", deployed, 4) == deployed
    changed = nats_bcrypt("new-password", deployed, 4)
    assert changed != deployed and bcrypt.checkpw(b"new-password", changed.encode())
    stronger = nats_bcrypt("password", deployed, 5)
    assert stronger.startswith("$2a$05$") and bcrypt.checkpw(b"password", stronger.encode())


def test_no_salt_is_derived_from_the_password():
    """The old salt was HMAC(seed, password) with a seed anyone could rebuild from the inventory:
    the salt alone let an attacker test guesses at HMAC speed. Two hosts, same password, no
    previous config: two unrelated salts, neither the old derivation."""
    import base64
    import hashlib
    import hmac
    config = {"authorization": {"users": [{"user": "app", "password": "same-password"}]}}
    host_a = nats_hash_passwords(config, None, 4)["authorization"]["users"][0]["password"]
    host_b = nats_hash_passwords(config, None, 4)["authorization"]["users"][0]["password"]
    assert salt(host_a) != salt(host_b)
    for host in ("host-a", "host-b"):
        seed = "cim.nats/%s\0user:app\0password" % host
        digest = hmac.new(seed.encode(), b"cim.nats\0same-password", hashlib.sha256).digest()[:16]
        derived = base64.b64encode(digest).rstrip(b"=").translate(bytes.maketrans(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")).decode()
        assert derived not in (salt(host_a), salt(host_b))


@pytest.mark.parametrize("password, previous, cost, message", [
    ("x" * 73, None, 11, "72 bytes"),
    ("", None, 11, "non-empty"),
    ("pw", None, 3, "between 4 and 31"),
    (True, None, 4, "boolean"),
    (1.10, None, 4, "decimal point"),
    ("pw", "cim.nats/host-a", 4, "must be the bcrypt hash"),
])
def test_bcrypt_refuses_what_it_cannot_hash(password, previous, cost, message):
    with pytest.raises(AnsibleFilterError, match=message) as error:
        nats_bcrypt(password, previous, cost)
    assert "host-a" not in str(error.value)  # a misplaced value is never echoed


CONFIG = {
    "authorization": {"token": "tok", "users": [{"user": "a", "password": "pa"},
                                                {"user": "b", "password": "pa"}]},
    "accounts": {"X": {"users": [{"user": "a", "password": "px"},
                                 {"user": "c", "password": "$2a$11$alreadyhashedvalue...."}]}},
    "cluster": {"authorization": {"user": "r", "password": "pr"},
                "routes": ["nats-route://r:pr@h:6222"]},
}


def test_hash_passwords_hashes_every_password_and_token_once():
    out = nats_hash_passwords(CONFIG, None, 4)
    users = out["authorization"]["users"]
    assert bcrypt.checkpw(b"pa", users[0]["password"].encode())
    assert users[0]["password"] != users[1]["password"]  # same password, different users
    assert bcrypt.checkpw(b"tok", out["authorization"]["token"].encode())
    assert bcrypt.checkpw(b"px", out["accounts"]["X"]["users"][0]["password"].encode())
    assert bcrypt.checkpw(b"pr", out["cluster"]["authorization"]["password"].encode())
    assert out["accounts"]["X"]["users"][1]["password"] == "$2a$11$alreadyhashedvalue...."
    assert out["cluster"]["routes"] == ["nats-route://r:pr@h:6222"]  # URLs are not touched
    assert CONFIG["authorization"]["token"] == "tok"  # the input is not modified


def test_a_second_run_with_the_applied_config_is_identical():
    applied = nats_hash_passwords(CONFIG, None, 4)
    assert nats_hash_passwords(CONFIG, applied, 4) == applied
    # users are matched by name, not by position
    reordered = copy.deepcopy(CONFIG)
    reordered["authorization"]["users"].reverse()
    again = nats_hash_passwords(reordered, applied, 4)
    assert again["authorization"]["users"] == list(reversed(applied["authorization"]["users"]))


def play(configs, applied):
    """What the role does on the hosts of a play: each host checks its share of the hashes they
    have in common, then builds its config with every host's share. Returns (configs, bcrypt checks)."""
    checks = []
    original = bcrypt.checkpw

    def counted(secret, hashed):
        checks.append(hashed)
        return original(secret, hashed)

    bcrypt.checkpw = counted
    try:
        shares = [nats_shared_hashes(config, applied, 4, index, len(configs))
                  for index, config in enumerate(configs)]
        built = [nats_hash_passwords(config, previous, 4, shares) for config, previous in zip(configs, applied)]
    finally:
        bcrypt.checkpw = original
    return built, len(checks)


def secrets(config):
    return [config["authorization"]["token"], config["cluster"]["authorization"]["password"]] + [
        user["password"] for user in config["authorization"]["users"] + config["accounts"]["X"]["users"]
        if not user["password"].startswith("$2a$11$already")]


def test_hosts_with_the_same_secrets_share_one_hash_each_checked_once_for_the_play():
    first, checks = play([CONFIG] * 3, [{}] * 3)
    assert checks == 0  # nothing deployed: one new hash per secret, for every host
    assert first[0] == first[1] == first[2]
    assert all(bcrypt.checkpw(b"tok", secrets(host)[0].encode()) for host in first)
    again, checks = play([CONFIG] * 3, first)
    assert again == first
    assert checks == len(secrets(first[0]))  # once per secret, not once per host and secret


def test_a_changed_password_gets_one_new_hash_for_every_host():
    applied, _checks = play([CONFIG] * 3, [{}] * 3)
    wanted = copy.deepcopy(CONFIG)
    wanted["authorization"]["users"][1]["password"] = "pb-new"
    out, _checks = play([wanted] * 3, applied)
    assert out[0] == out[1] == out[2]
    new = out[0]["authorization"]["users"][1]["password"]
    assert new != applied[0]["authorization"]["users"][1]["password"]
    assert bcrypt.checkpw(b"pb-new", new.encode())
    assert out[0]["authorization"]["users"][0] == applied[0]["authorization"]["users"][0]


def test_hashes_of_one_host_each_are_kept_and_checked_by_their_host():
    """A deployment whose hosts each have their own salts changes nothing, as before."""
    applied = [nats_hash_passwords(CONFIG, None, 4) for _host in range(3)]
    assert applied[0] != applied[1]
    out, checks = play([CONFIG] * 3, applied)
    assert out == applied
    assert checks == 3 * len(secrets(applied[0]))


def test_a_host_with_another_password_is_not_given_the_shared_hash():
    applied, _checks = play([CONFIG] * 3, [{}] * 3)
    other = copy.deepcopy(CONFIG)
    other["authorization"]["users"][0]["password"] = "pa-other"
    out, _checks = play([CONFIG, CONFIG, other], applied)
    assert out[0] == out[1] == applied[0]
    mine = out[2]["authorization"]["users"][0]["password"]
    assert mine != applied[0]["authorization"]["users"][0]["password"]
    assert bcrypt.checkpw(b"pa-other", mine.encode())
    assert not bcrypt.checkpw(b"pa", mine.encode())
    assert out[2]["authorization"]["users"][1] == applied[0]["authorization"]["users"][1]


def test_a_new_host_takes_the_hash_the_others_share():
    applied, _checks = play([CONFIG] * 3, [{}] * 3)
    out, _checks = play([CONFIG] * 3, applied[:2] + [{}])
    assert out == applied


def test_the_shared_check_never_holds_a_secret():
    shared = nats_shared_hashes(CONFIG, [{}], 4)
    text = json.dumps(shared)
    for secret in ("tok", "pa", "pb", "pr", "px"):
        assert '"%s"' % secret not in text


def test_a_changed_password_gets_a_new_hash_and_only_it():
    applied = nats_hash_passwords(CONFIG, None, 4)
    wanted = copy.deepcopy(CONFIG)
    wanted["authorization"]["users"][1]["password"] = "pb-new"
    wanted["cluster"]["authorization"]["password"] = "pr-new"
    out = nats_hash_passwords(wanted, applied, 4)
    new_b = out["authorization"]["users"][1]["password"]
    assert new_b != applied["authorization"]["users"][1]["password"]
    assert bcrypt.checkpw(b"pb-new", new_b.encode())
    assert bcrypt.checkpw(b"pr-new", out["cluster"]["authorization"]["password"].encode())
    assert out["authorization"]["users"][0] == applied["authorization"]["users"][0]
    assert out["authorization"]["token"] == applied["authorization"]["token"]
    # user "a" of account X is not user "a" of the global users: each keeps its own hash
    assert out["accounts"] == applied["accounts"]
    # and the role then reloads (authorization and cluster.authorization are reloadable)
    assert nats_server_change(record(applied), record(out), RELOADABLE, INCREASE_ONLY) == {
        "action": "reload", "restart_paths": [],
        "reload_paths": ["authorization.users", "cluster.authorization.password"]}


def test_a_hash_from_the_wrong_place_is_not_reused():
    applied = nats_hash_passwords({"authorization": {"users": [{"user": "a", "password": "pa"}]}},
                                  None, 4)
    moved = nats_hash_passwords({"accounts": {"X": {"users": [{"user": "a", "password": "pa"}]}}},
                                applied, 4)
    assert moved["accounts"]["X"]["users"][0]["password"] != applied["authorization"]["users"][0]["password"]


def test_numbers_are_hashed_as_their_digits():
    """YAML reads an unquoted 12345678 from a vault as an int."""
    out = nats_hash_passwords({"authorization": {"users": [{"user": "n", "password": 12345678}],
                                                 "token": 87654321},
                               "cluster": {"authorization": {"user": "r", "password": 11223344}}},
                              None, 4)
    for value, digits in ((out["authorization"]["users"][0]["password"], b"12345678"),
                          (out["authorization"]["token"], b"87654321"),
                          (out["cluster"]["authorization"]["password"], b"11223344")):
        assert isinstance(value, str) and bcrypt.checkpw(digits, value.encode())
    with pytest.raises(AnsibleFilterError, match=r"accounts\.X\.users\[user=u\]\.password is a boolean"):
        nats_hash_passwords({"accounts": {"X": {"users": [{"user": "u", "password": True}]}}}, None, 4)
    with pytest.raises(AnsibleFilterError, match="applied before \\(a dict"):
        nats_hash_passwords(CONFIG, "a-seed", 4)


async def _connect(port, **auth):
    try:
        conn = await nats.connect("nats://127.0.0.1:%d" % port, allow_reconnect=False,
                                  connect_timeout=2, max_reconnect_attempts=0, **auth)
    except Exception as exc:  # noqa: BLE001 - any refusal is the answer here
        return "refused: %s" % exc
    await conn.close()
    return "ok"


def test_hashed_passwords_and_token_authenticate_against_the_real_server(server):
    config = {"authorization": {"users": [{"user": "app", "password": "app-pw"},
                                          {"user": "num", "password": 12345678}]}}
    first = nats_hash_passwords(config, None, 4)
    # the second run's config, built from the first: the same hashes, still accepted
    users = server(nats_hash_passwords(config, first, 4))
    assert users.config["authorization"] == first["authorization"]
    token = server(nats_hash_passwords({"authorization": {"token": 87654321}}, None, 4))
    assert asyncio.run(_connect(users.config["port"], user="app", password="app-pw")) == "ok"
    assert asyncio.run(_connect(users.config["port"], user="app", password="nope")).startswith("refused")
    assert asyncio.run(_connect(users.config["port"], user="num", password="12345678")) == "ok"
    assert asyncio.run(_connect(token.config["port"], token="87654321")) == "ok"
    assert asyncio.run(_connect(token.config["port"], token="other")).startswith("refused")
    assert "app-pw" not in open(users.config_file).read()
    assert "87654321" not in open(token.config_file).read()


def test_a_changed_password_is_accepted_by_the_server_after_a_reload(server):
    config = {"authorization": {"users": [{"user": "app", "password": "old-pw"}]}}
    applied = nats_hash_passwords(config, None, 4)
    srv = server(applied)
    config["authorization"]["users"][0]["password"] = "new-pw"
    assert srv.reload_with(srv._complete(dict(nats_hash_passwords(config, applied, 4),
                                              port=srv.config["port"])))
    assert asyncio.run(_connect(srv.config["port"], user="app", password="new-pw")) == "ok"
    assert asyncio.run(_connect(srv.config["port"], user="app", password="old-pw")).startswith("refused")


# --- route credentials and redaction -------------------------------------------------------------

ROUTE_PASSWORD = "p%@/:#w0rd"


def route_url(user, password, port):
    """The route URL as roles/nats_cluster/vars/main.yml (_nats_cluster_route_urls) builds it:
    Jinja's urlencode (the filter Ansible uses), then '/' -> '%2F'."""
    from jinja2.filters import do_urlencode
    cred = "%s:%s" % (do_urlencode(user).replace("/", "%2F"),
                      do_urlencode(password).replace("/", "%2F"))
    return "nats-route://%s@127.0.0.1:%d" % (cred, port)


def _routez(srv):
    with urllib.request.urlopen("http://127.0.0.1:%d/routez" % srv.http, timeout=2) as resp:
        return json.load(resp)


def _route_node(name, cluster_port, routes):
    return nats_hash_passwords({"server_name": name, "cluster": {
        "name": "c", "host": "127.0.0.1", "port": cluster_port, "routes": routes,
        "authorization": {"user": "ruser", "password": ROUTE_PASSWORD}}}, None, 4)


def test_a_route_password_with_url_specials_forms_a_real_route(server, tmp_path):
    port_a, port_b = free_port(), free_port()
    url = route_url("ruser", ROUTE_PASSWORD, port_a)
    assert ROUTE_PASSWORD not in url
    node_a, node_b = _route_node("a", port_a, []), _route_node("b", port_b, [url])
    for config in (node_a, node_b):
        result = check_config(tmp_path, dict(config, port=free_port()))
        assert result.returncode == 0 and "is valid" in result.stdout, result.stdout
    srv_a, srv_b = server(node_a), server(node_b)
    deadline = time.monotonic() + 10
    while _routez(srv_a)["num_routes"] < 1 or _routez(srv_b)["num_routes"] < 1:
        assert time.monotonic() < deadline, srv_a.log_text()[-800:]
        time.sleep(0.1)
    assert {route["remote_name"] for route in _routez(srv_a)["routes"]} == {"b"}
    # the password was checked: a wrong one is refused by node a
    assert "Authentication Failure" not in srv_a.log_text()
    wrong = server(_route_node("w", free_port(), [route_url("ruser", ROUTE_PASSWORD + "x", port_a)]))
    deadline = time.monotonic() + 10
    while "Authentication Failure" not in srv_a.log_text():
        assert time.monotonic() < deadline, srv_a.log_text()[-800:]
        time.sleep(0.1)
    assert _routez(wrong)["num_routes"] == 0


def test_redaction_leaves_no_password_in_nats_servers_words(tmp_path):
    """A route URL written without encoding: nats-server -t refuses it and quotes it whole."""
    port = free_port()
    raw = "nats-route://ruser:%s@127.0.0.1:%d" % (ROUTE_PASSWORD, port)
    config = _route_node("a", free_port(), [raw, route_url("ruser", ROUTE_PASSWORD, port)])
    result = check_config(tmp_path, dict(config, port=free_port()))
    assert result.returncode != 0 and ROUTE_PASSWORD in result.stdout  # the server echoes it
    wanted = {"cluster": {"authorization": {"user": "ruser", "password": ROUTE_PASSWORD},
                          "routes": [raw]}}
    for redacted in (nats_redact(result.stdout), nats_redact(result.stdout, wanted)):
        assert "error parsing route url" in redacted and "127.0.0.1:%d" % port in redacted
        assert "nats-route://***@127.0.0.1" in redacted
        for fragment in (ROUTE_PASSWORD, "w0rd", "p%", "%25"):
            assert fragment not in redacted, redacted


def test_redaction_takes_out_hashes_and_the_secrets_it_is_given():
    hashed = nats_bcrypt("pw", None, 4)
    text = ('config line 3: token "s3cr/t t0ken" or %s, encoded s3cr%%2Ft%%20t0ken; '
            'see nats://u:p@h:4222 and nats://other.host:4222' % hashed)
    out = nats_redact(text, [{"authorization": {"token": "s3cr/t t0ken"}}, "unused"])
    assert out == ('config line 3: token "***" or ***, encoded ***; '
                   'see nats://***@h:4222 and nats://other.host:4222')
    assert nats_redact(None) == ""


# --- sizes and durations -------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (1024, 1024), ("1024", 1024), ("1K", 1000), ("1KB", 1024), ("1kb", 1024), ("1KiB", 1024),
    ("1Ki", 1024), ("1M", 10 ** 6), ("1MB", 1024 ** 2), ("10GB", 10 * 1024 ** 3), ("1G", 10 ** 9),
    ("2TB", 2 * 1024 ** 4),
])
def test_sizes_read_like_nats_server(value, expected):
    assert nats_size_bytes(value) == expected


@pytest.mark.parametrize("value", ["1 GB", "1.5GB", "GB", "", "1B", "-1", True, None, "1XB"])
def test_unreadable_sizes_are_refused(value):
    with pytest.raises(AnsibleFilterError):
        nats_size_bytes(value)


def test_size_units_match_the_server(server):
    """K is 1000 and KB 1024 for nats-server too (the role's docs say so)."""
    srv = server({"max_payload": "1K", "max_pending": "1KB", "max_control_line": "2KB"})
    varz = srv.varz()
    assert (varz["max_payload"], varz["max_pending"]) == (nats_size_bytes("1K"), nats_size_bytes("1KB"))


@pytest.mark.parametrize("value, expected", [
    ("2s", 2.0), ("1m30s", 90.0), ("2m", 120.0), ("500ms", 0.5), ("1h", 3600.0), ("0", 0.0),
    ("1.5s", 1.5), (30, 30.0),
])
def test_durations_read_like_go(value, expected):
    assert nats_duration_seconds(value) == expected


@pytest.mark.parametrize("value", ["2", "s", "2 s", "2sec", "", "1m30", None, False])
def test_unreadable_durations_are_refused(value):
    with pytest.raises(AnsibleFilterError):
        nats_duration_seconds(value)


def test_preflight_patterns_agree_with_the_filters():
    """preflight.yml checks with regexes in vars/main.yml; they must accept what the filters read."""
    import re
    size, duration = ROLE_VARS["_nats_server_size_pattern"], ROLE_VARS["_nats_server_duration_pattern"]
    for good in ("1MB", "10GB", "512K", "1KiB", "1024"):
        assert re.match(size, good) and nats_size_bytes(good)
    for bad in ("1 MB", "1.5MB", "1B", "MB"):
        assert not re.match(size, bad)
    for good in ("2s", "1m30s", "500ms", "1.5h"):
        assert re.match(duration, good) and nats_duration_seconds(good)
    for bad in ("2", "2 s", "2sec"):
        assert not re.match(duration, bad)


# --- reload versus restart -----------------------------------------------------------------------

REFUSED = ROLE_VARS["_nats_server_reload_refused_paths"]


def _release_key(version):
    return tuple(int(part) for part in version.split("."))


RELEASES = releases_on_disk()
OLDEST_AND_NEWEST = sorted({RELEASES[0], RELEASES[-1]}, key=_release_key)
NEWEST = RELEASES[-1]


def record(config, reload_files=None, restart_files=None):
    return {"config": config, "reload_files": reload_files or {},
            "restart_files": restart_files or {"binary": "b1", "unit": "u1"}}


BASE = {"server_name": "a", "port": 4222, "max_payload": "1MB",
        "jetstream": {"store_dir": "/js", "max_memory_store": "1GB", "max_file_store": "10GB"}}


def change(old, new, server_version=NEWEST, **kwargs):
    return nats_server_change(record(old, **{k: v[0] for k, v in kwargs.items()}),
                              record(new, **{k: v[1] for k, v in kwargs.items()}),
                              RELOADABLE, INCREASE_ONLY, server_version=server_version,
                              refused=REFUSED)


def test_no_change_is_none():
    assert change(BASE, copy.deepcopy(BASE)) == {"action": "none", "restart_paths": [],
                                                 "reload_paths": []}


def test_users_reload_and_port_restarts_and_paths_are_named():
    users = dict(BASE, authorization={"users": [{"user": "u", "password": "$2a$..."}]})
    assert change(BASE, users) == {"action": "reload", "restart_paths": [],
                                   "reload_paths": ["authorization.users"]}
    both = dict(users, port=4223)
    assert change(BASE, both)["action"] == "restart"
    assert change(BASE, both)["restart_paths"] == ["port"]


def test_jetstream_limits_reload_only_when_they_grow():
    grow = copy.deepcopy(BASE)
    grow["jetstream"]["max_memory_store"] = "2GB"
    shrink = copy.deepcopy(BASE)
    shrink["jetstream"]["max_file_store"] = "1GB"
    assert change(BASE, grow)["action"] == "reload"
    assert change(BASE, shrink)["action"] == "restart"


@pytest.mark.parametrize("server_version, action", [
    ("2.12.7", "reload"), ("v2.14.6", "reload"), ("nats-server: v2.15.1", "reload"),
    ("2.12.6", "restart"), ("2.11.11", "restart"), ("nats-server: v2.9.10", "restart"),
    ("2.12.7-RC.1", "restart"), ("", "restart"), (None, "restart"), ("unknown", "restart"),
])
def test_raised_jetstream_limits_reload_only_from_the_release_that_can(server_version, action):
    grow = copy.deepcopy(BASE)
    grow["jetstream"]["max_file_store"] = "20GB"
    result = change(BASE, grow, server_version=server_version)
    assert result["action"] == action
    assert result[action + "_paths"] == ["jetstream.max_file_store"]


def test_what_the_server_refuses_inside_a_reloadable_block_restarts():
    tls = dict(BASE, tls={"cert_file": "c", "key_file": "k"})
    assert change(tls, dict(BASE, tls={"cert_file": "c", "key_file": "k", "timeout": 3})) == {
        "action": "reload", "restart_paths": [], "reload_paths": ["tls.timeout"]}
    mapped = change(tls, dict(BASE, tls={"cert_file": "c", "key_file": "k", "verify_and_map": True}))
    assert mapped == {"action": "restart", "restart_paths": ["tls.verify_and_map"], "reload_paths": []}
    callout = dict(BASE, authorization={"auth_callout": {"issuer": "A", "auth_users": ["a"]}})
    assert change(BASE, callout)["restart_paths"] == [
        "authorization.auth_callout.auth_users", "authorization.auth_callout.issuer"]


def test_a_rule_without_a_readable_release_is_refused():
    with pytest.raises(AnsibleFilterError, match="not a release"):
        nats_server_change(record(BASE), record(dict(BASE, port=1)), [{"path": "port"}])


def test_files_tls_reload_binary_and_unit_restart():
    assert change(BASE, BASE, reload_files=({"tls_cert": "x"}, {"tls_cert": "y"}))["action"] == "reload"
    assert change(BASE, BASE, restart_files=({"binary": "a", "unit": "u"},
                                             {"binary": "b", "unit": "u"}))["action"] == "restart"
    assert change(BASE, BASE, restart_files=({"binary": "a", "unit": "u"},
                                             {"binary": "a", "unit": "v"}))["restart_paths"] == ["file:unit"]


def test_jetstream_on_or_off_restarts():
    off = {k: v for k, v in BASE.items() if k != "jetstream"}
    assert change(BASE, off)["action"] == "restart"
    assert change(off, BASE)["action"] == "restart"


def test_unknown_applied_state_restarts():
    assert nats_server_change({}, record(BASE), RELOADABLE, INCREASE_ONLY)["action"] == "restart"
    assert nats_server_change(None, record(BASE), RELOADABLE, INCREASE_ONLY)["action"] == "restart"


def test_change_paths_never_carry_values():
    secret = dict(BASE, authorization={"token": "$2a$11$secrethash"})
    result = change(BASE, secret)
    assert "secrethash" not in json.dumps(result)


# Each case: (name, config before, config after). The role's classification must match what the
# real server does on reload, except where the role restarts on purpose (CONSERVATIVE). "FREE" is
# a free port, the same before and after; "OTHER" another one.
CLUSTER = {"name": "c", "port": None, "routes": ["nats-route://127.0.0.1:1"]}
TLS = {"cert_file": "CERT"}
USERS = [{"user": "u", "password": "p"}, {"user": "callout", "password": "p"}]
# An account public key (the issuer of auth callout responses).
ISSUER = "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA"
MQTT = {"server_name": "m", "jetstream": {}, "mqtt": {"port": "FREE"}}
LEAF = {"leafnodes": {"port": "FREE"}}
# The listeners the role types (gateway, leaf nodes, websocket, MQTT), with the node's TLS files.
GATEWAY = {"gateway": {"name": "g", "port": "FREE", "tls": TLS}}
LEAF_TLS = {"leafnodes": {"port": "FREE", "tls": TLS}}
WEBSOCKET = {"websocket": {"port": "FREE", "tls": TLS}}
MQTT_TLS = {"server_name": "m", "jetstream": {}, "mqtt": {"port": "FREE", "tls": TLS}}
CASES = [
    ("server_name", {}, {"server_name": "other"}),
    ("host", {}, {"host": "127.0.0.1"}),
    ("client_advertise", {}, {"client_advertise": "example.org:4222"}),
    ("debug", {}, {"debug": True}),
    ("trace", {}, {"trace": True}),
    ("logtime", {}, {"logtime": False}),
    ("logfile_size_limit", {}, {"logfile_size_limit": "10MB"}),
    ("logfile_max_num", {}, {"logfile_max_num": 3}),
    ("max_connections", {}, {"max_connections": 10}),
    ("max_payload", {}, {"max_payload": "2MB"}),
    ("max_pending", {}, {"max_pending": "10MB"}),
    ("write_deadline", {}, {"write_deadline": "5s"}),
    ("max_control_line", {}, {"max_control_line": "8KB"}),
    ("ping_interval", {}, {"ping_interval": "1m"}),
    ("ping_max", {}, {"ping_max": 5}),
    ("lame_duck_duration", {}, {"lame_duck_duration": "40s"}),
    ("lame_duck_grace_period", {}, {"lame_duck_grace_period": "5s"}),
    ("js_store_dir", {"jetstream": {}}, {"jetstream": {"store_dir": "OTHER"}}),
    ("js_limits_up", {"jetstream": {"max_memory_store": "1GB"}}, {"jetstream": {"max_memory_store": "2GB"}}),
    ("js_limits_down", {"jetstream": {"max_memory_store": "1GB"}}, {"jetstream": {"max_memory_store": "512MB"}}),
    ("js_domain", {"jetstream": {}}, {"jetstream": {"domain": "hub"}}),
    ("tls_on", {}, {"tls": TLS}),
    ("users", {}, {"authorization": {"users": [{"user": "u", "password": "p"}]}}),
    ("token", {}, {"authorization": {"token": "t"}}),
    ("accounts", {}, {"accounts": {"A": {"users": [{"user": "u", "password": "p"}]}}}),
    ("account_jetstream", {"jetstream": {}, "accounts": {"A": {"users": [{"user": "u", "password": "p"}]}}},
     {"jetstream": {}, "accounts": {"A": {"jetstream": True, "users": [{"user": "u", "password": "p"}]}}}),
    ("system_account", {"accounts": {"S": {}}}, {"accounts": {"S": {}}, "system_account": "S"}),
    ("no_auth_user", {"authorization": {"users": [{"user": "u", "password": "p"}]}},
     {"authorization": {"users": [{"user": "u", "password": "p"}]}, "no_auth_user": "u"}),
    ("cluster_routes", {"cluster": CLUSTER},
     {"cluster": dict(CLUSTER, routes=CLUSTER["routes"] + ["nats-route://u:p@127.0.0.1:2"])}),
    ("cluster_authorization", {"cluster": CLUSTER},
     {"cluster": dict(CLUSTER, authorization={"user": "u", "password": "p"})}),
    ("cluster_advertise", {"cluster": CLUSTER}, {"cluster": dict(CLUSTER, advertise="10.0.0.1:6222")}),
    ("cluster_no_advertise", {"cluster": CLUSTER}, {"cluster": dict(CLUSTER, no_advertise=True)}),
    ("cluster_port", {"cluster": CLUSTER}, {"cluster": dict(CLUSTER, port="OTHER")}),
    ("cluster_name", {"cluster": CLUSTER}, {"cluster": dict(CLUSTER, name="d")}),
    ("jetstream_off", {"jetstream": {}}, {}),
    ("jetstream_on", {}, {"jetstream": {}}),
    # Keys users set through nats_server_extra_config, reloadable and refused (server/reload.go).
    ("extra_server_tags", {}, {"server_tags": ["az:1"]}),
    ("extra_cluster_compression", {"cluster": CLUSTER}, {"cluster": dict(CLUSTER, compression="s2_fast")}),
    ("extra_mqtt_ack_wait", MQTT, dict(MQTT, mqtt={"port": "FREE", "ack_wait": "1m"})),
    ("extra_mqtt_port", MQTT, dict(MQTT, mqtt={"port": "OTHER"})),
    ("extra_websocket_on", {}, {"websocket": {"port": "FREE", "no_tls": True}}),
    ("extra_tls_verify_and_map", {"tls": TLS}, {"tls": dict(TLS, verify_and_map=True)}),
    ("extra_tls_connection_rate_limit", {"tls": TLS}, {"tls": dict(TLS, connection_rate_limit=100)}),
    ("extra_auth_callout", {"authorization": {"users": USERS}},
     {"authorization": {"users": USERS, "auth_callout": {"issuer": ISSUER, "auth_users": ["callout"]}}}),
    ("extra_leafnode_remote_added", LEAF,
     {"leafnodes": {"port": "FREE", "remotes": [{"url": "nats-leaf://127.0.0.1:1"}]}}),
    ("server_tags_changed", {"server_tags": ["az:1"]}, {"server_tags": ["az:2", "region:east"]}),
    ("js_unique_tag", {"jetstream": {}, "server_tags": ["az:1"]},
     {"jetstream": {"unique_tag": "az:"}, "server_tags": ["az:1"]}),
    ("gateway_on", {}, GATEWAY),
    ("gateway_tls_verify", GATEWAY, {"gateway": dict(GATEWAY["gateway"], tls=dict(TLS, verify=True))}),
    ("gateway_remote_added", GATEWAY,
     {"gateway": dict(GATEWAY["gateway"], gateways=[{"name": "h", "urls": ["nats://u:p@127.0.0.1:1"]}])}),
    ("gateway_authorization", GATEWAY,
     {"gateway": dict(GATEWAY["gateway"], authorization={"user": "u", "password": "p"})}),
    ("leafnodes_tls_verify", LEAF_TLS, {"leafnodes": dict(LEAF_TLS["leafnodes"], tls=dict(TLS, verify=True))}),
    ("leafnodes_users", LEAF_TLS,
     {"leafnodes": dict(LEAF_TLS["leafnodes"], authorization={"users": [{"user": "u", "password": "p"}]})}),
    ("websocket_tls_changed", WEBSOCKET, {"websocket": dict(WEBSOCKET["websocket"], tls=dict(TLS, verify=True))}),
    ("websocket_compression", WEBSOCKET, {"websocket": dict(WEBSOCKET["websocket"], compression=True)}),
    ("mqtt_tls_verify", MQTT_TLS, dict(MQTT_TLS, mqtt=dict(MQTT_TLS["mqtt"], tls=dict(TLS, verify=True)))),
]
# Reloadable for the server, restarted by the role on purpose (vars/main.yml says why).
CONSERVATIVE = {"cluster_name", "jetstream_off", "jetstream_on"}
# What the server reloads differs between releases here: checked on every release on disk.
RELEASE_DEPENDENT = ["js_limits_up", "extra_leafnode_remote_added"]


def _materialise(config, tmp_path, tls_material, ports):
    config = copy.deepcopy(config)
    for block in [config] + [config[name] for name in ("gateway", "leafnodes", "websocket", "mqtt") if name in config]:
        if block.get("tls", {}).get("cert_file") == "CERT":
            block["tls"] = dict(block["tls"], cert_file=tls_material["server_cert"], key_file=tls_material["server_key"])
            if block["tls"].get("verify"):
                block["tls"]["ca_file"] = tls_material["ca"]
    if "jetstream" in config and config["jetstream"].get("store_dir") == "OTHER":
        config["jetstream"]["store_dir"] = str(tmp_path / "other-js")
    if "cluster" in config:
        port = config["cluster"]["port"]
        config["cluster"]["port"] = ports["OTHER"] if port == "OTHER" else ports["FREE"]
    for block in ("mqtt", "websocket", "leafnodes", "gateway"):
        if block in config:
            config[block]["port"] = ports[config[block]["port"]]
    return config


@pytest.fixture
def release(request, monkeypatch):
    """The release whose binary the server fixture starts (and signals) in this test."""
    monkeypatch.setitem(globals(), "BIN", release_binary(request.param))
    return request.param


def _role_and_server_agree(name, before, after, release, server, tmp_path, tls_material):
    ports = {"FREE": free_port(), "OTHER": free_port()}
    old = _materialise(before, tmp_path, tls_material, ports)
    new = _materialise(after, tmp_path, tls_material, ports)
    srv = server(old)
    assert srv.varz()["version"] == release
    old_full = copy.deepcopy(srv.config)
    new_full = srv._complete(dict(new, port=srv.config["port"]))
    role_says = nats_server_change(record(old_full), record(new_full), RELOADABLE, INCREASE_ONLY,
                                   server_version=release, refused=REFUSED)["action"]
    assert role_says in ("reload", "restart"), "the case changes nothing: %r" % role_says
    server_reloads = srv.reload_with(new_full)
    if name in CONSERVATIVE:
        assert server_reloads and role_says == "restart"
    else:
        assert (role_says == "reload") == server_reloads, (
            "%s: role says %s, the server %s the reload; log: %s" % (
                release, role_says, "applied" if server_reloads else "refused",
                srv.log_text()[-400:]))
    return srv, server_reloads


@pytest.mark.parametrize("release", OLDEST_AND_NEWEST, indirect=True)
@pytest.mark.parametrize("name, before, after", CASES, ids=[case[0] for case in CASES])
def test_classification_matches_the_real_server(name, before, after, release, server, tmp_path,
                                                tls_material):
    _role_and_server_agree(name, before, after, release, server, tmp_path, tls_material)


@pytest.mark.parametrize("release", RELEASES, indirect=True)
@pytest.mark.parametrize("name", RELEASE_DEPENDENT)
def test_release_dependent_rules_match_every_release_on_disk(name, release, server, tmp_path,
                                                             tls_material):
    before, after = next((case[1], case[2]) for case in CASES if case[0] == name)
    srv, reloaded = _role_and_server_agree(name, before, after, release, server, tmp_path,
                                           tls_material)
    if name == "js_limits_up" and reloaded:
        # the raised limit is in force, not only accepted
        with urllib.request.urlopen("http://127.0.0.1:%d/jsz" % srv.http, timeout=2) as resp:
            assert json.load(resp)["config"]["max_memory"] == nats_size_bytes("2GB")
    elif name == "js_limits_up":
        assert "config reload not supported for jetstream max memory and store" in srv.log_text()
