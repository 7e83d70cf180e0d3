#!/usr/bin/python3
"""What h5py reads in HDF5 files, for hdf5's tests (a check, never a
dependency; needs Debian's python3-h5py).

Usage: scripts/hdf5_reference.py FILE.nir... > hdf5/testdata/h5py.json
For every dataset of every file: its shape, and for numbers their sum and
their sum weighted by (i mod 7) + 1 over the flat index i, for strings the
strings themselves.
"""
import json
import os
import sys

import h5py
import numpy as np


def describe(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            v = obj[()]
            entry = {"shape": list(obj.shape)}
            if obj.dtype.kind in "OSU":
                a = np.array(v, dtype=object).reshape(-1)
                entry["strings"] = [x.decode() if isinstance(x, bytes) else str(x) for x in a]
            else:
                a = np.array(v, dtype=np.float64).reshape(-1)
                w = np.arange(a.size) % 7 + 1
                entry["sum"] = float(a.sum())
                entry["weighted_sum"] = float((a * w).sum())
            out["/" + name] = entry
        f.visititems(visit)
    return out


def main():
    json.dump({os.path.basename(p): describe(p) for p in sys.argv[1:]}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
