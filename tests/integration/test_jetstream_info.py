"""cim.nats.jetstream_info, and the modules in a real playbook with module_defaults."""
import json
import os
import subprocess
import sys
import textwrap

from conftest import COLLECTIONS, ROOT, run_module

SECOND = 10 ** 9


def test_info_reports_streams_consumers_and_buckets(nats_plain, unique):
    name = unique
    assert run_module('jetstream_stream', dict(nats_plain.args, name=name, subjects=[name.lower() + '.>'],
                                               max_age='1h'))['changed']
    assert run_module('jetstream_consumer', dict(nats_plain.args, stream=name, name='READER'))['changed']
    assert run_module('jetstream_kv_bucket', dict(nats_plain.args, bucket=name.lower()))['changed']
    assert run_module('jetstream_object_store', dict(nats_plain.args, bucket=name.lower()))['changed']

    report = run_module('jetstream_info', dict(nats_plain.args), check=True)
    assert report['changed'] is False and report.get('failed') is not True
    assert report['server']['jetstream'] is True and report['server']['version']
    assert report['account']['api']['level'] >= 1
    assert report['streams'][name]['config']['max_age'] == 3600 * SECOND
    assert report['streams'][name]['state']['messages'] == 0
    assert report['streams'][name]['consumers']['READER']['config']['ack_policy'] == 'explicit'
    assert name.lower() in report['kv_buckets'] and name.lower() in report['object_stores']

    only = run_module('jetstream_info', dict(nats_plain.args, streams=[name, 'NO_SUCH_STREAM'], consumers=False))
    assert list(only['streams']) == [name] and only['missing'] == ['NO_SUCH_STREAM']
    assert 'consumers' not in only['streams'][name]


def test_info_failure_names_the_server():
    result = run_module('jetstream_info', {'server': 'nats://127.0.0.1:1', 'connect_timeout': 1})
    assert result['failed'] is True and 'nats://127.0.0.1:1' in result['msg']


def test_playbook_with_module_defaults_and_delegation(nats_tls, tmp_path, unique):
    """The action group sets the connection once; a second run changes nothing; check mode agrees."""
    name = unique
    connection = dict(nats_tls.args)
    playbook = tmp_path / 'layout.yml'
    playbook.write_text(textwrap.dedent('''\
        - name: JetStream layout
          hosts: localhost
          gather_facts: false
          module_defaults:
            group/cim.nats.jetstream: %(connection)s
          vars:
            max_age: 30d
          tasks:
            - name: Event stream
              cim.nats.jetstream_stream:
                name: %(name)s
                subjects: ["%(subject)s.>"]
                max_age: "{{ max_age }}"
                duplicate_window: 2m
              delegate_to: localhost
            - name: Projection
              cim.nats.jetstream_consumer:
                stream: %(name)s
                name: PROJECTION
                filter_subject: "%(subject)s.graph.>"
                max_deliver: 3
            - name: Bucket
              cim.nats.jetstream_kv_bucket:
                bucket: %(bucket)s
                history: 3
            - name: Store
              cim.nats.jetstream_object_store:
                bucket: %(bucket)s
            - name: Read back
              cim.nats.jetstream_info:
                streams: [%(name)s]
              register: js
            - name: The layout is there
              when: not ansible_check_mode
              ansible.builtin.assert:
                that:
                  - js.streams['%(name)s'].config.max_age == (max_age == '30d') | ternary(2592000000000000, 0)
                  - js.streams['%(name)s'].consumers.PROJECTION.config.max_deliver == 3
        ''' % dict(connection=json.dumps(connection), name=name, subject=name.lower(), bucket=name.lower())))
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text('all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                         '      ansible_python_interpreter: %s\n' % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_STDOUT_CALLBACK='json', ANSIBLE_NOCOLOR='1')
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

    def play(*extra):
        proc = subprocess.run([ansible_playbook, '-i', str(inventory), str(playbook)] + list(extra),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(tmp_path), timeout=300,
                              check=False)
        assert proc.returncode == 0, proc.stdout.decode()[-3000:] + proc.stderr.decode()[-2000:]
        assert b's3cret-Pa55' not in proc.stdout
        return json.loads(proc.stdout.decode())['stats']['localhost']

    checked = play('--check', '--diff')
    assert checked['changed'] == 4 and checked['failures'] == 0
    first = play()
    assert first['changed'] == 4
    second = play()
    assert second['changed'] == 0
    changed = play('-e', 'max_age=0')
    assert changed['changed'] == 1


def test_missing_nats_py_is_the_standard_missing_library_error(tmp_path):
    hidden = tmp_path / 'nats'
    hidden.mkdir()
    (hidden / '__init__.py').write_text('raise ImportError("nats-py hidden for this test")\n')
    for module in ('jetstream_stream', 'jetstream_consumer', 'jetstream_info'):
        args = {'name': 'X', 'stream': 'X'} if module != 'jetstream_info' else {}
        if module == 'jetstream_stream':
            del args['stream']
        result = run_module(module, args, env={'PYTHONPATH': '%s:%s' % (tmp_path, COLLECTIONS)})
        assert result['failed'] is True
        assert 'Failed to import the required Python library (nats-py)' in result['msg'], result['msg']
