"""The JetStream modules document what they share once: options in plugins/doc_fragments, and
return values (which Ansible cannot take from a fragment) as declared in tools/return_docs.py,
in every module that returns them.  Every option a module documents (with its fragments) agrees with the
argument spec the field tables give, and tools/field_docs.py prints entries that agree too."""
import ast
import importlib.util
import os
import re

import pytest
import yaml

from ansible_collections.cim.nats.plugins.module_utils.connection import connection_argument_spec
from ansible_collections.cim.nats.plugins.module_utils.jetstream_fields import (
    CONDITIONAL,
    CONSUMER_FIELDS,
    IMMUTABLE,
    KIND_FIELDS,
    STREAM_FIELDS,
    TURN_ON_ONLY,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import (
    consumer_argument_spec,
    kv_bucket_argument_spec,
    object_store_argument_spec,
    stream_argument_spec,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KIND_MODULES = {
    'stream': ('jetstream_stream', stream_argument_spec),
    'consumer': ('jetstream_consumer', consumer_argument_spec),
    'kv_bucket': ('jetstream_kv_bucket', kv_bucket_argument_spec),
    'object_store': ('jetstream_object_store', object_store_argument_spec),
}
MODULES = ('jetstream_stream', 'jetstream_kv_bucket', 'jetstream_object_store', 'jetstream_consumer', 'jetstream_info')
# Options that live in one fragment each; a module restating them would drift from the others.
FRAGMENT_OPTIONS = {
    'connection': ('server', 'user', 'password', 'creds', 'tls_handshake_first', 'server_limits'),
    'data_loss': ('recreate', 'acknowledge_data_loss'),
    'placement': ('placement',),
    'republish': ('republish',),
}


def _literal(body, name, where):
    for node in body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == name:
            return yaml.safe_load(node.value.value) or {}
    raise AssertionError('%s has no %s' % (where, name))


def _doc(module, name):
    with open(os.path.join(ROOT, 'plugins', 'modules', module + '.py')) as handle:
        return _literal(ast.parse(handle.read()).body, name, module)


def _fragment(reference):
    """The options of a fragment named as in extends_documentation_fragment (``cim.nats.attributes.info``)."""
    parts = reference.split('.')[2:]
    with open(os.path.join(ROOT, 'plugins', 'doc_fragments', parts[0] + '.py')) as handle:
        tree = ast.parse(handle.read())
    cls = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == 'ModuleDocFragment'][0]
    return _literal(cls.body, parts[1].upper() if len(parts) > 1 else 'DOCUMENTATION', reference).get('options', {})


def _documented_options(module):
    """The module's options with its fragments merged in, as Ansible merges them (the module's keys win)."""
    doc = _doc(module, 'DOCUMENTATION')
    options = dict(doc.get('options') or {})
    for reference in doc.get('extends_documentation_fragment', []):
        for name, entry in _fragment(reference).items():
            options[name] = dict(entry, **options.get(name, {}))
    return options


def _disagreements(path, spec, documented):
    """Where documented options and an argument spec disagree, one sentence each, naming the option."""
    out = []
    for name in sorted(set(spec) - set(documented)):
        out.append('%s%s: in the argument spec, not documented' % (path, name))
    for name in sorted(set(documented) - set(spec)):
        out.append('%s%s: documented, not in the argument spec' % (path, name))
    for name in sorted(set(spec) & set(documented)):
        want, doc = spec[name], documented[name]
        for key, empty in (('type', 'str'), ('required', False), ('default', None), ('elements', None),
                           ('choices', None), ('aliases', [])):
            spec_value, doc_value = want.get(key, empty), doc.get(key, empty)
            if key == 'aliases':
                spec_value, doc_value = sorted(spec_value), sorted(doc_value)
            if spec_value != doc_value:
                out.append('%s%s: %s is %r in the argument spec, %r in DOCUMENTATION' % (
                    path, name, key, spec_value, doc_value))
        if want.get('options') or doc.get('suboptions'):
            out.extend(_disagreements('%s%s.' % (path, name), want.get('options') or {}, doc.get('suboptions') or {}))
    return out


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, 'tools', name + '.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _field_docs_tool():
    return _tool('field_docs')


RETURN_DOCS = _tool('return_docs')


def _return_disagreements(module, documented):
    """Where a module's RETURN and the shared declarations disagree, one sentence each, naming module and key."""
    out = []
    for key in RETURN_DOCS.SHARED_RETURNS:
        want, doc = RETURN_DOCS.return_doc(module, key), documented.get(key)
        if want is None and doc is not None:
            out.append('%s documents %s, which tools/return_docs.py does not declare for it' % (module, key))
        elif want is not None and doc is None:
            out.append('%s does not document %s' % (module, key))
        elif want is not None:
            for name in sorted(set(want) | set(doc)):
                if want.get(name) != doc.get(name):
                    out.append('%s %s: %s is %r in RETURN, %r in tools/return_docs.py' % (
                        module, key, name, doc.get(name), want.get(name)))
    return out


@pytest.mark.parametrize('kind', sorted(KIND_MODULES))
def test_documented_options_match_the_field_tables(kind):
    module, argument_spec = KIND_MODULES[kind]
    spec = dict(connection_argument_spec(), **argument_spec())
    assert _disagreements('', spec, _documented_options(module)) == []


@pytest.mark.parametrize('kind', sorted(KIND_MODULES))
def test_the_field_docs_tool_prints_what_the_spec_takes(kind):
    tool = _field_docs_tool()
    printed = yaml.safe_load(yaml.safe_dump(tool.options_doc(kind)))
    spec = KIND_MODULES[kind][1]()
    fields = dict((option, spec[option]) for option in KIND_FIELDS[kind])
    assert _disagreements('', fields, printed) == []
    assert [option for option, entry in printed.items() if not entry['description']] == []
    assert list(tool.options_doc(kind, ['description'])) == ['description']


def test_a_disagreement_names_the_field():
    spec = {'max_age': {'type': 'raw'}, 'placement': {'type': 'dict', 'options': {'tags': {'type': 'list', 'elements': 'str'}}}}
    documented = {'max_age': {'type': 'str'}, 'placement': {'type': 'dict', 'suboptions': {'tags': {'type': 'list'}}}}
    assert _disagreements('', spec, documented) == [
        "max_age: type is 'raw' in the argument spec, 'str' in DOCUMENTATION",
        "placement.tags: elements is 'str' in the argument spec, None in DOCUMENTATION",
    ]


@pytest.mark.parametrize('module', MODULES)
def test_shared_return_values_are_documented_as_declared(module):
    assert _return_disagreements(module, _doc(module, 'RETURN')) == []


def test_every_shared_return_value_is_returned_by_several_modules():
    assert dict((key, sorted(entry['samples'])) for key, entry in RETURN_DOCS.SHARED_RETURNS.items()
                if len(entry['samples']) < 3) == {}


def test_a_return_disagreement_names_the_module_and_key():
    documented = dict((key, RETURN_DOCS.return_doc('jetstream_consumer', key)) for key in RETURN_DOCS.SHARED_RETURNS)
    documented['data_loss'] = RETURN_DOCS.return_doc('jetstream_stream', 'data_loss')
    documented['err_code'] = dict(documented['err_code'], type='str')
    del documented['message']
    assert _return_disagreements('jetstream_consumer', documented) == [
        'jetstream_consumer documents data_loss, which tools/return_docs.py does not declare for it',
        'jetstream_consumer does not document message',
        "jetstream_consumer err_code: type is 'str' in RETURN, 'int' in tools/return_docs.py",
    ]


@pytest.mark.parametrize('module', RETURN_DOCS.MODULES)
def test_the_return_docs_tool_prints_what_the_test_expects(module):
    printed = yaml.safe_load(RETURN_DOCS.render(RETURN_DOCS.returns_doc(module)))
    assert _return_disagreements(module, printed) == []
    assert list(RETURN_DOCS.returns_doc(module, ['message'])) == ['message']


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


def _mentioned(module, after, before):
    """The options named O(...) in the module's description between the words ``after`` and ``before``."""
    text = ' '.join(' '.join(_doc(module, 'DOCUMENTATION')['description']).split())
    match = re.search(re.escape(after) + '(.*?)' + re.escape(before), text)
    assert match, '%s: no "%s ... %s" in the description' % (module, after, before)
    return set(name.split('=')[0] for name in re.findall(r'O\(([^)]+)\)', match.group(1)))


def _ruled(fields, rule):
    return set(name for name, field in fields.items() if field.rule == rule and name not in ('name', 'durable_name'))


def test_the_stream_description_lists_the_update_rules_of_the_table():
    assert _mentioned('jetstream_stream', 'never allows in place', 'only allows one way') == _ruled(
        STREAM_FIELDS, IMMUTABLE)
    assert _mentioned('jetstream_stream', 'only allows one way', 'can be turned on') == _ruled(
        STREAM_FIELDS, TURN_ON_ONLY)
    assert _ruled(STREAM_FIELDS, CONDITIONAL) <= _mentioned('jetstream_stream', 'allows conditionally', 'fail before')


def test_the_consumer_description_lists_the_update_rules_of_the_table():
    assert _mentioned('jetstream_consumer', 'The server never changes', 'nor turns a pull consumer') == _ruled(
        CONSUMER_FIELDS, IMMUTABLE)


@pytest.mark.parametrize('module', sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                                          if name.endswith('.py') and not name.startswith('_')))
def test_every_module_documentation_is_yaml_ansible_doc_can_read(module):
    for name in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
        try:
            _doc(module, name)
        except yaml.YAMLError as exc:
            raise AssertionError('%s %s is not YAML: %s' % (module, name, exc))
