"""What nats_cluster hands to nats_server for each node, computed by ansible-playbook on the
controller only: IPv6 addresses in brackets (nats-server exits at start on a bare one), route
credentials URL-encoded."""
from test_preflight import run_play


def values(results):
    return {host: result["msg"] for status, host, label, result in results
            if status == "ok" and isinstance(result.get("msg"), dict) and "advertise" in result["msg"]}


def test_ipv6_advertise_and_routes_are_bracketed(tmp_path):
    rc, results, out = run_play("cluster_values.yml", tmp_path, host_vars={
        "n1": {"nats_cluster_advertise": "fd00::11"},
        "n2": {"nats_cluster_advertise": "fd00::12"},
        "n3": {"nats_cluster_advertise": "10.0.1.13"}})
    assert rc == 0, out
    got = values(results)
    assert got["n1"]["advertise"] == "[fd00::11]:6222"
    assert got["n3"]["advertise"] == "10.0.1.13:6222"
    assert got["n1"]["route_host"] == "fd00::11"
    assert [url.split("@")[1] for url in got["n1"]["routes"]] == ["[fd00::12]:6222", "10.0.1.13:6222"]


def test_route_credentials_are_url_encoded(tmp_path):
    rc, results, out = run_play("cluster_values.yml", tmp_path,
                                extra=[{"nats_cluster_route_password": "p%ss/w@rd:#1"}])
    assert rc == 0, out
    routes = values(results)["n1"]["routes"]
    assert routes[0] == "nats-route://route:p%25ss%2Fw%40rd%3A%231@n2:6222", routes
    assert values(results)["n1"]["advertise"] == ""
