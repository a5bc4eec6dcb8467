#!/usr/bin/env python3
"""Compare `intent learn` with scikit-learn on the real public data sets, on the SAME split.

Needs: pip install scikit-learn pandas   (numpy comes with them). Installs nothing itself.
Run through bench/realdata.sh, which imports the CSVs, runs `intent learn --predictions-out` and
then calls this script. Standalone:

    python3 bench/realdata.py --data ../shared/data --work /tmp/realdata [--sets leads,bank,taobao]

For every data set it reads WORK/<set>.preds.csv (written by `intent learn --predictions-out`:
profile,split,converted,logit,probability), takes intent's train/validation split from it, rebuilds a
feature matrix from the raw CSV columns and fits
  - LogisticRegression(max_iter=2000) on standardised features (one-hot categoricals, numbers as
    they are, a missing number as the training median plus a 0/1 "missing" column), and
  - HistGradientBoostingClassifier() on the same columns (missing numbers left as NaN),
on the training rows only. It prints one table: rows, intent's validation ROC AUC (computed here
from intent's own probabilities) for the naive plan and, when WORK/<set>.clean.preds.csv exists,
for the plan without the known leaks; LR on the columns intent kept (all but the ones it
flagged, read from WORK/<set>.learn.txt); LR and GBM without the known leaking columns; and LR
with every column.
"""

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# Columns filled in after the outcome is known (see ../shared/data/README.md).
LEADS_LEAKS = [
    "Tags", "Lead Quality", "Lead Profile",
    "Asymmetrique Activity Index", "Asymmetrique Profile Index",
    "Asymmetrique Activity Score", "Asymmetrique Profile Score",
    "Last Activity", "Last Notable Activity",
]
BANK_LEAKS = ["duration"]


def read_preds(path):
    p = pd.read_csv(path, dtype={"profile": str, "split": str})
    p["converted"] = p["converted"].astype(str).str.lower().isin(["1", "true", "yes"])
    return p


def design(frame, numeric, categorical):
    """One-hot categoricals (missing is a category of its own), numbers as they are (NaN kept)."""
    parts = [frame[numeric].astype(float)]
    for c in categorical:
        parts.append(pd.get_dummies(frame[c].astype("object").fillna("(missing)"),
                                    prefix=c, dtype=float))
    return pd.concat(parts, axis=1)


def fit_lr(x, y, train):
    """Median-impute numbers (plus a missing indicator), standardise, logistic regression."""
    x = x.copy()
    for c in x.columns[x.isna().any()]:
        x[c + " (missing)"] = x[c].isna().astype(float)
        x[c] = x[c].fillna(x.loc[train, c].median())
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(x[train], y[train])
    return model.predict_proba(x[~train])[:, 1]


def fit_gbm(x, y, train):
    model = HistGradientBoostingClassifier(random_state=0)
    model.fit(x[train], y[train])
    return model.predict_proba(x[~train])[:, 1]


def flagged_columns(work, name, mapping):
    """CSV columns behind the traits `intent learn` flagged (lines "leakage: `traits.x` ...")."""
    log = work / f"{name}.learn.txt"
    traits = set(re.findall(r"leakage: `traits\.([^`]+)`", log.read_text())) if log.exists() else set()
    column_of = {}
    for m in re.finditer(r"\{\s*column:\s*([^,}]+?)\s*(?:,\s*as:\s*([^,}]+?)\s*)?[,}]",
                         mapping.read_text()):
        col = m.group(1)
        trait = m.group(2) or re.sub(r"[^a-z0-9]+", "_", col.lower()).strip("_")
        column_of[trait] = col
    missing = traits - column_of.keys()
    if missing:
        sys.exit(f"{name}: flagged traits {sorted(missing)} not found in {mapping}")
    return sorted(column_of[t] for t in traits)


def table_rows(frame, ids, work, key, numeric, categorical, leaks, flagged, name):
    """frame: one row per profile; ids: the `user:<id>` of each row."""
    preds = read_preds(work / f"{key}.preds.csv")
    frame = frame.assign(_profile=ids.values)
    joined = frame.merge(preds, left_on="_profile", right_on="profile", how="inner")
    if len(joined) != len(preds):
        sys.exit(f"{name}: {len(preds)} predictions but {len(joined)} matched the CSV")
    train = (joined["split"] == "train").to_numpy()
    valid = ~train
    y = joined["converted"].to_numpy()
    intent_auc = roc_auc_score(y[valid], joined.loc[valid, "logit"].astype(float))
    clean_path = work / f"{key}.clean.preds.csv"
    intent_clean = float("nan")
    if clean_path.exists():
        c = read_preds(clean_path).set_index("profile")
        c = c.loc[joined["profile"]]
        if (c["split"].to_numpy() != joined["split"].to_numpy()).any():
            sys.exit(f"{name}: the clean plan's split differs from the naive plan's")
        intent_clean = roc_auc_score(y[valid], c["logit"].to_numpy()[valid].astype(float))

    def lr_without(drop):
        x = design(joined, [c for c in numeric if c not in drop],
                   [c for c in categorical if c not in drop])
        return roc_auc_score(y[valid], fit_lr(x, y, train)), x

    t0 = time.time()
    lr, x_clean = lr_without(leaks)
    gbm = roc_auc_score(y[valid], fit_gbm(x_clean, y, train))
    lr_kept, _ = lr_without(flagged)
    lr_leaky, _ = lr_without([])
    return dict(set=name, train=int(train.sum()), valid=int(valid.sum()),
                pos_train=float(y[train].mean()), pos_valid=float(y[valid].mean()),
                intent=intent_auc, intent_clean=intent_clean, lr=lr, gbm=gbm,
                lr_kept=lr_kept, lr_leaky=lr_leaky, flagged=flagged, secs=time.time() - t0)


def leads(data, work):
    df = pd.read_csv(data / "x-education-leads" / "Leads.csv")
    flagged = flagged_columns(work, "leads", Path("examples/import/x-education-leads.yaml"))
    ids = "user:xe-" + df["Prospect ID"].astype(str)
    drop = {"Prospect ID", "Lead Number", "Converted"}
    numeric = [c for c in df.columns if c not in drop and pd.api.types.is_numeric_dtype(df[c])]
    categorical = [c for c in df.columns if c not in drop and c not in numeric]
    return table_rows(df, ids, work, "leads", numeric, categorical, LEADS_LEAKS, flagged,
                      "X Education leads")


def bank(data, work):
    df = pd.read_csv(data / "bank-marketing" / "bank-additional-full.csv", sep=";")
    flagged = flagged_columns(work, "bank", Path("examples/import/bank-marketing.yaml"))
    ids = "user:bank-" + pd.Series(np.arange(1, len(df) + 1), index=df.index).astype(str)
    drop = {"y"}
    numeric = [c for c in df.columns if c not in drop and pd.api.types.is_numeric_dtype(df[c])]
    categorical = [c for c in df.columns if c not in drop and c not in numeric]
    return table_rows(df, ids, work, "bank", numeric, categorical, BANK_LEAKS, flagged,
                      "Bank marketing")


def taobao_features(ev, cutoff):
    """Per-user counts from the raw log strictly before `cutoff` (Unix seconds)."""
    past = ev[ev["timestamp"] < cutoff]
    feats = {}
    for span, name in [(None, "all"), (86400, "1d"), (2 * 86400, "2d"), (3 * 86400, "3d")]:
        part = past if span is None else past[past["timestamp"] >= cutoff - span]
        counts = part.pivot_table(index="user_id", columns="behavior_type", values="item_id",
                                  aggfunc="count", fill_value=0)
        for b in ["pv", "fav", "cart", "buy"]:
            feats[f"{b}_{name}"] = counts[b] if b in counts else 0
        feats[f"items_{name}"] = part.groupby("user_id")["item_id"].nunique()
        feats[f"cats_{name}"] = part.groupby("user_id")["category_id"].nunique()
    f = pd.DataFrame(feats).fillna(0)
    last = past.groupby("user_id")["timestamp"].max()
    f["hours_since_last"] = (cutoff - last) / 3600
    f["active_days"] = past.assign(d=past["timestamp"] // 86400).groupby("user_id")["d"].nunique()
    return f


def taobao(data, work, horizon_s):
    ev = pd.read_csv(data / "taobao-user-behavior" / "UserBehavior_first814users.csv")
    preds = read_preds(work / "taobao.preds.csv")
    last = int(ev["timestamp"].max())
    cut_valid = last - horizon_s
    cut_train = cut_valid - horizon_s
    rows = []
    for split, cut in [("train", cut_train), ("valid", cut_valid)]:
        f = taobao_features(ev, cut)
        p = preds[preds["split"] == split].copy()
        p["user_id"] = p["profile"].str.removeprefix("user:tb-").astype(int)
        rows.append(p.merge(f, left_on="user_id", right_index=True, how="left").fillna(
            {c: 0 for c in f.columns if c != "hours_since_last"}))
    joined = pd.concat(rows, ignore_index=True)
    train = (joined["split"] == "train").to_numpy()
    valid = ~train
    y = joined["converted"].to_numpy()
    intent_auc = roc_auc_score(y[valid], joined.loc[valid, "logit"].astype(float))
    cols = [c for c in joined.columns if c not in
            {"profile", "split", "converted", "logit", "probability", "user_id"}]
    x = joined[cols].astype(float)
    t0 = time.time()
    lr = roc_auc_score(y[valid], fit_lr(x, y, train))
    gbm = roc_auc_score(y[valid], fit_gbm(x, y, train))
    return dict(set="Taobao (next 2 days)", train=int(train.sum()), valid=int(valid.sum()),
                pos_train=float(y[train].mean()), pos_valid=float(y[valid].mean()),
                intent=intent_auc, intent_clean=float("nan"), lr=lr, gbm=gbm,
                lr_kept=float("nan"), lr_leaky=float("nan"), flagged=[], secs=time.time() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--sets", default="leads,bank,taobao")
    ap.add_argument("--taobao-horizon-hours", type=float, default=48)
    a = ap.parse_args()
    out = []
    for s in a.sets.split(","):
        if not (a.work / f"{s}.preds.csv").exists():
            print(f"skipping {s}: no {a.work / (s + '.preds.csv')}", file=sys.stderr)
            continue
        if s == "leads":
            out.append(leads(a.data, a.work))
        elif s == "bank":
            out.append(bank(a.data, a.work))
        elif s == "taobao":
            out.append(taobao(a.data, a.work, int(a.taobao_horizon_hours * 3600)))
        else:
            sys.exit(f"unknown set {s}")
    f = lambda v: "–" if np.isnan(v) else f"{v:.3f}"
    print("| data set | rows train / valid | converted train / valid | intent, naive plan "
          "(learner drops its flags) | LR, columns intent kept | intent, plan without known "
          "leaks | LR without known leaks | GBM without known leaks | LR with all columns |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in out:
        print(f"| {r['set']} | {r['train']:,} / {r['valid']:,} | {r['pos_train']:.1%} / "
              f"{r['pos_valid']:.1%} | {f(r['intent'])} | {f(r['lr_kept'])} | "
              f"{f(r['intent_clean'])} | {f(r['lr'])} | {f(r['gbm'])} | {f(r['lr_leaky'])} |")
    for r in out:
        key = {"X Education leads": "leads", "Bank marketing": "bank"}.get(r["set"], "taobao")
        for suffix in ["", ".clean"]:
            log = a.work / f"{key}{suffix}.learn.txt"
            m = log.exists() and re.search(r"ROC AUC, model probability\s+([0-9.]+)", log.read_text())
            if m:
                print(f"{r['set']}{' (clean plan)' if suffix else ''}: intent learn printed ROC AUC "
                      f"{m.group(1)} (on its logits; the table uses the probabilities it wrote)")
    for r in out:
        if r["flagged"]:
            print(f"{r['set']}: intent flagged {', '.join(r['flagged'])}")
    print("Known leaks left out of the LR/GBM baselines: leads " + ", ".join(LEADS_LEAKS)
          + "; bank " + ", ".join(BANK_LEAKS) + ".")

if __name__ == "__main__":
    main()
