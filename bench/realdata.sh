#!/usr/bin/env bash
# Validates `intent learn` on real public data against scikit-learn, on the same split.
#
# For X Education leads and UCI Bank Marketing (and the Taobao log when plans/taobao.yaml exists):
#   intent import CSV → NDJSON, then `intent learn --predictions-out` twice: with the naive plan
#   (plans/x-education.yaml, plans/bank-marketing.yaml: sales-team fields / call length included,
#   the learner must flag them) and with the same plan minus those rules ("clean"); then
#   bench/realdata.py fits LogisticRegression and HistGradientBoosting on the raw columns of the
#   same CSV, on the same train/validation split, and prints one table.
#
# Needs: an intent binary (INTENT, default target/release/intent), python3 with
#   pip install scikit-learn pandas
# Installs nothing. Run from anywhere:
#   INTENT=/work/target-real/release/intent bench/realdata.sh
# Knobs: DATA (default ../shared/data, relative to the repository root), WORK (default a new
# temporary directory; keeps the NDJSON, learned plans, predictions and learn logs), L2 (default 10, as `intent learn`).
set -euo pipefail
cd "$(dirname "$0")/.."
INTENT=${INTENT:-target/release/intent}
DATA=${DATA:-../shared/data}
WORK=${WORK:-$(mktemp -d -t intent-realdata.XXXXXX)}
L2=${L2:-10}
mkdir -p "$WORK"
[ -x "$INTENT" ] || { echo "no intent binary at $INTENT (set INTENT=...)" >&2; exit 1; }
python3 -c 'import sklearn, pandas' 2>/dev/null ||
  { echo "needs python3 with scikit-learn and pandas: pip install scikit-learn pandas" >&2; exit 1; }

TIMES="$WORK/timings.tsv"
: > "$TIMES"
now() { date +%s.%N; }
timed() { # label command...: runs the command, appends "label<TAB>seconds" to $TIMES
  local label=$1; shift
  local t0; t0=$(now)
  "$@"
  awk -v l="$label" -v a="$t0" -v b="$(now)" 'BEGIN { printf "%s\t%.2f\n", l, b - a }' >> "$TIMES"
}

# name csv mapping plan start-marker end-marker
lead_table() {
  local name=$1 csv=$2 mapping=$3 plan=$4 start=$5 end=$6
  timed "$name import" sh -c "'$INTENT' import '$csv' --mapping '$mapping' > '$WORK/$name.ndjson'"
  # The plan without the rules between the markers: what a careful marketer would have written.
  sed "/$start/,/$end/d" "$plan" > "$WORK/$name.clean.yaml"
  "$INTENT" plan check "$plan" "$WORK/$name.clean.yaml" >&2
  for variant in naive clean; do
    local p=$plan suffix=""
    [ "$variant" = clean ] && { p=$WORK/$name.clean.yaml; suffix=.clean; }
    timed "$name learn ($variant plan)" sh -c "'$INTENT' learn --plan '$p' --outcome sale \
      --per-profile --holdout 0.2 --l2 '$L2' --predictions-out '$WORK/$name$suffix.preds.csv' \
      --out '$WORK/$name$suffix.learned.yaml' '$WORK/$name.ndjson' > '$WORK/$name$suffix.learn.txt' 2>&1"
  done
  echo "== $name: leakage flags (naive plan)"
  grep 'leakage:' "$WORK/$name.learn.txt" || echo "  (none)"
  grep -A4 '^Validation' "$WORK/$name.learn.txt" | grep 'ROC AUC, model' | sed 's/^/  naive plan: /'
  grep -A4 '^Validation' "$WORK/$name.clean.learn.txt" | grep 'ROC AUC, model' | sed 's/^/  clean plan: /'
}

lead_table leads "$DATA/x-education-leads/Leads.csv" examples/import/x-education-leads.yaml \
  plans/x-education.yaml '# --- Fields the sales team' '# --- end of the sales-team'
lead_table bank "$DATA/bank-marketing/bank-additional-full.csv" examples/import/bank-marketing.yaml \
  plans/bank-marketing.yaml '# --- Length of the call' '# --- end of the call-length'

SETS=leads,bank
if [ -f plans/taobao.yaml ]; then
  timed "taobao import" sh -c "'$INTENT' import '$DATA/taobao-user-behavior/UserBehavior_first814users.csv' \
    --mapping examples/import/taobao.yaml > '$WORK/taobao.ndjson'"
  timed "taobao learn" sh -c "'$INTENT' learn --plan plans/taobao.yaml --outcome sale --horizon 2d \
    --l2 '$L2' --predictions-out '$WORK/taobao.preds.csv' --out '$WORK/taobao.learned.yaml' \
    '$WORK/taobao.ndjson' > '$WORK/taobao.learn.txt' 2>&1"
  echo "== taobao"
  grep -A4 '^Validation' "$WORK/taobao.learn.txt" | grep 'ROC AUC, model' | sed 's/^/  /'
  SETS=$SETS,taobao
fi

echo
timed "python baselines" python3 bench/realdata.py --data "$DATA" --work "$WORK" --sets "$SETS"
echo
echo "timings (s, wall):"
sed 's/^/  /' "$TIMES"
echo "outputs in $WORK"
