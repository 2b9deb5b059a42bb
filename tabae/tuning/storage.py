"""Where a study lives: opening a storage, and creating or continuing a tabae study in it.

``storage`` may be

* ``None``: in memory, gone when the process ends;
* a path ending in ``.log`` or ``.journal``: Optuna's journal file
  (``JournalStorage(JournalFileBackend(path))``), which several processes on one machine
  (or on a shared file system with working locks) can append to at once;
* a path ending in ``.db``, ``.sqlite`` or ``.sqlite3``, or an SQLAlchemy URL
  (``sqlite:///tune.db``, ``postgresql://user:password@host/db``,
  ``mysql+pymysql://...``): an RDB storage. A database server is the way to spread a
  study over several machines: start the same ``tune`` call (or ``tabae tune``) with
  the same URL and ``study_name`` on each;
* an ``optuna.storages.BaseStorage``, used as it is.

``optuna-dashboard <storage>`` (``pip install optuna-dashboard``) opens any of the
files or URLs above in a browser, with every trial's parameters, intermediate values
and the reasons recorded for pruned and failed trials.

A study made by ``tune`` records what it tunes in its user attributes (``tabae_task``,
``tabae_model``, ``tabae_columns``) and the seed of its validation split
(``tabae_split_seed``), so that every session and process that continues it scores
trials on the same rows; continuing it for another task, model or table raises
:class:`~tabae.TabaeError`.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import optuna

from tabae.exceptions import TabaeError

__all__ = ["open_storage", "open_study", "JOURNAL_SUFFIXES", "SQLITE_SUFFIXES"]

JOURNAL_SUFFIXES = (".log", ".journal")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_HINT = ("pass an SQLAlchemy URL (sqlite:///tune.db, postgresql://user:password@host/db), a journal file "
         "path ending in .log or .journal, or an optuna storage object")


def _redact(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _check_folder(path: str, shown: str) -> None:
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise TabaeError(f"cannot open storage {shown!r}: the folder {str(folder)!r} does not exist; create it first")


def open_storage(storage):
    """An Optuna storage for ``storage`` (see the module's docs), or None for memory."""
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, (str, os.PathLike)):
        raise TabaeError(f"storage={storage!r} is not a storage; {_HINT}")
    text = os.fspath(storage)
    if "://" not in text:
        lower = text.lower()
        if lower.endswith(JOURNAL_SUFFIXES):
            _check_folder(text, text)
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            try:
                return JournalStorage(JournalFileBackend(text))
            except Exception as err:  # an unreadable or foreign file
                raise TabaeError(f"cannot open journal storage {text!r}: {err}") from err
        if lower.endswith(SQLITE_SUFFIXES):
            _check_folder(text, text)
            text = "sqlite:///" + str(Path(text).expanduser().resolve())
        else:
            raise TabaeError(f"storage={text!r} is neither a URL nor a file tabae knows; {_HINT}")
    shown = _redact(text)
    kwargs = {}
    if text.startswith("sqlite:///"):
        _check_folder(text[len("sqlite:///"):], shown)
        # Several processes write one SQLite file: wait for its lock instead of failing.
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    try:
        return optuna.storages.RDBStorage(text, **kwargs)
    except Exception as err:  # bad URL, missing driver, unreachable server, foreign file
        raise TabaeError(f"cannot open storage {shown!r}: {type(err).__name__}: {err}; {_HINT}") from None


_SETTLE_SECONDS = 0.5


def _settled_attrs(study: optuna.Study) -> dict:
    """The study's user attributes once no other process is half-way through writing
    tabae's record (some ``tabae_*`` keys there but not yet ``tabae_task``)."""
    deadline = time.monotonic() + 10 * _SETTLE_SECONDS
    attrs = study.user_attrs
    while "tabae_task" not in attrs and any(k.startswith("tabae_") for k in attrs) and time.monotonic() < deadline:
        time.sleep(_SETTLE_SECONDS / 5)
        attrs = study.user_attrs
    return attrs


def open_study(storage, study_name: str, *, task: str, model: str, direction: str, columns: list,
               split_seed: int, sampler, pruner, on_create=None) -> optuna.Study:
    """Create ``study_name`` in ``storage``, or continue it if it is a study of the same
    task, model and columns; its recorded split seed wins over ``split_seed``.

    ``on_create(study)`` runs in the one process whose record of a new study stands
    (several may start it at once), e.g. to enqueue a first trial exactly once.
    """
    study = optuna.create_study(storage=storage, study_name=study_name, direction=direction, sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    attrs = _settled_attrs(study)
    if "tabae_task" not in attrs:
        if study.trials:
            raise TabaeError(f"the study {study_name!r} in this storage was not made by tabae.tune; "
                             "pass another study_name")
        # "tabae_task" goes last: it marks the record complete for processes reading it.
        token = uuid.uuid4().hex
        study.set_user_attr("tabae_writer", token)
        study.set_user_attr("tabae_model", model)
        study.set_user_attr("tabae_columns", [str(c) for c in columns])
        study.set_user_attr("tabae_split_seed", int(split_seed))
        study.set_user_attr("tabae_task", task)
        # Another process that found the study empty at the same moment may write its own
        # record just after ours: the last writer's record counts, so read it back once
        # the moment has passed.
        if storage is not None and not isinstance(storage, optuna.storages.InMemoryStorage):
            time.sleep(_SETTLE_SECONDS)
        attrs = _settled_attrs(study)
        if on_create is not None and attrs.get("tabae_writer") == token and not study.trials:
            on_create(study)
    if (attrs.get("tabae_task"), attrs.get("tabae_model")) != (task, model):
        raise TabaeError(
            f"the study {study_name!r} tunes task={attrs.get('tabae_task')!r} with model={attrs.get('tabae_model')!r}, "
            f"not task={task!r} with model={model!r}; pass another study_name, or the same task and model"
        )
    if attrs.get("tabae_columns") != [str(c) for c in columns]:
        raise TabaeError(
            f"the study {study_name!r} was tuned on columns {attrs.get('tabae_columns')}, not "
            f"{[str(c) for c in columns]}; pass another study_name for another table"
        )
    return study
