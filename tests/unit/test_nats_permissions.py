"""JetStream permissions (plugins/filter/nats_permissions.py): the exact subjects each verb
renders, how they merge with the user's own permissions, the errors for bad entries, the warning
for users who subscribe to $JS subjects but cannot pull or ack, and the role's use of both (the
config it builds, the warning Ansible shows, the failure before any host is touched)."""
import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.cim.nats.plugins.filter.nats_permissions import (
    FilterModule, nats_jetstream_permission_warnings, nats_jetstream_permissions)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".collections")

CONSUME_S_C = ["$JS.API.CONSUMER.MSG.NEXT.S.C", "$JS.ACK.S.C.>", "$JS.API.CONSUMER.INFO.S.C"]
MANAGE_ORDERS = [
    "$JS.API.INFO", "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.CREATE.ORDERS", "$JS.API.STREAM.UPDATE.ORDERS", "$JS.API.STREAM.INFO.ORDERS",
    "$JS.API.STREAM.PURGE.ORDERS", "$JS.API.STREAM.DELETE.ORDERS",
    "$JS.API.CONSUMER.CREATE.ORDERS", "$JS.API.CONSUMER.CREATE.ORDERS.>",
    "$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.*", "$JS.API.CONSUMER.INFO.ORDERS.*",
    "$JS.API.CONSUMER.LIST.ORDERS", "$JS.API.CONSUMER.NAMES.ORDERS", "$JS.API.CONSUMER.DELETE.ORDERS.*",
]
SEED_CONSUMER = {"user": "cim_consumer", "password": "x",
                 "permissions": {"publish": ["_INBOX.>"], "subscribe": ["events.>", "$JS.>"]}}


def render_one(jetstream, **entry):
    user = dict({"user": "u", "password": "p", "jetstream": jetstream}, **entry)
    return nats_jetstream_permissions([user])[0]


def test_the_filters_are_registered():
    assert sorted(FilterModule().filters()) == ["nats_jetstream_permission_warnings", "nats_jetstream_permissions"]


def test_consume_allows_fetch_ack_and_info_of_each_consumer_and_the_inbox():
    user = render_one({"consume": [{"stream": "S", "consumer": "C"}, {"stream": "W", "consumer": "P"}]})
    assert user == {"user": "u", "password": "p", "permissions": {
        "publish": CONSUME_S_C + ["$JS.API.CONSUMER.MSG.NEXT.W.P", "$JS.ACK.W.P.>", "$JS.API.CONSUMER.INFO.W.P"],
        "subscribe": ["_INBOX.>"]}}


def test_publish_allows_the_subjects_and_the_inbox_for_the_puback():
    assert render_one({"publish": ["events.>", "dlq.*"]})["permissions"] == {
        "publish": ["events.>", "dlq.*"], "subscribe": ["_INBOX.>"]}


def test_manage_true_allows_the_whole_api():
    assert render_one({"manage": True})["permissions"] == {"publish": ["$JS.API.>"], "subscribe": ["_INBOX.>"]}


def test_manage_streams_allows_their_streams_and_consumers_only():
    assert render_one({"manage": ["ORDERS"]})["permissions"] == {"publish": MANAGE_ORDERS, "subscribe": ["_INBOX.>"]}


def test_manage_false_or_empty_renders_nothing_and_drops_the_key():
    assert render_one({"manage": False}) == {"user": "u", "password": "p"}
    assert render_one({}) == {"user": "u", "password": "p"}
    assert render_one(None) == {"user": "u", "password": "p"}


def test_inbox_prefix_narrows_the_replies():
    assert render_one({"publish": ["a"], "inbox_prefix": "_INBOX_u"})["permissions"]["subscribe"] == ["_INBOX_u.>"]


def test_verbs_combine_in_order_without_duplicates():
    user = render_one({"consume": [{"stream": "S", "consumer": "C"}, {"stream": "S", "consumer": "C"}],
                       "publish": ["events.>"], "manage": True})
    assert user["permissions"] == {"publish": CONSUME_S_C + ["events.>", "$JS.API.>"], "subscribe": ["_INBOX.>"]}


def test_merge_keeps_the_users_subjects_first_and_adds_each_once():
    user = render_one({"consume": [{"stream": "S", "consumer": "C"}]},
                      permissions={"publish": ["app.>", "$JS.ACK.S.C.>"], "subscribe": ["_INBOX.>", "$JS.>"],
                                   "allow_responses": True})
    assert user["permissions"] == {
        "publish": ["app.>", "$JS.ACK.S.C.>", "$JS.API.CONSUMER.MSG.NEXT.S.C", "$JS.API.CONSUMER.INFO.S.C"],
        "subscribe": ["_INBOX.>", "$JS.>"], "allow_responses": True}


def test_merge_into_allow_deny_keeps_the_deny_list():
    user = render_one({"publish": ["events.>"]},
                      permissions={"publish": {"allow": ["a"], "deny": ["events.secret"]},
                                   "subscribe": {"deny": ["secret.>"]}})
    assert user["permissions"] == {"publish": {"allow": ["a", "events.>"], "deny": ["events.secret"]},
                                   "subscribe": {"deny": ["secret.>"], "allow": ["_INBOX.>"]}}


def test_merge_with_a_single_subject_string():
    assert render_one({"publish": ["b"]}, permissions={"publish": "a"})["permissions"]["publish"] == ["a", "b"]


def test_the_input_is_not_changed_and_users_without_jetstream_stay_as_they_are():
    users = [{"user": "a", "password": "p", "jetstream": {"publish": ["x"]}}, SEED_CONSUMER]
    before = json.dumps(users, sort_keys=True)
    out = nats_jetstream_permissions(users)
    assert json.dumps(users, sort_keys=True) == before
    assert out[1] == SEED_CONSUMER and "jetstream" not in out[0]


def test_accounts_keep_their_other_keys():
    accounts = {"CIM": {"jetstream": True, "users": [{"user": "p", "password": "x", "jetstream": {"publish": ["e.>"]}}]},
                "SYS": {"users": [{"user": "sys", "password": "y"}]}, "EMPTY": None}
    assert nats_jetstream_permissions(accounts) == {
        "CIM": {"jetstream": True, "users": [{"user": "p", "password": "x",
                                              "permissions": {"publish": ["e.>"], "subscribe": ["_INBOX.>"]}}]},
        "SYS": {"users": [{"user": "sys", "password": "y"}]}, "EMPTY": None}


@pytest.mark.parametrize("jetstream, words", [
    ({"consum": []}, "jetstream.consum is not a known key"),
    ({"consume": [{"stream": "S"}]}, "jetstream.consume[0].consumer needs the consumer's name"),
    ({"consume": [{"consumer": "C"}]}, "jetstream.consume[0].stream needs the stream's name"),
    ({"consume": [{"stream": "S", "consumer": "C", "ack": True}]}, "jetstream.consume[0].ack is not a known key"),
    ({"consume": [{"stream": "S", "consumer": "C.D"}]}, "jetstream.consume[0].consumer must be the consumer's name"),
    ({"consume": {"stream": "S", "consumer": "C"}}, "jetstream.consume must be a list"),
    ({"consume": ["S"]}, "jetstream.consume[0] must be a dict"),
    ({"publish": "events.>"}, "jetstream.publish must be a list"),
    ({"publish": ["events..x"]}, "jetstream.publish[0] is not a valid subject"),
    ({"publish": ["events.>.x"]}, "jetstream.publish[0] is not a valid subject"),
    ({"manage": "ORDERS"}, "jetstream.manage must be true or a list of stream names"),
    ({"manage": ["OR DERS"]}, "jetstream.manage[0] must be a stream's name"),
    ({"publish": ["a"], "inbox_prefix": "_INBOX.>"}, "jetstream.inbox_prefix must not hold wildcards"),
    (["consume"], "jetstream must be a dict"),
])
def test_bad_entries_name_the_account_the_user_and_the_key(jetstream, words):
    with pytest.raises(AnsibleFilterError) as error:
        nats_jetstream_permissions({"CIM": {"users": [{"user": "ok", "password": "p"},
                                                      {"user": "cim_consumer", "password": "p", "jetstream": jetstream}]}})
    assert str(error.value).startswith("account CIM, user cim_consumer: ")
    assert words in str(error.value)


def test_bad_input_types_are_errors():
    with pytest.raises(AnsibleFilterError, match="list of users or a dict of accounts"):
        nats_jetstream_permissions("users")
    with pytest.raises(AnsibleFilterError, match="users must be a list"):
        nats_jetstream_permissions({"CIM": {"users": {"user": "a"}}})


def test_the_seeds_consumer_is_warned_about():
    warnings = nats_jetstream_permission_warnings({"CIM": {"users": [SEED_CONSUMER]}})
    assert warnings == [
        "account CIM, user cim_consumer subscribes to $JS.> but may not publish a pull request to "
        "$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer> nor an ack to $JS.ACK.<stream>.<consumer>.>, so it "
        "cannot consume from a pull consumer with explicit acks (subscribing to $JS subjects does not give "
        "that). Say what it consumes in its entry: jetstream: {consume: [{stream: STREAM, consumer: CONSUMER}]}."]


def test_a_consumer_declared_with_jetstream_is_not_warned_about():
    fixed = dict(SEED_CONSUMER, jetstream={"consume": [{"stream": "S", "consumer": "C"}]})
    assert nats_jetstream_permission_warnings(nats_jetstream_permissions([fixed])) == []


@pytest.mark.parametrize("permissions, warned, words", [
    ({"subscribe": ["$JS.>"]}, False, ""),  # publish not restricted: it may pull and ack
    ({"publish": ["_INBOX.>"], "subscribe": ["$JS.>"]}, True, "a pull request"),
    ({"publish": {"deny": ["$JS.ACK.>"]}, "subscribe": ["$JS.API.>"]}, True, "may not publish an ack"),
    ({"publish": ["$JS.>"], "subscribe": ["$JS.EVENT.>"]}, False, ""),
    ({"publish": ["$JS.API.CONSUMER.MSG.NEXT.S.C"], "subscribe": ["$JS.>"]}, True, "may not publish an ack"),
    ({"publish": ["_INBOX.>"], "subscribe": ["events.>", ">"]}, False, ""),  # no $JS subject named
    ({"publish": {"deny": ["$JS.API.CONSUMER.MSG.NEXT.S.C"]}, "subscribe": ["$JS.>"]}, False, ""),
])
def test_the_warning_reads_allow_and_deny(permissions, warned, words):
    warnings = nats_jetstream_permission_warnings([{"user": "u", "permissions": permissions}])
    if not warned:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warnings[0].startswith("user u subscribes to ") and words in warnings[0]


def test_default_permissions_stand_in_for_users_without_their_own():
    default = {"publish": ["_INBOX.>"], "subscribe": ["$JS.>"]}
    assert nats_jetstream_permission_warnings([{"user": "a", "password": "p"}], default) == [
        nats_jetstream_permission_warnings([{"user": "a", "permissions": default}])[0]]
    assert nats_jetstream_permission_warnings([{"user": "a", "password": "p"}]) == []


# -- the role: config built with the filter, warning and failure in preflight -------------------
PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Preflight of the permissions
      ansible.builtin.include_role:
        name: cim.nats.nats_server
        tasks_from: preflight_permissions
        public: true
    - name: The users and accounts the config is built with
      ansible.builtin.copy:
        content: "{{ {'users': _nats_server_authorization_block.users,
                      'accounts': _nats_server_config_spec.accounts} | to_json }}"
        dest: "{{ playbook_dir }}/rendered.json"
        mode: "0600"
"""


def run_play(tmp_path, variables):
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(variables))
    # Two hosts with the same users: the warning is still shown once.
    (tmp_path / "hosts.yml").write_text("all:\n  vars:\n    ansible_connection: local\n"
                                        "    ansible_python_interpreter: %s\n"
                                        "  hosts:\n    localhost:\n    node2:\n" % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           "-i", str(tmp_path / "hosts.yml"), "-e", "@%s" % (tmp_path / "vars.yml"),
                           str(tmp_path / "play.yml")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env, cwd=str(tmp_path), timeout=300, check=False)
    return proc.returncode, proc.stdout.decode()


def test_the_role_warns_renders_and_never_shows_the_jetstream_key(tmp_path):
    rc, output = run_play(tmp_path, {
        "nats_server_users": [{"user": "global_pub", "password": "pw-global", "jetstream": {"publish": ["g.>"]}}],
        "nats_server_accounts": {"CIM": {"jetstream": True, "users": [
            SEED_CONSUMER,
            {"user": "graph", "password": "pw-graph",
             "jetstream": {"consume": [{"stream": "GRAPH_EVENTS", "consumer": "GRAPH_PROJECTION"}]}}]}}})
    assert rc == 0, output
    # A real Ansible warning, once, about the seed's consumer only.
    assert output.count("[WARNING]: account CIM, user cim_consumer subscribes to $JS.>") == 1, output
    assert "user graph subscribes" not in output
    rendered = json.loads((tmp_path / "rendered.json").read_text())
    assert rendered["users"] == [{"user": "global_pub", "password": "pw-global",
                                  "permissions": {"publish": ["g.>"], "subscribe": ["_INBOX.>"]}}]
    assert rendered["accounts"]["CIM"]["users"][1] == {
        "user": "graph", "password": "pw-graph", "permissions": {
            "publish": ["$JS.API.CONSUMER.MSG.NEXT.GRAPH_EVENTS.GRAPH_PROJECTION", "$JS.ACK.GRAPH_EVENTS.GRAPH_PROJECTION.>",
                        "$JS.API.CONSUMER.INFO.GRAPH_EVENTS.GRAPH_PROJECTION"],
            "subscribe": ["_INBOX.>"]}}


def test_the_role_fails_a_bad_entry_in_preflight_naming_user_and_key(tmp_path):
    rc, output = run_play(tmp_path, {"nats_server_accounts": {"CIM": {"users": [
        {"user": "graph", "password": "pw-graph", "jetstream": {"consume": [{"stream": "GRAPH_EVENTS"}]}}]}}})
    assert rc != 0
    assert "account CIM, user graph: jetstream.consume[0].consumer needs the consumer's name" in output
    assert "pw-graph" not in output
    assert not (tmp_path / "rendered.json").exists()
