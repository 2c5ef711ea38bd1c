# ngx_mcp: URL shortener and MCP context server inside nginx.
#
#   make          build build/ngx_mcp_module.so and the store library
#   make run      install what is missing, build, serve on 127.0.0.1:$(PORT)
#                 (FIXTURES=1: with the MCP conformance fixtures)
#   make test     install what is missing, build, run every test: the
#                 store's unit tests, a short run of each fuzzer, the
#                 Test::Nginx suites (and again with the module under ASan
#                 and UBSan), the MCP conformance suite and MCP SDK clients,
#                 the cluster suites (NATS JetStream, several nodes), the
#                 deployment recipes (docker/) and the dashboard in a
#                 headless browser
#   make fuzz     each fuzzer for FUZZ_SECONDS (default 60)
#   make bench    the benchmarks, written to bench/RESULTS.md (and the
#                 cluster's to bench/RESULTS-cluster.md)
#   make bench-cluster
#                 the cluster's benchmarks alone
#
# make test prints a summary of each part; a part's whole output is in
# build/logs/ (the store's tests, the fuzzers) or build/test-mcp/, and is
# shown when the part fails.  Its ports, on 127.0.0.1: TEST_NGINX_PORT
# for the Test::Nginx suites, plain and under ASan (default 1984; t/004,
# t/020, t/033, t/034, t/042 and t/043 take the port 7, 8, 9, 10, 11 and
# 12 above it too; the cluster suites, NATS included, 100 to 130 above it; the dashboard's
# browser tests 140 above it; the deployment recipes 150 to 173 above it),
# and PORT for the MCP tests (default 1999; make run's 8080 is not passed
# on), e.g.
#
#   make test TEST_NGINX_PORT=5000 PORT=5090

PORT     ?= 8080
DATA_DIR ?= var/data
FIXTURES ?= 0

.PHONY: all module store deps run test test-store test-nginx test-asan test-mcp \
        test-cluster test-browser test-deploy fuzz fuzz-smoke bench \
        bench-cluster clean

all: module store

module:
	./scripts/build.sh

store:
	$(MAKE) -C store

deps:
	./scripts/deps.sh

run: deps
	$(MAKE) all
	PORT=$(PORT) DATA_DIR=$(DATA_DIR) FIXTURES=$(FIXTURES) ./scripts/run.sh

test: deps
	$(MAKE) all
	@mkdir -p build/logs
	@echo "test-store: the store's unit tests (log: build/logs/test-store.log)"
	@$(MAKE) --no-print-directory test-store > build/logs/test-store.log 2>&1 \
	    || { cat build/logs/test-store.log; exit 1; }
	@grep -E '^(Files=|Result:)' build/logs/test-store.log
	@echo "fuzz-smoke: each fuzzer for 10 s (logs: build/fuzz/logs/)"
	@$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) test-nginx
	$(MAKE) test-asan
	$(MAKE) test-mcp
	$(MAKE) test-cluster
	$(MAKE) test-deploy
	$(MAKE) test-browser

test-store:
	$(MAKE) -C store test

test-nginx:
	./scripts/test-nginx.sh

test-asan:
	./scripts/test-asan.sh

test-mcp:
	./scripts/test-mcp.sh

test-cluster:
	./scripts/test-cluster.sh

test-deploy:
	./scripts/test-deploy.sh

test-browser:
	./scripts/test-browser.sh

fuzz:
	$(MAKE) -C fuzz run

fuzz-smoke:
	$(MAKE) -s --no-print-directory -C fuzz -j2 smoke

bench:
	./bench/run.sh

bench-cluster:
	./bench/cluster.sh

clean:
	rm -rf build t/servroot*
