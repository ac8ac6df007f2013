"""Nested structures of tensors: flatten them, map over their leaves, and rebuild them.

A structure is a leaf (a tensor, an array, a symbolic tensor, None, a number) or a list, tuple or dict of
structures. Dicts are walked in sorted key order, as Keras's ``tree`` does, so that a model built from
``{"seq": a, "static": b}`` sees its inputs in the same order everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["flatten", "is_nested", "map_structure", "pack_like"]


def is_nested(structure) -> bool:
    return isinstance(structure, (list, tuple, dict))


def flatten(structure) -> list:
    """The leaves of ``structure``, depth first (dicts by sorted key)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def map_structure(fn: Callable, structure):
    """The same structure with ``fn(leaf)`` at every leaf (lists stay lists, tuples tuples, dicts dicts)."""
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, item) for item in structure)
    return fn(structure)


def pack_like(structure, leaves: list):
    """Rebuild ``structure`` with ``leaves`` (in ``flatten`` order) at its leaves."""
    iterator = iter(leaves)

    def rebuild(node):
        if isinstance(node, dict):
            filled = {key: rebuild(node[key]) for key in sorted(node)}
            return {key: filled[key] for key in node}  # the caller's key order
        if isinstance(node, (list, tuple)):
            return type(node)(rebuild(item) for item in node)
        return next(iterator)

    return rebuild(structure)
