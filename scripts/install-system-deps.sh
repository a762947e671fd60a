#!/usr/bin/env bash
# System packages the test suite needs on Debian 12 (run as root or with sudo):
#   openjdk-17-jre-headless  Spark (the engine-parity tests)
#   chromium, fonts-noto-cjk headless page tests (offline map, report screenshots) with Chinese glyphs
#   postgresql               the web workbench's app-database tests also run on PostgreSQL (scripts/start-postgres.sh)
# Installs only what is missing; safe to rerun.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then missing+=(fonts-noto-cjk); fi
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: java, chromium, Noto CJK fonts, postgresql"
  exit 0
fi
echo "installing: ${missing[*]}" >&2
# Slim Debian images lack man folders; the JRE's postinst links a man page into them.
$sudo mkdir -p /usr/share/man/man1
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
