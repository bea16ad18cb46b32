# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Republishing of stored messages (streams, KV buckets).
    DOCUMENTATION = r'''
options:
  republish:
    description: Republish every stored message (for a bucket, every change) to another subject.
    type: dict
    suboptions:
      src:
        description: Subject filter; the server's default is V(>).
        type: str
      dest:
        description: Destination subject.
        type: str
        required: true
      headers_only:
        description: Republish only the headers.
        type: bool
        default: false
'''
