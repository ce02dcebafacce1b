#!/usr/bin/env bash
# Installs the tools Gatehouse's make targets use, idempotently, into
# .gatehouse/tools (git-ignored).
#
#   install-tools.sh run    what `make run` needs: DynamoDB Local (from the npm
#                           package amplify-dynamodb-simulator, only its
#                           emulator/ folder), Java 17 to run it, and local-kms
#   install-tools.sh [test] all of that, and what only the tests need: the
#                           Lambda Runtime Interface Emulator, staticcheck (both,
#                           like local-kms, from tools/go.mod, so the main go.mod
#                           stays free of them) and qemu-user-static (to run the
#                           arm64 bootstraps on another host)
#
# First it checks what it cannot install itself — Go and Node at the versions
# go.mod and frontend/package.json ask for, and, when Java 17 or qemu is
# missing, apt with root or sudo (Debian/Ubuntu) — and stops with one line
# naming everything missing and how to install it. On macOS, with Homebrew:
#   brew install go node openjdk@17   (and put openjdk@17's bin on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=$root/.gatehouse/tools
mode=${1:-test}
case $mode in run | test) ;; *) echo "usage: $0 [run|test]" >&2; exit 2 ;; esac

missing=()
# version_ge A B: whether dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

go_want=$(awk '$1 == "go" { print $2; exit }' go.mod)
if ! command -v go >/dev/null 2>&1; then
  missing+=("Go $go_want or newer is needed and go is not on PATH: see https://go.dev/doc/install (Debian/Ubuntu: the tarball from go.dev; macOS: brew install go)")
else
  go_have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  if ! version_ge "${go_have:-0}" "$go_want"; then
    missing+=("Go $go_want or newer is needed, found ${go_have:-none}: install it from https://go.dev/doc/install (macOS: brew upgrade go)")
  fi
fi

node_want=$(sed -n 's/.*"node": *">=\([0-9.]*\)".*/\1/p' frontend/package.json | head -n1)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=("Node.js ${node_want:-20} or newer with npm is needed and is not on PATH (Debian/Ubuntu: NodeSource's nodejs package; macOS: brew install node)")
else
  node_have=$(node --version | sed 's/^v//')
  if [ -n "$node_want" ] && ! version_ge "$node_have" "$node_want"; then
    missing+=("Node.js $node_want or newer is needed, found $node_have (macOS: brew upgrade node)")
  fi
fi

# java_ok: a java of version 17 or newer is on PATH.
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n1)
  [ "${v:-0}" -ge 17 ]
}
need_apt=()
java_ok || need_apt+=(openjdk-17-jre-headless)
if [ "$mode" = test ] && [ "$(uname -m)" != aarch64 ] && [ "$(uname -m)" != arm64 ] && ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  need_apt+=(qemu-user-static)
fi
SUDO=
if [ ${#need_apt[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    for p in "${need_apt[@]}"; do
      case $p in
      openjdk-*) missing+=("Java 17 or newer is needed to run DynamoDB Local and there is no apt-get to install it: install a JDK 17 (macOS: brew install openjdk@17, then put its bin on PATH)") ;;
      qemu-*) missing+=("qemu-aarch64-static is needed by the tests to run arm64 bootstraps and there is no apt-get to install it (macOS on Apple silicon needs none)") ;;
      esac
    done
  elif [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=sudo
    elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
      SUDO=sudo # asks for the password
    else
      missing+=("${need_apt[*]} must be installed with apt, which needs root: run sudo apt-get install -y ${need_apt[*]}, then make $mode again")
    fi
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  line=${missing[0]}
  for m in "${missing[@]:1}"; do line="$line; $m"; done
  echo "install-tools: cannot continue, install first: $line" >&2
  exit 1
fi

mkdir -p "$tools/bin"
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-tools: ${need_apt[*]} with apt" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# DynamoDB Local, pinned twice: the package tarball by its integrity (as
# the registry publishes it, checked before anything is unpacked), and every
# file of its emulator/ folder by SHA-256 (infra/emulator/dynamodb-local.sha256,
# which infra/emulator checks again before each start). A copy that does not
# match is deleted, never run. Upgrading means changing all three.
DDB_VERSION=2.9.30 # = emulator.DynamoDBLocalVersion
DDB_INTEGRITY=sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==
ddb_sums=$root/infra/emulator/dynamodb-local.sha256
ddb=$tools/dynamodb-local-$DDB_VERSION
# ddb_verified DIR: every file of dynamodb-local.sha256 is in DIR with its sum.
ddb_verified() {
  [ -f "$1/DynamoDBLocal.jar" ] || return 1
  if command -v sha256sum >/dev/null 2>&1; then
    (cd "$1" && sha256sum --status --strict -c "$ddb_sums") 2>/dev/null
  else
    (cd "$1" && shasum -a 256 --status -c "$ddb_sums") 2>/dev/null
  fi
}
if [ -e "$ddb" ] && ! ddb_verified "$ddb/emulator"; then
  echo "install-tools: $ddb does not match the pinned SHA-256 sums of DynamoDB Local $DDB_VERSION (infra/emulator/dynamodb-local.sha256): deleting it and installing it again" >&2
  rm -rf "$ddb"
fi
if [ ! -e "$ddb" ]; then
  echo "install-tools: DynamoDB Local (amplify-dynamodb-simulator@$DDB_VERSION)" >&2
  tmp=$(mktemp -d)
  rm -rf "$ddb.partial"
  (cd "$tmp" && npm pack --silent "amplify-dynamodb-simulator@$DDB_VERSION" >/dev/null)
  tgz=$tmp/amplify-dynamodb-simulator-$DDB_VERSION.tgz
  got=$(node -e 'const c=require("crypto"),f=require("fs");console.log("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tgz" 2>/dev/null || echo none)
  if [ "$got" != "$DDB_INTEGRITY" ]; then
    rm -rf "$tmp"
    echo "install-tools: refusing amplify-dynamodb-simulator-$DDB_VERSION.tgz: its integrity is $got, the pinned one $DDB_INTEGRITY; it was deleted" >&2
    exit 1
  fi
  mkdir -p "$ddb.partial"
  tar -xzf "$tgz" -C "$ddb.partial" --strip-components=1 package/emulator
  rm -rf "$tmp"
  if ! ddb_verified "$ddb.partial/emulator"; then
    rm -rf "$ddb.partial"
    echo "install-tools: refusing DynamoDB Local $DDB_VERSION: the unpacked files do not match infra/emulator/dynamodb-local.sha256; they were deleted" >&2
    exit 1
  fi
  mv "$ddb.partial" "$ddb"
fi
ln -sfn "dynamodb-local-$DDB_VERSION/emulator" "$tools/dynamodb-local"

# Go tools, built from the pinned tools module; rebuilt only when it changes
# or one of this mode's is missing. local-kms is tools/local-kms: upstream's
# KMS emulator behind a main that listens on loopback only.
pkgs=(./local-kms)
bins=(local-kms)
if [ "$mode" = test ]; then
  pkgs+=(github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie honnef.co/go/tools/cmd/staticcheck)
  bins+=(aws-lambda-rie staticcheck)
fi
# .tools-mod.sum stamps the whole set, .tools-mod.sum.run the part `run` builds:
# the module's sums and the source of its own mains.
stamp=$tools/bin/.tools-mod.sum
[ "$mode" = test ] || stamp=$tools/bin/.tools-mod.sum.run
want_stamp=$(cat tools/go.sum tools/local-kms/*.go)
rebuild=false
[ "$(cat "$stamp" 2>/dev/null)" = "$want_stamp" ] || [ "$(cat "$tools/bin/.tools-mod.sum" 2>/dev/null)" = "$want_stamp" ] || rebuild=true
for b in "${bins[@]}"; do [ -x "$tools/bin/$b" ] || rebuild=true; done
if $rebuild; then
  echo "install-tools: ${bins[*]}" >&2
  (cd tools && GOBIN="$tools/bin" go install "${pkgs[@]}")
  printf '%s' "$want_stamp" >"$stamp"
fi
