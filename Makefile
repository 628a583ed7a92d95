# Shortcuts for the scripts the README names.
.PHONY: run test bench

run:
	scripts/run

test:
	scripts/test

bench:
	scripts/install-deps
	Tests/Benchmarks/run.sh
