# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Units as JetStream users write them: durations, sizes, counts and timestamps.

Everything here is pure (no Ansible, no nats-py) so the single-object modules, the bulk
reconcile and the unit tests share one reading of "2m", "1GB" or "-1".

Sizes. The JetStream API takes plain bytes; the unit is read here, on the client. The modules
read it as natscli does (``nats stream add --max-bytes 1G``): every unit is 1024-based, so "1K",
"1KB" and "1KiB" are all 1024 bytes and "1G" is 1073741824. JetStream layouts are most often
copied from natscli commands, and a size there must mean the same here.

nats-server's config file (what the nats_server role writes) reads the bare units differently:
"1K", "1M", "1G", "1T" are powers of 1000 there, and only "1KB"/"1KiB" ... are powers of 1024.
So "1GB" and "1GiB" mean 1073741824 bytes everywhere, while "1G" is 1000000000 bytes in a
``nats_server_*`` variable and 1073741824 bytes in a JetStream module option. Write "GB" (or
"GiB") to mean the same in both. tests/unit/test_size_units_server.py checks both readings
against the real nats-server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

string_types = (str,)
integer_types = (int,)

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
YEAR = 365 * DAY

# Go's units plus the day, week and year that natscli accepts ("365d", "1y").
_DURATION_UNITS = {
    'ns': NANOSECOND,
    'us': MICROSECOND,
    '\u00b5s': MICROSECOND,
    '\u03bcs': MICROSECOND,
    'ms': MILLISECOND,
    's': SECOND,
    'm': MINUTE,
    'h': HOUR,
    'd': DAY,
    'w': WEEK,
    'y': YEAR,
}
_DURATION_PART = re.compile('([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d|w|y)')
_NUMBER = re.compile(r'^[+-]?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)$')

# natscli's reading (K, KB and KiB alike are 1024); see the module docstring for the server's.
_SIZE_UNITS = {
    'b': 1,
    'k': 1 << 10, 'kb': 1 << 10, 'kib': 1 << 10,
    'm': 1 << 20, 'mb': 1 << 20, 'mib': 1 << 20,
    'g': 1 << 30, 'gb': 1 << 30, 'gib': 1 << 30,
    't': 1 << 40, 'tb': 1 << 40, 'tib': 1 << 40,
    'p': 1 << 50, 'pb': 1 << 50, 'pib': 1 << 50,
}
_SIZE = re.compile(r'^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z]+)$')
_UNLIMITED_WORDS = ('unlimited', 'infinite', 'none')

_RFC3339 = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?'
    r'(?:([Zz])|([+-])(\d{2}):?(\d{2}))$'
)


class UnitError(ValueError):
    """A value that cannot be read as the unit it is meant to be in."""


def _is_int(value):
    return isinstance(value, integer_types) and not isinstance(value, bool)


# Strings read as durations: a layout writes the same few ("30d", "2m") for many objects.
_DURATIONS_READ = {}
_DURATIONS_KEPT = 1024


def parse_duration(value, allow_negative=False):
    """Return a duration in nanoseconds, the unit of every JetStream API duration.

    Accepts Go-style strings ("2m", "5s", "1h30m", "500ms", "1.5h") plus days, weeks and
    years ("365d", "2w", "1y" = 365 days), and plain numbers, which are seconds (30, "30",
    2.5).  ``None`` stays ``None`` (option not set).  Negative values raise unless
    ``allow_negative``.
    """
    if not isinstance(value, str):
        return _parse_duration(value, allow_negative)
    key = (value, allow_negative)
    nanos = _DURATIONS_READ.get(key)
    if nanos is None:
        nanos = _parse_duration(value, allow_negative)
        if len(_DURATIONS_READ) < _DURATIONS_KEPT:
            _DURATIONS_READ[key] = nanos
    return nanos


def _parse_duration(value, allow_negative):
    if value is None:
        return None
    if isinstance(value, bool):
        raise UnitError('a duration must be a number of seconds or a string like "2m", not %r' % (value,))
    if _is_int(value) or isinstance(value, float):
        nanos = int(round(value * SECOND))
    elif isinstance(value, string_types):
        text = value.strip().replace(' ', '')
        if not text:
            raise UnitError('an empty string is not a duration')
        if _NUMBER.match(text):
            nanos = int(round(float(text) * SECOND))
        else:
            sign = 1
            if text[0] in '+-':
                sign = -1 if text[0] == '-' else 1
                text = text[1:]
            pos = 0
            total = 0.0
            for match in _DURATION_PART.finditer(text):
                if match.start() != pos:
                    break
                total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text) or pos == 0:
                raise UnitError(
                    'cannot read %r as a duration: use a number of seconds or units ns, us, ms, s, m, h, d, w, y '
                    '(for example "2m", "1h30m", "365d")' % (value,))
            nanos = sign * int(round(total))
    else:
        raise UnitError('cannot read %r as a duration' % (value,))
    if nanos < 0 and not allow_negative:
        raise UnitError('a duration cannot be negative (%r); 0 means no limit where a limit is meant' % (value,))
    return nanos


def format_duration(nanos):
    """Render nanoseconds the way a person writes them ("2m", "1h30m", "365d", "0s").

    Used in messages and diffs; ``parse_duration(format_duration(n)) == n`` for every
    non-negative integer ``n``.
    """
    if nanos is None:
        return None
    if not _is_int(nanos):
        return str(nanos)
    if nanos == 0:
        return '0s'
    sign = '-' if nanos < 0 else ''
    rest = abs(nanos)
    parts = []
    for unit, size in (('d', DAY), ('h', HOUR), ('m', MINUTE), ('s', SECOND), ('ms', MILLISECOND),
                       ('us', MICROSECOND), ('ns', NANOSECOND)):
        if rest >= size:
            count, rest = divmod(rest, size)
            parts.append('%d%s' % (count, unit))
    return sign + ''.join(parts)


def format_size(nbytes):
    """Render a number of bytes for a message, 1024-based as sizes are read ("512 B", "3.4 KiB", "2 GiB")."""
    if nbytes is None:
        return None
    if not _is_int(nbytes) or nbytes < 1024:
        return '%s B' % nbytes
    value = float(nbytes)
    for unit in ('KiB', 'MiB', 'GiB', 'TiB', 'PiB'):
        value /= 1024
        if value < 1024 or unit == 'PiB':
            break
    text = ('%.1f' % value).rstrip('0').rstrip('.')
    return '%s %s' % (text, unit)


def parse_size(value, unlimited=-1):
    """Return a size in bytes.

    Accepts integers, numeric strings and strings with a unit: B, K/KB/KiB, M/MB/MiB, G/GB/GiB,
    T/TB/TiB, P/PB/PiB, all 1024-based as natscli reads them ("1G" == "1GB" == "1GiB" ==
    1073741824; nats-server's config file reads "1G" as 10**9, see the module docstring).  ``-1`` (or any negative number) and the words
    "unlimited"/"infinite"/"none" mean no limit and return ``unlimited``.  ``None`` stays
    ``None``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise UnitError('a size must be a number of bytes or a string like "1GB", not %r' % (value,))
    if _is_int(value):
        return unlimited if value < 0 else value
    if isinstance(value, float):
        if value < 0:
            return unlimited
        if value != int(value):
            raise UnitError('a size in bytes must be a whole number: %r' % (value,))
        return int(value)
    if not isinstance(value, string_types):
        raise UnitError('cannot read %r as a size' % (value,))
    text = value.strip().lower()
    if text in _UNLIMITED_WORDS:
        return unlimited
    if re.match(r'^[+-]?[0-9]+$', text):
        number = int(text)
        return unlimited if number < 0 else number
    if text.startswith('-') and _NUMBER.match(text):
        return unlimited
    match = _SIZE.match(text)
    if not match or match.group(2) not in _SIZE_UNITS:
        raise UnitError('cannot read %r as a size: use bytes or a unit B, KB, MB, GB, TB (1024-based, '
                        'KiB/MiB/GiB/TiB also accepted), or -1 for unlimited' % (value,))
    size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if size != int(size):
        raise UnitError('%r is not a whole number of bytes' % (value,))
    return int(size)


def parse_count(value, unlimited=-1):
    """Return a count (messages, consumers, deliveries).

    Integers or numeric strings; ``-1`` or "unlimited" means no limit and returns
    ``unlimited``.  ``None`` stays ``None``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise UnitError('a count must be an integer, not %r' % (value,))
    if _is_int(value):
        return unlimited if value < 0 else value
    if isinstance(value, float) and value == int(value):
        return unlimited if value < 0 else int(value)
    if isinstance(value, string_types):
        text = value.strip().lower()
        if text in _UNLIMITED_WORDS:
            return unlimited
        if re.match(r'^[+-]?[0-9]+$', text):
            number = int(text)
            return unlimited if number < 0 else number
    raise UnitError('cannot read %r as a count: use an integer, or -1 for unlimited' % (value,))


def normalize_timestamp(value):
    """Return an RFC 3339 timestamp in UTC with its fraction trimmed ("2024-01-01T00:00:00Z").

    JetStream stores start times as the client wrote them ("2024-01-01T01:00:00+01:00"); two
    spellings of one instant must compare equal.  Nanosecond fractions are kept.  Also
    accepts a ``datetime`` (naive means UTC).  ``None`` and "" return ``None``.
    """
    if value is None or value == '':
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_UTC).replace(tzinfo=None)
        fraction = '%06d' % value.microsecond
        base = value.replace(microsecond=0)
    else:
        if not isinstance(value, string_types):
            raise UnitError('cannot read %r as a time: use RFC 3339, e.g. "2024-01-31T12:00:00Z"' % (value,))
        match = _RFC3339.match(value.strip())
        if not match:
            raise UnitError('cannot read %r as a time: use RFC 3339, e.g. "2024-01-31T12:00:00Z"' % (value,))
        year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
        fraction = match.group(7) or ''
        try:
            base = datetime.datetime(year, month, day, hour, minute, second)
        except ValueError as exc:
            raise UnitError('cannot read %r as a time: %s' % (value, exc))
        if match.group(9):
            offset = datetime.timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
            base = base - offset if match.group(9) == '+' else base + offset
    fraction = fraction.rstrip('0')
    text = base.strftime('%Y-%m-%dT%H:%M:%S')
    if fraction:
        text += '.' + fraction
    return text + 'Z'


_UTC = datetime.timezone.utc
