"""Faults and the drop counter, shared by every normalizer (xstilts/data/normalize/__init__.py lists
the policies): one-line errors naming the file, the row and the column; checks of columns, text and
labels (labels mapped by *name*); `Dropped`, the counts of dropped and repaired rows by reason."""
from __future__ import annotations

from xstilts.core import tasks
from xstilts.data.sources import DataSourceError


def show(value, limit: int = 40) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _names(names) -> str:
    names = list(names)
    return str(names) if len(names) <= 8 else f"[{', '.join(map(repr, names[:3]))}, … {names[-1]!r}] ({len(names)})"


class Subset:
    """The location of a selection of a split's rows (one language of a mixed config): row k of
    the selection is row index[k] of the split."""

    def __init__(self, where, index: list[int]):
        self.where, self.index = where, index

    def __str__(self) -> str:
        return str(self.where)

    def row(self, k: int) -> str:
        return _row(self.where, self.index[k])


def _row(where, k: int) -> str:
    return where.row(k) if hasattr(where, "row") else f"{where}: row {k}"


def fail(where, k: int | None, column: str, problem: str, ids=None) -> DataSourceError:
    """`<file>: row k (id '…'), column 'c': problem`; k None: a fault of the whole column."""
    place = str(where) if k is None else _row(where, k)
    if k is not None and ids is not None:
        place += f" (id {show(ids[k])})"
    return DataSourceError(f"{place}, column '{column}': {problem}")


def _fields(feature):
    """The field names of a struct column (or of a list of structs), else None."""
    if isinstance(feature, dict):
        return list(feature)
    inner = getattr(feature, "feature", None)
    return list(inner) if isinstance(inner, dict) else None


def require(ds, where, *columns: str) -> None:
    """Each column (a struct's field as 'column.field') is there, else an error naming those that are."""
    have = ds.column_names
    for column in columns:
        head, _, field = column.partition(".")
        if head not in have:
            raise DataSourceError(f"{where}: column '{head}' is missing (the columns: {', '.join(have)})")
        fields = _fields(ds.features[head]) if field else None
        if fields is not None and field not in fields:
            raise DataSourceError(f"{where}: column '{column}' is missing ('{head}' holds: {', '.join(fields)})")


def _text_fault(value) -> str:
    return f"expected text, found {'null' if value is None else type(value).__name__ + ' ' + show(value)}"


def text_column(ds, column: str, where, ids=None, keep=None) -> list:
    """A text column as a list; a null or non-string value (in a kept row) is an error."""
    values = ds[column][:]
    bad = next((k for k, v in enumerate(values) if type(v) is not str and (keep is None or keep[k] is not None)),
               None)
    if bad is not None:
        raise fail(where, bad, column, _text_fault(values[bad]), ids)
    return values


def check_text(where, k: int, column: str, value, ids=None) -> None:
    if type(value) is not str:
        raise fail(where, k, column, _text_fault(value), ids)


class BadLabel(Exception):
    """A label value that is not one; the caller names the row and the column."""


def label_names(ds, column: str):
    feature = ds.features[column]
    names = getattr(feature, "names", None)
    if names is None and hasattr(feature, "feature"):  # Sequence(ClassLabel) / List(ClassLabel)
        names = getattr(feature.feature, "names", None)
    return names


def label_name(value, names, valid: tuple[str, ...]) -> str | None:
    """A source label's canonical *name*; None for unlabeled placeholders (-1, '', null). `names`: the
    ClassLabel's names (ints are looked up in it), else None. A label outside the ClassLabel or the
    task's label set raises BadLabel."""
    if value is None or value == -1 or value == "":
        return None
    if names is not None and isinstance(value, int):
        if not 0 <= value < len(names):
            raise BadLabel(f"label id {value} is outside the ClassLabel {_names(names)} (ids 0-{len(names) - 1})")
        name = names[value]
    else:
        name = str(value)
    name = tasks.LABEL_ALIASES.get(name, name)
    if name not in valid:
        raise BadLabel(f"label '{name}' is not one of {_names(valid)}")
    return name


def label_column(values: list, names, valid, where, column: str, ids=None) -> list:
    """Canonical names of a label column (None for placeholders), checked once per distinct value;
    the first row holding a bad value is named."""
    lookup, bad = {}, {}
    for value in set(values):
        try:
            lookup[value] = label_name(value, names, valid)
        except BadLabel as e:
            bad[value] = str(e)
    if bad:
        k = min(values.index(v) for v in bad)
        raise fail(where, k, column, bad[values[k]], ids)
    return [lookup[v] for v in values]


class Dropped(dict):
    """Rows dropped, counted by reason (the normalizers' `dropped`). `repaired`: rows kept after a
    repair, by reason; `strict`: an answer that is not in its context is an error, not a drop."""

    def __init__(self, strict: bool = False):
        super().__init__()
        self.strict = strict
        self.repaired: dict[str, int] = {}

    def add(self, reason: str) -> None:
        self[reason] = self.get(reason, 0) + 1

    def repair(self, reason: str) -> None:
        self.repaired[reason] = self.repaired.get(reason, 0) + 1


def check_text_list(values: list, where, column: str, ids=None) -> None:
    """Every value of a list is text; the first that is not is an error."""
    bad = next((k for k, v in enumerate(values) if type(v) is not str), None)
    if bad is not None:
        raise fail(where, bad, column, _text_fault(values[bad]), ids)
