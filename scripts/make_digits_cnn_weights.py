"""Train the unit-07 digits CNN and store its weights in datasets/ (the shipped file).

    .venv/bin/python scripts/make_digits_cnn_weights.py

Trains on the CPU with coursekit.conv.train_digits_cnn's defaults (seed 0), writes
datasets/digits_cnn.npy and prints its SHA-256 for datasets/MANIFEST.sha256 and the test
accuracy. tests/test_conv_weights.py (marked slow) retrains the same way and checks that
the shipped file is reproduced.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from coursekit import conv

DATASETS = Path(__file__).resolve().parent.parent / "datasets"


def main() -> int:
    model, history, accuracy = conv.train_digits_cnn(device="cpu")
    path = DATASETS / conv.DIGITS_CNN_FILE
    conv.save_weights(model, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(history)
    print(f"test accuracy {accuracy:.4f}")
    print(f"{digest}  {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
