"""Canonical tables: the fields every landlord's exports are mapped to, and the rules a
value must satisfy to be believed.

`FIELDS` says, per table, each field's kind, whether an export must have it, and whether
it is a direct identifier (used to link people, then dropped: it never reaches
data/processed). `plausibility` builds the pandera schema whose failed checks become the
reasons rows are rejected. The schemas of the processed tables live in `processed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import pandera.pandas as pa

from typing import TYPE_CHECKING

if TYPE_CHECKING:   # config imports the field list from here
    from .config import Config


@dataclass(frozen=True)
class Field:
    # ref | text | date | month | bool | category | int | number | duration | neighbourhood, or
    # "ignored": a direct identifier the evaluation has no use for. Mapping it documents
    # that the export holds it; the reader never loads it.
    kind: str
    required: bool = False     # the export must have the column and every row a value
    identifier: bool = False   # direct identifier: never leaves the raw layer
    vocab: str | None = None   # category vocabulary in config/vocabularies.yml


F = Field
FIELDS: dict[str, dict[str, Field]] = {
    "participants": {
        "participant_ref": F("ref", required=True),
        "first_name": F("text", required=True, identifier=True),
        "last_name": F("text", required=True, identifier=True),
        "birth_date": F("date", required=True, identifier=True),
        "email": F("ignored", identifier=True),
        "phone": F("ignored", identifier=True),
        "address": F("ignored", identifier=True),
        "postcode": F("ignored", identifier=True),
        "tenancy_ref": F("ref", identifier=True),
        "neighbourhood": F("neighbourhood", required=True),
        "sex": F("category", vocab="sex"),
        "ethnic_minority": F("bool"),
        "disability": F("bool"),
        "single_parent": F("bool"),
        "no_qualification": F("bool"),
        "employment_status": F("category", vocab="employment_status"),
        "entry_date": F("date", required=True),
        "assessment_date": F("date"),
        "training_start_date": F("date"),
        "training_completed": F("bool"),
        "exit_date": F("date"),
        "stage": F("category", vocab="stage"),   # the journey stage the landlord recorded
    },
    "sessions": {
        "participant_ref": F("ref", required=True),
        "session_date": F("date", required=True),
        "duration": F("duration", required=True),   # minutes or hours (mapping's units), 1h30, 90 min, 1:30
        "session_type": F("category", vocab="session_type"),
        "provider": F("text"),
    },
    "outcomes": {
        "participant_ref": F("ref", required=True),
        "outcome_type": F("category", required=True, vocab="outcome_type"),
        "outcome_date": F("date", required=True),
        "contract_type": F("category", vocab="contract_type"),
        "legal_form": F("category", vocab="legal_form"),
        "sector": F("category", vocab="sector"),
        # A trading name often is the owner's name ("Boulangerie Dupont"): kept out.
        "business_name": F("ignored", identifier=True),
    },
    "business_checks": {
        "participant_ref": F("ref", required=True),
        # either a dated check (check_date + trading) or still-trading flags at fixed
        # horizons after creation (HORIZONS); config.py requires one of the two shapes
        "check_date": F("date"),
        "trading": F("bool"),
        **{name: F("bool") for name in ("trading_6m", "trading_12m", "trading_18m", "trading_24m")},
    },
    "questionnaires": {
        "participant_ref": F("ref", required=True),
        "wave": F("category", required=True, vocab="wave"),
        "response_date": F("date"),
        "confidence": F("int"),
        **{f"wellbeing_{i}": F("int") for i in range(1, 8)},
    },
    "ambassadors": {
        "participant_ref": F("ref", required=True),
        "trained_date": F("date", required=True),
        "month": F("month", required=True),
        "active": F("bool", required=True),
    },
    "tenancies": {
        "tenancy_ref": F("ref", required=True, identifier=True),
        "neighbourhood": F("neighbourhood", required=True),
        "tenancy_start": F("date", required=True),
        "tenancy_end": F("date"),
        "lead_tenant_name": F("ignored", identifier=True),
        "lead_birth_date": F("date", identifier=True),
        "household_type": F("category", vocab="household_type"),
    },
    "rent_accounts": {
        "tenancy_ref": F("ref", required=True, identifier=True),
        "month": F("month", required=True),
        "rent_due": F("number"),
        "arrears": F("number", required=True),
        # housing benefit (APL in France, Universal Credit housing costs or Housing Benefit
        # in the UK) received for the month, often paid to the landlord: its stopping
        # after months of receipt is a proxy for a move into work (deadweight, value.py)
        "housing_benefit": F("bool"),
        # used only when the landlord has no tenancies export: tenancies are then
        # derived from the panel, one per reference
        "neighbourhood": F("neighbourhood"),
        "tenancy_start": F("date"),
        "tenancy_end": F("date"),
        "household_type": F("category", vocab="household_type"),
    },
}
# business_checks horizon flags: "still trading N months after creation"
HORIZONS = {"trading_6m": 6, "trading_12m": 12, "trading_18m": 18, "trading_24m": 24}

WELLBEING_ITEMS = [f"wellbeing_{i}" for i in range(1, 8)]
# The pathway, in order: each stage is reached by everyone at a later one
STAGES = ["engaged", "assessed", "training_started", "training_completed", "outcome"]


def loaded_fields(table: str) -> set[str]:
    return {name for name, f in FIELDS[table].items() if f.kind != "ignored"}


def required_fields(table: str) -> set[str]:
    return {name for name, f in FIELDS[table].items() if f.required}


def identifiers(table: str) -> set[str]:
    return {name for name, f in FIELDS[table].items() if f.identifier}


# --- plausibility ----------------------------------------------------------------------

def _ts(d: date) -> pd.Timestamp:
    return pd.Timestamp(d)


def _within(lo: date, hi: date, what: str) -> pa.Check:
    return pa.Check(lambda s: s.isna() | s.between(_ts(lo), _ts(hi)), ignore_na=False,
                    error=f"{what} outside {lo.isoformat()} to {hi.isoformat()}")


def _not_before(later: str, earlier: str, message: str) -> tuple[pa.Check, str]:
    return (pa.Check(lambda d: d[later].isna() | d[earlier].isna() | (d[later] >= d[earlier]),
                     ignore_na=False, error=message), later)


def plausibility(table: str, config: Config) -> pa.DataFrameSchema:
    """Rules a parsed row must meet. Each check's `error` is the reason a failing row is
    rejected; thresholds come from config/programme.yml (`plausibility`)."""
    p = config.plausibility
    lo, hi = config.period()
    data_end = config.programme["programme"]["data_end"]
    in_period = lambda what: _within(lo, hi, what)  # noqa: E731
    cols: dict[str, pa.Column] = {}
    checks: list[tuple[pa.Check, str]] = []   # row checks, with the column each one blames
    if table == "participants":
        cols["birth_date"] = pa.Column(checks=_within(p["earliest_birth_date"], hi, "birth date"), nullable=True)
        for c in ("entry_date", "assessment_date", "training_start_date", "exit_date"):
            cols[c] = pa.Column(checks=in_period(c.replace("_", " ")), nullable=True)
        min_age, max_age = p["min_age_at_entry"], p["max_age_at_entry"]
        age = lambda d: (d["entry_date"] - d["birth_date"]).dt.days / 365.25  # noqa: E731
        checks += [
            (pa.Check(lambda d: d["birth_date"].isna() | d["entry_date"].isna() | age(d).between(min_age, max_age),
                      ignore_na=False, error=f"age at entry outside {min_age} to {max_age} years"), "birth_date"),
            _not_before("assessment_date", "entry_date", "assessment dated before entry"),
            _not_before("training_start_date", "entry_date", "training start dated before entry"),
            _not_before("exit_date", "entry_date", "exit dated before entry"),
        ]
    elif table == "sessions":
        cols["session_date"] = pa.Column(checks=in_period("session date"), nullable=True)
        cols["duration"] = pa.Column(checks=pa.Check(
            lambda s: s.isna() | ((s > 0) & (s <= p["max_session_minutes"])), ignore_na=False,
            error=f"session duration not between 1 and {p['max_session_minutes']} minutes"), nullable=True)
    elif table == "outcomes":
        cols["outcome_date"] = pa.Column(checks=_within(lo, data_end, "outcome date"), nullable=True)
    elif table == "business_checks":
        cols["check_date"] = pa.Column(checks=in_period("check date"), nullable=True)
    elif table == "questionnaires":
        cols["response_date"] = pa.Column(checks=in_period("response date"), nullable=True)
        cols["confidence"] = pa.Column(checks=pa.Check(lambda s: s.isna() | s.between(1, 10), ignore_na=False,
                                                       error="confidence score outside 1 to 10"), nullable=True)
        for c in WELLBEING_ITEMS:
            cols[c] = pa.Column(checks=pa.Check(lambda s: s.isna() | s.between(1, 5), ignore_na=False,
                                                error="wellbeing item outside 1 to 5"), nullable=True)
    elif table == "ambassadors":
        cols["trained_date"] = pa.Column(checks=in_period("ambassador training date"), nullable=True)
        cols["month"] = pa.Column(checks=in_period("month"), nullable=True)
    elif table == "tenancies":
        cols["tenancy_start"] = pa.Column(checks=_within(date(1950, 1, 1), hi, "tenancy start"), nullable=True)
        cols["tenancy_end"] = pa.Column(checks=_within(date(1950, 1, 1), date(2100, 1, 1), "tenancy end"), nullable=True)
        cols["lead_birth_date"] = pa.Column(checks=_within(date(1900, 1, 1), hi - timedelta(days=16 * 365),
                                                           "lead tenant's birth date"), nullable=True)
        checks.append(_not_before("tenancy_end", "tenancy_start", "tenancy ends before it starts"))
    elif table == "rent_accounts":
        limit = p["max_abs_rent_balance"]
        cols["month"] = pa.Column(checks=in_period("month"), nullable=True)
        cols["arrears"] = pa.Column(checks=pa.Check(lambda s: s.isna() | (s.abs() <= limit), ignore_na=False,
                                                    error=f"balance beyond +/-{limit}"), nullable=True)
        cols["rent_due"] = pa.Column(checks=pa.Check(lambda s: s.isna() | s.between(0, p["max_monthly_rent"]),
                                                     ignore_na=False,
                                                     error=f"rent outside 0 to {p['max_monthly_rent']}"), nullable=True)
    return pa.DataFrameSchema(cols, checks=[c for c, _ in checks], coerce=False, strict=False,
                              metadata={"blame": {c.error: column for c, column in checks}})


def implausible(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Rows (by index) failing a plausibility rule: columns index, column, reason."""
    if frame.empty:
        return pd.DataFrame(columns=["index", "column", "reason"])
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        blame = (schema.metadata or {}).get("blame", {})
        reason = fc["check"].astype(str)
        # a row-level check is reported once per cell of the failing row: keep one, and
        # name the column the rule is about
        column = reason.map(blame).astype("string").fillna(fc["column"].astype("string"))
        out = pd.DataFrame({"index": fc["index"].astype("int64").to_numpy(),
                            "column": column.to_numpy(dtype=object), "reason": reason.to_numpy()})
        return out.drop_duplicates(["index", "reason"]).reset_index(drop=True)
    return pd.DataFrame(columns=["index", "column", "reason"])


# --- processed tables ----------------------------------------------------------------------
# One schema per table in data/processed. `strict=True`: a column not listed here (a name,
# an e-mail, a raw reference) cannot reach the processed layer by accident.

def _c(dtype, *checks, nullable=True, unique=False) -> pa.Column:
    return pa.Column(dtype, list(checks), nullable=nullable, unique=unique)


DATE = "datetime64[ns]"
STR, BOOL, INT, FLOAT = "string", "boolean", "Int64", "Float64"
_PID = pa.Check.str_matches(r"^P[0-9a-f]{16}$")
_TID = pa.Check.str_matches(r"^T[0-9a-f]{16}$")


PROCESSED: dict[str, dict[str, pa.Column]] = {
    "participants": {
        "landlord": _c(STR, nullable=False), "country": _c(STR, pa.Check.isin(["UK", "FR"]), nullable=False),
        "person_id": _c(STR, _PID, nullable=False, unique=True), "neighbourhood_id": _c(STR, nullable=False),
        "sex": _c(STR, pa.Check.isin(["F", "M"])), "ethnic_minority": _c(BOOL), "disability": _c(BOOL),
        "single_parent": _c(BOOL), "no_qualification": _c(BOOL),
        "employment_status": _c(STR, pa.Check.isin(["unemployed", "long_term_unemployed", "inactive"])),
        "entry_date": _c(DATE, nullable=False), "assessment_date": _c(DATE), "training_start_date": _c(DATE),
        "training_completed": _c(BOOL), "exit_date": _c(DATE), "tenancy_id": _c(STR, _TID),
        "birth_year": _c(INT, pa.Check.between(1900, 2100), nullable=False), "age_at_entry": _c(INT),
        "age_band": _c(STR), "long_term_unemployed": _c(BOOL), "barriers_n": _c(INT, pa.Check.between(0, 4)),
        "registrations": _c(INT, pa.Check.ge(1)), "also_registered_by": _c(STR),
        "sessions_n": _c(INT, pa.Check.ge(0)), "training_sessions_n": _c(INT, pa.Check.ge(0)),
        "session_hours": _c(FLOAT, pa.Check.ge(0)), "first_session_date": _c(DATE), "last_session_date": _c(DATE),
        "job": _c(BOOL, nullable=False), "job_date": _c(DATE), "contract_type": _c(STR),
        "business": _c(BOOL, nullable=False), "business_date": _c(DATE),
        "further_training": _c(BOOL, nullable=False), "further_training_date": _c(DATE),
        "employment": _c(BOOL, nullable=False), "employment_date": _c(DATE),
        "days_to_employment": _c(INT), "is_ambassador": _c(BOOL, nullable=False),
        "stage": _c(STR, pa.Check.isin(STAGES), nullable=False), "recorded_stage": _c(STR, pa.Check.isin(STAGES)),
    },
    "sessions": {"landlord": _c(STR, nullable=False), "person_id": _c(STR, _PID, nullable=False),
                 "session_date": _c(DATE, nullable=False), "duration_minutes": _c(FLOAT, pa.Check.gt(0)),
                 "session_type": _c(STR), "provider": _c(STR)},
    "outcomes": {"landlord": _c(STR, nullable=False), "person_id": _c(STR, _PID, nullable=False),
                 "outcome_type": _c(STR, pa.Check.isin(["job", "business", "training"]), nullable=False),
                 "outcome_date": _c(DATE, nullable=False), "contract_type": _c(STR), "legal_form": _c(STR),
                 "sector": _c(STR)},
    "businesses": {"landlord": _c(STR, nullable=False), "person_id": _c(STR, _PID, nullable=False, unique=True),
                   "created_date": _c(DATE, nullable=False), "legal_form": _c(STR), "sector": _c(STR),
                   "checks_n": _c(INT, pa.Check.ge(0)), "ceased": _c(BOOL, nullable=False),
                   "ceased_date": _c(DATE), "last_trading_date": _c(DATE),
                   "survival_days": _c(INT, pa.Check.ge(0), nullable=False)},
    "business_checks": {"landlord": _c(STR, nullable=False), "person_id": _c(STR, _PID, nullable=False),
                        "check_date": _c(DATE, nullable=False), "trading": _c(BOOL, nullable=False)},
    "questionnaires": {"landlord": _c(STR, nullable=False), "person_id": _c(STR, _PID, nullable=False),
                       "wave": _c(STR, pa.Check.isin(["entry", "month6"]), nullable=False),
                       "response_date": _c(DATE), "confidence": _c(INT, pa.Check.between(1, 10)),
                       **{c: _c(INT, pa.Check.between(1, 5)) for c in WELLBEING_ITEMS}},
    "ambassadors": {"landlord": _c(STR, nullable=False), "person_id": _c(STR, _PID, nullable=False),
                    "trained_date": _c(DATE, nullable=False), "month": _c(DATE, nullable=False),
                    "active": _c(BOOL, nullable=False)},
    "tenancies": {"landlord": _c(STR, nullable=False), "tenancy_id": _c(STR, _TID, nullable=False, unique=True),
                  "neighbourhood_id": _c(STR), "tenancy_start": _c(DATE),
                  "tenancy_end": _c(DATE), "household_type": _c(STR), "lead_birth_year": _c(INT),
                  "end_known": _c(BOOL, nullable=False), "participant": _c(BOOL, nullable=False)},
    # one row per neighbourhood and landlord: a place in config/neighbourhoods.yml may be
    # the same place under two landlords (shared)
    "neighbourhoods": {"neighbourhood_id": _c(STR, nullable=False), "name": _c(STR),
                       "landlord": _c(STR, nullable=False), "country": _c(STR, nullable=False),
                       "shared": _c(BOOL, nullable=False)},
    "rejects": {c: _c(INT if c == "row" else STR) for c in
                ["landlord", "table", "file", "row", "column", "field", "value_shape", "reason"]},
}


UNIQUE = {"neighbourhoods": ["neighbourhood_id", "landlord"]}   # rows a table holds once


def processed(table: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(PROCESSED[table], strict=True, coerce=False, name=table, unique=UNIQUE.get(table))
