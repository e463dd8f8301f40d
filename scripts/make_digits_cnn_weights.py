"""Train the two shipped digits CNNs and store their weights in datasets/.

    .venv/bin/python scripts/make_digits_cnn_weights.py

* datasets/digits_cnn.npy: unit 07's CNN (coursekit.conv.train_digits_cnn, seed 0);
* datasets/digits_cnn_robust.npy: the same network adversarially trained with PGD at
  ε = 0.2 (coursekit.robustness.train_robust_digits_cnn, seed 0), for unit 08.

Both train on the CPU; the script prints each file's SHA-256 line for
datasets/MANIFEST.sha256 and the test accuracy. tests/test_conv_weights.py (marked slow)
retrains both the same way and checks that the shipped files are reproduced.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from coursekit import conv, robustness

DATASETS = Path(__file__).resolve().parent.parent / "datasets"


def main() -> int:
    for name, make in ((conv.DIGITS_CNN_FILE, conv.train_digits_cnn),
                       (robustness.ROBUST_CNN_FILE, robustness.train_robust_digits_cnn)):
        model, history, accuracy = make(device="cpu")
        path = DATASETS / name
        conv.save_weights(model, path)
        print(f"{name}: {history}; clean test accuracy {accuracy:.4f}")
        print(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
