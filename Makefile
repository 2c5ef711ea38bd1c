# ngx_mcp: URL shortener and MCP context server inside nginx.
#
#   make          build build/ngx_mcp_module.so and the store library
#   make run      install what is missing, build, serve on 127.0.0.1:$(PORT)
#   make test     install what is missing, build, run every test: the
#                 store's unit tests, a short run of each fuzzer, the
#                 Test::Nginx suites (and again with the module under ASan
#                 and UBSan), the MCP conformance suite and MCP SDK clients,
#                 and the cluster suites (NATS JetStream, several nodes)
#   make fuzz     each fuzzer for FUZZ_SECONDS (default 60)
#   make bench    the benchmarks, written to bench/RESULTS.md (and the
#                 cluster's to bench/RESULTS-cluster.md)
#   make bench-cluster
#                 the cluster's benchmarks alone

PORT     ?= 8080
DATA_DIR ?= var/data

.PHONY: all module store deps run test test-store test-nginx test-asan test-mcp \
        test-cluster fuzz fuzz-smoke bench bench-cluster clean

all: module store

module:
	./scripts/build.sh

store:
	$(MAKE) -C store

deps:
	./scripts/deps.sh

run: deps
	$(MAKE) all
	PORT=$(PORT) DATA_DIR=$(DATA_DIR) ./scripts/run.sh

test: deps
	$(MAKE) all
	$(MAKE) test-store
	$(MAKE) fuzz-smoke
	$(MAKE) test-nginx
	$(MAKE) test-asan
	$(MAKE) test-mcp
	$(MAKE) test-cluster

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

fuzz:
	$(MAKE) -C fuzz run

fuzz-smoke:
	$(MAKE) -C fuzz -j2 smoke

bench:
	./bench/run.sh

bench-cluster:
	./bench/cluster.sh

clean:
	rm -rf build t/servroot*
