# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who is in a JetStream cluster's meta group, and removing servers from it safely.

Everything here talks to the system account: the meta leader's view comes from
``$SYS.REQ.SERVER.PING.JSZ`` (every server answers for itself, or only the leader), and a server
leaves the meta group by ``$JS.API.SERVER.REMOVE``. The meta leader then places the removed
server's stream replicas on the remaining servers (and a removed server that is still running
turns JetStream off). What may not be removed is decided before any request, by ``plan``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import json
import time

from ansible_collections.cim.nats.plugins.module_utils.connection import (
    JetStreamApiError,
    JetStreamClient,
    JetStreamUnavailableError,
)

JSZ_PING = '$SYS.REQ.SERVER.PING.JSZ'
# JSClusterServerNotMemberErr: the server is already out of the meta group.
NOT_A_MEMBER = 10044
# Seconds without a word from a peer before it counts as offline.
SILENT_FOR = 10


class SystemClient(JetStreamClient):
    """A connection as a system account user, with the requests every server answers."""

    def jsz(self, options, expect, wait):
        """Ask every server (or the ones ``options`` filters) for its JSZ; collect the answers.

        Stops after ``expect`` answers or ``wait`` seconds; returns them as
        ``{server name: data}``. A server that reports an error is left out.
        """
        return self._loop.run_until_complete(self._jsz(options, expect, wait))

    async def _jsz(self, options, expect, wait):
        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(inbox, max_msgs=expect)
        answers = {}
        try:
            await self._nc.publish(JSZ_PING, json.dumps(options).encode('utf-8'), reply=inbox)
            deadline = time.monotonic() + wait
            while len(answers) < expect:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    msg = await sub.next_msg(timeout=left)
                except (asyncio.TimeoutError, TimeoutError):  # nats.errors.TimeoutError is both
                    break
                answer = json.loads(msg.data.decode('utf-8'))
                server = (answer.get('server') or {}).get('name')
                if server and 'data' in answer and 'error' not in answer:
                    answers[server] = answer['data']
        finally:
            await sub.unsubscribe()
        return answers

    def meta(self, wait):
        """The meta leader's view: ``{'leader': name, 'peers': {name: {'current', 'offline', 'id'}}}``.

        The leader itself is a peer (current, online). Raises JetStreamUnavailableError when no
        leader answers within ``wait`` seconds (no quorum, or not a system account user).
        """
        answers = self.jsz({'leader_only': True}, 1, wait)
        if not answers:
            raise JetStreamUnavailableError(
                'no JetStream meta leader answered %s within %ss at %s: is the user in the system '
                'account, and does the cluster have a meta leader?' % (JSZ_PING, wait, self.connected_url))
        leader, data = next(iter(answers.items()))
        cluster = data.get('meta_cluster') or {}
        peers = {leader: {'current': True, 'offline': False, 'id': cluster.get('peer', '')}}
        for replica in cluster.get('replicas') or []:
            # A server that was killed is flagged offline only once the leader gives up on it, and
            # can look current while the group has nothing new; it is silent ('active': nanoseconds
            # since the leader heard from it).
            silent = (replica.get('active') or 0) >= SILENT_FOR * 1e9
            peers[replica['name']] = {'current': bool(replica.get('current')),
                                      'offline': bool(replica.get('offline')) or silent,
                                      'id': replica.get('peer', '')}
        # A leader elected after a server died never heard from it ('active' stays 0), and the
        # server is flagged offline only much later: a peer that is not current counts as offline
        # when it does not answer the ping every running server answers.
        doubtful = [name for name, peer in peers.items() if not peer['current'] and not peer['offline']]
        if doubtful:
            running = self.jsz({}, len(peers), wait)
            for name in doubtful:
                peers[name]['offline'] = name not in running
        return {'leader': leader, 'peers': peers}

    def streams_on(self, servers, wait):
        """The streams each running server of ``servers`` holds a replica of.

        ``{server: [{'account', 'stream', 'replicas', 'leader', 'peers': {name: current}}]}``;
        a server that does not answer (stopped, unreachable) is absent.
        """
        found = {}
        for server in servers:
            answers = self.jsz({'server_name': server, 'accounts': True, 'streams': True, 'config': True}, 1, wait)
            if server in answers:
                found[server] = _stream_details(answers[server])
        return found

    def streams_led(self, expect, wait):
        """Every stream a leader reports, as ``{(account, stream): detail}`` (see streams_on)."""
        led = {}
        answers = self.jsz({'accounts': True, 'streams': True, 'config': True}, expect, wait)
        for server, data in answers.items():
            for detail in _stream_details(data):
                if detail['leader'] == server:
                    led[(detail['account'], detail['stream'])] = detail
        return led

    def lead_elsewhere(self, avoid, timeout):
        """Make sure the meta leader is none of ``avoid``: ask it to step down until the new one is
        another server (a leader that removes itself may never answer). Returns the leader."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                leader = self.meta(wait=2)['leader']
            except JetStreamUnavailableError:
                leader = None  # an election is under way
            if leader is not None and leader not in avoid:
                return leader
            if time.monotonic() >= deadline:
                raise JetStreamUnavailableError(
                    'the JetStream meta leader is still one of the servers to remove (%s) after %ss of step-downs'
                    % (', '.join(sorted(avoid)), timeout))
            if leader is not None:
                try:
                    self.api('META.LEADER.STEPDOWN', {})
                except (JetStreamApiError, JetStreamUnavailableError):
                    pass
            time.sleep(1)

    def remove(self, server, timeout):
        """``$JS.API.SERVER.REMOVE`` for one server, until the meta leader no longer lists it.

        The answer can be lost while the meta group changes, so what counts is the leader's view;
        the request is sent again (at most three times) while the server is still listed.
        """
        for _attempt in range(3):
            try:
                self.api('SERVER.REMOVE', {'peer': server}, allow_errors=(NOT_A_MEMBER,))  # 'peer': the name
            except JetStreamUnavailableError:
                pass
            deadline = time.monotonic() + timeout / 3.0
            while time.monotonic() < deadline:
                try:
                    if server not in self.meta(wait=2)['peers']:
                        return True
                except JetStreamUnavailableError:
                    pass
                time.sleep(1)
        return False


def _stream_details(data):
    out = []
    for account in data.get('account_details') or []:
        for stream in account.get('stream_detail') or []:
            cluster = stream.get('cluster') or {}
            peers = {replica['name']: bool(replica.get('current')) and not replica.get('offline')
                     for replica in cluster.get('replicas') or []}
            if cluster.get('leader'):
                peers[cluster['leader']] = True
            out.append({'account': account.get('name') or account.get('id'),
                        'stream': stream['name'],
                        'replicas': int((stream.get('config') or {}).get('num_replicas') or 1),
                        'leader': cluster.get('leader', ''),
                        'peers': peers})
    return out


def plan(view, members, remove, remove_stale, held):
    """Which servers to remove, in order, or why not: ``(to_remove, refusals)``.

    ``view`` is SystemClient.meta(); ``members`` the servers that stay; ``remove`` the ones to
    retire; ``remove_stale``: also the offline peers named in neither list; ``held``: what
    streams_on() found on the servers to remove (running ones). Pure: no request.
    """
    peers = view['peers']
    refusals = []
    overlap = sorted(set(members) & set(remove))
    if overlap:
        refusals.append('%s cannot both stay and be removed.' % ', '.join(overlap))
    others = sorted(name for name in peers if name not in members and name not in remove)
    running_others = [name for name in others if not peers[name]['offline']]
    if running_others:
        refusals.append(
            '%s %s running in the JetStream meta group but named neither as a member nor as a server to '
            'remove: add it to the cluster, or retire it (then it is drained and stopped first).'
            % (', '.join(running_others), 'is' if len(running_others) == 1 else 'are'))
    to_remove = [name for name in remove if name in peers]
    if remove_stale:
        to_remove += [name for name in others if peers[name]['offline']]
    if not to_remove:
        return [], refusals
    missing = sorted(name for name in members if name not in peers or peers[name]['offline'] or not peers[name]['current'])
    if missing:
        refusals.append(
            'the servers that stay are not all current in the meta group (%s): removing a peer now could '
            'leave it without a majority. Bring them back first.' % ', '.join(missing))
    # A majority of the meta group as it is now must stay, and be online.
    online_after = len([name for name in members if name in peers and not peers[name]['offline']])
    if online_after * 2 <= len(peers):
        refusals.append(
            'removing %s would leave %d of the %d peers of the meta group: fewer than a majority. Remove '
            'fewer servers at a time.' % (', '.join(to_remove), online_after, len(peers)))
    for server in to_remove:
        for stream in held.get(server, []):
            name = '%s > %s' % (stream['account'], stream['stream'])
            if stream['replicas'] == 1:
                refusals.append(
                    'stream %s has its only replica on %s, which would lose it: give it more replicas '
                    '(num_replicas: 3) or move it to another server first (or back it up and delete it).'
                    % (name, server))
            elif stream['replicas'] > len(members):
                refusals.append(
                    'stream %s has %d replicas, but only %d servers would remain: lower its replicas first.'
                    % (name, stream['replicas'], len(members)))
    return to_remove, refusals


def wait_replaced(client, server, streams, servers, timeout):
    """After ``server`` left: wait until the meta leader forgot it and each of ``streams`` (what
    it held) is back at its replica count, every replica current, none on ``server``. ``servers``
    is how many servers may answer (the peers before the removal).

    Returns the streams still short of that when ``timeout`` ran out ([] when all are back).
    """
    deadline = time.monotonic() + timeout
    pending = list(streams)
    while True:
        try:
            view = client.meta(wait=2)
            gone = server not in view['peers']
            led = client.streams_led(servers, wait=2) if pending else {}
        except (JetStreamUnavailableError, JetStreamApiError):
            gone, led = False, {}
        pending = [stream for stream in pending if not _whole(led.get((stream['account'], stream['stream'])), server)]
        if gone and not pending:
            return []
        if time.monotonic() >= deadline:
            return pending or [{'account': '', 'stream': '(meta group still lists %s)' % server}]
        time.sleep(1)


def _whole(detail, server):
    return (detail is not None and server not in detail['peers']
            and len(detail['peers']) == detail['replicas'] and all(detail['peers'].values()))
