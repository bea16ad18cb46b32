# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options of every cim.nats JetStream module; kept in step with
    # plugins/module_utils/connection.py connection_argument_spec().
    DOCUMENTATION = r'''
options:
  server:
    description:
      - NATS server URL, or a list of URLs tried in order until one accepts the connection
        (C(nats://host:4222), C(tls://host:4222)).
      - When not set, the comma-separated list in the E(NATS_URL) environment variable, else
        C(nats://localhost:4222).
      - The connection never reconnects and never waits longer than O(connect_timeout) per
        server, so an unreachable server fails the task at once, naming the server and the reason.
    type: list
    elements: str
    aliases: [servers, url]
  user:
    description:
      - User name for user/password authentication.
      - When no authentication option is set in the task, E(NATS_USER) and E(NATS_PASSWORD) are used.
    type: str
    aliases: [username]
  password:
    description:
      - Password for O(user).
    type: str
  token:
    description:
      - Authentication token. When no authentication option is set in the task, E(NATS_TOKEN).
    type: str
  nkey_seed:
    description:
      - NKEY seed (the C(SU...) string) to authenticate with.
    type: str
  nkey_seed_file:
    description:
      - File holding the NKEY seed. When no authentication option is set in the task, E(NATS_NKEY).
    type: path
  creds_file:
    description:
      - Credentials file (user JWT and NKEY seed) for servers in operator/JWT mode.
      - When no authentication option is set in the task, E(NATS_CREDS).
    type: path
  creds:
    description:
      - The content of a credentials file (user JWT and NKEY seed), for a secret kept in a vault
        rather than in a file. Read from memory, never written to disk, never logged.
    type: str
    aliases: [credential_data]
  tls_ca_file:
    description:
      - PEM file with the CA certificates that verify the server. Unset means E(NATS_CA), else
        the system's trust store (used when the URL is C(tls://) or the server requires TLS).
    type: path
  tls_cert_file:
    description:
      - PEM client certificate, for servers that verify clients. Unset means E(NATS_CERT).
    type: path
  tls_key_file:
    description:
      - PEM private key of O(tls_cert_file). Unset means E(NATS_KEY).
    type: path
  tls_hostname:
    description:
      - Host name to verify the server certificate against, when it differs from the host in
        the URL (for example when connecting by IP address).
    type: str
  tls_handshake_first:
    description:
      - Start TLS before the server's first message, for servers whose C(tls) block sets
        C(handshake_first) (nats-server 2.10.4 and newer; nats-py 2.8 and newer). Such a server never answers a client
        that waits for its greeting in plain text.
    type: bool
    default: false
    aliases: [tls_first]
  connect_timeout:
    description:
      - Seconds to wait for each server while connecting (TCP, TLS and the NATS handshake).
    type: float
    default: 5.0
  request_timeout:
    description:
      - Seconds to wait for each JetStream API answer. Raise it for clustered streams with many
        replicas on slow disks.
    type: float
    default: 10.0
  domain:
    description:
      - JetStream domain. Requests then go to C($JS.<domain>.API), for example to reach a hub's
        JetStream through a leaf node.
    type: str
  server_limits:
    description:
      - The server's own C(jetstream { limits }), when it sets any. An option left out then means
        exactly the default the server gives under those limits, and leaving it out after it was
        set resets it to that default.
      - When not set, an omitted O(server_limits.duplicate_window), C(max_ack_pending) or
        C(max_batch) whose current value such a limit could have given (a window or a max ack
        pending below the usual default, any max batch of a pull consumer) is taken as the
        server's default and kept, so a second run reports no change.
      - The server itself refuses values above these limits.
    type: dict
    suboptions:
      duplicate_window:
        description: The server's C(duplicate_window) limit, for example V(1m).
        type: raw
      max_ack_pending:
        description: The server's C(max_ack_pending) limit.
        type: int
      max_request_batch:
        description: The server's C(max_request_batch) limit.
        type: int
notes:
  - Authentication methods are not mixed. When any of O(user), O(password), O(token),
    O(nkey_seed), O(nkey_seed_file), O(creds_file) or O(creds) is set in the task, the environment's
    credentials are ignored; otherwise the first of E(NATS_CREDS), E(NATS_NKEY), E(NATS_TOKEN)
    and E(NATS_USER)/E(NATS_PASSWORD) that is set is used.
  - The module talks to the NATS server from the host it runs on. That is usually the
    controller (C(delegate_to) V(localhost), with nats-py installed there), or a NATS host that
    has nats-py.
requirements:
  - nats-py >= 2.6 (C(pip install nats-py)); C(nkeys) for O(nkey_seed), O(nkey_seed_file), O(creds_file) and O(creds).
'''
