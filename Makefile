# Dargah — see README.md. `make test` is what CI runs.
.PHONY: test run services vet fmt bench load

test:
	bash scripts/test.sh

run:
	go run ./cmd/dargah serve

services:
	@bash scripts/services.sh

vet:
	go vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench:
	eval "$$(bash scripts/services.sh)" && go test -run XXX -bench . -benchmem ./...

# make load [RUNTIME=postgres] [LOAD="-rate 1000 -duration 20s -timeline"]
RUNTIME ?= embedded
LOAD ?= -n 20000 -c 64
load:
	bash scripts/loadbench.sh $(RUNTIME) $(LOAD)
