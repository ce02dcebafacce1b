#!/usr/bin/env bash
# Installs every tool that `make run` and `make test` use, idempotently, into
# .gatehouse/tools (git-ignored): DynamoDB Local (from the npm package
# amplify-dynamodb-simulator, only its emulator/ folder), local-kms, the Lambda
# Runtime Interface Emulator and staticcheck (from tools/go.mod, so the main
# go.mod stays free of them), and Java 17 through apt when java is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=$root/.gatehouse/tools
mkdir -p "$tools/bin"

DDB_VERSION=2.9.30
ddb=$tools/dynamodb-local-$DDB_VERSION
if [ ! -f "$ddb/emulator/DynamoDBLocal.jar" ]; then
  echo "install-tools: DynamoDB Local (amplify-dynamodb-simulator@$DDB_VERSION)" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "amplify-dynamodb-simulator@$DDB_VERSION" >/dev/null)
  mkdir -p "$ddb.partial"
  tar -xzf "$tmp"/amplify-dynamodb-simulator-$DDB_VERSION.tgz -C "$ddb.partial" --strip-components=1 package/emulator
  rm -rf "$ddb" "$tmp"
  mv "$ddb.partial" "$ddb"
fi
ln -sfn "dynamodb-local-$DDB_VERSION/emulator" "$tools/dynamodb-local"

if ! command -v java >/dev/null 2>&1; then
  echo "install-tools: java missing; installing openjdk-17-jre-headless with apt" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

# The Lambda bootstraps are arm64; tests run them under qemu on other hosts.
if [ "$(uname -m)" != aarch64 ] && ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  echo "install-tools: qemu-user-static (to run arm64 bootstraps) with apt" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-user-static >/dev/null
fi

# Go tools, built from the pinned tools module; rebuilt only when it changes.
stamp=$tools/bin/.tools-mod.sum
if ! cmp -s tools/go.sum "$stamp" 2>/dev/null || [ ! -x "$tools/bin/local-kms" ] || [ ! -x "$tools/bin/aws-lambda-rie" ] || [ ! -x "$tools/bin/staticcheck" ]; then
  echo "install-tools: local-kms, aws-lambda-rie, staticcheck" >&2
  (cd tools && GOBIN="$tools/bin" go install \
    github.com/nsmithuk/local-kms \
    github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie \
    honnef.co/go/tools/cmd/staticcheck)
  cp tools/go.sum "$stamp"
fi
