"""Fleet's typed attributes and the COLUMNS table say the same thing.

COLUMNS is the one source of names, dtypes and defaults (growth, snapshots, the control plane);
Fleet's class annotations exist so type checkers see every column. This keeps them in step.
"""

from __future__ import annotations

import typing

import numpy as np
import pytest

from simulator.core.fleet import COLUMNS, Fleet


def _scalar_type(hint: object) -> type:
    """`np.float64` from `npt.NDArray[np.float64]` (ndarray[shape, dtype[float64]])."""
    assert typing.get_origin(hint) is np.ndarray, hint
    _shape, dtype = typing.get_args(hint)
    assert typing.get_origin(dtype) is np.dtype, hint
    (scalar,) = typing.get_args(dtype)
    return typing.cast(type, scalar)


def test_every_column_is_annotated_with_its_dtype_and_nothing_else_is() -> None:
    hints = {name: hint for name, hint in typing.get_type_hints(Fleet).items()
             if typing.get_origin(hint) is np.ndarray}
    assert list(hints) == list(COLUMNS)  # same names, same order as the table
    for name, col in COLUMNS.items():
        assert _scalar_type(hints[name]) is np.dtype(col.dtype).type, name


def test_columns_are_plain_instance_attributes_of_their_dtype_and_shape() -> None:
    fleet = Fleet()
    rows = fleet.grow(["861477038719116", "862785041281554"])
    assert not hasattr(Fleet, "__getattr__")
    for name, col in COLUMNS.items():
        arr = vars(fleet)[name]  # in the instance dict: no property or descriptor in between
        assert arr is fleet.column(name)
        assert arr.dtype == np.dtype(col.dtype), name
        assert arr.shape == ((len(rows), col.width) if col.width else (len(rows),)), name
        if name != "uid":  # grow numbers the rows instead
            assert (arr == col.default).all(), name
    assert fleet.uid.tolist() == [0, 1]


def test_column_names_only_columns() -> None:
    fleet = Fleet()
    with pytest.raises(KeyError):
        fleet.column("imeis")
