# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Check and diff mode of the modules that manage JetStream objects.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
    description:
      - Reads the server and reports exactly what a real run would do, including what a delete or
        recreate would destroy; changes nothing.
  diff_mode:
    support: full
    description:
      - Returns the normalised configuration before and after (for a bucket, of its stream), durations
        in nanoseconds.
'''

    # The read-only modules.
    INFO = r'''
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
'''
