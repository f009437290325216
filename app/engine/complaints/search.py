"""The search box of the work list and the complaint list: a tracking number's beginning or any part of the
customer's name, as one condition on ``Complaint``."""
from __future__ import annotations

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement

from app.engine.models import Complaint


def search_condition(text: str) -> ColumnElement[bool]:
    # Tracking numbers are upper case: a prefix, served by a btree (text_pattern_ops on PostgreSQL).
    # Names: any part, case-insensitive, served by a trigram index on PostgreSQL (a scan on SQLite).
    # The patterns are built here, whole: an expression such as lower(column) (what icontains() writes) or a
    # pattern concatenated in SQL would keep PostgreSQL from using either index.
    term = _escape_like(text)
    return or_(Complaint.tracking_number.like(term.upper() + "%", escape="/"),
               Complaint.customer_name.ilike("%" + term + "%", escape="/"))


def _escape_like(value: str) -> str:
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")
