# Shortcuts for the scripts the README names.
.PHONY: run test bench

run:
	scripts/run

test:
	scripts/test

bench:
	scripts/install-deps nginx-light haproxy wrk curl python3
	Tests/Benchmarks/run.sh
