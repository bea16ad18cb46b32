"""What a size such as "1G" or "1GB" means, asked of the real nats-server.

The server's config parser reads K, M, G, T as powers of 1000 and KB, MB, GB, TB (and KiB ...)
as powers of 1024. The nats_server role writes its size variables into the config as given and
reads them the same way (preflight, reload-versus-restart), so its filter must agree with the
server. The JetStream modules read sizes as natscli does, every unit 1024-based: the same as the
server for "1GB", not for "1G". Both readings are pinned here, so a change to either shows.
"""
import pytest

from ansible_collections.cim.nats.plugins.filter.nats_server import nats_size_bytes
from ansible_collections.cim.nats.plugins.module_utils.units import parse_size
from nats_harness import NatsServer

# What nats-server 2.x makes of each spelling in its config file.
SERVER_BYTES = {
    "1K": 10 ** 3, "1KB": 2 ** 10, "1KiB": 2 ** 10,
    "1M": 10 ** 6, "1MB": 2 ** 20, "1MiB": 2 ** 20,
    "1G": 10 ** 9, "1GB": 2 ** 30, "1GiB": 2 ** 30,
    "1T": 10 ** 12, "1TB": 2 ** 40, "1TiB": 2 ** 40,
}


def _varz_of(tmp_path, config_lines):
    """Start nats-server with these config lines, return its /varz, stop it."""
    config = "\n".join(["port: -1", "http: 127.0.0.1:-1"] + config_lines) + "\n"
    with NatsServer(tmp_path / "server", config) as server:
        return server.varz()


@pytest.mark.parametrize("size", sorted(SERVER_BYTES))
def test_jetstream_store_limits_read_k_as_1000_and_kb_as_1024(tmp_path, size):
    varz = _varz_of(tmp_path, [
        'jetstream { store_dir: "%s", max_memory_store: %s, max_file_store: %s }'
        % (tmp_path / "js", size, size)])
    config = varz["jetstream"]["config"]
    assert (config["max_memory"], config["max_storage"]) == (SERVER_BYTES[size], SERVER_BYTES[size])


def test_max_payload_reads_1k_as_1000_and_1kb_as_1024(tmp_path):
    assert _varz_of(tmp_path, ["max_payload: 1K"])["max_payload"] == 1000
    assert _varz_of(tmp_path, ["max_payload: 1KB"])["max_payload"] == 1024


@pytest.mark.parametrize("size", sorted(SERVER_BYTES))
def test_the_roles_reading_is_the_servers(size):
    assert nats_size_bytes(size) == SERVER_BYTES[size]


@pytest.mark.parametrize("size", ["1KB", "1KiB", "1MB", "1MiB", "1GB", "1GiB", "1TB", "1TiB"])
def test_the_modules_read_b_and_ib_units_as_the_server_does(size):
    assert parse_size(size) == SERVER_BYTES[size]


@pytest.mark.parametrize("size, natscli_bytes", [
    ("1K", 2 ** 10), ("1M", 2 ** 20), ("1G", 2 ** 30), ("1T", 2 ** 40)])
def test_the_modules_read_bare_units_as_natscli_not_as_the_server_config(size, natscli_bytes):
    assert parse_size(size) == natscli_bytes != SERVER_BYTES[size]
