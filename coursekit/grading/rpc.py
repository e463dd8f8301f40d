"""Calling a student's function inside the sandboxed kernel from the grader.

The grader re-runs every check in *its own* process: the check builds the
cases and computes the reference answers there, and only the student's
function runs in the kernel. Arguments go to the kernel pickled (the grader
trusts itself); results come back as plain JSON (never pickle), so nothing
the student's code returns or patches can run code in the grader or change
how answers are compared.

The kernel side is :func:`call`; the grader side is :func:`decode`.
"""
from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import pickle
import sys
import traceback

import numpy as np

MIME = "application/x-coursekit-result+json"
MAX_RESULT_BYTES = 32 * 2**20


# ------------------------------------------------------- kernel side ----

def encode(value, depth: int = 0):
    """A JSON-able description of ``value`` (arrays, numbers, containers, dataclasses)."""
    if depth > 20:
        raise ValueError("the returned value is nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return encode(value.item(), depth + 1)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return {"__nd__": None, **_array(value.detach().cpu().numpy()), "torch": True}
    if isinstance(value, np.ndarray):
        return {"__nd__": None, **_array(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"__set__": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: encode(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}}
    return {"__repr__": repr(value)[:500], "type": type(value).__name__}


def _array(arr: np.ndarray) -> dict:
    if arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "c":
            return {"dtype": str(arr.dtype), "shape": list(arr.shape),
                    "data": [[z.real, z.imag] for z in arr.ravel().tolist()]}
        raise TypeError(f"an array of dtype {arr.dtype} cannot be graded; return numbers")
    return {"dtype": str(arr.dtype), "shape": list(arr.shape), "data": arr.ravel().tolist()}


def _where(err: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "coursekit" not in f.filename]
    return f" (line {frames[-1].lineno}: `{frames[-1].line}`)" if frames and frames[-1].line else ""


def call(name: str, payload: str | None) -> None:
    """Run ``name(*args, **kwargs)`` in the notebook's namespace and publish the
    outcome as a display message of type :data:`MIME`. With ``payload=None``
    it publishes the object itself (or that it is callable)."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    namespace = get_ipython().user_ns
    try:
        if name not in namespace:
            out = {"raise": "NameError", "message": f"name {name!r} is not defined"}
        elif payload is None:
            obj = namespace[name]
            out = {"callable": True} if callable(obj) else {"value": encode(obj)}
        else:
            args, kwargs = pickle.loads(base64.b64decode(payload))
            out = {"ok": encode(namespace[name](*args, **kwargs))}
    except NotImplementedError:
        out = {"raise": "NotImplementedError", "message": ""}
    except BaseException as err:  # noqa: BLE001 - every failure is the student's answer
        out = {"raise": type(err).__name__, "message": f"{str(err)[:1000]}{_where(err)}"}
    text = json.dumps(out)
    if len(text) > MAX_RESULT_BYTES:
        text = json.dumps({"raise": "ValueError", "message": "the returned value is too large to grade"})
    sys.stdout.flush()
    publish_display_data({MIME: text})


def payload(args: tuple, kwargs: dict) -> str:
    return base64.b64encode(pickle.dumps((args, kwargs), protocol=4)).decode()


# -------------------------------------------------------- grader side ----

class Unreadable:
    """A returned object the grader cannot rebuild; compares equal to nothing."""

    def __init__(self, text: str, type_name: str):
        self.text, self.type_name = text, type_name

    def __repr__(self):
        return self.text


def decode(data):
    """Rebuild a value from :func:`encode`'s description (JSON only: safe)."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__nd__" in data:
        dtype = np.dtype(data["dtype"])
        if dtype.kind == "c":
            arr = np.array([complex(re, im) for re, im in data["data"]], dtype=dtype)
        elif dtype.kind in "biuf":
            arr = np.array(data["data"], dtype=dtype)
        else:
            raise ValueError(f"unexpected dtype {dtype}")
        arr = arr.reshape(data["shape"])
        if data.get("torch") and "torch" in sys.modules:
            return sys.modules["torch"].from_numpy(arr)
        return arr
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__set__" in data:
        return set(decode(v) for v in data["__set__"])
    if "__dict__" in data:
        return {decode(k): decode(v) for k, v in data["__dict__"]}
    if "__dataclass__" in data:
        fields = {k: decode(v) for k, v in data["fields"].items()}
        module, _, qualname = data["__dataclass__"].partition(":")
        if module.split(".")[0] == "coursekit":  # only the course's own record types are rebuilt
            try:
                cls = importlib.import_module(module)
                for part in qualname.split("."):
                    cls = getattr(cls, part)
                if dataclasses.is_dataclass(cls):
                    return cls(**fields)
            except Exception:
                pass
        return fields
    if "__repr__" in data:
        return Unreadable(str(data["__repr__"]), str(data.get("type", "")))
    return data
