#!/usr/bin/env bash
# After changing crds/ (operator/refresh-crds.sh) or the chart: copy the CRD into the chart and
# re-render manifests/install.yaml from the chart's default values; commit the result.
# ChartCrdsTest and InstallManifestTest fail on any difference until then.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./mvnw -B -q -pl helm test -Dtest='ChartCrdsTest,InstallManifestTest' -Dsurefire.failIfNoSpecifiedTests=false -Dgantry.manifests.update=true
