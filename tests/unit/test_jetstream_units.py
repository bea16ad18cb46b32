"""Durations, sizes, counts and timestamps as users write them."""
import pytest

from ansible_collections.cim.nats.plugins.module_utils.units import (
    DAY,
    HOUR,
    MILLISECOND,
    MINUTE,
    SECOND,
    UnitError,
    format_duration,
    format_size,
    normalize_timestamp,
    parse_count,
    parse_duration,
    parse_size,
)


@pytest.mark.parametrize('text, nanos', [
    ('2m', 2 * MINUTE),
    ('5s', 5 * SECOND),
    ('365d', 365 * DAY),
    ('1h30m', HOUR + 30 * MINUTE),
    ('500ms', 500 * MILLISECOND),
    ('1.5h', HOUR + 30 * MINUTE),
    ('1w', 7 * DAY),
    ('1y', 365 * DAY),
    ('250us', 250 * 1000),
    ('10ns', 10),
    (' 2m 30s ', 2 * MINUTE + 30 * SECOND),
    (30, 30 * SECOND),
    ('30', 30 * SECOND),
    (2.5, 2500 * MILLISECOND),
    (0, 0),
    ('0s', 0),
])
def test_durations_in_nanoseconds(text, nanos):
    assert parse_duration(text) == nanos


def test_duration_none_means_unset():
    assert parse_duration(None) is None


@pytest.mark.parametrize('bad', ['2 minutes', 'm', '5x', '', '1h-30m', True, [1], '--1s'])
def test_unreadable_durations_name_the_value(bad):
    with pytest.raises(UnitError) as err:
        parse_duration(bad)
    assert 'duration' in str(err.value)


def test_negative_duration_refused_unless_allowed():
    with pytest.raises(UnitError):
        parse_duration('-5s')
    assert parse_duration('-5s', allow_negative=True) == -5 * SECOND


@pytest.mark.parametrize('nanos', [0, 1, 999, SECOND, 2 * MINUTE, HOUR + 30 * MINUTE + 5 * MILLISECOND, 365 * DAY,
                                   7 * DAY + 3 * SECOND])
def test_format_duration_round_trips(nanos):
    assert parse_duration(format_duration(nanos)) == nanos


def test_format_duration_reads_like_a_person_writes():
    assert format_duration(2 * MINUTE) == '2m'
    assert format_duration(HOUR + 30 * MINUTE) == '1h30m'
    assert format_duration(365 * DAY) == '365d'
    assert format_duration(0) == '0s'


@pytest.mark.parametrize('text, size', [
    ('1GB', 1 << 30),
    ('1GiB', 1 << 30),
    ('512MiB', 512 << 20),
    ('512mb', 512 << 20),
    ('10G', 10 << 30),
    ('1K', 1024),
    ('100B', 100),
    ('1.5KB', 1536),
    ('2TB', 2 << 40),
    (1024, 1024),
    ('1024', 1024),
    (-1, -1),
    ('-1', -1),
    ('unlimited', -1),
    (0, 0),
])
def test_sizes_in_bytes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize('bad', ['1 gigabyte', 'GB', '1.3B', '12XB', True, {}])
def test_unreadable_sizes(bad):
    with pytest.raises(UnitError):
        parse_size(bad)


@pytest.mark.parametrize('value, count', [(5, 5), ('5', 5), (-1, -1), ('-1', -1), ('unlimited', -1), (-7, -1)])
def test_counts(value, count):
    assert parse_count(value) == count


@pytest.mark.parametrize('bad', ['five', '1.5', True, '5k'])
def test_unreadable_counts(bad):
    with pytest.raises(UnitError):
        parse_count(bad)


@pytest.mark.parametrize('text, canonical', [
    ('2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z'),
    ('2024-01-01T01:00:00+01:00', '2024-01-01T00:00:00Z'),
    ('2023-12-31T23:30:00-00:30', '2024-01-01T00:00:00Z'),
    ('2024-01-01T00:00:00.500000000Z', '2024-01-01T00:00:00.5Z'),
    ('2024-01-01T00:00:00.123456789Z', '2024-01-01T00:00:00.123456789Z'),
    ('2024-02-29 12:00:00z', '2024-02-29T12:00:00Z'),
])
def test_timestamps_compare_by_instant(text, canonical):
    assert normalize_timestamp(text) == canonical


@pytest.mark.parametrize('bad', ['yesterday', '2024-13-01T00:00:00Z', '2024-01-01', 12])
def test_unreadable_timestamps(bad):
    with pytest.raises(UnitError):
        normalize_timestamp(bad)


@pytest.mark.parametrize('nbytes, text', [
    (0, '0 B'), (1023, '1023 B'), (1024, '1 KiB'), (1536, '1.5 KiB'), (10 << 20, '10 MiB'),
    ((3 << 30) + (1 << 29), '3.5 GiB'), (1 << 60, '1024 PiB'),
])
def test_sizes_in_messages_read_as_the_options_are_written(nbytes, text):
    assert format_size(nbytes) == text
    if nbytes and text.split()[0].isdigit():
        assert parse_size(text.replace(' ', '')) == nbytes
