#!/usr/bin/env bash
# Build the model report in CI: HTML artifact, JSON and Markdown summaries, JUnit gates.
# Usage: bash examples/ci/report.sh BASELINE_RUN CANDIDATE_RUN
# Exit code: 0 every gate passed, 1 a gate failed (all outputs are still written), 2 bad input.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
baseline="${1:?usage: report.sh BASELINE_RUN CANDIDATE_RUN}"
candidate="${2:?usage: report.sh BASELINE_RUN CANDIDATE_RUN}"
out="${REPORTGEN_OUT:-reportgen-out}"
mkdir -p "$out"

# The gates live in reportgen.toml beside this script; options given here win over it.
reportgen build "baseline=$baseline" "candidate=$candidate" \
  --config "$here/reportgen.toml" \
  --output "$out/report.html" \
  --json "$out/summary.json" \
  --markdown "$out/summary.md" \
  --junit "$out/gates.xml"
status=$?

# GitHub Actions shows this on the job's page
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/summary.md" ]; then
  cat "$out/summary.md" >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
