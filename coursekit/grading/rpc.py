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
MAX_RESULT_BYTES = 6 * 2**20  # under the grader's cap on one message (executor.MAX_MESSAGE_BYTES)


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
    """An array of numbers as its dtype, shape and little-endian bytes (base64): exact, and
    about half the size of the numbers written out."""
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"an array of dtype {arr.dtype} cannot be graded; return numbers")
    little = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    return {"dtype": little.dtype.str, "shape": list(arr.shape),
            "bytes": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode()}


def _where(err: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "coursekit" not in f.filename]
    return f" (line {frames[-1].lineno}: `{frames[-1].line}`)" if frames and frames[-1].line else ""


def call(name: str, payload: str | None) -> None:
    """Run ``name(*args, **kwargs)`` in the notebook's namespace and publish the
    outcome as a display message of type :data:`MIME`. With ``payload=None``
    it publishes the object itself (or that it is callable). What the
    function prints is captured and sent with the outcome (``printed``)."""
    import contextlib
    import io

    from IPython import get_ipython
    from IPython.display import publish_display_data

    namespace = get_ipython().user_ns
    printed = io.StringIO()
    try:
        if name not in namespace:
            out = {"raise": "NameError", "message": f"name {name!r} is not defined"}
        elif payload is None:
            obj = namespace[name]
            out = {"callable": True} if callable(obj) else {"value": encode(obj)}
        else:
            args, kwargs = pickle.loads(base64.b64decode(payload))
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                value = namespace[name](*args, **kwargs)
            out = {"ok": encode(value)}
    except NotImplementedError:
        out = {"raise": "NotImplementedError", "message": ""}
    except BaseException as err:  # noqa: BLE001 - every failure is the student's answer
        out = {"raise": type(err).__name__, "message": f"{_text(err)[:1000]}{_where(err)}"}
    out["printed"] = printed.getvalue()[:4000]
    try:
        text = json.dumps(out)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps({"raise": "ValueError", "message": "the returned value cannot be graded"})
    if len(text) > MAX_RESULT_BYTES:
        text = json.dumps({"raise": "ValueError", "message": "the returned value is too large to grade "
                                                             f"(over {MAX_RESULT_BYTES // 2**20} MB)"})
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - what the notebook printed is not the result
        pass
    publish_display_data({MIME: text})


def _text(err: BaseException) -> str:
    try:
        return str(err)
    except Exception:  # noqa: BLE001 - a __str__ that raises is the student's too
        return f"<{type(err).__name__} whose message cannot be shown>"


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
        dtype = np.dtype(str(data["dtype"]))
        if dtype.kind not in "biufc" or dtype.hasobject:
            raise ValueError(f"unexpected dtype {dtype}")
        arr = np.frombuffer(base64.b64decode(str(data["bytes"])), dtype=dtype).copy()
        arr = arr.reshape([int(n) for n in data["shape"]])
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
