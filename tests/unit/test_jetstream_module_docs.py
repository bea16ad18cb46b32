"""The JetStream modules document what they share once: options in plugins/doc_fragments, and
return values (which Ansible cannot take from a fragment) word for word alike in every module
that returns them."""
import ast
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = ('jetstream_stream', 'jetstream_kv_bucket', 'jetstream_object_store', 'jetstream_consumer', 'jetstream_info')
SHARED_RETURNS = ('action', 'changes', 'message', 'refused', 'err_code', 'data_loss')
# Options that live in one fragment each; a module restating them would drift from the others.
FRAGMENT_OPTIONS = {
    'connection': ('server', 'user', 'password', 'creds', 'tls_handshake_first', 'server_limits'),
    'data_loss': ('recreate', 'acknowledge_data_loss'),
    'placement': ('placement',),
    'republish': ('republish',),
}


def _doc(module, name):
    with open(os.path.join(ROOT, 'plugins', 'modules', module + '.py')) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == name:
            return yaml.safe_load(node.value.value) or {}
    raise AssertionError('%s has no %s' % (module, name))


@pytest.mark.parametrize('key', SHARED_RETURNS)
def test_shared_return_values_read_the_same_everywhere(key):
    documented = dict((m, _doc(m, 'RETURN')[key]) for m in MODULES if key in _doc(m, 'RETURN'))
    assert len(documented) >= 3, documented
    texts = set(repr((d['description'], d['returned'], d['type'])) for d in documented.values())
    assert len(texts) == 1, documented


@pytest.mark.parametrize('module', MODULES)
def test_modules_take_shared_options_from_the_fragments(module):
    doc = _doc(module, 'DOCUMENTATION')
    fragments = doc['extends_documentation_fragment']
    assert fragments[:2] == ['cim.nats.connection', 'cim.nats.attributes' + ('.info' if module == 'jetstream_info' else '')]
    for fragment, options in FRAGMENT_OPTIONS.items():
        if fragment == 'data_loss' and module == 'jetstream_consumer':
            continue  # a consumer's recreate loses delivery state, not messages: its own text
        restated = [option for option in options if option in doc.get('options', {})]
        assert restated == [], '%s documents %s itself instead of taking cim.nats.%s' % (module, restated, fragment)
