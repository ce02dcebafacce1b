# Gatehouse. The two commands a newcomer needs:
#   make run    install what is needed and start the whole system locally
#   make test   install what is needed and run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
TOOLS     := $(CURDIR)/.gatehouse/tools
# Every folder of functions/ with a main.go (functions/permissions.json is data).
FUNCTIONS := $(notdir $(patsubst %/main.go,%,$(wildcard functions/*/main.go)))
BUILD_DIR := build
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags '-s -w' -buildvcs=false
LOCAL     := ./infra/local/cmd/gatehouse-local
# The repository root, wherever make runs: `sam build` runs this Makefile
# from a scratch folder.
ROOT      := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

# template.yaml's functions (logical id: folder under functions/). `sam build`
# (BuildMethod: makefile, ContextPath: .) runs `make build-<LogicalId>` with
# ARTIFACTS_DIR set; infra/template checks this list against the template.
SAM_FUNCTIONS := \
	ListGatewaysFunction:list-gateways \
	CreateGatewayFunction:create-gateway \
	GetGatewayFunction:get-gateway \
	UpdateGatewayFunction:update-gateway \
	UpdateGatewayStatusFunction:update-gateway-status \
	DeleteGatewayFunction:delete-gateway \
	GatewayAuditFunction:gateway-audit \
	ListUpdatesFunction:list-updates \
	RoutesFunction:routes \
	MessagesFunction:messages \
	TestGatewayFunction:test-gateway \
	GatewayActionFunction:gateway-action \
	ListProvidersFunction:list-providers \
	HealthHistoryFunction:health-history \
	TelegramWebhookFunction:telegram-webhook \
	FilesFunction:files \
	HealthCheckFunction:health-check \
	HealthWorkerFunction:health-worker \
	MessageSenderFunction:message-sender \
	RotateCredentialsFunction:rotate-credentials \
	DeliveryFunction:delivery
SAM_TARGETS := $(foreach f,$(SAM_FUNCTIONS),build-$(word 1,$(subst :, ,$(f))))
.PHONY: package deploy $(SAM_TARGETS)

# Deploying: the samconfig.toml environment, and the stack it deploys.
SAM_ENV   ?= default
STACK     ?= gatehouse
SAM       ?= sam
AWS       ?= aws
PACKAGE_DIR := $(BUILD_DIR)/package

.PHONY: help tools run standins health rotate-credentials bench soak fuzz token build frontend test test-go test-fuzz test-soak test-frontend test-e2e lint fmt clean $(addprefix build-fn-,$(FUNCTIONS))

help:
	@echo "make run     start Gatehouse locally on http://127.0.0.1:$${PORT:-3000}"
	@echo "make token   SUB=alice ORGS=acme,beta  print a local bearer token"
	@echo "make standins  local Telegram and OpenAI-compatible stand-ins and a webhook receiver (no internet needed;"
	@echo "               ports STANDIN_TELEGRAM_PORT=8081 STANDIN_AI_PORT=8082 STANDIN_RECEIVER_PORT=8083)"
	@echo "make test    run every test (installs emulators and tools first)"
	@echo "make build   build every Lambda bootstrap into $(BUILD_DIR)/<function>/bootstrap"
	@echo "make health  run one health-check sweep now (while make run is running)"
	@echo "make rotate-credentials  re-encrypt every gateway's credentials under the current key (DRY_RUN=1 RESUME=1)"
	@echo "make bench   run the benchmarks"
	@echo "make soak    60 s of mixed traffic against the local runner (D=60s C=16)"
	@echo "make fuzz    every fuzz target for FUZZTIME each (default 5m)"
	@echo "make package one reproducible zip per function in $(PACKAGE_DIR)/"
	@echo "make deploy  sam build && sam deploy (SAM_ENV=default|localstack), then upload the dashboard"

tools:
	@./scripts/install-tools.sh

# Only what running needs (DynamoDB Local, Java 17, local-kms); the tests'
# own tools (the runtime emulator, staticcheck, qemu) come with `make tools`.
.PHONY: tools-run
tools-run:
	@./scripts/install-tools.sh run

run: tools-run frontend
	GATEHOUSE_ALLOW_PRIVATE_NETWORKS=$${GATEHOUSE_ALLOW_PRIVATE_NETWORKS:-true} $(GO) run $(LOCAL) serve

# Local stand-ins for the Telegram Bot API and an OpenAI-compatible provider,
# and a webhook receiver that checks signatures (infra/local/cmd/gatehouse-standins),
# on these ports (README "Telegram and AI without the internet").
STANDIN_TELEGRAM_PORT ?= 8081
STANDIN_AI_PORT       ?= 8082
STANDIN_RECEIVER_PORT ?= 8083
standins:
	$(GO) run ./infra/local/cmd/gatehouse-standins -telegram-port $(STANDIN_TELEGRAM_PORT) -ai-port $(STANDIN_AI_PORT) -receiver-port $(STANDIN_RECEIVER_PORT)

# One health-check sweep now, against a running `make run`: its ports and
# settings are recorded in .gatehouse/runner.json while it runs.
health:
	$(GO) run $(LOCAL) health

# Re-encrypt every gateway's credentials under the key alias/gatehouse names
# now, against a running `make run` (found as make health finds it). DRY_RUN=1 only reports;
# RESUME=1 continues an interrupted run (README "Rotating credentials' keys").
rotate-credentials:
	$(GO) run $(LOCAL) rotate-credentials $(if $(DRY_RUN),-dry-run) $(if $(RESUME),-resume)

# Benchmarks (not tests): a health sweep of 10,000 gateways against a 50 ms
# stand-in, and each bootstrap's cold start under the Lambda Runtime
# Interface Emulator next to a hello-world bootstrap, natively (amd64 here)
# and as deployed (arm64, under qemu on another host).
bench: tools
	GATEHOUSE_INTEGRATION=1 $(GO) test -count=1 -timeout 60m -run TestDeliveryLoad -v ./pkg/delivery/ -args -load-updates 10000 | grep -v '^=== '
	GATEHOUSE_INTEGRATION=1 $(GO) test -count=1 -timeout 60m -run TestDeliveryLoad -v ./pkg/delivery/ -args -load-updates 600 -load-rate 5 | grep -v '^=== '
	GATEHOUSE_INTEGRATION=1 $(GO) test -count=1 -timeout 60m -run 'TestSendLoad$$' -v ./pkg/send/sendtelegram/ -args -send-messages 10000 -send-private-chats 2000 -send-groups 20 -send-scale 1 -send-ratio-max 1.15 -send-429-max 0.005 | grep -v '^=== '
	GATEHOUSE_INTEGRATION=1 $(GO) test -count=1 -run 'TestEngineSendsLongChainsFirst' -v ./pkg/send/sendtelegram/ -args -send-ratio-max 1.15 | grep -v '^=== '
	$(GO) run ./bench/healthsweep
	$(GO) run ./bench/coldstart -n $${N:-11} -arch $$($(GO) env GOARCH)
	$(GO) run ./bench/coldstart -n $${N:-11}

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

# One target per logical id for `sam build`: the function's package, built
# exactly as `make build` builds it, into $(ARTIFACTS_DIR)/bootstrap.
$(foreach f,$(SAM_FUNCTIONS),$(eval build-$(word 1,$(subst :, ,$(f))): SAM_FN := $(word 2,$(subst :, ,$(f)))))
$(SAM_TARGETS):
	@test -n "$(ARTIFACTS_DIR)" || { echo "$@: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	cd "$(ROOT)" && GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o "$(abspath $(ARTIFACTS_DIR))/bootstrap" ./functions/$(SAM_FN)

# Reproducible deployment packages: `make build`'s binaries (-trimpath, no
# VCS stamp, stripped), each zipped as the single entry "bootstrap" with mode
# 0755 and a fixed time (infra/lambdazip), so the same sources and Go version
# give byte-identical zips. Their SHA-256 sums go to $(PACKAGE_DIR)/SHA256SUMS.
package: build
	@rm -rf $(PACKAGE_DIR) && mkdir -p $(PACKAGE_DIR)
	@$(GO) run ./infra/lambdazip/cmd/lambdazip -o $(PACKAGE_DIR) $(foreach f,$(FUNCTIONS),$(BUILD_DIR)/$(f)/bootstrap) | sed 's|  $(PACKAGE_DIR)/|  |' | LC_ALL=C sort -k2 > $(PACKAGE_DIR)/SHA256SUMS.tmp
	@mv $(PACKAGE_DIR)/SHA256SUMS.tmp $(PACKAGE_DIR)/SHA256SUMS
	@cat $(PACKAGE_DIR)/SHA256SUMS

# sam build && sam deploy, then what CloudFormation cannot do by itself
# (scripts/deploy.sh, README "Deploy"): point PublicApiUrl at the API on the
# first deployment, upload the dashboard with its /config.json (the stack's
# DashboardConfig output, or the file DASHBOARD_CONFIG names, for an
# external OIDC issuer) and invalidate CloudFront's copies. The script reads
# these variables from its environment, passed verbatim.
deploy: export SAM := $(SAM)
deploy: export AWS := $(AWS)
deploy: export SAM_ENV := $(SAM_ENV)
deploy: export STACK := $(STACK)
deploy: export DASHBOARD_CONFIG := $(DASHBOARD_CONFIG)
deploy: frontend
	$(SAM) build --config-env $(SAM_ENV)
	$(SAM) deploy --config-env $(SAM_ENV) --stack-name $(STACK)
	@./scripts/deploy.sh

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

# Every fuzz target for a short bounded time (make fuzz runs them longer).
test-fuzz:
	FUZZTIME=$${FUZZTIME:-10s} bash scripts/fuzz.sh

fuzz:
	FUZZTIME=$${FUZZTIME:-5m} bash scripts/fuzz.sh

# Mixed list/get/update/webhook traffic against the local runner: zero 5xx
# and zero lost Telegram updates, or it fails. make test runs a short one.
soak: tools
	$(GO) run ./bench/soak -d $${D:-60s} -c $${C:-16}

test-soak: tools
	$(GO) run ./bench/soak -d 10s

test: lint build test-go test-fuzz test-soak test-frontend test-e2e

clean:
	rm -rf $(BUILD_DIR)
