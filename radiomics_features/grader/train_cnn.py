"""Train the small disc-grading CNN (torch, training venv only; never imported at inference).

    nice -n 10 .venv-train/bin/python -m radiomics_features.grader.train_cnn \
        --arrays grader_out/train_arrays.npz --out grader_out/cnn [--cv] [--export DIR]

``--cv``: patient-grouped cross-validation over the folds stored in the arrays file
(``folds``: one row per repeat, the fold of every disc), writing out-of-fold
probabilities to ``oof_r<repeat>.npz`` and the pair networks' probabilities (used to
tune the combined rule inside each outer training set; ``_cv_pairs``) to
``pairs_r<repeat>.npz``. ``--export DIR``: train once on every disc and write
``grader.onnx`` and ``grader.json`` (sidecar with the sha256) to ``DIR``.

Only numpy, torch (and this package's numpy-only helpers) are imported here, so the
script runs in ``.venv-train``.

Network (``DiscNet``): four conv blocks (16-24-48-64 channels, BatchNorm, ReLU, max
pooling) on a 64 x 64 crop (1.2 mm pixels) with five input channels -- T2, T1, two
constant planes flagging whether each sequence is present, and a constant plane
carrying the disc's level (label from the sacrum / 5; degeneration is commoner low in
the spine, and the feature baseline gets the level too) -- then a 128-unit layer and
two heads: 5 Pfirrmann logits (cross-entropy, plus the squared error of the
softmax-expected grade: the grades are ordered) and 6 binary findings (binary
cross-entropy; weight 0.5). Augmentation per batch: rotation +-12 deg, scale 0.9-1.1,
shift +-4 px (sampled from the 80 x 80 stored crop, so shifts see real tissue),
per-channel gamma 0.7-1.4 and gain 0.85-1.15, Gaussian noise, and the T1 (p 0.3) or
T2 (p 0.15, only when T1 is present) channel dropped with its flag, so the model also
grades single-sequence inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

IN_SIZE = 64
STORED_SIZE = 80
N_GRADES = 5
#: T2, T1, T2-present plane, T1-present plane, level plane (disc label from the sacrum / 5)
N_CHANNELS = 5
RECIPE = {
    "epochs": 36,
    "batch_size": 32,
    "lr": 3e-3,
    "weight_decay": 1e-3,
    "finding_weight": 0.5,
    "label_smoothing": 0.05,
    # squared error of the expected grade (softmax-weighted, 0-4 scale): the grades are
    # ordered, and a two-grade miss should cost more than a one-grade miss
    "ordinal_weight": 1.0,
    "seed": 0,
}


def build_model():
    import torch
    from torch import nn

    def block(cin, cout, two):
        layers = [
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]
        if two:
            layers += [
                nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
        return nn.Sequential(*layers, nn.MaxPool2d(2))

    class DiscNet(nn.Module):
        def __init__(self, n_findings: int = 6):
            super().__init__()
            self.features = nn.Sequential(
                block(N_CHANNELS, 16, False),
                block(16, 24, True),
                block(24, 48, True),
                block(48, 64, False),
            )
            self.trunk = nn.Sequential(
                nn.Flatten(),
                nn.Dropout(0.3),
                nn.Linear(64 * 4 * 4, 128),
                nn.ReLU(inplace=True),
                nn.Dropout(0.3),
            )
            self.grade = nn.Linear(128, N_GRADES)
            self.findings = nn.Linear(128, n_findings)

        def forward(self, x):
            h = self.trunk(self.features(x))
            return self.grade(h), self.findings(h)

    class Exported(nn.Module):
        """Probabilities out, for ONNX: softmax over grades, sigmoid per finding."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            g, f = self.net(x)
            return torch.softmax(g, dim=1), torch.sigmoid(f)

    return DiscNet, Exported


def _inputs(crops, has, idx, rng, augment: bool):
    """Batch ``(b, 4, 64, 64)`` from stored ``(n, 2, 80, 80)`` crops."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(crops[idx].astype(np.float32))
    aux = torch.from_numpy(has[idx].astype(np.float32))  # (b, 3): t2 present, t1 present, level
    flags, level = aux[:, :2], aux[:, 2:3]
    b = x.shape[0]
    if augment:
        ang = torch.from_numpy(rng.uniform(-12, 12, b).astype(np.float32)) * math.pi / 180
        sc = torch.from_numpy(rng.uniform(0.9, 1.1, b).astype(np.float32))
        sh = torch.from_numpy(rng.uniform(-4, 4, (b, 2)).astype(np.float32)) * 2 / STORED_SIZE
        drop_t1 = torch.from_numpy(rng.random(b) < 0.3) & (flags[:, 1] > 0) & (flags[:, 0] > 0)
        drop_t2 = torch.from_numpy(rng.random(b) < 0.15) & (flags[:, 1] > 0) & ~drop_t1
        flags = flags.clone()
        flags[drop_t1, 1] = 0
        flags[drop_t2, 0] = 0
    else:
        ang = torch.zeros(b)
        sc = torch.ones(b)
        sh = torch.zeros(b, 2)
    # output grid = central 64 of the stored 80, rotated/scaled/shifted
    k = IN_SIZE / STORED_SIZE
    cos, sin = torch.cos(ang) * sc * k, torch.sin(ang) * sc * k
    theta = torch.stack(
        [torch.stack([cos, -sin, sh[:, 0]], 1), torch.stack([sin, cos, sh[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, [b, 2, IN_SIZE, IN_SIZE], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if augment:
        gamma = torch.from_numpy(rng.uniform(0.7, 1.4, (b, 2, 1, 1)).astype(np.float32))
        gain = torch.from_numpy(rng.uniform(0.85, 1.15, (b, 2, 1, 1)).astype(np.float32))
        x = (x.clamp(min=0) ** gamma) * gain
        x = x + torch.randn_like(x) * torch.from_numpy(
            rng.uniform(0, 0.05, (b, 1, 1, 1)).astype(np.float32)
        )
    x = x * flags[:, :, None, None]
    planes = torch.cat([flags, level], 1)[:, :, None, None].expand(b, 3, IN_SIZE, IN_SIZE)
    return torch.cat([x, planes], 1)


def train(crops, has, grade, findings, idx, recipe, *, log=print):
    """Fit one network on discs ``idx``; returns it in eval mode."""
    import torch
    import torch.nn.functional as F

    DiscNet, _ = build_model()
    torch.manual_seed(recipe["seed"])
    rng = np.random.default_rng(recipe["seed"])
    net = DiscNet(findings.shape[1])
    opt = torch.optim.AdamW(net.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    bs, epochs = recipe["batch_size"], recipe["epochs"]
    steps = epochs * math.ceil(len(idx) / bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe["lr"], total_steps=steps, pct_start=0.15
    )
    yg = torch.from_numpy(grade.astype(np.int64) - 1)
    yf = torch.from_numpy(findings.astype(np.float32))
    grades0 = torch.arange(N_GRADES, dtype=torch.float32)
    for ep in range(epochs):
        net.train()
        order = rng.permutation(idx)
        tot = 0.0
        for s in range(0, len(order), bs):
            bi = order[s : s + bs]
            if len(bi) < 2:
                continue
            x = _inputs(crops, has, bi, rng, True)
            lg, lf = net(x)
            loss = F.cross_entropy(lg, yg[bi], label_smoothing=recipe["label_smoothing"])
            loss = loss + recipe["finding_weight"] * F.binary_cross_entropy_with_logits(lf, yf[bi])
            expected = (torch.softmax(lg, 1) * grades0).sum(1)
            loss = loss + recipe["ordinal_weight"] * ((expected - yg[bi].float()) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(bi)
        if ep % 5 == 4 or ep == epochs - 1:
            log(f"  epoch {ep + 1}/{epochs} loss {tot / len(idx):.4f}")
    net.eval()
    return net


def predict(net, crops, has, idx):
    import torch

    out_g, out_f = [], []
    with torch.no_grad():
        for s in range(0, len(idx), 128):
            x = _inputs(crops, has, idx[s : s + 128], None, False)
            g, f = net(x)
            out_g.append(torch.softmax(g, 1).numpy())
            out_f.append(torch.sigmoid(f).numpy())
    return np.concatenate(out_g), np.concatenate(out_f)


def export_onnx(net, out_dir: Path, meta: dict) -> Path:
    import torch

    _, Exported = build_model()
    model = Exported(net).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "grader.onnx"
    x = torch.zeros(1, N_CHANNELS, IN_SIZE, IN_SIZE)
    torch.onnx.export(
        model,
        (x,),
        str(path),
        input_names=["crops"],
        output_names=["pfirrmann_prob", "findings_prob"],
        dynamic_axes={
            "crops": {0: "batch"},
            "pfirrmann_prob": {0: "batch"},
            "findings_prob": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    blob = path.read_bytes()
    meta = {
        **meta,
        "onnx_file": path.name,
        "onnx_sha256": hashlib.sha256(blob).hexdigest(),
        "onnx_bytes": len(blob),
    }
    # export check: onnxruntime vs torch on random inputs
    import onnxruntime as ort

    sess = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    xr = torch.rand(3, N_CHANNELS, IN_SIZE, IN_SIZE)
    with torch.no_grad():
        ref = model(xr)[0].numpy()
    got = sess.run(None, {"crops": xr.numpy()})[0]
    meta["export_check"] = {"max_abs_prob_diff_vs_torch": float(np.abs(ref - got).max())}
    (out_dir / "grader.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return path


def _cv_outer(crops, has, grade, findings, folds, r, recipe, out: Path, log) -> None:
    """Out-of-fold probabilities of repeat ``r``: one network per fold, trained on the others."""
    pg = np.full((len(grade), N_GRADES), np.nan, dtype=np.float32)
    pf = np.full((len(grade), findings.shape[1]), np.nan, dtype=np.float32)
    for f in np.unique(folds):
        t0 = time.time()
        te, tr = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
        net = train(crops, has, grade, findings, tr, {**recipe, "seed": 100 * r + int(f)}, log=log)
        pg[te], pf[te] = predict(net, crops, has, te)
        acc = float(np.mean(pg[te].argmax(1) + 1 == grade[te]))
        log(f"repeat {r} fold {f}: n_test {len(te)} accuracy {acc:.3f} ({time.time() - t0:.0f} s)")
        # saved after every fold, so an interrupted run keeps its finished folds (NaN
        # elsewhere); the last save holds the whole repeat
        np.savez(
            out / f"oof_r{r}.npz",
            pfirrmann_prob=pg,
            findings_prob=pf,
            repeat=r,
            recipe=json.dumps(recipe),
        )


def _cv_pairs(crops, has, grade, findings, folds, r, recipe, out: Path, log) -> None:
    """Predictions for tuning a decision rule inside each outer training set, honestly.

    For outer fold ``f`` the rule may only be tuned on the training discs (the other
    folds), scored by networks that saw neither them nor fold ``f``. The network trained
    on the folds outside ``{f, j}`` scores fold ``j`` for outer fold ``f`` and fold ``f``
    for outer fold ``j``, so one network per unordered pair serves both: 10 networks for
    5 folds instead of 20. ``pair_prob[f, i]``: disc ``i``'s grade probabilities from the
    network that excluded outer fold ``f`` and disc ``i``'s own fold (NaN for ``i`` in
    ``f``).
    """
    ids = [int(v) for v in np.unique(folds)]
    pp = np.full((len(ids), len(grade), N_GRADES), np.nan, dtype=np.float32)
    for a_i, fa in enumerate(ids):
        for fb in ids[a_i + 1 :]:
            t0 = time.time()
            tr = np.flatnonzero((folds != fa) & (folds != fb))
            net = train(
                crops,
                has,
                grade,
                findings,
                tr,
                {**recipe, "seed": 100 * r + 10 * fa + fb + 5000},
                log=log,
            )
            for excluded, scored in ((fa, fb), (fb, fa)):
                te = np.flatnonzero(folds == scored)
                pp[ids.index(excluded), te] = predict(net, crops, has, te)[0]
            log(
                f"repeat {r} pair ({fa}, {fb}): trained on {len(tr)} discs ({time.time() - t0:.0f} s)"
            )
            np.savez(out / f"pairs_r{r}.npz", pair_prob=pp, repeat=r, recipe=json.dumps(recipe))


def main(argv=None) -> int:
    import torch

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--arrays", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cv", action="store_true")
    ap.add_argument(
        "--repeat",
        type=int,
        action="append",
        default=None,
        help="run only this repeat of the stored folds (repeatable); writes oof_r<k>.npz each",
    )
    ap.add_argument(
        "--only",
        choices=["outer", "pairs"],
        default=None,
        help="with --cv: only the out-of-fold networks, or only the pair networks (default both)",
    )
    ap.add_argument("--export", type=Path, default=None)
    ap.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    d = np.load(a.arrays, allow_pickle=False)
    from radiomics_features.grader.inference import level_value  # one definition for both

    crops, grade, findings = d["crops"], d["pfirrmann"], d["findings"]
    # per disc: sequence flags and the level plane's value (label from the sacrum / 5)
    has = np.c_[d["has"].astype(np.float32), level_value(d["label"])]
    recipe = {**RECIPE, "epochs": a.epochs}
    a.out.mkdir(parents=True, exist_ok=True)
    log_path = a.out / "train.log"

    def log(msg):
        sys.stdout.write(msg + "\n")
        sys.stdout.flush()
        with open(log_path, "a", encoding="utf-8") as logf:
            logf.write(msg + "\n")

    if a.cv:
        folds = d["folds"]
        reps = list(range(folds.shape[0])) if a.repeat is None else a.repeat
        for r in reps:
            if a.only in (None, "outer"):
                _cv_outer(crops, has, grade, findings, folds[r], r, recipe, a.out, log)
            if a.only in (None, "pairs"):
                _cv_pairs(crops, has, grade, findings, folds[r], r, recipe, a.out, log)
    if a.export is not None:
        t0 = time.time()
        idx = np.arange(len(grade))
        net = train(crops, has, grade, findings, idx, recipe, log=log)
        meta = {
            "format_version": 1,
            "name": "disc_grader",
            "version": "2.0.0",
            "input_name": "crops",
            "output_names": ["pfirrmann_prob", "findings_prob"],
            "input": {
                "layout": "NCHW (batch, 5, 64, 64): T2, T1, T2-present plane, T1-present plane, level plane",
                "level_plane": "constant: disc label from the sacrum (1 = lowest, capped at 9) / 5",
                "crop": "disc-centred, disc long axis horizontal (anterior left), superior up, "
                "76.8 mm square at 1.2 mm pixels; slice divided by its 99th percentile, clipped to [0, 2]; "
                "a missing sequence is zeros with its plane 0",
            },
            "crop_mm": 76.8,
            "crop_size": IN_SIZE,
            "grades": [1, 2, 3, 4, 5],
            "findings": [str(x) for x in d["finding_names"]],
            "recipe": recipe,
            "training_discs": len(idx),
            "training_patients": len(np.unique(d["patient"])),
            "torch": torch.__version__,
            "train_seconds": None,
        }
        export_onnx(net, a.export, {**meta, "train_seconds": round(time.time() - t0, 1)})
        log(f"exported to {a.export}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
