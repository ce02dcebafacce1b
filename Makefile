# Gatehouse. The two commands a newcomer needs:
#   make run    install what is needed and start the whole system locally
#   make test   install what is needed and run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
TOOLS     := $(CURDIR)/.gatehouse/tools
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR := build
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags '-s -w' -buildvcs=false
LOCAL     := ./infra/local/cmd/gatehouse-local

.PHONY: help tools run standins token build frontend test test-go test-frontend test-e2e lint fmt clean $(addprefix build-fn-,$(FUNCTIONS))

help:
	@echo "make run     start Gatehouse locally on http://127.0.0.1:$${PORT:-3000}"
	@echo "make token   SUB=alice ORGS=acme,beta  print a local bearer token"
	@echo "make standins  local Telegram and OpenAI-compatible stand-ins (no internet needed)"
	@echo "make test    run every test (installs emulators and tools first)"
	@echo "make build   build every Lambda bootstrap into $(BUILD_DIR)/<function>/bootstrap"

tools:
	@./scripts/install-tools.sh

run: tools frontend
	GATEHOUSE_ALLOW_PRIVATE_NETWORKS=$${GATEHOUSE_ALLOW_PRIVATE_NETWORKS:-true} $(GO) run $(LOCAL) serve

# Local stand-ins for the Telegram Bot API and an OpenAI-compatible provider.
standins:
	$(GO) run ./infra/local/cmd/gatehouse-standins

# Prints the token and nothing else on stdout.
token:
	@$(GO) run $(LOCAL) token -sub "$(SUB)" -orgs "$(ORGS)"

build:
	@mkdir -p $(BUILD_DIR)/.bin
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/.bin/ ./functions/...
	@for f in $(FUNCTIONS); do mkdir -p $(BUILD_DIR)/$$f && mv $(BUILD_DIR)/.bin/$$f $(BUILD_DIR)/$$f/bootstrap; done
	@ls -l $(BUILD_DIR)/*/bootstrap | awk '{printf "%10d  %s\n", $$5, $$9}'

$(addprefix build-fn-,$(FUNCTIONS)): build-fn-%:
	@mkdir -p $(BUILD_DIR)/$*
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/$*/bootstrap ./functions/$*

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/bin/staticcheck ./...

test-go: tools
	GATEHOUSE_INTEGRATION=1 $(GO) test -race -count=1 -timeout 15m ./...

# The dashboard: npm ci whenever the lockfile changed, then a production build.
frontend:
	@cd frontend && { cmp -s package-lock.json node_modules/.installed-lock.json || { npm ci --no-audit --no-fund && cp package-lock.json node_modules/.installed-lock.json; }; } && npm run build

test-frontend: frontend
	cd frontend && npm test

# Browser tests in Debian's headless Chromium (installed with apt when missing).
test-e2e: tools
	bash scripts/e2e.sh

test: lint build test-go test-frontend test-e2e

clean:
	rm -rf $(BUILD_DIR)
