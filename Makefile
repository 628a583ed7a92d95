# The README's commands. `make run` starts hoptrace on the example configuration;
# `make test` installs what is missing, builds, and runs every test.

CONFIG ?= deploy/hoptrace.yaml

.PHONY: deps build run test check bench

deps:
	scripts/install-deps

build: deps
	swift build

run: build
	.build/debug/hoptrace run --config $(CONFIG)

check: build
	.build/debug/hoptrace check --config $(CONFIG)

# The command-line tests run the built binary, so it is built first; the example
# configurations must pass `hoptrace check`.
test: build
	.build/debug/hoptrace check --config deploy/hoptrace.yaml
	swift test

bench: deps
	Tests/Benchmarks/run.sh
