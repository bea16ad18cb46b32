# The two commands of the README, and the pieces they are made of.
.PHONY: sandbox sandbox-down test lint bench build

sandbox:        ## set everything up, start a local 3-node TLS cluster in containers, print its status
	tools/sandbox.sh up

sandbox-down:   ## remove the sandbox containers and network
	tools/sandbox.sh down

test:           ## set everything up and run the whole test suite
	tools/test.sh

bench:          ## the benchmarks, side by side: no-change playbook runs on the sandbox, the JetStream reconcile
	tools/bootstrap.sh && . tools/env.sh && python benchmarks/bench.py

build:          ## build the collection tarball
	. tools/env.sh && ansible-galaxy collection build --force

.PHONY: ee sandbox-layout

ee:             ## render the execution environment's build context into .artifacts/ee/context (ansible-builder create)
	tools/ee.sh

sandbox-layout: ## put the seed's CIM event store on the sandbox (playbooks/jetstream.yml), print its status
	tools/sandbox.sh layout

.PHONY: docs

docs:           ## build the docs site (antsibull-docs, Sphinx) into .artifacts/docs/html; fails on any broken doc
	tools/bootstrap.sh && tests/docs/build_docs.sh
