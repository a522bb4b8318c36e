"""Doctest collection: skip modules whose optional extra is not installed."""

from __future__ import annotations

import importlib.util

collect_ignore: list[str] = []
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("src/unireward/advantage/torch.py")
if importlib.util.find_spec("trl") is None or importlib.util.find_spec("torch") is None:
    collect_ignore.append("src/unireward/integrations/trl.py")
if importlib.util.find_spec("verl") is None:
    collect_ignore.append("src/unireward/integrations/verl.py")
