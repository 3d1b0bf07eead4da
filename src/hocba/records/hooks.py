"""Files drawn from a version by the apps above records (documents: the sealed PDF view),
which the record page links to and `hocba records export --format` writes. Records never
imports those apps: each registers its kind of file here in its `AppConfig.ready()`, as the
exchange listens to `signals.record_issued`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hocba.records.models import RecordVersion


@dataclass(frozen=True)
class VersionFile:
    """One kind of file drawn from a version."""

    suffix: str
    """The file name's suffix, and the word that `hocba records export --format` takes."""
    label: str
    """The link's text on the record page."""
    url_name: str
    """The route that serves a version's file, with (record_id, version)."""
    existing: Callable[[Any], set[int]]
    """The pks of the versions (a queryset) that have their file already."""
    made: Callable[[Sequence[RecordVersion]], tuple[Mapping[int, Callable[[], bytes]], list[str]]]
    """For an export: makes the files of `versions` that can have one and do not yet; returns
    each file's reader by version pk, and one line per version that could not have its file."""


version_files: dict[str, VersionFile] = {}
"""Registered kinds, by suffix."""


def register(kind: VersionFile) -> None:
    version_files[kind.suffix] = kind


@dataclass(frozen=True)
class Subcommand:
    """An action of `hocba records` served by an app above records (the import of records
    issued by another system), registered in that app's `AppConfig.ready()`."""

    name: str
    """The action's word: `hocba records <name> …`."""
    help: str
    add_arguments: Callable[[Any], None]
    """Adds the action's arguments to its argparse subparser."""
    handle: Callable[[Any, dict[str, Any]], None]
    """Runs the action with the command (for its output) and the parsed options."""


subcommands: dict[str, Subcommand] = {}
"""Registered actions, by name."""


def register_subcommand(subcommand: Subcommand) -> None:
    subcommands[subcommand.name] = subcommand
