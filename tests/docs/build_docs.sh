#!/usr/bin/env bash
# The collection's docs site (`make docs`): antsibull-docs checks the docs of every module, filter
# and role (lint-collection-docs), renders them as reStructuredText, and Sphinx builds the HTML
# into .artifacts/docs/html. A broken doc, or any Sphinx warning, fails the build.
set -euo pipefail
source "$(dirname "$0")/../../tools/env.sh"
cd "$CIM_NATS_ROOT"
out=$CIM_NATS_ROOT/.artifacts/docs
rm -rf "$out"

# The files git knows (no venv, caches or artifacts: antsibull-docs copies the whole tree), as
# the only collections Ansible sees besides the one cim.nats depends on.
collections=$out/collections/ansible_collections
mkdir -p "$collections/cim/nats" "$collections/community"
git ls-files -z | tar --null -T - --ignore-failed-read -c 2>/dev/null | tar -x -C "$collections/cim/nats"
crypto=$(python -c 'import ansible_collections.community.crypto as c; print(list(c.__path__)[0])')
ln -s "$crypto" "$collections/community/crypto"
export ANSIBLE_COLLECTIONS_PATH=$out/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false

echo "==> checking the collection's docs"
(cd "$collections/cim/nats" && antsibull-docs lint-collection-docs --plugin-docs .)

echo "==> rendering them"
# antsibull-docs writes only into directories that no one else may write to.
mkdir -p "$out/site/rst"
chmod 755 "$out/site" "$out/site/rst"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --project cim.nats \
  --title cim.nats --copyright "cim.nats maintainers" --dest-dir "$out/site" cim.nats >/dev/null
antsibull-docs --config-file "$out/site/antsibull-docs.cfg" collection --use-current --squash-hierarchy \
  --fail-on-error --dest-dir "$out/site/rst" cim.nats

echo "==> building the HTML"
# Offline: no intersphinx inventories to fetch (sphinx-init's conf.py lists four on the internet),
# so references into Ansible's own docs (ansible.builtin modules, common return values, ...) stay
# unresolved. Every other warning, and any unresolved reference into cim.nats, fails the build.
sphinx-build -q -b html -D extensions=sphinx.ext.autodoc,sphinx_antsibull_ext \
  -c "$out/site" "$out/site/rst" "$out/html" 2>"$out/sphinx-warnings.log"
if grep -vP "WARNING: undefined label: '(?!ansible_collections\.cim\.nats\.)" "$out/sphinx-warnings.log" >&2; then
  echo "the docs build has warnings (above; all of them in $out/sphinx-warnings.log)" >&2
  exit 1
fi
echo "docs site: $out/html/index.html"
