# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Placement of a clustered stream, KV bucket or object store.
    DOCUMENTATION = r'''
options:
  placement:
    description:
      - Where a clustered stream is placed. Changing it moves the stream; not together with
        O(num_replicas) in one update.
    type: dict
    suboptions:
      cluster:
        description: Name of the cluster.
        type: str
      tags:
        description: Tags the chosen servers must have.
        type: list
        elements: str
      preferred:
        description: Server preferred as the leader (nats-server 2.11 and newer).
        type: str
'''
