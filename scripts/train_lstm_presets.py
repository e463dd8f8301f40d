"""Train the LSTM gate stepper's preset models and write datasets/lstm_gate_presets.json.

    .venv/bin/python scripts/train_lstm_presets.py

Three tasks (remember the first symbol; count the a's; count the a's since the last |),
each with an LSTM and a plain RNN of three units, trained on the CPU with one thread
and fixed seeds by :func:`coursekit.rnn.train_gate_presets`. Afterwards update the
checksum: ``cd datasets && sha256sum lstm_gate_presets.json`` into MANIFEST.sha256.
tests/test_rnn_presets.py retrains them (marked slow) and compares with this file.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coursekit import rnn  # noqa: E402


def main() -> None:
    presets = rnn.train_gate_presets(progress="text")
    text = json.dumps(presets, indent=1, sort_keys=True) + "\n"
    path = REPO / "datasets" / rnn.GATE_PRESETS_FILE
    path.write_text(text, encoding="utf-8")
    for name, model in presets["models"].items():
        print(f"{name:12s} {model['record']}")
    print(f"wrote {path} ({len(text):,} bytes), sha256 {hashlib.sha256(text.encode()).hexdigest()}")


if __name__ == "__main__":
    main()
