#!/bin/bash
# The integration suite, run by the one runner (tests/run.sh).
#   tests/integration/run.sh [TEST...]
exec "$(dirname "$0")/../run.sh" integration "$@"
