#!/usr/bin/env bash
# After changing crds/ (operator/refresh-crds.sh) or the chart: copy the CRD into the chart and
# re-render manifests/install.yaml from the chart's default values; commit the result.
# ChartCrdsTest and InstallManifestTest fail on any difference until then.
set -euo pipefail
cd "$(dirname "$0")/.."
# One after the other: install.yaml holds the chart's CRD, so it is rendered once the CRD is copied
# (in one run, surefire may take the tests in either order and leave install.yaml a step behind).
# -am: helm's tests need the images module's test classes (PodmanApi), built in the same reactor.
./mvnw -B -q -pl helm -am test -Dtest='ChartCrdsTest' -Dsurefire.failIfNoSpecifiedTests=false -Dgantry.manifests.update=true
exec ./mvnw -B -q -pl helm -am test -Dtest='InstallManifestTest' -Dsurefire.failIfNoSpecifiedTests=false -Dgantry.manifests.update=true
