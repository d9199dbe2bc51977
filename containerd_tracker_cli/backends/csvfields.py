"""Quoting one field of a CSV record, the form in which ctr, nerdctl and
docker read ``--mount`` (and nerdctl its ``--filter``): a value holding a
comma or a quote would otherwise be split or misread. One function for every
CLI, so the quoting rule is written once."""
from __future__ import annotations

#: What ends or breaks an unquoted field in Go's encoding/csv.
CSV_SPECIALS = ',"\n\r'
#: The narrower set the Docker-compatible argv has always quoted for (line
#: breaks pass as they are); kept so its argv stays byte-identical to recordings.
COMMA_OR_QUOTE = ',"'


def csv_field(value: str, specials: str = CSV_SPECIALS) -> str:
    """``value`` as one CSV field: in quotes (inner ``"`` doubled) when it
    holds any of ``specials``, else unchanged, so plain values read as typed."""
    if any(c in value for c in specials):
        return '"' + value.replace('"', '""') + '"'
    return value
