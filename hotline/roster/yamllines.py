"""YAML with line numbers: mappings and sequences that remember where they were written,
so that every problem in a roster file is reported with its line."""

from __future__ import annotations

from typing import ClassVar

import yaml

# --- YAML with line numbers -------------------------------------------------


class LineMap(dict):
    """A mapping that remembers where it was written."""

    line: int | None = None

    def key_line(self, key) -> int | None:
        return getattr(self, "key_lines", {}).get(key, self.line)


class LineSeq(list):
    line: int | None = None
    item_lines: ClassVar[list[int]] = []  # set per instance by the constructor

    def item_line(self, i: int) -> int | None:
        return self.item_lines[i] if i < len(self.item_lines) else self.line


class LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader, node):
    loader.flatten_mapping(node)
    m = LineMap()
    m.line = node.start_mark.line + 1
    m.key_lines = {}
    m.duplicates = []
    for knode, vnode in node.value:
        key = loader.construct_object(knode, deep=True)
        try:
            if key in m:
                m.duplicates.append((key, knode.start_mark.line + 1))
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", knode.start_mark
            ) from None
        m[key] = loader.construct_object(vnode, deep=True)
        m.key_lines[key] = knode.start_mark.line + 1
    return m


def _construct_seq(loader, node):
    s = LineSeq(loader.construct_object(v, deep=True) for v in node.value)
    s.line = node.start_mark.line + 1
    s.item_lines = [v.start_mark.line + 1 for v in node.value]
    return s


def _construct_int(loader, node):
    # YAML 1.1 reads 16:00 as the integer 960 and +33612345678 as a number; a
    # roster means a time and a phone number, so those stay text.
    if ":" in node.value or node.value.startswith("+"):
        return node.value
    return yaml.SafeLoader.construct_yaml_int(loader, node)


def _construct_timestamp(loader, node):
    # 2026-02-30 is a mistake to report with its line, not a crash of the YAML reader
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return node.value


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
