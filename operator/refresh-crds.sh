#!/usr/bin/env bash
# Regenerate crds/ from the API classes (dev.gantry.operator.api) after changing them; commit the result.
# CrdInSyncTest fails on any difference between crds/ and what the classes generate.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./mvnw -B -q -pl operator -am test -Dtest=CrdInSyncTest -Dsurefire.failIfNoSpecifiedTests=false -Dgantry.crds.update=true
