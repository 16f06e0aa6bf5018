"""synth: deterministic synthetic raw exports, shaped like the seven partners' own.

A latent programme is simulated once (people, pathway, sessions, outcomes, businesses,
questionnaires, ambassadors, tenancies, rent accounts) with true effects planted in it,
then each landlord's exports are written through that landlord's mapping in config/:
its file formats, encodings, headers, date formats and spellings, with the flaws real
exports have (duplicates, blanks, "N/A", impossible and unparseable values, stray
spaces, Excel serial dates). The planted effects go to a truth file that only tests
read. Nothing here is read by `prepare` except the marker saying the data is synthetic.
"""

from __future__ import annotations

import csv
import json
import shutil
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

from . import __version__
from .config import SYNTHETIC_MARKER, Config, FileMapping, Landlord
from .errors import UserError
from .schema import FIELDS, WELLBEING_ITEMS

DAY = np.timedelta64(1, "D")
REF_STYLE = {  # how each partner's systems number people and tenancies (invented)
    "southern_housing": ("SH-{:06d}", "SH/T/{:07d}"),
    "abri": ("ABR{:06d}", "ABRI-{:06d}"),
    "clarion": ("{:07d}", "CL{:08d}"),
    "archipel_habitat": ("AH-{:05d}", "AH-BAIL-{:06d}"),
    "neotoa": ("NEO{:06d}", "N{:07d}"),
    "pas_de_calais_habitat": ("PDC{:06d}", "62-{:07d}"),
    "logirep": ("LGR-{:06d}", "LGR{:08d}"),
}
SERIAL_DATE_FILES = {("clarion", "sessions")}   # spreadsheet-born CSVs: dates as serial numbers


def shaped_like(lid: str, params: dict) -> str:
    """The partner whose export shapes a landlord's synthetic exports copy: itself, or for
    a federation landlord (synth --landlords) the partner its mapping was drawn from."""
    return (params.get("shaped_like") or {}).get(lid, lid)
EMAIL_DOMAINS = {"UK": ["gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk", "btinternet.com"],
                 "FR": ["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr", "sfr.fr"]}


def load_parameters(config: Config) -> dict:
    path = config.root / "synth.yml"
    if not path.is_file():
        raise UserError(f"{path} is missing: it holds the parameters of the synthetic data")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- names ---------------------------------------------------------------------------------

def _names(country: str) -> tuple[list[str], list[str], list[str]]:
    if country == "FR":
        from faker.providers.person.fr_FR import Provider
    else:
        from faker.providers.person.en_GB import Provider
    return (list(Provider.first_names_female), list(Provider.first_names_male), list(Provider.last_names))


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if c.isalnum() and ord(c) < 128).lower()


# --- the latent programme -------------------------------------------------------------------

@dataclass
class Programme:
    people: pd.DataFrame        # one row per registration (duplicates included), canonical values
    sessions: pd.DataFrame
    outcomes: pd.DataFrame
    checks: pd.DataFrame
    questionnaires: pd.DataFrame
    ambassadors: pd.DataFrame
    tenancies: pd.DataFrame
    truth: dict
    world: dict | None = None   # the neighbourhoods' effects and sizes (synth.rates_given_neighbourhoods)


SESSION_GAP_DAYS = (6, 15)     # days between two training sessions of one person: uniform on [6, 15)


def _latent_people(config: Config, params: dict, rng: np.random.Generator, scale: float,
                   data_end, world: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """People, their pathway and their employment (the planted logistic model), before any
    export. `data_end` None: no date is cut at the exports' date. `world`: the
    neighbourhoods' effects and sizes of an earlier call (`latent["world"]`), to draw new
    people in the same places; by default they are drawn too."""
    prog = config.programme["programme"]
    enrol0, enrol1 = np.datetime64(prog["enrolment_start"], "D"), np.datetime64(prog["enrolment_end"], "D")
    pop, path, emp = params["population"], params["pathway"], params["employment"]
    frames = []
    next_id = 0
    hood_effect = {} if world is None else dict(world["hood_effect"])
    sizes = {} if world is None else dict(world["weights"])
    for lid, landlord in config.landlords.items():
        n = max(int(round(params["engaged"].get(lid, 0) * scale)), 0)
        if n == 0:
            continue
        hoods = [h.id for h in landlord.neighbourhoods]
        if world is None:
            for h in hoods:
                hood_effect[h] = rng.normal(0, emp["neighbourhood_sd"])
            sizes[lid] = rng.dirichlet(np.full(len(hoods), 4.0))
        weights = sizes[lid]
        female = rng.random(n) < pop["women"]
        age = np.clip(rng.normal(pop["age_at_entry"]["mean"], pop["age_at_entry"]["sd"], n),
                      pop["age_at_entry"]["min"], pop["age_at_entry"]["max"] + 0.99)
        entry = enrol0 + rng.integers(0, int((enrol1 - enrol0) / DAY) + 1, n) * DAY
        birth = entry - np.round(age * 365.25).astype(np.int64) * DAY
        status = rng.choice(list(pop["employment_status"]), n, p=list(pop["employment_status"].values()))
        first_f, first_m, last = _names(landlord.country)
        frames.append(pd.DataFrame({
            "uid": np.arange(next_id, next_id + n), "landlord": lid, "country": landlord.country,
            "neighbourhood": rng.choice(hoods, n, p=weights),
            "sex": np.where(female, "F", "M"),
            "first_name": np.where(female, rng.choice(first_f, n), rng.choice(first_m, n)),
            "last_name": rng.choice(last, n),
            "birth_date": birth, "entry_date": entry,
            "ethnic_minority": rng.random(n) < pop["ethnic_minority"],
            "disability": rng.random(n) < pop["disability"],
            "single_parent": rng.random(n) < np.where(female, pop["single_parent_women"], pop["single_parent_men"]),
            "no_qualification": rng.random(n) < pop["no_qualification"],
            "employment_status": status,
        }))
        next_id += n
    people = pd.concat(frames, ignore_index=True)
    n = len(people)
    people["barriers"] = (people["disability"].astype(int) + people["single_parent"] + people["no_qualification"]
                          + (people["employment_status"] == "long_term_unemployed"))

    # pathway
    assessed = rng.random(n) < path["assessed"]
    started = assessed & (rng.random(n) < path["training_started"])
    completed = started & (rng.random(n) < path["training_completed"])
    people["assessment_date"] = np.where(assessed, people["entry_date"] + rng.integers(0, 31, n) * DAY,
                                         np.datetime64("NaT"))
    people["training_start_date"] = np.where(started, people["assessment_date"] + rng.integers(7, 61, n) * DAY,
                                             np.datetime64("NaT"))
    engagement = rng.lognormal(0, 0.45, n)
    extra = rng.poisson(path["sessions_mean"] * engagement)
    people["training_sessions"] = np.where(started, 1 + np.where(completed, extra, extra // 3), 0)
    gap = rng.integers(*SESSION_GAP_DAYS, n)
    train_end = people["training_start_date"] + (people["training_sessions"] - 1).clip(lower=0) * gap * DAY
    people["training_completed"] = completed
    people["exit_date"] = np.where(started, train_end + rng.integers(0, 45, n) * DAY,
                                   people["entry_date"] + rng.integers(30, 120, n) * DAY)
    if data_end is not None:
        people.loc[people["exit_date"] > data_end, "exit_date"] = pd.NaT
        people.loc[people["training_start_date"] > data_end, ["training_start_date"]] = pd.NaT

    # employment within 12 months of starting training: the planted logistic model
    b_s, b_b = np.log(emp["or_per_session"]), np.log(emp["or_per_barrier"])
    eta = (emp["intercept"] + b_s * people["training_sessions"] + b_b * people["barriers"]
           + people["neighbourhood"].map(hood_effect))
    p_job = np.where(started, 1 / (1 + np.exp(-eta)), emp["not_trained_rate"])
    employed = rng.random(n) < p_job
    days = rng.gamma(emp["days_to_job"]["shape"], emp["days_to_job"]["scale"], n)
    for _ in range(50):   # within the 12-month window by definition of the outcome
        over = days > 365
        if not over.any():
            break
        days[over] = rng.gamma(emp["days_to_job"]["shape"], emp["days_to_job"]["scale"], over.sum())
    days = np.minimum(days, 365).astype(int)
    later = ~employed & started & (rng.random(n) < 0.15)      # some find work after the window
    days = np.where(later, 366 + rng.integers(0, 300, n), days)
    anchor = people["training_start_date"].fillna(people["entry_date"])
    job_date = anchor + pd.to_timedelta(days, unit="D")
    into_work = employed | later
    business = into_work & (rng.random(n) < emp["business_share"])
    people["employed_12m"] = employed
    people["employment_date"] = job_date.where(into_work)
    people["business"] = business
    people["job"] = into_work & ~business
    further = ~into_work & (rng.random(n) < emp["further_training_rate"])
    people["further_training_date"] = (people["exit_date"].fillna(anchor) + pd.to_timedelta(rng.integers(10, 200, n),
                                                                                          unit="D")).where(further)

    return people, {"started": started, "anchor": anchor, "employed": employed, "into_work": into_work,
                    "days": days, "world": {"hood_effect": hood_effect, "weights": sizes}}


def simulate(config: Config, params: dict, seed: int, scale: float) -> Programme:
    rng = np.random.default_rng(seed)
    data_end = np.datetime64(config.programme["programme"]["data_end"], "D")
    people, latent = _latent_people(config, params, rng, scale, data_end)
    emp = params["employment"]
    started, anchor, employed, into_work, days = (latent[k] for k in ("started", "anchor", "employed", "into_work",
                                                                      "days"))

    # truth of the employment model, on the population with a full 12-month window
    window = started & (anchor + pd.Timedelta(days=365) <= pd.Timestamp(data_end)).to_numpy()
    emp_days = pd.Series(np.where(into_work, days, np.nan))
    truth = {
        "employment_definition": "employment (job or business) within 365 days of training start, among "
                                 "participants who started training at least 365 days before data_end",
        "employment_or_per_training_session": emp["or_per_session"],
        "employment_or_per_barrier": emp["or_per_barrier"],
        "barriers": ["disability", "single_parent", "no_qualification", "long_term_unemployed"],
        "employment_rate_12m_sample": float(employed[window].mean()),
        "time_to_employment": {
            "origin": "training start", "distribution": f"gamma(shape={emp['days_to_job']['shape']}, "
                                                        f"scale={emp['days_to_job']['scale']}) truncated at 365 days",
            "cumulative_share": {str(d): float(((emp_days <= d) & pd.Series(started))[window].mean())
                                 for d in (90, 180, 365)},
            "median_days_among_employed_12m": float(np.median(days[employed & window])) if (employed & window).any()
            else None,
        },
    }
    prog = _rest(config, params, rng, people, truth, data_end)
    prog.world = latent["world"]
    return prog


def _rest(config, params, rng, people, truth, data_end) -> Programme:
    n = len(people)
    path = params["pathway"]
    # sessions: assessment, 0-2 preparation, training (the dosage), support after a job
    rows = []
    assessed = people["assessment_date"].notna().to_numpy()
    rows.append(pd.DataFrame({"uid": people["uid"][assessed], "session_date": people["assessment_date"][assessed],
                              "session_type": "assessment"}))
    started = people["training_start_date"].notna().to_numpy()
    prep = np.where(assessed & started, rng.integers(0, 3, n), 0)
    idx = np.repeat(np.arange(n), prep)
    rows.append(pd.DataFrame({"uid": people["uid"].to_numpy()[idx],
                              "session_date": people["assessment_date"].to_numpy()[idx] + rng.integers(1, 7, len(idx)) * DAY,
                              "session_type": "preparation"}))
    k = people["training_sessions"].to_numpy()
    idx = np.repeat(np.arange(n), k)
    step = np.concatenate([np.arange(m) for m in k]) if len(idx) else np.array([], dtype=int)
    gap = rng.integers(*SESSION_GAP_DAYS, n)[idx]
    rows.append(pd.DataFrame({"uid": people["uid"].to_numpy()[idx],
                              "session_date": people["training_start_date"].to_numpy()[idx] + step * gap * DAY,
                              "session_type": "training"}))
    worked = people["employment_date"].notna().to_numpy()
    sup = np.where(worked, rng.integers(0, 4, n), 0)
    idx = np.repeat(np.arange(n), sup)
    rows.append(pd.DataFrame({"uid": people["uid"].to_numpy()[idx],
                              "session_date": people["employment_date"].to_numpy()[idx] + rng.integers(7, 90, len(idx)) * DAY,
                              "session_type": "support"}))
    sessions = pd.concat(rows, ignore_index=True)
    sessions = sessions[sessions["session_date"] <= data_end].reset_index(drop=True)
    sessions["duration"] = rng.choice(path["session_minutes"], len(sessions))
    sessions["provider"] = rng.choice(["Coach A", "Coach B", "Training partner", "In-house adviser"], len(sessions))

    # outcomes and businesses
    biz = params["business"]
    seen = people["employment_date"].notna() & (people["employment_date"] <= data_end)
    jobs = people[seen & people["job"]]
    businesses = people[seen & people["business"]]
    contract = rng.choice(["permanent", "fixed_term", "temporary_agency", "apprenticeship"], len(jobs),
                          p=[0.35, 0.4, 0.15, 0.1])
    sectors = ["retail", "food", "personal_services", "construction", "creative", "transport", "digital", "care",
               "other"]
    further = people[people["further_training_date"].notna() & (people["further_training_date"] <= data_end)]
    outcomes = pd.concat([
        pd.DataFrame({"uid": jobs["uid"], "outcome_type": "job", "outcome_date": jobs["employment_date"],
                      "contract_type": contract}),
        pd.DataFrame({"uid": businesses["uid"], "outcome_type": "business", "outcome_date": businesses["employment_date"],
                      "legal_form": rng.choice(["sole_trader", "limited_company", "partnership", "social_enterprise"],
                                               len(businesses), p=[0.7, 0.18, 0.04, 0.08]),
                      "sector": rng.choice(sectors, len(businesses))}),
        pd.DataFrame({"uid": further["uid"], "outcome_type": "training", "outcome_date": further["further_training_date"]}),
    ], ignore_index=True)
    rate = -np.log(biz["survival_12m"]) / 365.0
    life = rng.exponential(1 / rate, len(businesses))
    cease = businesses["employment_date"].to_numpy() + np.round(life).astype(np.int64) * DAY
    checks = []
    for m in biz["checks_months"]:
        when = businesses["employment_date"].to_numpy() + int(round(m * 30.44)) * DAY + rng.integers(-10, 11, len(businesses)) * DAY
        due = when <= data_end
        checks.append(pd.DataFrame({"uid": businesses["uid"].to_numpy()[due], "check_date": when[due],
                                    "trading": when[due] < cease[due]}))
    checks = pd.concat(checks, ignore_index=True)
    truth["business_survival"] = {"model": "exponential", "survival_12m": biz["survival_12m"],
                                  "survival_6m": float(biz["survival_12m"] ** 0.5),
                                  "survival_18m": float(biz["survival_12m"] ** 1.5),
                                  **{f"survival_{m}m_sample": float((life > m * 30.44).mean()) if len(life) else None
                                     for m in (6, 12, 18)},
                                  "note": "the *_sample values are what this sample realised: with few businesses "
                                          "they stray from the planted rate, and intervals are checked against them"}
    truth["business_share_of_employment"] = params["employment"]["business_share"]

    # questionnaires: entry and 6 months; response depends on employment (non-response is not random)
    q = params["questionnaires"]
    entry_resp = rng.random(n) < q["entry_response"]
    anchor = people["training_start_date"].fillna(people["entry_date"])
    six = anchor + pd.Timedelta(days=183)
    p6 = np.where(people["employment_date"].notna(), q["month6_response_employed"], q["month6_response_other"])
    six_resp = (rng.random(n) < p6) & (six <= pd.Timestamp(data_end)).to_numpy()
    base_conf = rng.normal(4.6, 1.6, n)
    base_wb = rng.normal(2.9, 0.55, n)
    gain_c = q["confidence_gain"] + 0.5 * people["employment_date"].notna()
    gain_w = q["wellbeing_gain"] / 7 + 0.05 * people["employment_date"].notna()
    qrows = []
    for wave, resp, dt, conf, wb in (("entry", entry_resp, people["entry_date"], base_conf, base_wb),
                                     ("month6", six_resp, six, base_conf + gain_c + rng.normal(0, 1.0, n),
                                      base_wb + gain_w + rng.normal(0, 0.3, n))):
        sel = resp
        frame = pd.DataFrame({"uid": people["uid"][sel], "wave": wave, "response_date": dt[sel],
                              "confidence": np.clip(np.round(conf[sel]), 1, 10).astype(int)})
        for item in WELLBEING_ITEMS:
            frame[item] = np.clip(np.round(wb[sel] + rng.normal(0, 0.6, sel.sum())), 1, 5).astype(int)
        qrows.append(frame)
    questionnaires = pd.concat(qrows, ignore_index=True)
    truth["questionnaires"] = {"confidence_gain_planted": q["confidence_gain"],
                               "note": "employed participants gain 0.5 more and answer at 6 months more often"}

    # ambassadors: some completers are trained; activity by month until they stop
    a = params["ambassadors"]
    comp = people[people["training_completed"] & people["exit_date"].notna()]
    chosen = comp[rng.random(len(comp)) < a["rate_among_completers"]]
    arows = []
    for uid, exit_ in zip(chosen["uid"], chosen["exit_date"]):
        trained = (exit_ + pd.Timedelta(days=int(rng.integers(10, 90)))).normalize()
        if trained > pd.Timestamp(data_end):
            continue
        months = pd.date_range(trained.replace(day=1), pd.Timestamp(data_end), freq="MS")
        stop = rng.geometric(a["monthly_dropout"])
        arows.append(pd.DataFrame({"uid": uid, "trained_date": trained, "month": months,
                                   "active": np.arange(len(months)) < stop}))
    ambassadors = (pd.concat(arows, ignore_index=True) if arows
                   else pd.DataFrame(columns=["uid", "trained_date", "month", "active"]))
    tenancies = _tenancies(config, params, rng, people, truth, data_end)
    return Programme(people, sessions, outcomes, checks, questionnaires, ambassadors, tenancies, truth)


def _tenancies(config, params, rng, people, truth, data_end) -> pd.DataFrame:
    """Participants' tenancies and several times as many comparison tenancies in the same
    neighbourhoods. Their monthly arrears are generated later, file by file."""
    t = params["tenancies"]
    n = len(people)
    ratio = int(t["comparison_per_participant"])
    part = pd.DataFrame({"uid": people["uid"], "landlord": people["landlord"], "neighbourhood": people["neighbourhood"],
                         "participant": True, "ref_month": people["entry_date"].to_numpy().astype("datetime64[M]"),
                         "event_month": people["employment_date"].to_numpy().astype("datetime64[M]"),
                         "household_type": np.where(people["single_parent"], "single_parent",
                                                    rng.choice(["single", "couple", "couple_children", "other"], n,
                                                               p=[0.45, 0.15, 0.3, 0.1])),
                         "lead_birth_date": people["birth_date"], "first_name": people["first_name"],
                         "last_name": people["last_name"]})
    m = n * ratio
    src = rng.integers(0, n, m)   # each comparison tenancy shadows a participant's area and calendar
    comp = pd.DataFrame({"uid": -1 - np.arange(m), "landlord": part["landlord"].to_numpy()[src],
                         "neighbourhood": part["neighbourhood"].to_numpy()[src], "participant": False,
                         "ref_month": part["ref_month"].to_numpy()[rng.permutation(m) % n],
                         "event_month": np.full(m, np.datetime64("NaT"), dtype="datetime64[M]"),
                         "household_type": rng.choice(["single", "single_parent", "couple", "couple_children",
                                                       "other"], m, p=[0.4, 0.18, 0.15, 0.2, 0.07]),
                         "lead_birth_date": np.datetime64("1950-01-01") + rng.integers(0, 365 * 50, m) * DAY,
                         "first_name": "", "last_name": ""})
    ten = pd.concat([part, comp], ignore_index=True)
    ten["tenancy_start"] = np.datetime64("1995-01-01") + rng.integers(0, 365 * 23, len(ten)) * DAY
    ten["tenancy_start"] = np.minimum(ten["tenancy_start"].to_numpy(),
                                      (ten["ref_month"].to_numpy().astype("datetime64[D]") - 400 * DAY))
    years = rng.exponential(1 / t["yearly_end_rate"], len(ten))
    end = ten["ref_month"].to_numpy().astype("datetime64[D]") + np.round(years * 365).astype(np.int64) * DAY
    ten["tenancy_end"] = np.where(end <= data_end, end, np.datetime64("NaT"))
    ten["base"] = rng.normal(t["arrears_mean"], t["arrears_sd_between"], len(ten)) + \
        np.where(ten["participant"], t["participant_extra_arrears"], 0.0)
    ten["rent"] = np.where(ten["landlord"].map(lambda l: config.landlords[l].country).eq("UK"),
                           rng.uniform(*t["rent_gbp"], len(ten)), rng.uniform(*t["rent_eur"], len(ten))).round(2)
    truth["arrears"] = {
        "effect_of_employment": t["arrears_effect_of_job"],
        "unit": "monthly arrears balance, local currency (GBP or EUR)",
        "design": "participants' tenancies vs comparison tenancies of the same neighbourhoods; effect from the "
                  "month after employment starts; parallel trends hold; participants start "
                  f"{t['participant_extra_arrears']} higher",
        "window_months": [-t["months_before"], t["months_after"]],
        "comparison_per_participant": ratio,
    }
    return ten


def panel_rows(ten: pd.DataFrame, params: dict, rng: np.random.Generator, data_end,
               benefit: bool = False) -> dict[str, np.ndarray]:
    """Monthly balances of a block of tenancies, around each one's reference month; with
    `benefit`, whether housing benefit was received each month too (1, 0, or NaN for a
    month exported blank): a recipient's benefit stops for good at a constant monthly
    rate (comparison tenancies: `comparison_exit_12m` within any 12 months), and a
    participant's the month after the job starts (`participant_exit_after_job`)."""
    t = params["tenancies"]
    span = t["months_before"] + t["months_after"] + 1
    rel = np.tile(np.arange(-t["months_before"], t["months_after"] + 1), len(ten))
    idx = np.repeat(np.arange(len(ten)), span)
    month = ten["ref_month"].to_numpy().astype("datetime64[M]")[idx] + rel
    end = ten["tenancy_end"].to_numpy().astype("datetime64[M]")[idx]
    start = ten["tenancy_start"].to_numpy().astype("datetime64[M]")[idx]
    ok = (month <= np.datetime64(data_end, "M")) & (month >= start) & (np.isnat(end) | (month <= end))
    idx, month = idx[ok], month[ok]
    hood_trend = (month - np.datetime64("2018-01", "M")).astype(int) * 1.5
    december = (month.astype(int) % 12 == 11) * 35.0
    event = ten["event_month"].to_numpy().astype("datetime64[M]")[idx]
    treated = ~np.isnat(event) & (month > event)
    arrears = (ten["base"].to_numpy()[idx] + hood_trend + december + rng.normal(0, t["arrears_sd_within"], len(idx))
               + np.where(treated, t["arrears_effect_of_job"], 0.0))
    out = {"tenancy": idx, "month": month, "rent": ten["rent"].to_numpy()[idx], "arrears": np.round(arrears, 2)}
    if benefit:
        hb = params["housing_benefit"]
        n = len(ten)
        participant = ten["participant"].to_numpy(dtype=bool)
        receives = rng.random(n) < np.where(participant, hb["receipt_participant"], hb["receipt_comparison"])
        monthly = 1 - (1 - hb["comparison_exit_12m"]) ** (1 / 12)
        first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first, idx, month.astype(np.int64))
        stop = first + rng.geometric(monthly, n)          # first month without it
        job = ten["event_month"].to_numpy().astype("datetime64[M]")
        quits = participant & ~np.isnat(job) & (rng.random(n) < hb["participant_exit_after_job"])
        stop = np.where(quits, np.minimum(stop, job.astype(np.int64) + 1), stop)
        got = (receives[idx] & (month.astype(np.int64) < stop[idx])).astype(float)
        got[rng.random(len(got)) < hb["missing"]] = np.nan
        out["benefit"] = got
    return out


# --- writing exports ------------------------------------------------------------------------

class Writer:
    """Turns canonical values into one landlord's raw text, with that landlord's quirks."""

    def __init__(self, landlord: Landlord, config: Config, params: dict, rng: np.random.Generator):
        self.landlord, self.config, self.q, self.rng = landlord, config, params["quirks"], rng
        self.tokens = ["N/A", "-", "?", "n/a", "NA"]

    def _spelling(self, mapping: FileMapping, vocab: str) -> dict[str, list[str]]:
        base = self.config.vocabularies["categories"][vocab]
        own = mapping.vocab.get(vocab, {})
        return {c: [*(own.get(c) or [c]), *own.get(c, ())[1:], *base[c]] for c in base}

    def category(self, values: pd.Series, mapping: FileMapping, vocab: str) -> np.ndarray:
        words = self._spelling(mapping, vocab)
        out = values.map(lambda v: words[v][0] if isinstance(v, str) and v in words else "").to_numpy(dtype=object)
        vary = self.rng.random(len(out)) < self.q["spelling_variant"]
        for i in np.flatnonzero(vary):
            v = values.iloc[i]
            if isinstance(v, str) and v in words:
                out[i] = words[v][self.rng.integers(0, len(words[v]))]
        return out

    def boolean(self, values: pd.Series, mapping: FileMapping) -> np.ndarray:
        t, f = mapping.booleans["true"][0], mapping.booleans["false"][0]
        return np.where(values.isna(), "", np.where(values.fillna(False).astype(bool), t, f)).astype(object)

    def dates(self, values: pd.Series, mapping: FileMapping, month: bool = False, serial: bool = False) -> np.ndarray:
        fmt = (mapping.month_formats if month else mapping.date_formats)[0]
        v = pd.to_datetime(pd.Series(values))
        out = v.dt.strftime(fmt).fillna("").to_numpy(dtype=object)
        if serial:
            days = ((v - pd.Timestamp("1899-12-30")).dt.days).astype("Int64").astype(str).to_numpy(dtype=object)
            pick = (self.rng.random(len(out)) < 0.6) & v.notna().to_numpy()
            out[pick] = days[pick]
        return out

    def number(self, values, mapping: FileMapping, decimals: int = 2) -> np.ndarray:
        arr = pd.Series(values, dtype="Float64").round(decimals)
        text = arr.map(lambda x: "" if pd.isna(x) else (f"{x:.{decimals}f}".rstrip("0").rstrip(".")
                                                          if decimals else str(int(x))), na_action=None)
        if mapping.decimal == ",":
            text = text.str.replace(".", ",", regex=False)
        return text.to_numpy(dtype=object)

    def flaw(self, frame: pd.DataFrame, table: str, protect: set[str]) -> pd.DataFrame:
        """Blanks, missing-value tokens and stray spaces in optional cells."""
        rng, q = self.rng, self.q
        for col in frame.columns:
            if col in protect or FIELDS[table].get(col) is None or FIELDS[table][col].required:
                continue
            values = frame[col].to_numpy(dtype=object)
            r = rng.random(len(values))
            values[r < q["missing_optional"]] = ""
            tok = (r >= q["missing_optional"]) & (r < q["missing_optional"] + q["missing_token"])
            values[tok] = rng.choice(self.tokens, tok.sum())
            frame[col] = values
        for col in frame.columns:
            if col in ("participant_ref", "tenancy_ref") or col not in FIELDS[table]:
                continue
            values = frame[col].to_numpy(dtype=object)
            pick = (rng.random(len(values)) < q["stray_spaces"]) & (values != "")
            values[pick] = [f" {v}  " if i % 2 else str(v).upper() for i, v in enumerate(values[pick])]
            frame[col] = values
        return frame

    def spoil(self, frame: pd.DataFrame, column: str, share: float, values: list[str]) -> np.ndarray:
        """Give a share of rows an impossible or unparseable value; returns which rows."""
        pick = self.rng.random(len(frame)) < share
        if pick.any() and column in frame:
            frame.loc[pick, column] = self.rng.choice(values, pick.sum())
        return pick


def write_table(frame: pd.DataFrame, folder: Path, mapping: FileMapping, landlord: Landlord, title: str) -> None:
    """Write canonical-named text columns under the mapping's headers, format and encoding."""
    headers = [mapping.columns[c] for c in frame.columns]
    path = folder / mapping.path
    if mapping.format == "xlsx":
        _write_xlsx(frame, headers, path, mapping, landlord, title)
        return
    with open(path, "w", encoding=mapping.encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=mapping.delimiter, lineterminator="\r\n")
        w.writerow(headers)
        w.writerows(frame.itertuples(index=False, name=None))


def _write_xlsx(frame, headers, path, mapping, landlord, title) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.creator = landlord.name
    wb.properties.created = wb.properties.modified = datetime(2023, 6, 30)
    ws = wb.create_sheet(mapping.sheet if isinstance(mapping.sheet, str) else "Sheet1")
    if mapping.header_row == "auto":   # a title block above the header, as reports exported from a CRM have
        ws.append([f"{landlord.name} - {title}"])
        ws.append([f"Extract: {date(2023, 6, 30).strftime('%d/%m/%Y')}", None, "INCREASE Valorisation Sociale"])
        ws.append([])
    ws.append(headers)
    date_cols = {i for i, c in enumerate(frame.columns) if FIELDS[mapping.table][c].kind == "date"}
    fmt = mapping.date_formats[0]
    for row in frame.itertuples(index=False, name=None):
        out = list(row)
        for i in date_cols:   # typed Excel dates, as a person typing into Excel makes them
            v = out[i]
            if v:
                try:
                    out[i] = datetime.strptime(v, fmt)
                except ValueError:
                    pass      # a flawed value stays text
        ws.append(out)
    wb.save(path)


def export_landlord(prog: Programme, landlord: Landlord, config: Config, params: dict, folder: Path,
                    rng: np.random.Generator) -> dict:
    """Write all of one landlord's exports; return counts of planted flaws."""
    w = Writer(landlord, config, params, rng)
    q = params["quirks"]
    lid = landlord.id
    folder.mkdir(parents=True, exist_ok=True)
    shape = shaped_like(lid, params)
    ref_fmt, ten_fmt = REF_STYLE.get(shape, (lid[:3].upper() + "{:06d}", lid[:3].upper() + "T{:07d}"))
    people = prog.people[prog.people["landlord"] == lid].copy()
    people["participant_ref"] = [ref_fmt.format(i + 1) for i in range(len(people))]
    people["tenancy_ref"] = [ten_fmt.format(10 * i + 7) for i in range(len(people))]
    refs = dict(zip(people["uid"], people["participant_ref"]))
    flaws = {}

    # registered twice: the same person under a second reference, spelled differently
    dup = people.sample(frac=q["duplicate_within_landlord"], random_state=rng.integers(1 << 31))
    dup = dup.assign(participant_ref=[ref_fmt.format(len(people) + 1 + i) for i in range(len(dup))],
                     first_name=dup["first_name"].str.upper(), last_name=" " + dup["last_name"] + " ")
    flaws["registered_twice"] = len(dup)
    # registered by another landlord of the same country too (moved, or referred twice)
    others = prog.people[(prog.people["country"] == landlord.country) & (prog.people["landlord"] != lid)]
    cross = others.sample(n=int(round(len(people) * q["duplicate_across_landlords"])),
                          random_state=rng.integers(1 << 31)) if len(others) else others.iloc[:0]
    cross = cross.assign(participant_ref=[ref_fmt.format(len(people) + len(dup) + 1 + i) for i in range(len(cross))],
                         neighbourhood=rng.choice([h.id for h in landlord.neighbourhoods], len(cross)),
                         entry_date=cross["entry_date"] - pd.Timedelta(days=30), tenancy_ref="",
                         assessment_date=pd.NaT, training_start_date=pd.NaT, exit_date=pd.NaT,
                         training_completed=False)
    flaws["registered_by_another_landlord"] = len(cross)
    register = pd.concat([people, dup, cross], ignore_index=True)
    register = register.iloc[rng.permutation(len(register))].reset_index(drop=True)

    m = landlord.files["participants"]
    hoods = {h.id: [h.name, *h.aliases] for h in landlord.neighbourhoods}
    nb = register["neighbourhood"].map(lambda h: hoods[h][0]).to_numpy(dtype=object)
    alias = rng.random(len(nb)) < q["spelling_variant"]
    nb[alias] = [hoods[h][rng.integers(0, len(hoods[h]))] for h in register["neighbourhood"][alias]]
    domains = EMAIL_DOMAINS[landlord.country]
    emails = [f"{_ascii(f)}.{_ascii(l)}{rng.integers(1, 99)}@{domains[rng.integers(0, len(domains))]}"
              for f, l in zip(register["first_name"], register["last_name"])]
    if landlord.country == "FR":
        phones = [f"0{rng.integers(6, 8)} {' '.join(f'{x:02d}' for x in rng.integers(0, 100, 4))}" for _ in emails]
        streets = ["rue", "avenue", "allée", "place", "boulevard", "impasse"]
        addresses = [f"{rng.integers(1, 120)} {streets[rng.integers(0, 6)]} {l}" for l in register["last_name"]]
        postcodes = [f"{rng.integers(10000, 99999)}" for _ in emails]
    else:
        phones = [f"07{rng.integers(100, 999)} {rng.integers(100000, 999999)}" for _ in emails]
        streets = ["Road", "Close", "Avenue", "Street", "Crescent", "Way"]
        addresses = [f"{rng.integers(1, 200)} {l} {streets[rng.integers(0, 6)]}" for l in register["last_name"]]
        postcodes = [f"{chr(65 + rng.integers(0, 26))}{chr(65 + rng.integers(0, 26))}{rng.integers(1, 30)} "
                     f"{rng.integers(1, 9)}{chr(65 + rng.integers(0, 26))}{chr(65 + rng.integers(0, 26))}"
                     for _ in emails]
    out = pd.DataFrame({
        "participant_ref": register["participant_ref"], "first_name": register["first_name"],
        "last_name": register["last_name"], "birth_date": w.dates(register["birth_date"], m),
        "email": emails, "phone": phones, "address": addresses, "postcode": postcodes,
        "tenancy_ref": register["tenancy_ref"], "neighbourhood": nb,
        "sex": w.category(register["sex"], m, "sex"),
        "ethnic_minority": w.boolean(register["ethnic_minority"], m),
        "disability": w.boolean(register["disability"], m),
        "single_parent": w.boolean(register["single_parent"], m),
        "no_qualification": w.boolean(register["no_qualification"], m),
        "employment_status": w.category(register["employment_status"], m, "employment_status"),
        "entry_date": w.dates(register["entry_date"], m),
        "assessment_date": w.dates(register["assessment_date"], m),
        "training_start_date": w.dates(register["training_start_date"], m),
        "training_completed": w.boolean(register["training_completed"], m),
        "exit_date": w.dates(register["exit_date"], m),
    })
    out = w.flaw(out, "participants", protect={"first_name", "last_name", "birth_date", "tenancy_ref",
                                               "training_start_date", "assessment_date", "exit_date",
                                               "training_completed", "entry_date"})
    date_fmt = m.date_formats[0]
    flaws["impossible_birth_date"] = int(w.spoil(out, "birth_date", q["impossible_value"] / 2,
                                                 [date(1900, 1, 1).strftime(date_fmt), date(2031, 5, 4).strftime(date_fmt)]).sum())
    flaws["unparseable_entry_date"] = int(w.spoil(out, "entry_date", q["unparseable_value"] / 2,
                                                  ["31/02/2021", "2021-13-45", "#REF!"]).sum())
    write_table(out[[c for c in out.columns if c in m.columns]], folder, m, landlord, "Participant register")

    # every reference a person was registered under, for their other records
    all_refs = register.groupby("uid")["participant_ref"].agg(list).to_dict()

    def ref_for(uids: pd.Series) -> np.ndarray:
        """Mostly the main reference; a record of a twice-registered person sometimes the other."""
        main = uids.map(refs).to_numpy(dtype=object)
        for i, u in enumerate(uids):
            options = all_refs.get(u, [])
            if len(options) > 1 and rng.random() < 0.3:
                main[i] = options[rng.integers(0, len(options))]
            elif main[i] is None or (isinstance(main[i], float)):
                main[i] = options[0] if options else None
        return main

    mine = set(people["uid"]) | set(cross["uid"])

    # sessions
    s = prog.sessions[prog.sessions["uid"].isin(set(people["uid"]))]
    ms = landlord.files["sessions"]
    hours = ms.units.get("duration") == "hours"
    sess = pd.DataFrame({
        "participant_ref": ref_for(s["uid"]),
        "session_date": w.dates(s["session_date"], ms, serial=(shape, "sessions") in SERIAL_DATE_FILES),
        "duration": w.number(s["duration"] / 60 if hours else s["duration"], ms, 2 if hours else 0),
        "session_type": w.category(s["session_type"], ms, "session_type"),
        "provider": s["provider"].to_numpy(dtype=object),
    })
    orphans = max(1, int(len(sess) * q["orphan_sessions"]))
    orphan_rows = sess.sample(n=min(orphans, len(sess)), random_state=rng.integers(1 << 31)).assign(
        participant_ref=[ref_fmt.format(900000 + i) for i in range(min(orphans, len(sess)))])
    repeats = sess.sample(frac=q["duplicate_session_rows"], random_state=rng.integers(1 << 31))
    flaws["orphan_sessions"], flaws["repeated_session_rows"] = len(orphan_rows), len(repeats)
    sess = pd.concat([sess, orphan_rows, repeats], ignore_index=True)
    sess = w.flaw(sess, "sessions", protect={"session_type", "duration"})
    flaws["negative_duration"] = int(w.spoil(sess, "duration", q["impossible_value"], ["-60", "-1"]).sum())
    flaws["unparseable_duration"] = int(w.spoil(sess, "duration", q["unparseable_value"], ["abc", "1h30"]).sum())
    write_table(sess, folder, ms, landlord, "Sessions")

    # outcomes
    o = prog.outcomes[prog.outcomes["uid"].isin(mine)]
    mo = landlord.files["outcomes"]
    names = prog.people.set_index("uid")["last_name"]
    trade = {"retail": "Shop", "food": "Kitchen", "personal_services": "Beauty", "construction": "Builders",
             "creative": "Crafts", "transport": "Deliveries", "digital": "Web", "care": "Care", "other": "Services"}
    outc = pd.DataFrame({
        "participant_ref": ref_for(o["uid"]),
        "outcome_type": w.category(o["outcome_type"], mo, "outcome_type"),
        "outcome_date": w.dates(o["outcome_date"], mo),
        "contract_type": w.category(o["contract_type"], mo, "contract_type"),
        "legal_form": w.category(o["legal_form"], mo, "legal_form"),
        "sector": w.category(o["sector"], mo, "sector"),
        "business_name": [f"{names[u]} {trade.get(sct, '')}".strip() if t == "business" else ""
                          for u, t, sct in zip(o["uid"], o["outcome_type"], o["sector"])],
    })
    outc = w.flaw(outc, "outcomes", protect={"contract_type", "legal_form", "sector", "business_name"})
    write_table(outc, folder, mo, landlord, "Positive outcomes")

    c = prog.checks[prog.checks["uid"].isin(mine)]
    mc = landlord.files["business_checks"]
    write_table(pd.DataFrame({"participant_ref": ref_for(c["uid"]), "check_date": w.dates(c["check_date"], mc),
                              "trading": w.boolean(c["trading"], mc)}), folder, mc, landlord, "Business follow-up")

    qn = prog.questionnaires[prog.questionnaires["uid"].isin(mine)]
    mq = landlord.files["questionnaires"]
    quest = pd.DataFrame({"participant_ref": ref_for(qn["uid"]), "wave": w.category(qn["wave"], mq, "wave"),
                          "response_date": w.dates(qn["response_date"], mq),
                          "confidence": qn["confidence"].astype(str).to_numpy(dtype=object)})
    for item in WELLBEING_ITEMS:   # item non-response
        v = qn[item].astype(str).to_numpy(dtype=object)
        v[rng.random(len(v)) < 0.03] = ""
        quest[item] = v
    flaws["confidence_out_of_range"] = int(w.spoil(quest, "confidence", q["impossible_value"], ["11", "0", "45"]).sum())
    write_table(quest, folder, mq, landlord, "Questionnaires")

    am = prog.ambassadors[prog.ambassadors["uid"].isin(mine)]
    ma = landlord.files["ambassadors"]
    write_table(pd.DataFrame({"participant_ref": ref_for(am["uid"]), "trained_date": w.dates(am["trained_date"], ma),
                              "month": w.dates(am["month"], ma, month=True), "active": w.boolean(am["active"], ma)}),
                folder, ma, landlord, "Community ambassadors")

    flaws.update(_export_housing(prog, landlord, params, folder, w, people, ten_fmt))
    return flaws


def _export_housing(prog, landlord, params, folder, w, people, ten_fmt) -> dict:
    """Tenancies and the rent-account panel, written in blocks so any scale fits in memory."""
    rng, q = w.rng, w.q
    ten = prog.tenancies[prog.tenancies["landlord"] == landlord.id].reset_index(drop=True)
    ref_by_uid = dict(zip(people["uid"], people["tenancy_ref"]))
    comp_no = np.cumsum(~ten["participant"].to_numpy())
    ten["tenancy_ref"] = [ref_by_uid[u] if p else ten_fmt.format(10 * c + 3)
                          for u, p, c in zip(ten["uid"], ten["participant"], comp_no)]
    first_f, first_m, last = _names(landlord.country)
    lead = np.where(ten["participant"], ten["first_name"] + " " + ten["last_name"],
                    pd.Series(rng.choice(first_f + first_m, len(ten))) + " " + pd.Series(rng.choice(last, len(ten))))
    hoods = {h.id: h.name for h in landlord.neighbourhoods}
    mt = landlord.files["tenancies"]
    tout = pd.DataFrame({"tenancy_ref": ten["tenancy_ref"], "neighbourhood": ten["neighbourhood"].map(hoods),
                         "tenancy_start": w.dates(ten["tenancy_start"], mt), "tenancy_end": w.dates(ten["tenancy_end"], mt),
                         "lead_tenant_name": lead, "lead_birth_date": w.dates(ten["lead_birth_date"], mt),
                         "household_type": w.category(ten["household_type"], mt, "household_type")})
    write_table(tout, folder, mt, landlord, "Tenancies")

    mr = landlord.files["rent_accounts"]
    path = folder / mr.path
    data_end = np.datetime64(w.config.programme["programme"]["data_end"], "D")
    benefit = "housing_benefit" in mr.columns and bool(params.get("housing_benefit"))
    fields = ("tenancy_ref", "month", "rent_due", "arrears", *(("housing_benefit",) if benefit else ()))
    header = mr.delimiter.join(_csv_quote(mr.columns[c], mr.delimiter) for c in fields) + "\r\n"
    yes, no = mr.booleans["true"][0], mr.booleans["false"][0]
    refs = np.array(ten["tenancy_ref"], dtype=object)
    month_fmt = mr.month_formats[0]
    opts = pacsv.WriteOptions(include_header=False, delimiter=mr.delimiter, quoting_style="needed")
    rows_written = spoiled = 0
    with open(path, "wb") as fh:
        fh.write(header.encode(mr.encoding))
        for start in range(0, len(ten), 20_000):
            block = ten.iloc[start:start + 20_000]
            p = panel_rows(block, params, rng, data_end, benefit=benefit)
            months = np.unique(p["month"])
            labels = pa.array([pd.Timestamp(mo).strftime(month_fmt) for mo in months])
            month_idx = np.searchsorted(months, p["month"])
            arrears = pc.cast(pa.array(p["arrears"]), pa.string())
            rent = pc.cast(pa.array(np.round(p["rent"], 2)), pa.string())
            if mr.decimal == ",":
                arrears = pc.replace_substring(arrears, ".", ",")
                rent = pc.replace_substring(rent, ".", ",")
            arrears = arrears.to_numpy(zero_copy_only=False).astype(object)
            bad = rng.random(len(arrears)) < q["impossible_value"] / 4
            arrears[bad] = "999999"
            spoiled += int(bad.sum())
            columns = {"t": pa.array(refs[start + p["tenancy"]], pa.string()),
                       "m": labels.take(pa.array(month_idx)), "r": rent, "a": pa.array(arrears, pa.string())}
            if benefit:
                columns["b"] = pa.array(np.where(np.isnan(p["benefit"]), "", np.where(p["benefit"] == 1, yes, no)),
                                        pa.string())
            table = pa.table(columns)
            repeat = rng.random(table.num_rows) < 0.0005   # a month exported twice
            if repeat.any():
                table = pa.concat_tables([table, table.filter(pa.array(repeat))])
            rows_written += table.num_rows
            buf = pa.BufferOutputStream()
            pacsv.write_csv(table, buf, write_options=opts)
            fh.write(buf.getvalue().to_pybytes().replace(b"\n", b"\r\n"))
    return {"rent_rows": rows_written, "impossible_balance": spoiled}


def _csv_quote(text: str, delimiter: str) -> str:
    return f'"{text}"' if delimiter in text or '"' in text else text


# --- population values -------------------------------------------------------------------

_POPULATION: dict[str, dict] = {}


def _sessions_before(k: np.ndarray, gap: np.ndarray, cutoff_days: np.ndarray) -> np.ndarray:
    """Training sessions (held every `gap` days from the start, `k` in all) strictly before
    `cutoff_days` after the start."""
    return np.minimum(k, np.ceil(np.maximum(cutoff_days, 0) / gap)).astype(float)


def _logit_population(frame: pd.DataFrame, terms: list[str], outcome: str) -> dict[str, float]:
    from .models import _logit_fit

    landlords = sorted(frame["landlord"].unique())
    X = np.column_stack([np.ones(len(frame)), *[(frame["landlord"] == l).to_numpy(float) for l in landlords[1:]],
                         frame[terms].to_numpy(float)])
    beta, _ = _logit_fit(X, frame[outcome].to_numpy(float))
    return {t: float(np.exp(b)) for t, b in zip(terms, beta[-len(terms):])}


def _employment_population(config: Config, params: dict, rng: np.random.Generator, data_end, world=None):
    """One simulated programme's people as the employment estimators see them: the model's
    frame (people followed 12 months after starting training), the business model's, and
    who is in work at exit and at 6 months among the leavers followed that long."""
    people, latent = _latent_people(config, params, rng, 1.0, data_end, world)
    end = pd.Timestamp(data_end)
    employed, days = latent["employed"], latent["days"]
    gap = rng.integers(*SESSION_GAP_DAYS, len(people))
    k = people["training_sessions"].to_numpy()
    age = np.floor((people["entry_date"] - people["birth_date"]).dt.days / 365.25).to_numpy(float)
    base = pd.DataFrame({"landlord": people["landlord"].to_numpy(), "barriers_n": people["barriers"].to_numpy(float),
                         "age_at_entry": age, "woman": (people["sex"] == "F").to_numpy(float)})
    followed = (people["training_start_date"].notna() & (people["training_start_date"] + pd.Timedelta(days=365)
                                                          <= end)).to_numpy()
    created = employed & people["business"].to_numpy()
    model = base.assign(employed=employed.astype(float), sessions_all=k.astype(float),
                        sessions_before=_sessions_before(k, gap, np.where(employed, days, 365)))[followed]
    business = base.assign(created=created.astype(float),
                           sessions_before=_sessions_before(k, gap, np.where(created, days, 365)))[followed]
    job, exit_ = people["employment_date"], people["exit_date"]
    rates = {}
    for name, after in (("exit", 28), ("6m", 183)):
        eligible = (exit_.notna() & (exit_ + pd.Timedelta(days=after) <= end)).to_numpy()
        rates[name] = (job.notna() & (job <= exit_ + pd.Timedelta(days=after))).to_numpy()[eligible]
    return model, business, rates, latent["world"]


def population_values(config: Config, params: dict, replicates: int = 60, seed: int = 20231129) -> dict:
    """Population values of the estimands the reports show, under the planted model: what
    each estimator would give with unlimited data (its probability limit), not what one
    sample realised. Where the planted value is itself the estimand (the arrears effect,
    business survival, the comparison tenants' benefit exits), it is given; where the
    report's estimand is not a planted parameter (odds ratios of a model that counts
    sessions held before the outcome, marginal rates), it is computed on `replicates`
    simulated programmes of the default size, each in new neighbourhoods (their effects
    drawn again), pooled, each person counted where the estimator counts them (followed
    long enough before the exports' date). Deterministic; kept per process."""
    key = json.dumps([params, list(config.landlords), replicates, seed], sort_keys=True, default=str)
    if key in _POPULATION:
        return _POPULATION[key]
    data_end = np.datetime64(config.programme["programme"]["data_end"], "D")
    model, business, rates = [], [], {"exit": [], "6m": []}
    for r in range(replicates):
        m, b, rt, _ = _employment_population(config, params, np.random.default_rng([seed, r]), data_end)
        model.append(m)
        business.append(b)
        for name in rates:
            rates[name].append(rt[name])
    model, business = pd.concat(model, ignore_index=True), pd.concat(business, ignore_index=True)
    terms = ["sessions_before", "barriers_n", "age_at_entry", "woman"]
    before = _logit_population(model, terms, "employed")
    every = _logit_population(model.assign(sessions_before=model["sessions_all"]), terms, "employed")
    creators = _logit_population(business, terms, "created")
    biz = params["business"]
    rate = -np.log(biz["survival_12m"]) / 365.0
    offsets = np.arange(-10, 11)
    survival = {f"{m}m": float(np.mean(np.exp(-rate * (int(round(m * 30.44)) + offsets + 0.5))))
                for m in biz["checks_months"]}
    out = {
        "note": "population values (probability limits) of the estimands under the planted model, in new "
                "neighbourhoods; `given_neighbourhoods`: the rates in this sample's neighbourhoods (see "
                "synth.population_values and synth.rates_given_neighbourhoods)",
        "replicates": replicates,
        "employment_or_per_session_before_outcome": before["sessions_before"],
        "employment_or_per_barrier": before["barriers_n"],
        "employment_or_per_session_all_sessions": every["sessions_before"],
        "employment_or_per_barrier_all_sessions": every["barriers_n"],
        "business_or_per_session_before_creation": creators["sessions_before"],
        "business_or_per_barrier": creators["barriers_n"],
        "employment_rate_12m": float(model["employed"].mean()),
        "employed_within_365_days_of_training_start": float(model["employed"].mean()),
        "employment_rate_exit": float(np.concatenate(rates["exit"]).mean()),
        "employment_rate_6m": float(np.concatenate(rates["6m"]).mean()),
        "business_survival_at_checks": survival,
        "arrears_effect_of_employment": float(params["tenancies"]["arrears_effect_of_job"]),
        "tenancy_end_difference": 0.0,
    }
    benefit = params.get("housing_benefit")
    if benefit:
        out["deadweight_comparison_exit_12m"] = float(benefit["comparison_exit_12m"])
    _POPULATION[key] = out
    return out


def rates_given_neighbourhoods(config: Config, params: dict, world: dict, replicates: int = 30,
                               seed: int = 20231130) -> dict:
    """The employment rates in the neighbourhoods of one sample (their effects and sizes
    held, `world`), with unlimited people: what a rate with a Wilson interval, which treats
    people and not places as drawn, estimates. (In new neighbourhoods the rate would vary
    more than that interval says; the odds ratios' intervals, robust to clustering by
    neighbourhood, allow for it.)"""
    data_end = np.datetime64(config.programme["programme"]["data_end"], "D")
    model, rates = [], {"exit": [], "6m": []}
    for r in range(replicates):
        m, _, rt, _ = _employment_population(config, params, np.random.default_rng([seed, r]), data_end, world)
        model.append(m["employed"].to_numpy())
        for name in rates:
            rates[name].append(rt[name])
    twelve = float(np.concatenate(model).mean())
    return {"employment_rate_12m": twelve, "employed_within_365_days_of_training_start": twelve,
            **{f"employment_rate_{k}": float(np.concatenate(v).mean()) for k, v in rates.items()}}


def truth_values(config: Config, params: dict, seed: int, scale: float) -> dict:
    """The population block of the truth file `generate(seed, scale)` writes, without
    writing anything (the benchmark recomputes it)."""
    data_end = np.datetime64(config.programme["programme"]["data_end"], "D")
    _, latent = _latent_people(config, params, np.random.default_rng(seed), scale, data_end)
    return {**population_values(config, params),
            "given_neighbourhoods": rates_given_neighbourhoods(config, params, latent["world"])}


# --- entry point ------------------------------------------------------------------------------

def check_raw(raw: Path) -> None:
    """synth never writes over real exports."""
    raw = Path(raw)
    if raw.is_dir() and any(p.is_dir() for p in raw.iterdir()) and not (raw / SYNTHETIC_MARKER).is_file():
        raise UserError(f"{raw} holds exports that are not synthetic: synth never writes over real data "
                        f"(choose another --raw folder)")


def generate(raw: Path, config: Config, seed: int = 20230331, scale: float = 1.0,
             truth_path: Path | None = None) -> dict:
    """Write synthetic exports for every configured landlord into `raw`; return the truth."""
    raw = Path(raw)
    if scale <= 0:
        raise UserError("--scale must be positive")
    check_raw(raw)
    params = load_parameters(config)
    prog = simulate(config, params, seed, scale)
    stage = raw.parent / f".{raw.name}.synth-tmp"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    flaws = {}
    for i, landlord in enumerate(config.landlords.values()):
        if not (prog.people["landlord"] == landlord.id).any():
            continue
        rng = np.random.default_rng([seed, i])
        flaws[landlord.id] = export_landlord(prog, landlord, config, params, stage / landlord.id, rng)
    marker = {"synthetic": True, "generator": f"increase-eval {__version__}", "seed": seed, "scale": scale,
              "note": "Synthetic data made by 'increase-eval synth'. No real person is described."}
    (stage / SYNTHETIC_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    hb = params.get("housing_benefit")
    if hb:
        prog.truth["deadweight"] = {
            "comparison_exit_12m": hb["comparison_exit_12m"],
            "definition": "share of comparison tenancies receiving housing benefit for at least 6 months whose "
                          "benefit stops within the next 12 months (a proxy for a move into work)",
            "landlords": sorted(l.id for l in config.landlords.values() if "rent_accounts" in l.files
                                and "housing_benefit" in l.files["rent_accounts"].columns)}
    if params.get("shaped_like"):     # a federation: 60 simulated federations would take minutes
        prog.truth["population"] = {"note": "not computed for a federation (synth --landlords)"}
    else:
        prog.truth["population"] = {**population_values(config, params),
                                    "given_neighbourhoods": rates_given_neighbourhoods(config, params, prog.world)}
    truth = {**prog.truth, "seed": seed, "scale": scale, "planted_flaws": flaws,
             "people": int(prog.people["uid"].nunique())}
    # swap in: the previous synthetic data is replaced whole, never mixed
    if raw.exists():
        old = raw.parent / f".{raw.name}.synth-old"
        shutil.rmtree(old, ignore_errors=True)
        raw.rename(old)
        stage.rename(raw)
        for keep in (".gitkeep", "README.md"):
            if (old / keep).exists():
                shutil.copy2(old / keep, raw / keep)
        shutil.rmtree(old, ignore_errors=True)
    else:
        stage.rename(raw)
    truth_path = Path(truth_path) if truth_path else raw.parent / "synthetic_truth.json"
    truth_path.write_text(json.dumps(truth, indent=2, default=str) + "\n", encoding="utf-8")
    return truth


# --- a federation of many landlords (synth --landlords N) ---------------------------------------

FEDERATION_MARK = "# Written by 'increase-eval synth --landlords': a synthetic federation landlord."
# the seven partners' shapes, UK and France in turn, so that any two landlords cover both countries
FEDERATION_SHAPES = ("southern_housing", "archipel_habitat", "abri", "neotoa", "clarion", "pas_de_calais_habitat",
                     "logirep")
FEDERATION_SIZE = (0.25, 1.75)   # a landlord's size: its partner's, times log-uniform within these bounds
FEDERATION_MAX = 9999
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config"


def _replace_block(text: str, key: str, block: str) -> str:
    """Replace the top-level YAML block `key:` (up to the next top-level key) by `block`,
    keeping the file's comments elsewhere; append it when the key is not there."""
    import re

    pattern = re.compile(rf"^{key}:.*?(?=^\S)", re.S | re.M)
    if pattern.search(text + "\nend:"):
        return pattern.sub(lambda m: block, text + "\nend:", count=1)[: -len("\nend:")]
    return text.rstrip("\n") + "\n\n" + block


def _generated(path: Path) -> bool:
    with path.open(encoding="utf-8") as fh:
        return fh.readline().rstrip("\n") == FEDERATION_MARK


def federation(config_dir: Path, n: int, seed: int = 20230331, template: Path | None = None) -> dict[str, str]:
    """Write the mappings of a federation of `n` synthetic landlords into `config_dir`
    (landlords/fed_NNN.yml), each drawn from one of the seven partners' mappings (its
    export shapes, language, country and currency; in turn UK, France, UK...), with a size
    of its own (its partner's engaged people times a seeded factor, in synth.yml with the
    partner it is shaped like) and its cost scaled to it. The folder is made from the
    default configuration (`template`) when it does not exist; the partners' mappings,
    evidence registers and commentaries are not copied, so that the federation is its N
    landlords. A folder holding mappings synth did not write is refused: the partners'
    own configuration is never replaced. Returns {landlord id: the partner it is shaped like}."""
    template = Path(template) if template else DEFAULT_CONFIG
    config_dir = Path(config_dir)
    if not 1 <= n <= FEDERATION_MAX:
        raise UserError(f"--landlords {n}: give a number of landlords from 1 to {FEDERATION_MAX}")
    if config_dir.resolve() == template.resolve():
        raise UserError(f"--landlords writes a federation's mappings into a configuration folder of its own, not "
                        f"into {config_dir} (the partners' configuration): give --config NEW_FOLDER, made from "
                        f"{template}")
    if not config_dir.exists():
        import shutil as _sh

        def skip(folder, names):
            here = Path(folder)
            if here.name == "landlords" and here.parent == template:
                return [x for x in names if x.endswith(".yml")]
            if here.name == "commentary" and here.parent == template:
                return [x for x in names if x.endswith(".md") and x != "README.md"]
            return []
        _sh.copytree(template, config_dir, ignore=skip)
    foreign = sorted(p.name for p in (config_dir / "landlords").glob("*.yml") if not _generated(p))
    if foreign:
        raise UserError(f"{config_dir / 'landlords'} holds mappings synth did not write ({', '.join(foreign[:5])}"
                        f"{' ...' if len(foreign) > 5 else ''}): a federation is written into a configuration "
                        f"folder of its own; give --config NEW_FOLDER (made from {template})")
    for old in (config_dir / "landlords").glob("*.yml"):      # a federation replaces the previous one whole
        old.unlink()
    for name in ("programme.yml", "synth.yml", "vocabularies.yml"):
        if not (config_dir / name).is_file():
            raise UserError(f"{config_dir / name} is missing: a federation's configuration folder needs it "
                            f"(copy it from {template})")
    partners = yaml.safe_load((template / "synth.yml").read_text(encoding="utf-8"))["engaged"]
    rng = np.random.default_rng([seed, n, 14])
    width = max(3, len(str(n)))
    shapes, engaged = {}, {}
    for k in range(1, n + 1):
        shape = FEDERATION_SHAPES[(k - 1) % len(FEDERATION_SHAPES)]
        lid = f"fed_{k:0{width}d}"
        m = yaml.safe_load((template / "landlords" / f"{shape}.yml").read_text(encoding="utf-8"))
        factor = float(np.exp(rng.uniform(*np.log(FEDERATION_SIZE))))
        size = max(int(round(partners[shape] * factor)), 20)
        ratio = size / partners[shape]
        fr = m["country"] == "FR"
        m["id"] = lid
        m["name"] = f"{'Bailleur' if fr else 'Landlord'} {k:0{width}d}"
        m["neighbourhoods"] = [{"id": f"{lid.upper()}-{j:02d}", "name": f"{h['name']} ({k:0{width}d})",
                                "aliases": list(h.get("aliases") or [])}
                               for j, h in enumerate(m["neighbourhoods"], 1)]
        if m.get("cost"):
            cost = m["cost"]
            cost["total"] = int(round(cost["total"] * ratio, -3)) or 1000
            if cost.get("erdf") is not None:
                cost["erdf"] = min(int(round(cost["erdf"] * ratio, -3)), cost["total"])
            cost["assumption"] = True
            cost["source"] = (f"assumption: synthetic federation landlord; the illustrative cost of the partner it "
                              f"is shaped like ({shape}) scaled to its size ({ratio:.2f} times)")
        text = yaml.safe_dump(m, sort_keys=False, allow_unicode=True, width=120)
        header = (f"{FEDERATION_MARK}\n# Shaped like {shape} (its formats, headers and spellings); made by "
                  f"synth --landlords {n} --seed {seed}. Replaced whole by the next such run.\n")
        (config_dir / "landlords" / f"{lid}.yml").write_text(header + text, encoding="utf-8")
        shapes[lid], engaged[lid] = shape, size
    prog = (config_dir / "programme.yml").read_text(encoding="utf-8")
    listing = "".join(f"  - {lid}\n" for lid in shapes)
    prog = _replace_block(prog, "landlords", f"landlords:\n  # a synthetic federation (synth --landlords {n})\n"
                                             f"{listing}\n")
    (config_dir / "programme.yml").write_text(prog, encoding="utf-8")
    params = (config_dir / "synth.yml").read_text(encoding="utf-8")
    params = _replace_block(params, "engaged", "engaged:\n" + "".join(f"  {l}: {v}\n" for l, v in engaged.items())
                            + "\n")
    params = _replace_block(params, "shaped_like", "shaped_like:   # synth --landlords: the partner each copies\n"
                            + "".join(f"  {l}: {s}\n" for l, s in shapes.items()) + "\n")
    (config_dir / "synth.yml").write_text(params, encoding="utf-8")
    return shapes
