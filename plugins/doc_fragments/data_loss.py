# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # recreate / acknowledge_data_loss of the modules whose object is a stream (streams, KV buckets,
    # object stores); kept in step with the model's protect_delete and plan_stream.
    DOCUMENTATION = r'''
options:
  recreate:
    description:
      - When the wanted change cannot be made in place (for example O(storage)), delete the stream
        and create it again with the wanted configuration; every setting the task does not change is
        kept. Needs O(acknowledge_data_loss=true).
      - The stream's consumers are deleted with it; tasks that declare them create them again.
    type: bool
    default: false
  acknowledge_data_loss:
    description:
      - Confirms that this task may destroy stored messages (a bucket's keys and values, an object
        store's objects); needed by O(recreate=true), and by O(state=absent) when the stream holds
        messages. An empty one is deleted without it.
      - Without it the task fails before any request and says how many messages (and bytes and
        consumers) would be lost; a user who means it says so once. Check mode reports the same
        in RV(data_loss).
    type: bool
    default: false
'''
