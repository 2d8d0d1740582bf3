#!/usr/bin/env bash
# `kpi sync` with the `cluster` feature: the in-process tests, then a real Ballista cluster
# on 127.0.0.1 (one scheduler and two executors, each a `kpi-cluster-node` process built
# from this crate, so DataFusion compiles once) running tests/sync_cluster.rs. Every
# process started here is stopped by its pid, whatever happens; on a failure the nodes'
# logs are printed.
#
# The build goes to a target dir cached under $KPI_CI_CACHE (default ~/.cache/kpi-ci),
# keyed by Cargo.lock, so a re-run on the same machine reuses it; $KPI_CLUSTER_TARGET
# overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${KPI_CI_CACHE:-$HOME/.cache/kpi-ci}"
lock_key="$(sha256sum Cargo.lock | cut -c1-16)"
target="${KPI_CLUSTER_TARGET:-$cache/cluster-target-$lock_key}"
if [[ -z ${KPI_CLUSTER_TARGET:-} && -d $cache ]]; then
  # Builds for another Cargo.lock only fill the disk.
  find "$cache" -maxdepth 1 -name 'cluster-target-*' ! -path "$target" -exec rm -rf {} +
fi
export CARGO_TARGET_DIR="$target"
# Unoptimised dependencies without debug info: DataFusion and Ballista build far faster
# than at the dev profile's opt-level 2 (about a third of the time, an earlier session
# estimated), and the test data is small.
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_INCREMENTAL=0
cargo_cluster() {
  local command="$1"
  shift
  cargo "$command" --locked --features cluster \
    --config 'profile.dev.package."*".opt-level=0' "$@"
}

started=$SECONDS
cargo_cluster build --bins --test sync_local --test sync_metric_tables --test sync_cluster
echo "cluster build: $((SECONDS - started)) s"
# The lints of the feature's code (the node, the engine, the sync tests); checking the
# dependencies again costs about 5 min cold on 2 cores, nothing once cached.
phase=$SECONDS
cargo_cluster clippy --all-targets -- -D warnings
echo "cluster clippy: $((SECONDS - phase)) s"
cargo_cluster test --test sync_local --test sync_metric_tables
# The unit tests of the sync module and of the rollup plan on DataFusion, which only the
# feature compiles.
cargo_cluster test --lib -- sync:: rollup_plan::on_datafusion

node="$CARGO_TARGET_DIR/debug/kpi-cluster-node"
work="$(mktemp -d)"
pids=()
stop_all() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if ((status != 0)); then
    for log in "$work"/*.log; do
      [[ -e $log ]] || continue
      echo "---- $(basename "$log") (last 40 lines)" >&2
      tail -n 40 "$log" >&2
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap stop_all EXIT
# A signal ends the script through its exit trap too (once the running command returns).
trap 'exit 130' INT
trap 'exit 143' TERM

# Ports nobody listens on, from a base that differs between concurrent runs.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_port=$((20000 + RANDOM % 20000))
# Sets the variable named $1 (not in a subshell: the next call must see the port taken).
free_port() {
  while ! port_free "$next_port"; do next_port=$((next_port + 1)); done
  printf -v "$1" '%s' "$next_port"
  next_port=$((next_port + 1))
}
wait_for_port() {
  local deadline=$((SECONDS + 60))
  until ! port_free "$1"; do
    if ((SECONDS > deadline)); then
      echo "nothing listens on port $1 after 60 s" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# An executor silent for 10 s is lost, and its tasks run on the other one. A finished
# query's result is deleted after 5 s (Ballista's default: 300 s), which a client must
# outpace however slowly its store writes.
free_port scheduler_port
export KPI_SYNC_RESULTS_KEPT_SECONDS=5
"$node" scheduler --port "$scheduler_port" --executor-timeout-seconds 10 \
  --expire-dead-executor-interval-seconds 2 \
  --finished-job-data-clean-up-interval-seconds "$KPI_SYNC_RESULTS_KEPT_SECONDS" \
  >"$work/scheduler.log" 2>&1 &
pids+=($!)
wait_for_port "$scheduler_port"

executor_pids=()
for n in 1 2; do
  free_port flight
  free_port grpc
  mkdir -p "$work/executor-$n"
  "$node" executor --scheduler-port "$scheduler_port" --port "$flight" --grpc-port "$grpc" \
    --vcores 2 --heartbeat-interval-seconds 2 --work-dir "$work/executor-$n" \
    >"$work/executor-$n.log" 2>&1 &
  pids+=($!)
  executor_pids+=($!)
  wait_for_port "$flight"
done

export KPI_SYNC_CLUSTER="df://127.0.0.1:$scheduler_port"
export KPI_SYNC_EXECUTOR_PID="${executor_pids[1]}"
export KPI_SYNC_EXECUTOR_WORK_DIR="$work/executor-2"
# The equality test first, while both executors live; the other one kills an executor.
cargo_cluster test --test sync_cluster -- --ignored --exact \
  sync_on_a_ballista_cluster_equals_a_local_import_on_every_rollup_and_the_report \
  a_cluster_sync_of_exports_without_orders_equals_the_in_process_sync \
  a_cluster_result_the_store_takes_longer_than_the_scheduler_keeps_is_synced_whole \
  a_cluster_sync_of_changed_exports_computes_the_changed_days_and_equals_the_local_rebuild
# --nocapture: the log shows which of the two outcomes the run took.
cargo_cluster test --test sync_cluster -- --ignored --exact --nocapture \
  losing_an_executor_mid_sync_completes_or_fails_clearly_and_never_half_writes
echo "cluster tests passed in $((SECONDS - started)) s"
