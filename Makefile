# Shortcuts for the scripts the README names.
.PHONY: run test bench instructions

run:
	scripts/run

test:
	scripts/test

bench:
	scripts/install-deps nginx-light haproxy wrk curl python3
	Tests/Benchmarks/run.sh

instructions:
	scripts/install-deps valgrind nginx-light curl python3
	Tests/Benchmarks/instructions.sh
