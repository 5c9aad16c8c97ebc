#!/usr/bin/env bash
# Mutation testing of the diagnosis with cargo-mutants, sized for a small
# shared machine: one mutant at a time (--in-place), niced, a per-mutant
# timeout, and only the analyzer's integration tests that pin the module
# down, so that a run (a quarter of the cause mapping) takes about 10 minutes.
#
#   scripts/mutants.sh [MODULE] [-- extra cargo-mutants options]
#
# MODULE: classify (default: the cause mapping of diagnose/mod.rs — classify,
# drop_near, drop_locality, count_marks, black_hole_flows, no_answer…),
# diagnose, verdict, flows, packets, text, or all. Each names the files
# mutated (`--file`, `--re`). On a 2-core machine shared with other builds a
# mutant costs 13–18 s (an incremental build of the library and the test
# binaries), so classify (148 mutants) takes about 45 minutes whole: run it by
# quarters with `-- --shard 0/4` … `3/4` (about 10 minutes each); diagnose
# (692), flows (998), text (373) and packets (207) take hours.
# Extra options go to cargo-mutants, e.g. `--shard 0/4`, `--re classify`,
# `--list` (print the mutants without testing them).
#
# Installs cargo-mutants (`cargo install cargo-mutants --locked`) when absent.
# Results: target/mutants/<MODULE>[-$MUTANTS_TAG]/mutants.out/{caught,missed,timeout,unviable}.txt;
# docs/mutants.md records them and the command that made them.
set -euo pipefail
cd "$(dirname "$0")/.."

module="${1:-classify}"
shift || true
[ "${1:-}" = "--" ] && shift

if ! command -v cargo-mutants >/dev/null 2>&1; then
  echo "mutants: installing cargo-mutants (a few minutes)" >&2
  nice -n 10 cargo install cargo-mutants --locked
fi

files=()
case "$module" in
  classify) files=(--file 'analyzer/src/diagnose/mod.rs' --re
    'classify|drop_near|is_frag_needed|black_hole_flows|no_answer|drop_locality|count_marks|is_consumption|fn is_v6') ;;
  diagnose) files=(--file 'analyzer/src/diagnose/mod.rs' --file 'analyzer/src/diagnose/verdict.rs') ;;
  verdict) files=(--file 'analyzer/src/diagnose/verdict.rs') ;;
  flows) files=(--file 'analyzer/src/flows/**') ;;
  packets) files=(--file 'analyzer/src/packets.rs') ;;
  text) files=(--file 'analyzer/src/source/text.rs') ;;
  all) files=(--file 'analyzer/src/diagnose/**' --file 'analyzer/src/flows/**' --file 'analyzer/src/packets.rs'
    --file 'analyzer/src/source/text.rs') ;;
  *)
    echo "mutants: unknown module $module (classify, diagnose, verdict, flows, packets, text, all)" >&2
    exit 2
    ;;
esac

# The analyzer's integration tests that bear on these modules (MUTANTS_TESTS
# overrides, e.g. "--lib --test verdict"). The unit tests (--lib) are left out
# by default: they compile the whole library a second time per mutant.
case "$module" in
  text) default_tests="--test text_timezone --test text_reader" ;;
  packets) default_tests="--test grouping_truth --test grouping_windows --test verdict" ;;
  flows) default_tests="--test diagnosis_edges --test verdict --test flows_vs_tshark" ;;
  # The diagnosis: its edge cases, the verdict rules, the hand-written verdicts
  # of the recorded captures, netsh traces joined to captures, adapter counters
  # (each under a second; the generator's scenarios, 34 s, are left out).
  *) default_tests="--test diagnosis_edges --test verdict --test recorded_verdicts --test netsh_trace --test nic_counters" ;;
esac
read -r -a tests <<<"${MUTANTS_TESTS:-$default_tests}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out="$CARGO_TARGET_DIR/mutants/$module${MUTANTS_TAG:+-$MUTANTS_TAG}"
mkdir -p "$out"
echo "mutants: $module → $out/mutants.out" >&2
set -x
# --in-place: mutate this tree and build into its warm target directory
# (a copy would rebuild the workspace from nothing); the tree is restored
# after each mutant, so do not edit it while this runs.
nice -n 10 cargo mutants --in-place --profile mutants --package pktmon-analyzer "${files[@]}" \
  --timeout 60 --build-timeout 600 --output "$out" --no-shuffle "$@" \
  -- "${tests[@]}"
