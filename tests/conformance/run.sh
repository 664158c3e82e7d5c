#!/bin/bash
# The conformance suite, run by the one runner (tests/run.sh).
#   tests/conformance/run.sh [RESULTS_FILE] [REQ-ID...]
exec "$(dirname "$0")/../run.sh" conformance "$@"
