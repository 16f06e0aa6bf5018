"""draft: a first mapping for a new landlord, sniffed from its exports.

`increase-eval draft ID FOLDER` looks at every CSV and XLSX file in FOLDER and writes
config/landlords/<ID>.yml, a commented mapping to edit. For each file it sniffs the
encoding (UTF-8 with or without a byte-order mark, or Windows-1252), the delimiter, the
header row (a title block above it gives `header_row: auto`), the sheet, the formats of
dates and months, the decimal mark, the yes/no words and the spellings of categories;
it guesses which file is which table and which header feeds which canonical field from
header words in English and French, from the values (a column of T0/T6 is a wave) and
from references shared with the register.

What it is not sure of gets a `TODO` comment; what it cannot know (the landlord's name,
which spelling means which category, how places group) is left for a person to fill.
It never picks a reading that could go two ways: a column of dates whose days are all
12 or less fits dd/mm/yyyy and mm/dd/yyyy, and both are written as a comment to choose
from. It never copies personal data: no value of a column that looks like an
identifier, and category spellings only from low-cardinality columns (at most
`MAX_CATEGORIES` distinct values, each in at least `MIN_ROWS` rows), never free text.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import yaml

from . import mapping as mapping_language
from .errors import UserError
from .normalise import EXCEL_SERIAL_RANGE, fold
from .schema import FIELDS

SAMPLE_ROWS = 50_000        # data rows looked at per file
SAMPLE_BYTES = 64 << 20     # bytes of a CSV read to sniff its encoding
MAX_CATEGORIES = 30         # a column with more distinct values is not a category: no spelling copied
MIN_ROWS = 3                # a spelling is copied only when at least this many rows share it
HEADER_SCAN = 30
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")

# Date formats tried on each date-looking column, in the order a draft prefers them.
DATE_CANDIDATES = ["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d",
                   "%d/%m/%y", "%m/%d/%y", "%d.%m.%y", "%Y%m%d", "%d %b %Y", "%d-%b-%Y", "%d %B %Y"]
MONTH_CANDIDATES = ["%m/%Y", "%Y-%m", "%m-%Y", "%Y/%m", "%m.%Y", "%b %Y", "%B %Y", "%b-%y", "%Y%m"]
TIMES = [" %H:%M:%S", " %H:%M", "T%H:%M:%S"]


# --- words ------------------------------------------------------------------------------------

STOP = {"de", "du", "des", "la", "le", "les", "l", "d", "of", "the", "a", "an", "en", "et", "and", "in", "au",
        "aux", "par", "per", "y", "n", "e", "on", "for", "pour", "by", "une", "un", "dans", "this", "s"}
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "pk": "park", "rd": "road", "mt": "mount"}
PLACE_STOP = {"de", "du", "des", "la", "le", "les", "l", "d", "of", "the", "et", "and", "en"}   # "A" names a place


def _stem(token: str) -> str:
    return token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token


def words(text: str) -> tuple[str, ...]:
    """A header (or file name) as words: camelCase and digits split, folded, stop words out."""
    text = re.sub(r"(?i)\bn\s*[°º]", " numero ", str(text))     # N° (French for 'number')
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Za-z])(\d)", r"\1 \2", text)
    text = re.sub(r"(\d)([A-Za-z])", r"\1 \2", text)
    tokens = re.findall(r"[a-z0-9]+", fold(text))
    return tuple(_stem(t) for t in tokens if t not in STOP)


def _has(header: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Every word of the pattern is in the header (a pattern word of 5+ letters also
    matches a longer header word it begins: handicap, handicapé)."""
    return all(any(h == p or (len(p) >= 5 and h.startswith(p)) for h in header) for p in pattern)


# Header words per table and field, English and French. A phrase starting with "~" is
# generic ("date", "type"): it may map a column, but only as a guess to check.
_REF = ["participant id", "participant ref", "participant reference", "participant number", "ref participant",
        "client ref", "client id", "customer number", "customer id", "identifiant", "dossier", "code beneficiaire",
        "beneficiaire", "id beneficiaire", "numero beneficiaire", "matricule", "id benef", "contact id",
        "benef", "~contact", "~participant", "~client",
        "~customer", "~id", "~ref", "~reference", "~code", "~numero", "~number", "~no"]
_TENANCY_REF = ["tenancy ref", "tenancy reference", "tenancy no", "tenancy number", "tenancy id", "ref bail",
                "reference bail", "bail", "contrat", "numero contrat", "reference locataire", "lease", "lease ref",
                "compte locataire", "~tenancy", "~reference", "~ref"]
_HOOD = ["neighbourhood", "neighborhood", "estate", "scheme", "quartier", "residence", "residence quartier", "cite",
         "ward", "patch", "area", "~site", "~secteur geographique", "~commune", "~ville", "~town"]
_HOUSEHOLD = ["household type", "household", "menage", "composition menage", "composition familiale",
              "type menage", "family type"]
KEYWORDS: dict[str, dict[str, list[str]]] = {
    "participants": {
        "participant_ref": _REF,
        "first_name": ["first name", "firstname", "forename", "given name", "prenom"],
        "last_name": ["surname", "last name", "lastname", "family name", "nom", "nom famille", "nom usage",
                      "nom naissance"],
        "birth_date": ["date birth", "dob", "birth date", "birthdate", "date naissance", "naissance", "ne le", "ne",
                       "birth", "birthday", "dt naiss", "date naiss", "naiss"],
        "email": ["email", "e mail", "mail", "courriel", "adresse mail", "email address", "adresse electronique"],
        "phone": ["phone", "telephone", "tel", "mobile", "portable", "phone number", "contact number"],
        "address": ["address", "adresse", "address line", "adresse postale", "home address", "street", "rue",
                    "domicile"],
        "postcode": ["postcode", "post code", "cp", "code postal", "zip", "postal code", "cd postal", "postal"],
        "tenancy_ref": _TENANCY_REF,
        "neighbourhood": _HOOD,
        "sex": ["sex", "sexe", "gender", "genre", "civilite", "~title"],
        "ethnic_minority": ["ethnic minority", "ethnicity minority", "minority", "ethnic", "bame", "bme", "minorite",
                            "minorite visible"],
        "disability": ["disability", "disabled", "handicap", "rqth", "travailleur handicape", "has disability"],
        "single_parent": ["single parent", "lone parent", "parent isole", "monoparent", "famille monoparentale",
                          "parent seul"],
        "no_qualification": ["no qualification", "no qual", "qualification none", "sans qualification",
                             "sans diplome", "aucun diplome", "unqualified", "non diplome"],
        "employment_status": ["employment status", "economic status", "work status", "statut emploi",
                              "situation professionnelle", "situation emploi", "statut", "status",
                              "employment", "situation", "sit emploi"],
        "entry_date": ["date engaged", "engaged", "entry date", "date entry", "start date", "referral date",
                       "date entree", "date inscription", "inscription", "date 1er contact", "premier contact",
                       "1er contact", "registration date", "date registered", "enrolment date", "date referral",
                       "joined", "date adhesion", "created date", "date created", "dt entree", "~created"],
        "assessment_date": ["assessment date", "assessed", "assessed on", "date diagnostic", "diagnostic",
                            "date evaluation", "evaluation", "assessment", "date bilan"],
        "training_start_date": ["training start", "training start date", "training began", "training begun",
                                "debut formation", "date debut formation", "date entree formation",
                                "entree formation", "debut parcours", "date debut parcours", "start training"],
        "training_completed": ["training completed", "completed training", "completed", "formation terminee",
                               "formation achevee", "parcours termine", "formation validee", "training complete",
                               "fin formation"],
        "exit_date": ["exit date", "leave date", "left programme", "left", "date sortie", "date fin accompagnement",
                      "fin accompagnement", "date fin", "end date", "leaving date", "date depart", "dt sortie"],
        "stage": ["stage", "etape", "etape parcours", "journey stage", "pathway stage", "statut parcours"],
    },
    "sessions": {
        "participant_ref": _REF,
        "session_date": ["session date", "date seance", "date session", "date rdv", "date rendez vous", "session start",
                         "dt rdv", "~date", "~start"],
        "duration": ["duration", "duree", "length", "minutes", "hours", "heures", "temps passe"],
        "session_type": ["session type", "type seance", "type session", "nature", "activity", "activite",
                         "type activite", "~type"],
        "provider": ["provider", "coach", "intervenant", "organisme", "prestataire", "delivered", "formateur",
                     "conseiller", "advisor", "adviser", "trainer", "coach provider"],
    },
    "outcomes": {
        "participant_ref": _REF,
        "outcome_type": ["outcome", "outcome type", "type sortie", "sortie", "resultat", "result", "type outcome"],
        "outcome_date": ["outcome date", "date achieved", "date sortie", "date sortie positive", "date outcome",
                         "dt sortie", "~date"],
        "contract_type": ["contract type", "contract", "contrat", "type contrat"],
        "legal_form": ["legal form", "forme juridique", "statut juridique", "legal status", "business type"],
        "sector": ["sector", "secteur", "secteur activite", "business sector", "industry"],
        "business_name": ["business name", "trading name", "raison sociale", "nom entreprise", "enseigne",
                          "company name", "nom societe", "denomination"],
    },
    "business_checks": {
        "participant_ref": _REF,
        "check_date": ["check date", "date checked", "date controle", "date verification", "date suivi", "review date",
                       "date reviewed", "dt controle", "~date"],
        "trading": ["trading", "still trading", "en activite", "activite", "active", "actif", "open", "ouverte"],
    },
    "questionnaires": {
        "participant_ref": _REF,
        "wave": ["wave", "survey", "questionnaire", "vague", "temps", "time point", "timepoint", "passation"],
        "response_date": ["date completed", "response date", "date reponse", "completed", "date questionnaire",
                          "completed on", "~date"],
        "confidence": ["confidence", "confiance", "self confidence", "confiance soi"],
    },
    "ambassadors": {
        "participant_ref": _REF,
        "trained_date": ["ambassador training date", "training date", "trained", "trained date", "date formation",
                         "date formation ambassadeur", "dt formation", "~date"],
        "month": ["month", "mois", "period", "periode"],
        "active": ["active", "actif", "active this month", "active month", "actif mois"],
    },
    "tenancies": {
        "tenancy_ref": _TENANCY_REF,
        "neighbourhood": _HOOD,
        "tenancy_start": ["tenancy start", "start", "start date", "date entree", "date effet", "entree lieux",
                          "date debut bail", "debut bail", "date debut", "tenancy start date", "dt debut"],
        "tenancy_end": ["tenancy end", "end", "end date", "date sortie", "date fin", "sortie lieux", "date fin bail",
                        "fin bail", "tenancy end date", "dt fin"],
        "lead_tenant_name": ["lead tenant", "lead tenant name", "titulaire", "titulaire bail", "locataire",
                             "nom titulaire", "tenant name", "nom locataire"],
        "lead_birth_date": ["lead tenant dob", "lead tenant date birth", "date naissance titulaire",
                            "date naissance locataire", "dob", "date birth", "naissance", "birth", "dt naiss titulaire",
                            "naiss"],
        "household_type": _HOUSEHOLD,
    },
    "rent_accounts": {
        "tenancy_ref": _TENANCY_REF,
        "month": ["month", "mois", "period", "periode", "rent month"],
        "rent_due": ["rent due", "rent", "rent charged", "loyer", "quittance", "loyer quittance", "charge"],
        "arrears": ["arrears", "arrears balance", "balance", "solde", "solde impaye", "impaye", "dette",
                    "dette locative", "debt"],
        # housing benefit received for the month (France: APL, often paid to the landlord,
        # "tiers payant"; UK: Housing Benefit, or Universal Credit's housing costs element)
        "housing_benefit": ["housing benefit", "hb", "apl", "apl tiers payant", "aide logement", "aide au logement",
                            "tiers payant", "housing costs", "housing costs uc", "uc housing costs",
                            "housing element"],
        "neighbourhood": _HOOD,
        "tenancy_start": ["tenancy start", "date entree", "date effet", "debut bail", "start date"],
        "tenancy_end": ["tenancy end", "date sortie", "fin bail", "end date"],
        "household_type": _HOUSEHOLD,
    },
}
PATTERNS = {t: {f: [(words(p.lstrip("~")), p.startswith("~")) for p in ps] for f, ps in fs.items()}
            for t, fs in KEYWORDS.items()}

FILE_WORDS = {
    "participants": ["participant", "register", "registre", "inscrit", "beneficiaire", "cohort", "client"],
    "sessions": ["session", "seance", "attendance", "presence", "rdv", "activite"],
    "outcomes": ["outcome", "sortie", "result", "resultat"],
    "business_checks": ["business", "perennite", "entreprise", "followup", "check", "survival", "trading"],
    "questionnaires": ["survey", "questionnaire", "enquete", "wellbeing"],
    "ambassadors": ["ambassador", "ambassadeur"],
    "tenancies": ["tenanc", "bail", "baux", "lease"],
    "rent_accounts": ["rent", "compte", "loyer", "arrears", "impaye", "account"],
}
# SWEMWBS items in the order of the scale, for headers that name the item, not its number
WELLBEING_WORDS = {"optimist": 1, "optimiste": 1, "useful": 2, "utile": 2, "relaxed": 3, "detendu": 3,
                   "problem": 4, "probleme": 4, "clearly": 5, "clair": 5, "clairement": 5, "close": 6, "proche": 6,
                   "mind": 7, "avis": 7, "decision": 7}
WELLBEING_SCALE = {"wemwb", "swemwb", "wellbeing", "wellbe", "bien", "etre", "warwick", "q", "item"}
FRENCH = {"date", "naissance", "prenom", "nom", "quartier", "seance", "duree", "sortie", "bail", "baux", "loyer",
          "solde", "mois", "adresse", "telephone", "courriel", "entree", "formation", "contrat", "menage",
          "locataire", "dossier", "identifiant", "impaye", "dette", "actif", "vague", "confiance", "statut",
          "handicap", "diplome", "secteur", "juridique", "debut", "fin", "reponse", "periode", "titulaire",
          "residence", "civilite", "sexe", "genre", "minorite", "monoparent", "inscription", "controle", "activite",
          "beneficiaire", "ambassadeur", "entreprise", "parcours", "quittance", "code", "postal", "situation"}
ENGLISH = {"date", "birth", "name", "surname", "first", "estate", "session", "duration", "outcome", "tenancy",
           "rent", "arrears", "month", "address", "phone", "email", "entry", "training", "contract", "household",
           "tenant", "reference", "active", "wave", "confidence", "status", "disability", "qualification",
           "sector", "legal", "form", "start", "end", "completed", "survey", "balance", "lead", "gender", "ethnic",
           "minority", "parent", "lone", "single", "check", "trading", "ambassador", "business", "mobile",
           "postcode", "period", "type", "provider", "assessment", "exit", "engaged", "referral", "customer"}


# --- reading a folder ----------------------------------------------------------------------------

@dataclass
class Column:
    index: int
    header: str
    words: tuple[str, ...]
    values: list[str]                 # non-blank cells, stripped, in row order
    blank: int = 0
    typed_dates: int = 0              # Excel cells typed as dates
    kind: str = "empty"               # empty, date, month, bool, number, duration, text
    counts: Counter = field(default_factory=Counter)       # folded value -> rows
    spelling: dict[str, str] = field(default_factory=dict)  # folded value -> commonest spelling


@dataclass
class Source:
    """One table-like export: a CSV file, or one sheet of a workbook."""

    path: str                          # name inside the folder (or a glob)
    format: str                        # csv | xlsx
    files: list[str]
    sheet: str | None = None
    sheet_needed: bool = False         # several sheets, or the first is hidden: name it
    encoding: str | None = None
    encoding_note: str = ""
    encoding_sure: bool = True
    delimiter: str | None = None
    delimiter_note: str = ""
    delimiter_sure: bool = True
    header_line: int = 1
    rows: int = 0
    sampled: bool = False
    columns: list[Column] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sniff_encoding(data: bytes, whole: bool) -> tuple[str, bool, str]:
    """(encoding, sure, what was seen) of a CSV's bytes."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True, "UTF-8 with a byte-order mark"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", False, "UTF-16 (a byte-order mark): save it as UTF-8 if check cannot read it"
    try:
        data.decode("utf-8")
        ok = True
    except UnicodeDecodeError as exc:
        ok = not whole and exc.start >= len(data) - 4     # a character cut at the end of the sample
        bad_at = exc.start
    if ok:
        if max(data, default=0) < 0x80:
            note = "plain ASCII: UTF-8 and Windows-1252 read it alike" + ("" if whole else " (in the part read)")
            return "utf-8", whole, note
        return "utf-8", True, "UTF-8 (accented letters found)"
    utf8_like = len(re.findall(rb"[\xc2-\xf4][\x80-\xbf]+", data))
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", False, "neither UTF-8 nor Windows-1252; read as latin-1: check accented letters"
    if utf8_like:
        return "cp1252", False, (f"not UTF-8 (byte 0x{data[bad_at]:02x}), yet some accents look like UTF-8: a file "
                                 "saved twice in two encodings? check accented letters")
    return "cp1252", True, "Windows-1252 (not UTF-8)"


def sniff_delimiter(lines: list[str]) -> tuple[str, bool, str]:
    """The delimiter that splits the first line (the header) and the lines below it into
    the same number (> 1) of fields."""
    lines = [l for l in lines if l.strip()][:60]
    if not lines:
        return ",", False, "no line to look at"
    names = {"\t": "tab", ";": "';'", ",": "','", "|": "'|'"}
    fits = []
    for d in [";", ",", "\t", "|"]:
        counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        mode, n = Counter(counts).most_common(1)[0]
        if mode > 1:
            fits.append((counts[0] == mode, n / len(counts), mode, d))
    if not fits:
        return ",", False, "every line is one field: the delimiter is none of ; , tab |"
    fits.sort(reverse=True)
    header, share, mode, d = fits[0]
    rival = [f for f in fits[1:] if f[0] == header and f[1] >= share - 0.02 and f[1] >= 0.9]
    if rival:
        other = rival[0]
        return d, False, (f"{names[d]} and {names[other[3]]} both split the lines evenly (into {mode} and "
                          f"{other[2]} fields): {names[d]} taken, as it splits a larger share; check")
    if not header:
        return d, False, f"{names[d]} splits most lines into {mode} fields, but not the first: a title line?"
    return d, share >= 0.9, f"{names[d]} splits {share:.0%} of the first lines into {mode} fields"


def _cell(value) -> str:
    """An Excel cell as the readers show it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


_KNOWN_WORDS = {pattern for fields in PATTERNS.values() for patterns in fields.values()
                for pattern, weak in patterns if not weak}


def _header_index(rows: list[list[str]]) -> int | None:
    """The first row whose cells look like headers: text (not numbers or dates), distinct,
    filling most of the width the rows below use, and recognisably a header (a header word
    the draft knows, or text above a column of dates or numbers). None when no row is:
    the first rows may be data, and data is never copied as if it were headers."""
    head = rows[:HEADER_SCAN]
    widest = max((sum(1 for c in r if c.strip()) for r in head), default=0)
    for i, r in enumerate(head):
        cells = [c.strip() for c in r if c.strip()]
        if len(cells) < max(2, 0.6 * widest):
            continue
        headerish = sum(1 for c in cells if re.search(r"[A-Za-zÀ-ÿ]", c) and not _DATE.fullmatch(c)
                        and not _NUMBER.fullmatch(c) and len(c) <= 80)
        if headerish < 0.8 * len(cells) or len({fold(c) for c in cells}) < 0.9 * len(cells):
            continue
        known = any(_has(words(c), p) for c in cells for p in _KNOWN_WORDS)
        below = rows[i + 1:i + 51]
        typed = any(
            sum(1 for b in below if j < len(b) and (_DATE.fullmatch(b[j].strip()) or _NUMBER.fullmatch(b[j].strip())))
            >= 0.8 * max(1, sum(1 for b in below if j < len(b) and b[j].strip()))
            and any(j < len(b) and b[j].strip() for b in below)
            for j, c in enumerate(r)
            if c.strip() and not _DATE.fullmatch(c.strip()) and not _NUMBER.fullmatch(c.strip()))
        if known or typed:
            return i
    return None


def _columns(rows: list[list[str]], header: int, typed: list[list[bool]] | None) -> list[Column]:
    heads = rows[header]
    body = [r for r in rows[header + 1:] if any(c.strip() for c in r)]
    out = []
    for j, h in enumerate(heads):
        if not h.strip():
            continue
        cells = [r[j].strip() if j < len(r) else "" for r in body]
        col = Column(j, h.strip(), words(h), [c for c in cells if c])
        col.blank = len(cells) - len(col.values)
        if typed is not None:
            col.typed_dates = sum(1 for r in typed[header + 1:] if j < len(r) and r[j])
        out.append(col)
    return out


def read_csv(path: Path, name: str) -> Source:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        data = fh.read(SAMPLE_BYTES)
    whole = size <= SAMPLE_BYTES
    encoding, sure, note = sniff_encoding(data, whole)
    text = data.decode("utf-8" if encoding == "utf-8-sig" else encoding, errors="replace")
    text = text.lstrip("\ufeff")
    head_lines = text.splitlines()[:HEADER_SCAN + 30]
    delimiter, dsure, dnote = sniff_delimiter(head_lines)
    src = Source(name, "csv", [name], encoding=encoding, encoding_note=note, encoding_sure=sure,
                 delimiter=delimiter, delimiter_note=dnote, delimiter_sure=dsure)
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > SAMPLE_ROWS + HEADER_SCAN:
                src.sampled = True
                break
    except csv.Error:
        src.notes.append("a line could not be split (an unclosed quote?)")
    if not whole and not src.sampled and rows:
        rows.pop()          # cut in the middle by the sample
        src.sampled = True
    if not rows:
        src.notes.append("empty file")
        return src
    idx = _header_index(rows)
    if idx is None:
        src.notes.append("no header row recognised in the first lines (they may be data): add a header row to the "
                         "export, or map it by hand")
        return src
    src.header_line = idx + 1
    src.columns = _columns(rows, idx, None)
    src.rows = max(0, len(rows) - idx - 1)
    return src


def read_xlsx(path: Path, name: str) -> list[Source]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:   # calamine raises its own types for broken files
        src = Source(name, "xlsx", [name])
        src.notes.append(f"not a readable Excel workbook ({type(exc).__name__})")
        return [src]
    meta = getattr(book, "sheets_metadata", None) or []
    visible = {m.name: "hidden" not in str(getattr(m, "visible", "")).lower() for m in meta}   # Hidden, VeryHidden
    sheets = [s for s in book.sheet_names if visible.get(s, True)]
    hidden = [s for s in book.sheet_names if not visible.get(s, True)]
    out = []
    for sheet in sheets:
        try:
            raw = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception:
            continue
        rows = [[_cell(v) for v in r] for r in raw[: SAMPLE_ROWS + HEADER_SCAN + 1]]
        if not any(any(c.strip() for c in r) for r in rows):
            continue
        typed = [[isinstance(v, (date, datetime)) for v in r] for r in raw[: SAMPLE_ROWS + HEADER_SCAN + 1]]
        src = Source(name, "xlsx", [name], sheet=sheet,
                     sheet_needed=len(book.sheet_names) > 1 or bool(hidden))
        src.sampled = len(raw) > SAMPLE_ROWS + HEADER_SCAN + 1
        idx = _header_index(rows)
        if idx is None:
            src.notes.append("no header row recognised in the first rows (they may be data): add a header row, "
                             "or map it by hand")
            out.append(src)
            continue
        src.header_line = idx + 1
        src.columns = _columns(rows, idx, typed)
        src.rows = sum(1 for r in rows[idx + 1:] if any(c.strip() for c in r))
        if hidden:
            src.notes.append(f"hidden sheet(s) not read: {', '.join(hidden)}")
        out.append(src)
    if not out:
        src = Source(name, "xlsx", [name])
        src.notes.append("no visible sheet holds data")
        out.append(src)
    return out


def read_folder(folder: Path) -> tuple[list[Source], list[str]]:
    sources, skipped = [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))):
        suffix = path.suffix.lower()
        if suffix in CSV_SUFFIXES:
            sources.append(read_csv(path, path.name))
        elif suffix in XLSX_SUFFIXES:
            sources.extend(read_xlsx(path, path.name))
        elif path.name != "SYNTHETIC.json":
            skipped.append(path.name)
    return _globs(folder, sources), skipped


def _globs(folder: Path, sources: list[Source]) -> list[Source]:
    """Files of one export split in several (same headers, names differing in a part):
    one source with a glob, when the glob matches exactly those files."""
    groups: dict[tuple, list[Source]] = {}
    for s in sources:
        key = (s.format, s.sheet, tuple(fold(c.header) for c in s.columns))
        groups.setdefault(key, []).append(s)
    out = []
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    for group in groups.values():
        if len(group) == 1 or not group[0].columns:
            out.extend(group)
            continue
        files = [s.path for s in group]
        prefix = os.path.commonprefix(files)
        suffix = os.path.commonprefix([f[::-1] for f in files])[::-1]
        pattern = prefix + "*" + suffix if len(prefix) + len(suffix) < min(map(len, files)) else None
        if pattern and sorted(fnmatch.filter(names, pattern)) == sorted(files):
            first = group[0]
            first.path, first.files = pattern, files
            first.rows = sum(s.rows for s in group)
            first.notes.append(f"{len(files)} files with the same headers: {', '.join(files)}")
            for s in group[1:]:
                for a, b in zip(first.columns, s.columns):
                    a.values += b.values
                    a.blank += b.blank
                    a.typed_dates += b.typed_dates
            out.append(first)
        else:
            out.extend(group)
    return out


# --- what the values look like ---------------------------------------------------------------------

_DATE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
                   r"|\d{8}|\d{1,2}[ \-][A-Za-zéû]{3,9}\.?[ \-]\d{2,4}")
_MONTH = re.compile(r"\d{1,2}[/.\-]\d{4}|\d{4}[/.\-]\d{1,2}|[A-Za-zéû]{3,9}\.?[ \-]\d{2,4}|\d{6}")
_NUMBER = re.compile(r"[-+]?\(?[£€$]?\s?(?:\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+|\d+)(?:[.,]\d+)?\s?[£€$]?\)?")
_DURATION = re.compile(r"\d+(?:[.,]\d+)?\s*(?:h|hr|hrs|hours?|heures?|min|mins|minutes?|mn)\.?"
                       r"|\d+\s*h\s*\d+(?:\s*min)?|\d+:\d{2}(?::\d{2})?", re.I)
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")   # an Excel day number, with a time of day or not


def _is_month(v: str) -> bool:
    """A calendar month as exports write it; six digits only as yyyymm or mmyyyy with a
    month of 01-12 and a plausible year (100314 is a reference, not a month)."""
    if not _MONTH.fullmatch(v) or _DATE.fullmatch(v):
        return False
    if re.fullmatch(r"\d{6}", v):
        return (1990 <= int(v[:4]) <= 2099 and 1 <= int(v[4:]) <= 12) or \
            (1 <= int(v[:2]) <= 12 and 1990 <= int(v[2:]) <= 2099)
    return True


def _is_serial(v: str) -> bool:
    return bool(_SERIAL.fullmatch(v)) and EXCEL_SERIAL_RANGE[0] <= float(v) <= EXCEL_SERIAL_RANGE[1]


@dataclass
class Vocab:
    """What the shared configuration knows: missing-value tokens, yes/no words, categories."""

    missing: set[str]
    true: set[str]
    false: set[str]
    categories: dict[str, dict[str, list[str]]]

    def known(self, vocab: str) -> dict[str, str]:
        """folded spelling -> category, for one vocabulary."""
        out = {}
        for cat, spellings in (self.categories.get(vocab) or {}).items():
            for s in (cat, *spellings):
                out.setdefault(fold(str(s)), str(cat))
        return out


def profile(col: Column, vocab: Vocab) -> None:
    """Drop missing-value tokens, count spellings, and say what kind of values the column holds."""
    kept = []
    for v in col.values:
        if fold(v) in vocab.missing or (v.startswith("#") and len(v) <= 8):
            col.blank += 1
        else:
            kept.append(v)
    col.values = kept
    folded = Counter()
    spellings: dict[str, Counter] = {}
    for v in kept:
        k = fold(v)
        folded[k] += 1
        spellings.setdefault(k, Counter())[v] += 1
    col.counts = folded
    col.spelling = {k: c.most_common(1)[0][0] for k, c in spellings.items()}
    n = len(kept)
    if not n:
        col.kind = "empty"
        return
    weight = Counter(kept)
    distinct = [v for v, _ in weight.most_common(20000)]    # the commonest spellings weigh the most
    total = sum(weight[v] for v in distinct)

    def share(test) -> float:
        return sum(weight[v] for v in distinct if test(v)) / total

    if set(folded) <= (vocab.true | vocab.false | {"x"}) and len(folded) <= 3:
        col.kind = "bool"
    elif share(lambda v: _is_month(v)) >= 0.9 and not col.typed_dates:
        col.kind = "month"
    elif col.typed_dates or share(lambda v: bool(_DATE.fullmatch(v)) and not _SERIAL.fullmatch(v)) > 0:
        dated = share(lambda v: bool(_DATE.fullmatch(v)) or _is_serial(v))
        col.kind = "date" if (dated >= 0.9 or col.typed_dates >= 0.9 * n) else "text"
        if col.kind == "text" and share(lambda v: bool(_NUMBER.fullmatch(v))) >= 0.9:
            col.kind = "number"
    elif share(lambda v: bool(_NUMBER.fullmatch(v))) >= 0.9:
        col.kind = "serial" if share(_is_serial) >= 0.9 else "number"
    elif share(lambda v: bool(_NUMBER.fullmatch(v) or _DURATION.fullmatch(v))) >= 0.9:
        col.kind = "duration"
    else:
        col.kind = "text"


def _parse(values: list[str], fmt: str) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype="string"), format=fmt, errors="coerce")


def date_fits(values: list[str], candidates: list[str]) -> list[str]:
    """The candidate formats that read every one of `values` (distinct, stripped), one per
    reading: two formats reading them alike count once. Empty when none reads them all."""
    if not values:
        return []
    fits, seen = [], []
    for fmt in _with_times(candidates, values):
        got = _parse(values, fmt)
        if got.notna().all() and got.between(pd.Timestamp("1900-01-01"), pd.Timestamp("2100-12-31")).all():
            if any((got == s).all() for s in seen):
                continue
            fits.append(fmt)
            seen.append(got)
    return fits


def _with_times(candidates: list[str], values: list[str]) -> list[str]:
    if not any(re.search(r"\d:\d\d", v) for v in values[:500]):
        return list(candidates)
    return [c + t for c in candidates if "%" in c for t in TIMES] + list(candidates)


@dataclass
class DateGuess:
    formats: list[str]              # chosen, in order (empty: ISO and serials only, nothing to write)
    ambiguous: list[str]            # formats that read the same values differently: not chosen
    unread: int = 0                 # distinct values no candidate reads (junk: 31/02/2021, #REF!)
    thin: str = ""                  # a choice made on little evidence


def sniff_dates(values: list[str], candidates: list[str] | None = None, month: bool = False) -> DateGuess:
    """The formats of one column's dates. ISO dates and Excel serials are always read, so
    only the others need a format. When two formats read the same values to different
    dates (every day 12 or less), none is chosen: both are returned as ambiguous."""
    candidates = candidates or (MONTH_CANDIDATES if month else DATE_CANDIDATES)
    distinct = list(dict.fromkeys(v.strip() for v in values))
    iso = re.compile(r"\d{4}-\d{2}" if month else r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")
    rest = [v for v in distinct if not iso.fullmatch(v) and not _is_serial(v)]
    if not rest:
        return DateGuess([], [])
    cands = _with_times(candidates, rest)
    parsed = {f: _parse(rest, f) for f in cands}
    ok = {f: set(p.index[p.notna() & p.between(pd.Timestamp("1900-01-01"), pd.Timestamp("2100-12-31"))])
          for f, p in parsed.items()}
    readable = set().union(*ok.values())
    guess = DateGuess([], [], unread=len(rest) - len(readable))
    todo = set(readable)
    while todo and len(guess.formats) < 3:
        best = max(cands, key=lambda f: (len(ok[f] & todo), -cands.index(f)))
        covered = ok[best] & todo
        if not covered or (guess.formats and len(covered) < 3 and len(covered) < 0.01 * len(readable)):
            break
        rivals = [f for f in cands if f != best and ok[f] >= covered
                  and (parsed[f][list(covered)] != parsed[best][list(covered)]).any()]
        if rivals:
            if not guess.formats:
                guess.ambiguous = [best, *rivals]
                return guess
            guess.thin = (f"{len(covered)} value(s) read as {human(best)} or as {human(rivals[0])}; left out")
            break
        # a format that reads some of the values already covered differently: mixed formats
        clash = [f for f in guess.formats
                 if (set(ok[f]) & set(ok[best])) and
                 (parsed[f][list(ok[f] & ok[best])] != parsed[best][list(ok[f] & ok[best])]).any()]
        if clash:
            guess.thin = (f"{len(covered)} value(s) read only as {human(best)}, the others as {human(clash[0])}: "
                          "mixed formats? left out")
            break
        if not guess.formats:
            others = [f for f in cands if f != best and ok[f] and
                      (parsed[f][list(ok[f] & ok[best])] != parsed[best][list(ok[f] & ok[best])]).any()]
            if others:
                proof = len(covered - ok[others[0]])
                if proof < 3:
                    guess.thin = (f"only {proof} value(s) tell {human(best)} from {human(others[0])}")
        guess.formats.append(best)
        todo -= covered
    return guess


def human(fmt: str) -> str:
    """strftime -> the mapping language's words (dd/mm/yyyy)."""
    out = fmt
    for a, b in (("%d", "dd"), ("%m", "mm"), ("%Y", "yyyy"), ("%y", "yy"), ("%H", "hh"), ("%M", "mi"),
                 ("%S", "ss"), ("%B", "mmmm"), ("%b", "mmm")):
        out = out.replace(a, b)
    return out


def decimal_evidence(values: list[str]) -> Counter:
    """Votes for the decimal mark from amounts: 1 234,56 and 12,5 say ','; 1,234.56 and 12.5 say '.'.
    1,234 and 1.234 (three digits after the mark) say nothing."""
    votes = Counter()
    for v in dict.fromkeys(values):
        t = v.strip().strip("£€$ ()").replace("\u00a0", " ").replace("\u202f", " ")
        if re.fullmatch(r"-?\d{1,3}(?:[ .]\d{3})+,\d+|-?\d+,(?:\d{1,2}|\d{4,})", t):
            votes[","] += 1
        elif re.fullmatch(r"-?\d{1,3}(?:[ ,]\d{3})+\.\d+|-?\d+\.(?:\d{1,2}|\d{4,})", t):
            votes["."] += 1
    return votes


def categories_of(col: Column) -> tuple[list[tuple[str, int]], int] | None:
    """The spellings of a low-cardinality column that may be copied (each in MIN_ROWS
    rows or more), and the rows left out as rare; None when the column is not a short
    list of categories (more than MAX_CATEGORIES distinct values, or, in a large file,
    more than MAX_CATEGORIES common ones or a tenth of its rows in rare ones): free text,
    names, or what else must not be copied."""
    n = sum(col.counts.values())
    if not n:
        return [], 0
    frequent = [(k, c) for k, c in col.counts.most_common() if c >= MIN_ROWS]
    covered = sum(c for _, c in frequent)
    if len(col.counts) > MAX_CATEGORIES and (len(frequent) > MAX_CATEGORIES or covered < 0.9 * n):
        return None
    return [(col.spelling[k], c) for k, c in frequent], n - covered


# --- which file is which table, which header which field -------------------------------------------

# kinds of column (profile) each kind of field may read; "serial": whole numbers 10,000 to 60,000,
# Excel's day numbers of 1927 to 2064 (or counts, or references)
COMPATIBLE = {
    "ref": {"text", "number", "serial", "empty"}, "text": {"text", "empty"}, "date": {"date", "serial", "empty"},
    "month": {"month", "empty"}, "bool": {"bool", "text", "empty"}, "category": {"text", "number", "bool", "empty"},
    "int": {"number", "empty"}, "number": {"number", "serial", "empty"}, "neighbourhood": {"text", "empty"},
    "duration": {"number", "duration", "empty"},
    "ignored": {"text", "number", "serial", "date", "month", "bool", "duration", "empty"},
}


@dataclass
class Pick:
    field: str
    column: Column
    score: float
    why: str          # header words, or what in the values
    sure: bool


def _keyword(col: Column, table: str, name: str) -> tuple[float, bool, str]:
    best, generic, phrase = 0.0, False, ""
    n = max(len(col.words), 1)
    for pattern, weak in PATTERNS[table].get(name, []):
        if pattern and _has(col.words, pattern):
            s = 10 * len(pattern) + 6 * min(len(pattern) / n, 1)
            if s > best or (s == best and generic and not weak):
                best, generic, phrase = s, weak, " ".join(pattern)
    special = _special(col, table, name)
    if special > best:
        return special, False, "item number"
    return best, generic, phrase


def _special(col: Column, table: str, name: str) -> float:
    w = set(col.words)
    numbers = [int(t) for t in col.words if t.isdigit()]
    if table == "questionnaires" and name.startswith("wellbeing_"):
        item = int(name.split("_")[1])
        if w & WELLBEING_SCALE and numbers and [x for x in numbers if 1 <= x <= 7] == [item]:
            return 40
        hits = {n for t in w for k, n in WELLBEING_WORDS.items() if t == k or (len(k) >= 5 and t.startswith(k))}
        if hits == {item}:
            return 30
    if table == "business_checks" and re.fullmatch(r"trading_\d+m", name):
        months = int(name[8:-1])
        if months in numbers and w & {"m", "month", "moi", "mois"} and w & {"trading", "activite", "active", "actif",
                                                                            "still", "open"}:
            return 40
    return 0


def _value_score(col: Column, table: str, name: str, vocab: Vocab, context: dict) -> tuple[float, str]:
    f = FIELDS[table][name]
    n = sum(col.counts.values())
    if not n:
        return 0.0, ""
    if f.kind == "category":
        known = vocab.known(f.vocab)
        hit = sum(c for k, c in col.counts.items() if k in known) / n
        if hit >= 0.5 and len(col.counts) <= 60:
            return 30 * hit, f"its values are {f.vocab} spellings"
    if name == "email" and sum(c for k, c in col.counts.items() if "@" in col.spelling[k]) >= 0.5 * n:
        return 30, "its values are e-mail addresses"
    if f.kind == "ref":
        refs = context.get(name)
        if refs:
            overlap = sum(c for k, c in col.counts.items() if k in refs) / n
            if overlap >= 0.5:
                return 40 * overlap, f"its values are the register's {name.replace('_', ' ')}s"
    if f.kind == "neighbourhood":
        hoods = context.get("neighbourhood")
        if hoods:
            overlap = sum(c for k, c in col.counts.items() if k in hoods) / n
            if overlap >= 0.5:
                return 25 * overlap, "its values are the register's neighbourhoods"
    return 0.0, ""


def assign(src: Source, table: str, vocab: Vocab, context: dict) -> tuple[float, list[Pick]]:
    """The best header for each field of `table` in this source, and how well the source fits it."""
    options = []
    for col in src.columns:
        for name, f in FIELDS[table].items():
            if col.kind not in COMPATIBLE[f.kind]:
                continue
            if f.kind == "bool" and col.kind == "text" and not 2 <= len(col.counts) <= 6:
                continue
            if f.kind == "category" and col.kind == "bool" and f.vocab not in ("sex",):
                continue
            kw, generic, phrase = _keyword(col, table, name)
            vs, vwhy = _value_score(col, table, name, vocab, context)
            if kw <= 0 and vs < 15:
                continue
            score = kw + vs
            # a generic word ("Date") is enough when no other column of the file could be that field
            alone = generic and f.kind in ("date", "month") and col.kind == f.kind and \
                sum(1 for c in src.columns if c.kind == f.kind) == 1
            sure = (kw >= 10 and (not generic or alone)) or vs >= 20
            if f.kind == "date" and col.kind == "serial":
                sure, vwhy = False, "its values are whole numbers: read as Excel day numbers (43831 is 2020-01-01)"
            if col.kind == "empty":
                score *= 0.5
                sure = False
            why = f"header word{'s' if ' ' in phrase else ''} '{phrase}'" if kw > 0 else vwhy
            if kw > 0 and vwhy:
                why += f"; {vwhy}"
            options.append(Pick(name, col, score, why, sure))
    options.sort(key=lambda p: (-p.score, p.column.index))
    taken_cols, taken_fields, picks = set(), set(), []
    for p in options:
        if p.column.index in taken_cols or p.field in taken_fields:
            continue
        picks.append(p)
        taken_cols.add(p.column.index)
        taken_fields.add(p.field)
    required = {n for n, f in FIELDS[table].items() if f.required}
    found = {p.field for p in picks}
    horizons = {n for n in FIELDS[table] if re.fullmatch(r"trading_\d+m", n)}
    if table == "business_checks" and not found & horizons:
        required = required | {"check_date", "trading"}     # dated checks, unless flags at horizons
    name_words = words(Path(src.path).stem) + (words(src.sheet) if src.sheet else ())
    bonus = 25 if any(_has(name_words, (w,)) for w in FILE_WORDS[table]) else 0
    score = sum(p.score for p in picks) + bonus - 25 * len(required - found)
    if not (required & found):
        score = min(score, 0)
    return score, picks


def identify(sources: list[Source], vocab: Vocab) -> dict[str, tuple[Source, list[Pick], float]]:
    """Which source is which table: the register first (the others are linked to its
    references), then the best remaining fit for each table, one source per table."""
    usable = [s for s in sources if s.columns]
    chosen: dict[str, tuple[Source, list[Pick], float]] = {}
    context: dict = {}
    if usable:
        scored = sorted(((assign(s, "participants", vocab, {}), i) for i, s in enumerate(usable)),
                        key=lambda x: -x[0][0])
        (score, picks), i = scored[0]
        if score > 40:
            chosen["participants"] = (usable[i], picks, score)
            for p in picks:
                if p.field in ("participant_ref", "tenancy_ref", "neighbourhood"):
                    context[p.field] = set(p.column.counts)
    rest = [s for s in usable if all(s is not c[0] for c in chosen.values())]
    options = []
    for s in rest:
        for table in FIELDS:
            if table in chosen:
                continue
            score, picks = assign(s, table, vocab, context)
            if score > 30:
                options.append((score, id(s), s, table, picks))
    options.sort(key=lambda o: -o[0])
    used = set()
    for score, sid, s, table, picks in options:
        if table in chosen or sid in used:
            continue
        chosen[table] = (s, picks, score)
        used.add(sid)
        # a source that fits another table nearly as well is a guess to check
        close = [o[3] for o in options if o[1] == sid and o[3] != table and o[0] >= 0.8 * score]
        if close:
            s.notes.append(f"TODO: read as {table}, but it fits {close[0]} nearly as well: check which it is")
    return chosen


# --- the draft ------------------------------------------------------------------------------------

@dataclass
class Todo:
    where: tuple          # key path in the mapping: ("vocab", "sex"), ("files", "sessions", "columns", "duration")
    note: str


@dataclass
class Draft:
    path: Path
    text: str
    tables: dict[str, str]               # table -> file (or glob)
    todos: list[Todo]
    problems: list[str]                  # what the mapping schema still refuses
    unmapped_files: list[str]


def q(text) -> str:
    """A YAML scalar, quoted (JSON strings are YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _flow(items) -> str:
    return "[" + ", ".join(q(i) for i in items) + "]"


def _load_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _vocab(config_dir: Path) -> Vocab:
    data = _load_yaml(config_dir / "vocabularies.yml")
    if not data:
        raise UserError(f"{config_dir / 'vocabularies.yml'} is missing or not valid YAML (the draft needs the "
                        "shared vocabularies)")
    b = data.get("booleans") or {}
    return Vocab({fold(str(t)) for t in data.get("missing") or []} | {""},
                 {fold(str(t)) for t in b.get("true", b.get(True, []))},
                 {fold(str(t)) for t in b.get("false", b.get(False, []))},
                 data.get("categories") or {})


def _ids_in_use(config_dir: Path, skip: Path) -> set[str]:
    used = {str(n.get("id")) for n in (_load_yaml(config_dir / "neighbourhoods.yml").get("neighbourhoods") or [])
            if isinstance(n, dict)}
    for p in (config_dir / "landlords").glob("*.yml"):
        if p.resolve() == skip.resolve() or "." in p.stem:
            continue
        for n in _load_yaml(p).get("neighbourhoods") or []:
            if isinstance(n, dict) and n.get("id"):
                used.add(str(n["id"]))
    return used


def _registry(config_dir: Path) -> dict[str, tuple[str, str]]:
    """folded name or alias -> (id, name) of the places of config/neighbourhoods.yml."""
    out = {}
    for n in _load_yaml(config_dir / "neighbourhoods.yml").get("neighbourhoods") or []:
        if isinstance(n, dict) and n.get("id") and n.get("name"):
            for s in (n["name"], *(n.get("aliases") or [])):
                out[fold(str(s))] = (str(n["id"]), str(n["name"]))
    return out


def _place_words(text: str) -> frozenset[str]:
    return frozenset(ABBREVIATIONS.get(t, t) for t in re.findall(r"[a-z0-9]+", fold(text)) if t not in PLACE_STOP)


def group_places(spellings: list[tuple[str, int]]) -> list[dict]:
    """Spellings of places -> places: a spelling whose words are all in exactly one longer
    spelling's is an alias of it (Marville -> Saint-Malo - Marville); the rest stand alone."""
    order = sorted(spellings, key=lambda s: (-len(_place_words(s[0])), -s[1], s[0]))
    places: list[dict] = []
    for text, n in order:
        w = _place_words(text)
        homes = [p for p in places if w and w <= p["words"]]
        if len(homes) == 1:
            homes[0]["aliases"].append(text)
            homes[0]["rows"] += n
        else:
            places.append({"name": text, "words": w, "aliases": [], "rows": n,
                           "also": [p["name"] for p in homes] if len(homes) > 1 else []})
    return places


def _prefix(landlord_id: str, country: str, used: set[str]) -> str:
    parts = [p for p in re.split(r"[_\-\s]+", landlord_id.upper()) if p]
    tries = []
    if len(parts) > 1:
        tries.append("".join(p[0] for p in parts[:3]))
    tries += [parts[0][:2], parts[0][:3], "".join(parts)[:4]] if parts else ["XX"]
    for t in tries:
        if not any(u.startswith(f"{country}-{t}-") for u in used):
            return f"{country}-{t}"
    return f"{country}-{tries[0]}{len(used)}"


class Writer:
    """Collects the draft's lines and its TODOs."""

    def __init__(self):
        self.lines: list[str] = []
        self.todos: list[Todo] = []

    def add(self, line: str = "", comment: str = "") -> None:
        self.lines.append(f"{line}  # {comment}" if comment and line.strip() else
                          f"{line}# {comment}" if comment else line)

    def todo(self, where: tuple, note: str, indent: str = "", line: str | None = None) -> None:
        self.todos.append(Todo(where, note))
        if line is None:
            for i, part in enumerate(_wrap(note, 100 - len(indent))):
                self.lines.append(f"{indent}# {'TODO: ' if i == 0 else '      '}{part}")
        else:
            self.lines.append(f"{line}  # TODO: {note}")


def _wrap(text: str, width: int) -> list[str]:
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return out + ([line] if line else [])


def _country(sources: list[Source], decimals: Counter, bools: Counter) -> tuple[str, bool, str]:
    fr = en = 0
    for s in sources:
        for c in s.columns:
            w = set(c.words)
            fr += len(w & FRENCH - ENGLISH)
            en += len(w & ENGLISH - FRENCH)
    fr += 3 * decimals[","]
    fr += sum(n for w, n in bools.items() if w in ("oui", "non", "o", "vrai", "faux"))
    en += sum(n for w, n in bools.items() if w in ("yes", "no", "y"))
    if fr >= 2 * max(en, 1) and fr >= 3:
        return "FR", True, "headers in French"
    if en >= 2 * max(fr, 1) and en >= 3:
        return "UK", True, "headers in English"
    return ("FR" if fr > en else "UK"), False, f"headers mix French ({fr}) and English ({en}) words"


def draft(landlord_id: str, folder: Path, config_dir: Path = Path("config"), force: bool = False,
          command: str | None = None) -> Draft:
    """Sniff `folder` and write config_dir/landlords/<landlord_id>.yml; return what was written."""
    folder, config_dir = Path(folder), Path(config_dir)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", landlord_id):
        raise UserError(f"'{landlord_id}' is not a usable landlord id: use lower-case letters, digits and _ "
                        "(it names the mapping file and the landlord's folder)")
    if not folder.is_dir():
        raise UserError(f"folder {folder} does not exist (expected the landlord's exports there)")
    if not (config_dir / "landlords").is_dir():
        raise UserError(f"configuration folder {config_dir} has no landlords/ folder")
    target = config_dir / "landlords" / f"{landlord_id}.yml"
    if target.exists() and not force:
        raise UserError(f"{target} already exists: not replaced (add --force to replace it with a new draft)")
    vocab = _vocab(config_dir)
    sources, other_files = read_folder(folder)
    if not sources:
        raise UserError(f"no CSV or XLSX file in {folder} (files: {', '.join(other_files) or 'none'})")
    for s in sources:
        for c in s.columns:
            profile(c, vocab)
    chosen = identify(sources, vocab)
    if "participants" not in chosen:
        seen = "; ".join(f"{s.path}{' (' + ', '.join(s.notes) + ')' if s.notes else ''}" for s in sources)
        raise UserError(f"no file in {folder} looks like a participant register (a reference, names, a birth "
                        f"date and an entry date; files seen: {seen}); write the mapping by hand from docs/mapping.md")
    text, todos, unmapped = _write(landlord_id, folder, config_dir, target, sources, chosen, vocab, other_files,
                                   command or f"increase-eval draft {landlord_id} {folder}")
    tmp = target.with_suffix(".yml.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    problems = validate(text, target, config_dir)
    return Draft(target, text, {t: s.path for t, (s, _, _) in chosen.items()}, todos, problems, unmapped)


def validate(text: str, target: Path, config_dir: Path) -> list[str]:
    """What the mapping schema refuses in a draft, one line each."""
    from . import config as cfg

    try:
        data = yaml.safe_load(text)
        registry, _ = cfg.load_registry(config_dir)
        cats = (_load_yaml(config_dir / "vocabularies.yml").get("categories") or {})
        mapping_language.validate(data, target, cats, registry)
    except mapping_language.MappingProblems as exc:
        return exc.lines
    except (yaml.YAMLError, UserError) as exc:
        return [f"{target}: {exc}"]
    return []


# --- writing ---------------------------------------------------------------------------------------

def _file_options(src: Source, picks: list[Pick], table: str, vocab: Vocab) -> dict:
    """What one source says of its options: encoding, delimiter, decimal, dates, months, booleans, units."""
    opts: dict = {"encoding": src.encoding, "delimiter": src.delimiter, "dates": [], "months": [], "decimal": Counter(),
                  "true": Counter(), "false": Counter(), "flags": []}
    for p in picks:
        f, col = FIELDS[table][p.field], p.column
        if f.kind == "date" and col.values and col.typed_dates < 0.5 * len(col.values):
            opts["dates"].append((p, sniff_dates(col.values)))
        elif f.kind == "month" and col.values:
            opts["months"].append((p, sniff_dates(col.values, month=True)))
        elif f.kind in ("int", "number", "duration"):
            opts["decimal"] += decimal_evidence(col.values)
        elif f.kind == "bool":
            if col.kind == "bool":
                for k, n in col.counts.items():
                    opts["true" if k == "x" or k in vocab.true else "false"][col.spelling[k]] += n
            elif col.kind == "text":
                opts["flags"].append(p)
    return opts


def _write(landlord_id: str, folder: Path, config_dir: Path, target: Path, sources: list[Source],
           chosen: dict, vocab: Vocab, other_files: list[str], command: str) -> tuple[str, list[Todo], list[str]]:
    w = Writer()
    order = [t for t in FIELDS if t in chosen]
    options = {t: _file_options(chosen[t][0], chosen[t][1], t, vocab) for t in order}
    decimals = sum((o["decimal"] for o in options.values()), Counter())
    bool_words = Counter()
    for o in options.values():
        for side in ("true", "false"):
            for word, n in o[side].items():
                bool_words[fold(word)] += n
    country, country_sure, country_why = _country(sources, decimals, bool_words)

    # defaults: what most CSV files share
    csvs = [chosen[t][0] for t in order if chosen[t][0].format == "csv"]
    enc = Counter(s.encoding for s in csvs).most_common(1)[0][0] if csvs else None
    delim = Counter(s.delimiter for s in csvs).most_common(1)[0][0] if csvs else None
    per_file_decimal = {t: _decimal(options[t]["decimal"]) for t in order}
    dec_votes = Counter(d for d, _ in per_file_decimal.values() if d)
    default_decimal = dec_votes.most_common(1)[0][0] if dec_votes else None
    per_file_dates = {t: _file_dates(options[t]["dates"]) for t in order}
    date_votes = Counter(tuple(d["formats"]) for d in per_file_dates.values() if d["formats"])
    default_dates = list(date_votes.most_common(1)[0][0]) if date_votes else []
    true_words = Counter()
    false_words = Counter()
    for o in options.values():
        true_words += o["true"]
        false_words += o["false"]

    w.add(f"# Draft mapping for {landlord_id}, written by `{command}`")
    w.add(f"# on {date.today().isoformat()} from the exports in {folder}. It is a start, not an answer:")
    w.add("# every line marked TODO is a guess to check or a blank to fill. Then run")
    w.add(f"#   increase-eval check --landlord {landlord_id}")
    w.add("# and fix what it reports before `increase-eval prepare`. Every key: docs/mapping.md.")
    w.add(f"id: {landlord_id}")
    w.todo(("name",), "the landlord's name as readers see it", line=f"name: {q(landlord_id.replace('_', ' ').title())}")
    if country_sure:
        w.add(f"country: {country}", f"{country_why}; language and currency follow "
                                     f"({'fr, EUR' if country == 'FR' else 'en, GBP'})")
    else:
        w.todo(("country",), f"{country_why}: UK or FR?", line=f"country: {country}")
    w.todo(("cost",), "what the programme cost this landlord, in its currency (optional; without it the report "
                      "has no ratios): cost: {total: ..., erdf: ..., source: \"...\", assumption: false}")
    _neighbourhoods(w, landlord_id, country, config_dir, target, chosen)

    w.add("defaults:")
    if enc:
        s = next(s for s in csvs if s.encoding == enc)
        if s.encoding_sure:
            w.add(f"  encoding: {enc}", s.encoding_note)
        else:
            w.todo(("defaults", "encoding"), s.encoding_note, line=f"  encoding: {enc}")
    if delim:
        w.add(f"  delimiter: {q(delim) if delim != chr(9) else 'tab'}")
    if default_decimal:
        w.add(f"  decimal: {q(default_decimal)}",
              "amounts like " + ("1 234,56" if default_decimal == "," else "1,234.56"))
    if default_dates:
        w.add(f"  date_formats: {_flow(human(f) for f in default_dates)}")
    if true_words and false_words:
        w.add(f"  booleans: {{\"true\": {_flow(x for x, _ in true_words.most_common())}, "
              f"\"false\": {_flow(x for x, _ in false_words.most_common())}}}", "the yes/no words found")
    if w.lines[-1] == "defaults:":
        w.lines[-1] = "# defaults: {}   (nothing shared by the files)"

    _vocabulary(w, chosen, vocab)

    w.add("files:")
    for table in order:
        src, picks, score = chosen[table]
        _file(w, table, src, picks, options[table], per_file_decimal[table], default_decimal,
              per_file_dates[table], default_dates, enc, delim)
    mapped = {id(chosen[t][0]) for t in order}
    unmapped = [s.path + (f" (sheet {s.sheet})" if s.sheet and s.sheet_needed else "")
                + ("" if s.columns else f" ({'; '.join(s.notes) or 'no columns'})") for s in sources
                if id(s) not in mapped]
    missing = [t for t in FIELDS if t not in chosen]
    if unmapped or other_files:
        w.add("")
        w.todo(("files",), "files not mapped (none looked like a table the evaluation reads; map one by hand if it "
                           "is): " + ", ".join(unmapped + other_files))
    if missing:
        w.add(f"# tables with no export found (optional): {', '.join(missing)}")
    return "\n".join(w.lines) + "\n", w.todos, unmapped + other_files


def _decimal(votes: Counter) -> tuple[str | None, str]:
    if not votes:
        return None, ""
    if len(votes) == 2:
        (a, na), (b, nb) = votes.most_common()
        return None, f"amounts written both ways: {na} with '{a}', {nb} with '{b}'"
    return next(iter(votes)), ""


def _file_dates(found: list[tuple[Pick, DateGuess]]) -> dict:
    """A file's date formats from its columns' guesses; ambiguity is kept, never resolved
    by a guess. Returns formats, and notes per column."""
    formats: list[str] = []
    weight = Counter()
    notes: list[tuple[Pick, str]] = []
    ambiguous: list[tuple[Pick, DateGuess]] = []
    for p, g in found:
        if g.ambiguous:
            ambiguous.append((p, g))
            continue
        for f in g.formats:
            weight[f] += len(p.column.values)
        if g.thin:
            notes.append((p, g.thin))
        if g.unread:
            notes.append((p, f"{g.unread} distinct value(s) fit no date format (check shows their shapes)"))
    formats = [f for f, _ in weight.most_common()]
    # day-month in one column, month-day in another: either order would misread the other
    # column's dates whose day is 12 or less, so neither is written
    pair_clash = [f for f in formats if any(_swap(f) == g for g in formats)]
    formats = [f for f in formats if f not in pair_clash]
    unresolved = []
    for p, g in ambiguous:
        if any(f in formats for f in g.ambiguous):
            used = next(f for f in formats if f in g.ambiguous)
            notes.append((p, f"its dates alone fit {' and '.join(human(f) for f in g.ambiguous)} (no day above 12); "
                             f"read as {human(used)} like the other dates of this file: check"))
        else:
            unresolved.append((p, g))
    return {"formats": formats, "notes": notes, "unresolved": unresolved, "clash": pair_clash}


def _swap(fmt: str) -> str:
    return fmt.replace("%d", "%X").replace("%m", "%d").replace("%X", "%m")


def _neighbourhoods(w: Writer, landlord_id: str, country: str, config_dir: Path, target: Path, chosen: dict) -> None:
    counts: Counter = Counter()
    spelling: dict[str, Counter] = {}
    free_text = []
    for table in ("participants", "tenancies", "rent_accounts"):
        if table not in chosen:
            continue
        for p in chosen[table][1]:
            if p.field != "neighbourhood":
                continue
            cats = categories_of(p.column)
            if cats is None:
                free_text.append(f"{chosen[table][0].path}: {p.column.header}")
                continue
            for k, n in p.column.counts.items():
                counts[k] += n
                spelling.setdefault(k, Counter())[p.column.spelling[k]] += n
    frequent = [(spelling[k].most_common(1)[0][0], n) for k, n in counts.most_common() if n >= MIN_ROWS]
    rare = sum(n for k, n in counts.items() if n < MIN_ROWS)
    if len(frequent) > MAX_CATEGORIES:
        frequent = []
        free_text.append(f"more than {MAX_CATEGORIES} spellings")
    registry = _registry(config_dir)
    used = _ids_in_use(config_dir, target)
    prefix = _prefix(landlord_id, country, used)
    note = ("one entry per place: check each name, move spellings of one place under its aliases, and use the id of "
            "config/neighbourhoods.yml for a place another landlord serves too")
    if rare:
        note += f"; {rare:,} row(s) hold spellings used fewer than {MIN_ROWS} times, not copied: add them as aliases"
    if free_text:
        note += "; not copied (not a short list of places): " + ", ".join(free_text)
    w.add("neighbourhoods:")
    w.todo(("neighbourhoods",), note, indent="  ")
    shared = {}
    local = []
    for text, n in frequent:
        hit = registry.get(fold(text))
        if hit:
            shared.setdefault(hit[0], []).append(text)
        else:
            local.append((text, n))
    for sid, texts in shared.items():
        w.add(f"  - {{id: {q(sid)}}}", f"in config/neighbourhoods.yml; spelled here {', '.join(texts)}")
    places = group_places(local)
    for i, place in enumerate(places, 1):
        entry = f"  - {{id: {q(f'{prefix}-{i:02d}')}, name: {q(place['name'])}"
        entry += f", aliases: {_flow(place['aliases'])}}}" if place["aliases"] else "}"
        comment = f"{place['rows']:,} rows"
        if place["also"]:
            comment += f"; its words are also in {' and '.join(place['also'])}: the same place?"
        w.add(entry, comment)
    if not shared and not places:
        w.add(f"  - {{id: {q(prefix + '-01')}, name: \"?\"}}", "TODO: no neighbourhood column found: list the places")


def _vocabulary(w: Writer, chosen: dict, vocab: Vocab) -> None:
    """vocab: the spellings of category columns the shared vocabularies do not know."""
    by_vocab: dict[str, dict] = {}
    flags: list[tuple[str, Pick]] = []
    for table, (src, picks, _) in chosen.items():
        for p in picks:
            f = FIELDS[table][p.field]
            if f.kind == "bool" and p.column.kind == "text":
                flags.append((table, p))
            if f.kind != "category":
                continue
            entry = by_vocab.setdefault(f.vocab, {"counts": Counter(), "spelling": {}, "free": [], "where": []})
            entry["where"].append(f"{src.path}: {p.column.header}")
            cats = categories_of(p.column)
            if cats is None:
                entry["free"].append(f"{src.path}: {p.column.header}")
                continue
            for k, n in p.column.counts.items():
                entry["counts"][k] += n
                entry["spelling"].setdefault(k, p.column.spelling[k])
    lines: list[tuple] = []
    for name, entry in by_vocab.items():
        known = vocab.known(name)
        unknown = [(entry["spelling"][k], n) for k, n in entry["counts"].most_common() if k not in known]
        shown = [(s, n) for s, n in unknown if n >= MIN_ROWS]
        rare = sum(n for s, n in unknown if n < MIN_ROWS)
        if not unknown and not entry["free"]:
            continue
        cats = ", ".join(map(str, vocab.categories.get(name, {})))
        parts = []
        if shown:
            parts.append("spellings not in config/vocabularies.yml: " + ", ".join(f"{s} ({n:,} rows)"
                                                                                  for s, n in shown))
        if rare:
            parts.append(f"{rare:,} row(s) with rarer unknown spellings (fewer than {MIN_ROWS} rows each, not copied; "
                         "check shows their shapes)")
        if entry["free"]:
            parts.append("too many distinct values to copy in " + ", ".join(entry["free"]))
        lines.append((name, "; ".join(parts) + f". Put each spelling under its category ({cats}), e.g. "
                      f"{{{next(iter(vocab.categories.get(name, {'?': 0})))}: [...]}}"))
    for table, p in flags:
        cats = categories_of(p.column)
        words_ = ", ".join(f"{s} ({n:,} rows)" for s, n in (cats[0] if cats else []))
        lines.append((p.field, f"{p.column.header} holds words, not yes/no: {words_ or 'too many to copy'}. Say which "
                               f"mean yes and which no: {p.field}: {{\"true\": [...], \"false\": [...]}}", True))
    if not lines:
        return
    w.add("vocab:")
    for item in lines:
        name, note = item[0], item[1]
        w.todo(("vocab", name), note, indent="  ")
        if len(item) == 2:
            w.add(f"  {name}: {{}}")
        else:
            w.add(f"  # {name}: {{\"true\": [], \"false\": []}}")


def _file(w: Writer, table: str, src: Source, picks: list[Pick], opts: dict, decimal: tuple, default_decimal,
          dates: dict, default_dates: list[str], enc, delim) -> None:
    ind = "    "
    w.add(f"  {table}:")
    size = f"{src.rows:,} rows" + (" (first rows looked at)" if src.sampled else "")
    w.add(f"{ind}# {src.path}{' sheet ' + src.sheet if src.sheet else ''}: {size}, {len(src.columns)} columns")
    for n in src.notes:
        if n.startswith("TODO: "):
            w.todo(("files", table), n[6:], indent=ind)
        else:
            w.add(f"{ind}# {n}")
    w.add(f"{ind}path: {q(src.path)}")
    if src.format == "xlsx":
        if src.sheet_needed and src.sheet:
            w.add(f"{ind}sheet: {q(src.sheet)}", "a visible sheet holding data")
        if src.header_line > 1:
            w.add(f"{ind}header_row: auto", f"a title block above the header (on row {src.header_line})")
    else:
        if src.encoding != enc:
            if src.encoding_sure:
                w.add(f"{ind}encoding: {src.encoding}", src.encoding_note)
            else:
                w.todo(("files", table, "encoding"), src.encoding_note, line=f"{ind}encoding: {src.encoding}")
        elif not src.encoding_sure and enc:
            w.add(f"{ind}# {src.encoding_note}")
        if src.delimiter != delim:
            w.add(f"{ind}delimiter: {q(src.delimiter) if src.delimiter != chr(9) else 'tab'}", src.delimiter_note)
        if not src.delimiter_sure:
            w.todo(("files", table, "delimiter"), src.delimiter_note, indent=ind)
        if src.header_line > 1:
            w.add(f"{ind}header_row: auto", f"lines above the header (on line {src.header_line})")
    dec, why = decimal
    if why:
        w.todo(("files", table, "decimal"), why + ": which is the decimal mark?", indent=ind)
    elif dec and dec != default_decimal:
        w.add(f"{ind}decimal: {q(dec)}")
    if dates["unresolved"]:
        options = []
        for p, g in dates["unresolved"]:
            options += [f for f in g.ambiguous if f not in options]
        cols = ", ".join(p.column.header for p, _ in dates["unresolved"])
        note = (f"the dates of {cols} fit {' and '.join(human(f) for f in options)} (every day is 12 or less): "
                "choose the one the export uses; until then they are read as yyyy-mm-dd only, and check shows "
                "them failing")
        w.todo(("files", table, "date_formats"), note, indent=ind)
        for f in options:
            w.add(f"{ind}# date_formats: {_flow([human(f), *(human(x) for x in dates['formats'] if x != f)])}")
        if dates["formats"] or default_dates:
            w.add(f"{ind}date_formats: {_flow(human(x) for x in (dates['formats'] or ['%Y-%m-%d']))}")
    elif dates["formats"] and dates["formats"] != default_dates:
        w.add(f"{ind}date_formats: {_flow(human(x) for x in dates['formats'])}")
    if dates["clash"]:
        w.todo(("files", table, "date_formats"), "some columns of this file read only as " + ", others only as "
               .join(human(f) for f in dates["clash"]) + ": two date orders in one file? Neither is written; check "
               "the export, then give date_formats", indent=ind)
        if not dates["formats"] and default_dates:
            w.add(f"{ind}date_formats: [\"yyyy-mm-dd\"]", "not the defaults' until the order is known")
    months = [f for _, g in opts["months"] for f in g.formats]
    if months:
        w.add(f"{ind}month_formats: {_flow(human(f) for f in dict.fromkeys(months))}")
    for p, g in opts["months"]:
        if g.ambiguous:
            w.todo(("files", table, "month_formats"), f"{p.column.header}: fits "
                   + " and ".join(human(f) for f in g.ambiguous), indent=ind)
    if table == "sessions":
        dur = next((p for p in picks if p.field == "duration"), None)
        if dur is not None:
            unit, sure, why = _unit(dur.column)
            if sure:
                w.add(f"{ind}units: {{duration: {unit}}}", why)
            else:
                w.todo(("files", table, "units"), why, line=f"{ind}units: {{duration: {unit}}}")
    blanks = [p for p in picks if FIELDS[table][p.field].kind == "bool" and p.column.kind == "bool"
              and set(p.column.counts) <= {"x"}]
    if blanks:
        w.todo(("files", table, "blank_is_false"), f"{', '.join(p.column.header for p in blanks)} hold(s) only X: if "
               f"a blank cell means no, add blank_is_false: [{', '.join(p.field for p in blanks)}]", indent=ind)
    repeated = [h for h, n in Counter(fold(c.header) for c in src.columns).items() if n > 1]
    if repeated:
        w.todo(("files", table, "columns"), "header(s) given to two columns: " + ", ".join(
            next(c.header for c in src.columns if fold(c.header) == h) for h in repeated)
            + "; a mapping cannot tell them apart: rename one in the export", indent=ind)
    w.add(f"{ind}columns:")
    notes = {id(p): n for p, n in dates["notes"]}
    by_field = {p.field: p for p in picks}
    for name, f in FIELDS[table].items():
        p = by_field.get(name)
        if p is None:
            if f.required:
                w.todo(("files", table, "columns", name), f"{name}: no header found for this required field; write "
                       "the header of its column", indent=ind + "  ")
            continue
        line = f"{ind}  {name}: {q(p.column.header)}"
        comment = _describe(table, p)
        if id(p) in notes:
            w.todo(("files", table, "columns", name), notes[id(p)], line=line)
        elif not p.sure:
            w.todo(("files", table, "columns", name), f"a guess ({p.why}){'; ' + comment if comment else ''}",
                   line=line)
        else:
            w.add(line, comment)
    mapped = {id(p.column) for p in picks}
    left = [c.header for c in src.columns if id(c) not in mapped]
    if left:
        w.todo(("files", table, "columns"), "columns not mapped (add one under columns: if it feeds a field): "
               + ", ".join(left), indent=ind)


def _describe(table: str, p: Pick) -> str:
    f, col = FIELDS[table][p.field], p.column
    if col.kind == "empty":
        return "empty in the rows looked at"
    if f.kind == "date" and col.typed_dates >= 0.9 * max(len(col.values), 1):
        return "typed Excel dates"
    if f.kind == "category":
        cats = categories_of(col)
        if cats:
            return ", ".join(s for s, _ in cats[0][:8]) + (" ..." if len(cats[0]) > 8 else "")
    if f.kind == "bool" and col.kind == "bool":
        return "/".join(col.spelling[k] for k, _ in col.counts.most_common())
    if f.kind == "neighbourhood":
        return f"{len(col.counts)} spelling(s)"
    return ""


def _unit(col: Column) -> tuple[str, bool, str]:
    w = set(col.words)
    if w & {"h", "hour", "heure", "hr", "hrs"}:
        return "hours", True, "the header says hours"
    if w & {"min", "minute", "mn", "mins"}:
        return "minutes", True, "the header says minutes"
    plain = []
    for v in col.values[:5000]:
        try:
            plain.append(float(v.replace(",", ".")))
        except ValueError:
            pass
    if plain and max(plain) <= 10:
        return "hours", False, f"plain numbers up to {max(plain):g}: hours? (the header does not say)"
    if not plain:
        return "minutes", True, "every value says its unit (1h30, 45 min): this only reads plain numbers"
    return "minutes", False, f"plain numbers up to {max(plain):g}: minutes? (the header does not say)"


def summary(result: Draft) -> str:
    """What `increase-eval draft` prints: the tables found, the TODOs, what the schema still refuses."""
    out = [f"Wrote {result.path}: {len(result.tables)} table(s) found."]
    width = max(map(len, result.tables), default=0)
    out += [f"  {t.ljust(width)}  {f}" for t, f in result.tables.items()]
    if result.unmapped_files:
        out.append(f"  not mapped: {', '.join(result.unmapped_files)}")
    out.append(f"{len(result.todos)} TODO(s) to see to in the file (search for TODO):")
    for t in result.todos:
        where = ".".join(str(x) for x in t.where)
        out.append(f"  {where}: {_wrap(t.note, 200)[0]}{' ...' if len(t.note) > 200 else ''}")
    if result.problems:
        out.append(f"The mapping schema still refuses {len(result.problems)} thing(s) (fix them first: until then "
                   "no command can load the configuration):")
        out += [f"  {p}" for p in result.problems]
    else:
        out.append("The mapping schema accepts it.")
    landlord = result.path.stem
    out.append(f"Next: see to the TODOs, then run `increase-eval check --landlord {landlord}` and fix what it "
               "reports before `increase-eval prepare`.")
    return "\n".join(out)
