#!/usr/bin/env bash
# The figures in the README, measured in one sequential run (about an hour on 2 cores).
# Usage: scripts/measure.sh [OUT_DIR]. Each run keeps its summary.json and report.html.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-runs/measure}")
mkdir -p "$out"
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build > /dev/null
# A copy of the build, so that the project can be rebuilt while this runs.
snapshot="$out/dist"
rm -rf "$snapshot" && cp -r dist "$snapshot"
murmur() { node "$snapshot/cli/index.js" "$@"; }
run() { local name=$1; shift; echo "== $name: murmur $*"; local start=$SECONDS; murmur "$@" > "$out/$name.log" 2>&1; echo "   exit $? after $((SECONDS - start)) s"; }

run train-bench bench train --json
run iid swarm --nodes 8 --duration 60s --out "$out/iid"
run dirichlet swarm --nodes 8 --partition dirichlet:0.5 --duration 60s --out "$out/dirichlet"
run cnn swarm --nodes 8 --model cnn --duration 60s --out "$out/cnn"
run no-churn swarm --nodes 8 --duration 120s --out "$out/no-churn"
run churn swarm --scenario simulations/churn.json --out "$out/churn"
run partition swarm --scenario simulations/partition.json --out "$out/partition"
run late-join swarm --scenario simulations/late-join.json --out "$out/late-join"
run late-join-cold swarm --scenario simulations/late-join.json --no-warm-join --out "$out/late-join-cold"
run crash bench crash --cycles 50
run poisoning-clean swarm --nodes 8 --duration 90s --out "$out/poisoning-clean"
run poisoning-mean swarm --scenario simulations/poisoning.json --merge mean --out "$out/poisoning-mean"
run poisoning-median swarm --scenario simulations/poisoning.json --merge median --out "$out/poisoning-median"
run poisoning-trimmed swarm --scenario simulations/poisoning.json --merge trimmed-mean:0.25 --out "$out/poisoning-trimmed"
for attack in takeover-one takeover backdoor ratchet liar sybil; do
  run "attack-$attack" swarm --scenario "simulations/$attack.json" --out "$out/attack-$attack"
done
echo "== hostile-load: scripts/hostile-load.mjs 32 60"; node scripts/hostile-load.mjs 32 60 > "$out/hostile-load.log" 2>&1
for noise in 0.001 0.01 0.1; do
  run "dp-node-$noise" swarm --nodes 8 --duration 60s --dp-node-clip 1 --dp-node-noise "$noise" --out "$out/dp-node-$noise"
done
# Record-level DP-SGD (docs/privacy.md): ε against accuracy beside runs without DP (8 nodes, 120 s), on the
# standard MNIST split. The DP runs take the DP-SGD training defaults (dct-mlp, SGD 2 with cosine decay,
# 4 augmented copies, epochs by ε, at most the steps a node is expected to take in the run).
dp_sgd="--nodes 8 --dataset mnist-full --duration 120s"
run dp-sgd-none swarm $dp_sgd --model dct-mlp --optimizer sgd --learning-rate 0.3 --batch-size 64 --local-steps 10 --out "$out/dp-sgd-none"
for epsilon in 1 2 4 8; do
  run "dp-sgd-$epsilon" swarm $dp_sgd --dp-epsilon "$epsilon" --out "$out/dp-sgd-$epsilon"
done
run dp-sgd-bench bench train --models mlp,dct-mlp --backends wasm --dp --json
run gossip-bench bench gossip --json
run scale-48 swarm --nodes 48 --duration 90s --out "$out/scale-48"
run scale-64 swarm --nodes 64 --duration 90s --out "$out/scale-64"
# PyTorch on the same models, where Debian's python3-torch is installed.
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import torch" 2> /dev/null && /usr/bin/python3 scripts/pytorch-baseline.py > "$out/pytorch-baseline.log"
run cnn-lag swarm --nodes 3 --model cnn --duration 30s --out "$out/cnn-lag"
echo "done: $out"
