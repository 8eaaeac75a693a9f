#!/usr/bin/env python3
"""The same work as vigie's ingest and headline indicators, done with DuckDB, timed and checked.

A companion of the province-scale benchmark: the harness runs `vigie ingest` and `vigie compute`
on a synthetic region, then this script, so that vigie/DuckDB time ratios can be printed and
both engines shown to give the same numbers.

    python3 benches/duckdb_bench.py --landing DIR --warehouse DIR --out results.json \\
        [--threads 2] [--memory-limit 4GB] [--scratch DIR] [--only all|load|indicators]

Steps (each timed, file reading included, no warm-up run):

  load        every source of the pipeline (default pipelines/demo.yaml): read the landing CSV
              files with the source's dialect and encoding, convert and validate every field
              (code maps, types, formats, ranges, code lists, Luhn check digits, date order, as
              crates/vigie-ingest does), pseudonymise the identifiers, split / unpivot, and
              write zstd Parquet (partitioned by event month like the warehouse) plus the
              rejected records' problems into --scratch. Counts are checked against vigie's
              load_manifest.
  indicators  the DuckDB translations of six catalogue queries (queries/*.sql), over the
              active Parquet files of vigie's Delta tables (the very files vigie reads), with
              the same helpers (calendar, population_month, age bands). Their region and team
              totals are checked against vigie's indicator_results.

Exit status: 0 when every check passes, 1 when a check fails (the JSON is written either way),
2 when an input is missing or unusable.
"""

from __future__ import annotations

import argparse
import codecs
import fnmatch
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

try:
    import duckdb
except ImportError:  # pragma: no cover - environment problem, reported plainly
    sys.exit("duckdb_bench: the Python package `duckdb` is not installed (pip install duckdb)")

REPO = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """An expected failure (missing input, unsupported layout): reported without a traceback."""


# ---------------------------------------------------------------------------------------------
# Delta Lake: the active files of a table's latest version
# ---------------------------------------------------------------------------------------------


def delta_active_files(con: duckdb.DuckDBPyConnection, table_dir: Path) -> list[str]:
    """Absolute paths of the Parquet files active in the latest version of a Delta table.

    A table directory keeps files that later commits removed (a `replace` load, a recomputed
    indicator), so listing `*.parquet` would double-count: replay the log instead, from the
    latest checkpoint if there is one, then every JSON commit after it (add, then remove)."""
    log = table_dir / "_delta_log"
    if not log.is_dir():
        raise BenchError(
            f"{table_dir} is not a Delta table (no _delta_log directory): "
            "run `vigie ingest` and `vigie compute` on this warehouse first"
        )
    active: dict[str, None] = {}
    start = -1
    checkpoints: dict[int, list[Path]] = {}
    for p in log.glob("*.checkpoint*.parquet"):
        try:
            checkpoints.setdefault(int(p.name.split(".")[0]), []).append(p)
        except ValueError:
            continue
    if checkpoints:
        version = max(checkpoints)
        parts = sorted(str(p) for p in checkpoints[version])
        # A checkpoint holds the table state at `version`: its `add` rows are the live files.
        rows = con.execute(
            "SELECT \"add\".path FROM read_parquet(?, union_by_name = true) WHERE \"add\" IS NOT NULL",
            [parts],
        ).fetchall()
        for (path,) in rows:
            active[path] = None
        start = version
    commits = []
    for p in log.glob("*.json"):
        stem = p.name[: -len(".json")]
        if stem.isdigit() and int(stem) > start:
            commits.append((int(stem), p))
    if start < 0 and not commits:
        raise BenchError(f"the Delta log of {table_dir} holds no commit")
    for _, p in sorted(commits):
        with p.open(encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                action = json.loads(line)
                if "add" in action:
                    active[action["add"]["path"]] = None
                elif "remove" in action:
                    active.pop(action["remove"]["path"], None)
    out = []
    for path in active:
        if "://" in path:
            parsed = urllib.parse.urlparse(path)
            if parsed.scheme != "file":
                raise BenchError(f"{table_dir}: file {path} is not local; this bench reads local tables only")
            out.append(urllib.parse.unquote(parsed.path))
        else:
            # Paths in the log are relative to the table and URL-encoded (e.g. `=` as %3D).
            out.append(str(table_dir / urllib.parse.unquote(path)))
    return sorted(out)


def sql_list(paths: list[str]) -> str:
    return "[" + ", ".join(sql_str(p) for p in paths) + "]"


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql_ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------------
# Canonical entities (mirrors crates/vigie-model/src/entity.rs)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDef:
    name: str
    ty: str  # person_key | text | int | float | date | datetime
    required: bool
    allowed: tuple[str, ...] = ()
    range: tuple[float, float] | None = None


def _f(name, ty, required, allowed=(), rng=None):
    return FieldDef(name, ty, required, tuple(allowed), rng)


ENTITIES: dict[str, dict] = {
    "person": {
        "fields": [
            _f("person_key", "person_key", True),
            _f("birth_year", "int", True, rng=(1890.0, 2100.0)),
            _f("sex", "text", True, ("F", "M", "X")),
            _f("language", "text", True, ("fr", "en", "other")),
            _f("rurality", "text", False, ("urban", "rural")),
            _f("area", "text", False),
            _f("team", "text", False),
            _f("death_date", "date", False),
        ],
        "event": None,
        "order": [],
    },
    "ed_visit": {
        "fields": [
            _f("person_key", "person_key", True),
            _f("arrival", "datetime", True),
            _f("facility", "text", True),
            _f("triage", "int", False, rng=(1.0, 5.0)),
            _f("disposition", "text", False,
               ("home", "left_without_being_seen", "transferred", "admitted", "died", "other")),
            _f("diagnosis", "text", False),
        ],
        "event": "arrival",
        "order": [],
    },
    "admission": {
        "fields": [
            _f("person_key", "person_key", True),
            _f("admit_date", "date", True),
            _f("discharge_date", "date", False),
            _f("facility", "text", True),
            _f("admit_category", "text", False, ("urgent", "elective")),
            _f("diagnosis", "text", False),
            _f("alc_days", "float", False, rng=(0.0, 36500.0)),
            _f("discharge_disposition", "text", False,
               ("home", "home_with_support", "long_term_care", "transferred", "died",
                "left_against_advice", "other")),
        ],
        "event": "admit_date",
        "order": [("discharge_date", "admit_date")],
    },
    "enrolment": {
        "fields": [
            _f("person_key", "person_key", True),
            _f("program", "text", True),
            _f("team", "text", True),
            _f("referral_date", "date", True),
            _f("first_contact_date", "date", False),
            _f("enrolment_date", "date", False),
            _f("care_plan_date", "date", False),
            _f("end_date", "date", False),
        ],
        "event": "referral_date",
        "order": [
            ("first_contact_date", "referral_date"),
            ("enrolment_date", "referral_date"),
            ("care_plan_date", "enrolment_date"),
            ("end_date", "enrolment_date"),
        ],
    },
    "survey_response": {
        "fields": [
            _f("response_id", "text", True),
            _f("person_key", "person_key", False),
            _f("team", "text", True),
            _f("completed_date", "date", True),
            _f("language", "text", False, ("fr", "en", "other")),
            _f("respondent_type", "text", False, ("patient", "caregiver", "proxy")),
            _f("instrument", "text", False),
            _f("item_code", "text", True),
            _f("answer", "int", False),
            _f("answer_status", "text", False, ("valid", "not_applicable", "missing")),
        ],
        "event": "completed_date",
        "order": [],
    },
    "area_attribute": {
        "fields": [
            _f("area", "text", True),
            _f("attribute", "text", True),
            _f("value", "text", False),
        ],
        "event": None,
        "order": [],
    },
}

SQL_TYPE = {
    "person_key": "VARCHAR",
    "text": "VARCHAR",
    "int": "INTEGER",
    "float": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}

# vigie's public demo key (crates/vigie-model/src/pseudonym.rs); demo pipelines only.
DEMO_KEY = "vigie DEMO key - synthetic data only - never use on real data"

# chrono's default when a date-time has one column and no format (convert.rs ISO_DATETIMES).
ISO_DATETIMES = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]

# What Rust's str::trim removes that matters for Latin-1/UTF-8 extracts: ASCII white space,
# NEL and NO-BREAK SPACE (DuckDB's one-argument trim removes spaces only).
TRIM_CHARS = " \t\n\r\x0b\x0c\u0085\u00a0"
EDGE_SPACE_RE = r"^[ \t\n\r\x0b\x0c\x{85}\x{a0}]|[ \t\n\r\x0b\x0c\x{85}\x{a0}]$"

# Rust's f64 grammar for finite numbers (inf/NaN parse in Rust but are then rejected as not
# finite, so rejecting them here gives the same accept/reject decision). TRY_CAST alone is
# more lenient than Rust (it takes '1_000', '0x10'), hence the pattern.
FLOAT_RE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
INT_RE = r"[+-]?[0-9]+"


def fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# ---------------------------------------------------------------------------------------------
# Source specs (pipelines/sources/*.yaml) and the SQL that ingests them
# ---------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """One canonical field of one output (compile.rs `FieldPlan`)."""

    d: FieldDef
    origin: tuple  # ("col", name) | ("datetime", date_col, time_col) | ("const", v) | ("absent",)
    label: str
    fmt: str | None
    time_fmt: str | None
    decimal_comma: bool
    mapping: dict[str, str] | None
    required: bool
    rng: tuple[float, float] | None
    allowed: tuple[str, ...]
    luhn: bool
    # `scheme: ontario_hcn`: 10 digits and an optional version code of 1-2 letters, Luhn over
    # the 10 digits (vigie_model::IdScheme::OntarioHcn).
    ontario_hcn: bool = False
    # A survey answer read through the instrument (crates/vigie-ingest/src/survey.rs):
    # "answer" (the scale's value) or "status" (its answer status).
    survey_role: str | None = None


@dataclass
class Survey:
    """A survey source's instrument and the partner's answers per scale
    (crates/vigie-model/src/config/survey.rs)."""

    instrument: str
    # item code -> scale name
    item_scale: dict[str, str]
    # scale name -> partner answer -> an int value, "not_applicable" or "missing"
    answers: dict[str, dict[str, object]]


@dataclass
class Output:
    entity: str
    case: str | None
    plans: list[Plan]


@dataclass
class Source:
    spec_path: Path
    source: str
    files_glob: str
    fmt: dict
    null_values: list[str]
    outputs: list[Output]
    split_by: str | None
    unpivot: tuple[list[str], bool] | None
    survey: Survey | None = None
    files: list[Path] = field(default_factory=list)


def load_yaml(path: Path):
    try:
        import yaml
    except ImportError as e:
        raise BenchError("the Python package `pyyaml` is needed to read the pipeline and source specs "
                         "(pip install pyyaml)") from e
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError as e:
        raise BenchError(f"{path} not found") from e
    except yaml.YAMLError as e:
        raise BenchError(f"{path} is not valid YAML: {e}") from e


def make_plan(d: FieldDef, spec: dict | None) -> Plan:
    spec = spec or {}
    src = spec.get("from")
    if isinstance(src, str):
        origin = ("col", src)
        label = src
    elif isinstance(src, list) and len(src) == 2:
        origin = ("datetime", src[0], src[1])
        label = "+".join(src)
    elif spec.get("value") is not None:
        origin = ("const", str(spec["value"]))
        label = d.name
    else:
        origin = ("absent",)
        label = d.name
    # A spec range narrows the canonical one, never widens it (compile.rs `plan`).
    rng = d.range
    if spec.get("range") is not None:
        lo, hi = (float(x) for x in spec["range"])
        rng = (max(lo, d.range[0]), min(hi, d.range[1])) if d.range else (lo, hi)
    allowed = tuple(spec["allowed"]) if spec.get("allowed") is not None else d.allowed
    mapping = {str(k): str(v) for k, v in spec["map"].items()} if spec.get("map") else None
    return Plan(
        d=d,
        origin=origin,
        label=label,
        fmt=spec.get("format"),
        time_fmt=spec.get("time_format"),
        decimal_comma=spec.get("decimal") == ",",
        mapping=mapping,
        required=d.required or bool(spec.get("required", False)),
        rng=rng,
        allowed=allowed,
        luhn=spec.get("check") == "luhn",
        ontario_hcn=spec.get("scheme") == "ontario_hcn",
    )


def make_output(entity: str, fields: dict, where: Path) -> Output:
    if entity not in ENTITIES:
        raise BenchError(f"{where}: unknown entity {entity!r}")
    defs = ENTITIES[entity]["fields"]
    unknown = set(fields) - {d.name for d in defs}
    if unknown:
        raise BenchError(f"{where}: fields {sorted(unknown)} are not fields of {entity}")
    return Output(entity, None, [make_plan(d, fields.get(d.name)) for d in defs])


def load_survey(spec: dict, sp: Path) -> Survey | None:
    """The instrument of a survey source and its answers (checked by `vigie validate`)."""
    survey = spec.get("survey")
    if not survey:
        return None
    ip = (sp.parent / survey["instrument"]).resolve()
    inst = load_yaml(ip)
    item_scale = {str(i["code"]): str(i["scale"]) for i in inst.get("items") or []}
    answers = {}
    for scale, mapping in (survey.get("answers") or {}).items():
        answers[str(scale)] = {}
        for partner, target in (mapping or {}).items():
            t = str(target).strip()
            answers[str(scale)][str(partner).strip()] = t if t in ("not_applicable", "missing") else int(t)
    return Survey(str(inst["instrument"]), item_scale, answers)


def survey_plans(out: Output, survey: Survey, where: Path) -> None:
    """Marks the answer and its status as read through the instrument; the instrument's id
    is a constant (compile.rs with a survey binding)."""
    for p in out.plans:
        if p.d.name == "answer":
            if p.origin != ("col", "$value"):
                raise BenchError(f"{where}: this bench reads survey answers from `$value` only")
            p.survey_role = "answer"
        elif p.d.name == "answer_status":
            p.origin, p.label, p.survey_role = ("col", "$value"), "answer", "status"
        elif p.d.name == "instrument":
            p.origin = ("const", survey.instrument)
        elif p.d.name == "item_code" and p.origin != ("col", "$name"):
            raise BenchError(f"{where}: this bench reads survey item codes from `$name` only")


def load_sources(pipeline: Path, landing: Path) -> tuple[list[Source], str, list[str]]:
    """The sources of a pipeline, their landing files, and the pseudonymisation key."""
    notes: list[str] = []
    p = load_yaml(pipeline)
    key_spec = p.get("key")
    if key_spec == "demo":
        key = DEMO_KEY
    elif isinstance(key_spec, dict) and "env" in key_spec:
        if key_spec["env"] not in os.environ:
            raise BenchError(f"the pseudonymisation key variable {key_spec['env']} is not set")
        key = os.environ[key_spec["env"]].strip()
    elif isinstance(key_spec, dict) and "file" in key_spec:
        kp = (pipeline.parent / key_spec["file"]).resolve()
        try:
            key = kp.read_text(encoding="utf-8", errors="replace").rstrip("\r\n")
        except OSError as e:
            raise BenchError(f"cannot read the key file {kp}: {e}") from e
    else:
        raise BenchError(f"{pipeline}: unsupported `key` {key_spec!r}")
    sources = []
    all_files = sorted(
        str(Path(dp, f).relative_to(landing)).replace(os.sep, "/")
        for dp, _, fs in os.walk(landing)
        for f in fs
    )
    for rel in p.get("sources") or []:
        sp = (pipeline.parent / rel).resolve()
        s = load_yaml(sp)
        fmt = s.get("format") or {}
        if fmt.get("type") not in ("csv", "parquet"):
            raise BenchError(f"{sp}: format type {fmt.get('type')!r} is not supported by this bench")
        if s.get("split"):
            outputs = []
            for case, out in s["split"]["cases"].items():
                o = make_output(out["entity"], out.get("fields") or {}, sp)
                o.case = str(case)
                outputs.append(o)
            split_by = s["split"]["by"]
        else:
            outputs = [make_output(s["entity"], s.get("fields") or {}, sp)]
            split_by = None
        unpivot = None
        if s.get("unpivot"):
            unpivot = ([str(c) for c in s["unpivot"]["columns"]], bool(s["unpivot"].get("keep_empty", True)))
        survey = load_survey(s, sp)
        if survey:
            for o in outputs:
                if o.entity == "survey_response":
                    survey_plans(o, survey, sp)
        src = Source(
            spec_path=sp,
            source=s["source"],
            files_glob=s["files"],
            fmt=fmt,
            null_values=[str(v).strip() for v in s.get("null_values") or []],
            outputs=outputs,
            split_by=split_by,
            unpivot=unpivot,
            survey=survey,
        )
        # vigie matches the glob against landing keys (relative paths, `*` crossing `/`,
        # as globset's default does) and reads them in key order.
        # A file pattern's period placeholders (pattern.rs) match their digits.
        glob = (src.files_glob.replace("{yyyy}", "[0-9][0-9][0-9][0-9]")
                .replace("{mm}", "[0-9][0-9]").replace("{q}", "[1-4]"))
        src.files = [landing / f for f in all_files if fnmatch.fnmatchcase(f, glob)]
        sources.append(src)
    if not sources:
        raise BenchError(f"{pipeline} lists no sources")
    return sources, key, notes


class SourceSQL:
    """Generates the DuckDB SQL that converts and validates one source, mirroring
    crates/vigie-ingest (compile.rs, convert.rs, file.rs)."""

    def __init__(self, src: Source, header: list[str], key: str):
        self.src = src
        self.header = header
        self.key = key
        self.col_index: dict[str, int] = {}
        self.trims: list[str] = []  # SQL of the trimmed cells (layer 0)
        self.cells: list[str] = []  # SQL of the trimmed, null-filtered cells (layer 1)
        self.mapped: list[str] = []  # layer 2
        self.parsed: list[str] = []  # layer 3
        self.errors: list[tuple[str, str, str, str]] = []  # (slot, label, reason SQL, shown SQL)
        self.slots: dict[tuple, str] = {}  # (output index, field, item) -> slot name
        trimmed = {h.strip(): h for h in header}
        missing = []
        for col in self._columns_used():
            if col not in trimmed:
                missing.append(col)
        if missing:
            raise BenchError(
                f"{src.spec_path.name}: the header of {src.files[0].name} lacks column(s) "
                f"{', '.join(missing)}; it has: {', '.join(header)}"
            )
        self.trimmed = trimmed

    def _columns_used(self) -> list[str]:
        cols = []
        if self.src.split_by:
            cols.append(self.src.split_by)
        if self.src.unpivot:
            cols.extend(self.src.unpivot[0])
        for o in self.src.outputs:
            for p in o.plans:
                if p.origin[0] == "col" and p.origin[1] not in ("$name", "$value"):
                    cols.append(p.origin[1])
                elif p.origin[0] == "datetime":
                    cols.extend(p.origin[1:])
        return list(dict.fromkeys(cols))

    def cell(self, col: str) -> str:
        """Layer-1 column holding the trimmed cell, NULL when empty or a null value."""
        if col not in self.col_index:
            i = len(self.col_index)
            self.col_index[col] = i
            raw = sql_ident(self.trimmed[col])
            # Like Rust's trim, which only looks at the ends: DuckDB's trim with a character
            # set is slow, so only cells starting or ending with white space go through it.
            self.trims.append(f"CASE WHEN regexp_matches({raw}, {sql_str(EDGE_SPACE_RE)}) "
                              f"THEN trim({raw}, {sql_str(TRIM_CHARS)}) ELSE {raw} END AS __t{i}")
            nulls = ", ".join(sql_str(v) for v in [""] + self.src.null_values)
            self.cells.append(f"CASE WHEN __t{i} IN ({nulls}) THEN NULL ELSE __t{i} END AS __c{i}")
        return f"__c{self.col_index[col]}"

    # -- one field instance ("slot") -----------------------------------------------------------

    def add_slot(self, out_i: int, plan: Plan, guard: str | None, item: tuple[int, str] | None) -> str:
        name = f"s{len(self.slots)}"
        self.slots[(out_i, plan.d.name, item[0] if item else None)] = name

        def guarded(expr: str) -> str:
            return f"CASE WHEN {guard} THEN {expr} END" if guard else expr

        def text_of(col: str) -> str:
            if col == "$name":
                return sql_str(item[1]) if item else "NULL"
            if col == "$value":
                return self.cell(item[1]) if item else "NULL"
            return self.cell(col)

        d, o = plan.d, plan.origin
        if plan.survey_role:
            return self.add_survey_slot(name, plan, guarded, text_of(o[1]), item)
        if o[0] == "datetime":
            self.mapped.append(f"{guarded(text_of(o[1]))} AS {name}_m")
            self.mapped.append(f"{guarded(text_of(o[2]))} AS {name}_t")
        else:
            if o[0] == "col":
                t = text_of(o[1])
            elif o[0] == "const":
                t = sql_str(o[1])
            else:
                t = "NULL"
            if plan.mapping:
                whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in plan.mapping.items())
                t = f"CASE {t} {whens} ELSE {t} END"
            self.mapped.append(f"{guarded(t)} AS {name}_m")
        m = f"{name}_m"
        missing = "'required value is missing'" if plan.required else "NULL"
        fail = f"CASE WHEN {m} IS NULL THEN {missing} WHEN {name}_v IS NULL THEN {{reason}}{{extra}} END"
        extra = ""
        if d.ty == "person_key":
            if plan.ontario_hcn:
                # Separators dropped; the version code is not part of the person's number.
                c = f"regexp_replace({m}, '[\\s\\-\u2010-\u2015\u2212]', '', 'g')"
                v = (f"CASE WHEN regexp_full_match({c}, '[0-9]{{10}}[A-Za-z]{{0,2}}') "
                     f"AND vigie_luhn(left({c}, 10)) "
                     f"THEN sha256({sql_str(self.key)} || left({c}, 10)) END")
                reason = "'identifier is not an Ontario health card number (10 digits, Luhn)'"
            elif plan.luhn:
                # Pseudonymisation: vigie stores hex HMAC-SHA256(key, identifier). DuckDB has no
                # HMAC, so this is sha256(key || identifier): one SHA-256 over a short message
                # where HMAC does two, the same order of work. A Luhn-valid cell holds only
                # digits, spaces and dashes, so removing those two is vigie's normalisation.
                v = (f"CASE WHEN vigie_luhn({m}) THEN sha256({sql_str(self.key)} || "
                     f"replace(replace({m}, ' ', ''), '-', '')) END")
                reason = "'identifier fails its check digit (Luhn mod 10): a typing error or not a health card number'"
            else:
                v = f"sha256({sql_str(self.key)} || {norm_identifier(m)})"
                reason = "NULL"
        elif d.ty == "text":
            v = m
            reason = "NULL"
            if plan.allowed:
                lst = ", ".join(sql_str(a) for a in plan.allowed)
                hint = "add it to the field's `map`" if plan.mapping else "map it with `map:`"
                msg = f"value not in the code list (expected {', '.join(plan.allowed)}): {hint}"
                extra = f" WHEN {m} NOT IN ({lst}) THEN {sql_str(msg)}"
        elif d.ty == "int":
            v = f"CASE WHEN regexp_full_match({m}, {sql_str(INT_RE)}) THEN TRY_CAST({m} AS INTEGER) END"
            reason = "'not a whole number'"
        elif d.ty == "float":
            n = f"replace({m}, ',', '.')" if plan.decimal_comma else m
            v = (f"CASE WHEN regexp_full_match({n}, {sql_str(FLOAT_RE)}) "
                 f"THEN TRY_CAST({n} AS DOUBLE) END")
            # Rust parses inf/NaN and then rejects them as not finite: same decision, and
            # the same message.
            nan = f"regexp_full_match(lower({n}), '[+-]?(inf|infinity|nan)')"
            hint = "" if plan.decimal_comma else " (a decimal comma? set `decimal: \",\"`)"
            reason = (f"CASE WHEN {nan} THEN 'not a finite number' "
                      f"WHEN {m} LIKE '%,%' THEN {sql_str('not a number' + hint)} ELSE 'not a number' END")
            extra = f" WHEN NOT isfinite({name}_v) THEN 'not a finite number'"
        elif d.ty == "date":
            f_ = plan.fmt or "%Y-%m-%d"
            v = f"CAST(TRY_STRPTIME({m}, {sql_str(f_)}) AS DATE)"
            reason = sql_str(f"not a valid date in format {f_}")
        elif d.ty == "datetime":
            if o[0] == "datetime":
                f_ = plan.fmt or "%Y-%m-%d"
                tf = plan.time_fmt or "%H:%M"
                self.parsed.append(f"CAST(TRY_STRPTIME({m}, {sql_str(f_)}) AS DATE) AS {name}_d")
                # No time: midnight (convert.rs `datetime_from_parts`).
                self.parsed.append(
                    f"CASE WHEN {name}_t IS NULL THEN TIME '00:00:00' "
                    f"ELSE CAST(TRY_STRPTIME({name}_t, {sql_str(tf)}) AS TIME) END AS {name}_tt")
                v = f"{name}_d + {name}_tt"
                fail = (f"CASE WHEN {m} IS NULL THEN {missing} "
                        f"WHEN {name}_d IS NULL THEN {sql_str('not a valid date in format ' + f_)} "
                        f"WHEN {name}_tt IS NULL THEN {sql_str('not a valid time in format ' + tf)} END")
                reason = None
            else:
                fmts = [plan.fmt] if plan.fmt else ISO_DATETIMES
                v = f"TRY_STRPTIME({m}, [{', '.join(sql_str(x) for x in fmts)}])"
                reason = sql_str(f"not a valid date-time in format {plan.fmt or 'ISO 8601'}")
        else:  # pragma: no cover - ENTITIES only holds the types above
            raise BenchError(f"unknown field type {d.ty}")
        if plan.rng and d.ty in ("int", "float"):
            lo, hi = plan.rng
            extra += (f" WHEN {name}_v < {lo!r} OR {name}_v > {hi!r} THEN "
                      f"'out of range {fmt_num(lo)}..{fmt_num(hi)}'")
        if reason is not None:
            fail = fail.format(reason=reason, extra=extra)
        self.parsed.append(f"{v} AS {name}_v")
        # The value shown in the quarantine: never an identifier (convert.rs `fail`).
        shown = "NULL" if d.ty == "person_key" else f"left({m}, 80)"
        # An unpivoted cell's problem names its column, not `$value` (file.rs `map_record`).
        label = item[1] if item and plan.label == "$value" else plan.label
        self.errors.append((name, label, guarded(fail), shown))
        return name

    def add_survey_slot(self, name: str, plan: Plan, guarded, t: str, item) -> str:
        """A survey answer (or its status) read through the instrument: the partner's answer of
        the item's scale becomes its value, `not_applicable` or `missing`; a blank is missing;
        any other answer rejects the record (survey.rs `score`)."""
        survey = self.src.survey
        code = item[1] if item else None
        scale = survey.item_scale.get(code)
        if scale is None:
            raise BenchError(f"{self.src.spec_path.name}: column {code} is not an item of the instrument")
        mapping = survey.answers.get(scale, {})
        self.mapped.append(f"{guarded(t)} AS {name}_m")
        m = f"{name}_m"
        if plan.survey_role == "status":
            whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v if isinstance(v, str) else 'valid')}"
                             for k, v in mapping.items())
            self.parsed.append(f"CASE WHEN {m} IS NULL THEN 'missing' ELSE CASE {m} {whens} END END AS {name}_v")
            # The answer's slot reports an answer off the scale.
            self.errors.append((name, item[1], "CAST(NULL AS VARCHAR)", "NULL"))
            return name
        values = {k: v for k, v in mapping.items() if not isinstance(v, str)}
        whens = " ".join(f"WHEN {sql_str(k)} THEN {v}" for k, v in values.items())
        self.parsed.append(f"CASE {m} {whens} END AS {name}_v" if whens else f"CAST(NULL AS INTEGER) AS {name}_v")
        listed = sorted(mapping)
        shown_list = ", ".join(f'"{a}"' for a in listed[:24]) + (", …" if len(listed) > 24 else "")
        known = ", ".join(sql_str(k) for k in mapping) or "NULL"
        head = f'answer not on the item\'s scale: item {code} (scale {scale}) has no answer "'
        tail = (f'" (its answers: {shown_list}); add it to `survey.answers.{scale}` if it is one'
                " / réponse hors de l'échelle de la question")
        reason = f"{sql_str(head)} || left({m}, 80) || {sql_str(tail)}"
        fail = f"CASE WHEN {m} IS NOT NULL AND {m} NOT IN ({known}) THEN {reason} END"
        self.errors.append((name, item[1], guarded(fail), f"left({m}, 80)"))
        return name

    def build(self, reader: str, file_expr: str, load_id: str) -> dict[str, str]:
        """SQL statements: the staged table, one COPY body per output, the quarantine body."""
        src = self.src
        outs = []  # (output index, output, {field: slot}, [item slots])
        items = [(k, c) for k, c in enumerate(src.unpivot[0])] if src.unpivot else []
        for oi, o in enumerate(src.outputs):
            guard = f"__case = {sql_str(o.case)}" if o.case is not None else None
            record_slots = {}
            item_slots = []
            per_item = {p.d.name for p in o.plans
                        if p.origin[0] == "col" and p.origin[1] in ("$name", "$value")}
            for p in o.plans:
                if p.d.name not in per_item:
                    record_slots[p.d.name] = self.add_slot(oi, p, guard, None)
            for it in items:
                slots = {}
                for p in o.plans:
                    if p.d.name in per_item:
                        g = guard
                        if not src.unpivot[1]:
                            # keep_empty: false skips an item whose cell is empty or null.
                            c = f"{self.cell(it[1])} IS NOT NULL"
                            g = f"({g}) AND {c}" if g else c
                        slots[p.d.name] = self.add_slot(oi, p, g, it)
                item_slots.append((it, slots))
            outs.append((oi, o, record_slots, item_slots))

        # Date-order rules (entity.rs `date_order_rules`), checked only when every field of
        # the record converted (file.rs `map_one`).
        order_errs, order_bad = [], []
        for oi, o, rs, its in outs:
            for later, earlier in ENTITIES[o.entity]["order"]:
                if later in rs and earlier in rs:
                    lp = next(p for p in o.plans if p.d.name == later)
                    ep = next(p for p in o.plans if p.d.name == earlier)
                    reason = f"{later} is before {earlier} ({ep.label})"
                    violated = f"{rs[later]}_v < {rs[earlier]}_v"
                    order_bad.append(f"coalesce({violated}, false)")
                    order_errs.append(
                        f"CASE WHEN {violated} THEN {{'column': {sql_str(lp.label)}, "
                        f"'reason': {sql_str(reason)}, 'value': CAST(NULL AS VARCHAR)}} END")
        order_sql = ("list_filter([" + ", ".join(order_errs) + "], lambda e: e IS NOT NULL)") if order_errs else "[]"
        # Each slot's reason (NULL: fine) is computed once; a record is bad when any is set
        # or the split value is unknown or a date-order rule is broken. The list of problems
        # (for the quarantine) is built for bad records only.
        err_cols = [f"{reason} AS {slot}_e" for slot, _, reason, _ in self.errors]
        field_errs = ("list_filter([" + ", ".join(
            f"{{'column': {sql_str(label)}, 'reason': {slot}_e, 'value': CASE WHEN {slot}_e IS NOT NULL THEN {shown} END}}"
            for slot, label, _, shown in self.errors) + "], lambda e: e.reason IS NOT NULL)")
        field_bad = " OR ".join([f"{slot}_e IS NOT NULL" for slot, *_ in self.errors] or ["FALSE"])
        if src.split_by:
            cases = [o.case for o in src.outputs]
            # vigie lists the cases in sorted order (a BTreeMap).
            reason = "unknown split value (expected one of " + ", ".join(sorted(cases)) + ")"
            split_bad = f"(__case IS NULL OR __case NOT IN ({', '.join(sql_str(c) for c in cases)}))"
            split_err = (f"CASE WHEN {split_bad} "
                         f"THEN [{{'column': {sql_str(src.split_by)}, 'reason': {sql_str(reason)}, "
                         f"'value': left(__case, 80)}}] ELSE [] END")
            # The split value is trimmed; null values do not apply to it (file.rs `map_record`).
            case_expr = f"trim({sql_ident(self.trimmed[src.split_by])}, {sql_str(TRIM_CHARS)})"
        else:
            split_bad = "FALSE"
            split_err = "[]"
            case_expr = "CAST(NULL AS VARCHAR)"
        # The pseudonymous key of a rejected record's raw identifier, for the quarantine
        # (file.rs `person_key_of`).
        pk_col = next((p.origin[1] for o in src.outputs for p in o.plans
                       if p.d.ty == "person_key" and p.origin[0] == "col"
                       and p.origin[1] not in ("$name", "$value")), None)
        pk_cell = self.cell(pk_col) if pk_col else None
        # What the staged table keeps: converted values, provenance, errors (and the cells
        # an unpivot with keep_empty: false needs to skip empty items).
        keep = ["__file", "__line", "__case"] + [f"{n}_v" for n in self.slots.values()]
        if pk_cell:
            keep.append(pk_cell)
        if src.unpivot and not src.unpivot[1]:
            keep += [self.cell(c) for c in src.unpivot[0]]
        pre = [x for x in self.parsed if not x.endswith("_v")]
        vals = [x for x in self.parsed if x.endswith("_v")]
        stage = f"""
CREATE OR REPLACE TEMP TABLE __stage AS
WITH raw AS (
    SELECT *, {file_expr} AS __file,
           ordinality - min(ordinality) OVER (PARTITION BY filename) + 2 AS __line
    FROM {reader}
),
c0 AS (SELECT __file, __line, {case_expr} AS __case, {', '.join(self.trims)} FROM raw),
c AS (SELECT __file, __line, __case, {', '.join(self.cells)} FROM c0),
m AS (SELECT *, {', '.join(self.mapped)} FROM c),
p1 AS (SELECT *{''.join(', ' + x for x in pre)} FROM m),
p AS (SELECT *, {', '.join(vals)} FROM p1),
e AS (SELECT *, {', '.join(err_cols)} FROM p),
f AS (SELECT *, {split_bad} OR {field_bad} AS __fbad FROM e)
SELECT {', '.join(dict.fromkeys(keep))},
       NOT (__fbad OR {' OR '.join(order_bad or ['FALSE'])}) AS __ok,
       CASE WHEN __fbad THEN {split_err} || {field_errs}
            WHEN {' OR '.join(order_bad or ['FALSE'])} THEN {order_sql} END AS __errs
FROM f"""

        copies = {}
        for oi, o, rs, its in outs:
            ent = ENTITIES[o.entity]
            cond = "__ok" + (f" AND __case = {sql_str(o.case)}" if o.case is not None else "")
            cols = []
            item_fields = [d.name for d in ent["fields"] if its and d.name in its[0][1]]
            for d in ent["fields"]:
                if d.name in rs:
                    cols.append(f"CAST({rs[d.name]}_v AS {SQL_TYPE[d.ty]}) AS {d.name}")
                elif d.name in item_fields:
                    cols.append(f"__it.{d.name} AS {d.name}")
                else:
                    cols.append(f"CAST(NULL AS {SQL_TYPE[d.ty]}) AS {d.name}")
            cols += [f"{sql_str(src.source)} AS _source", "__file AS _file", "CAST(__line AS BIGINT) AS _line",
                     f"{sql_str(load_id)} AS _load_id"]
            ev = ent["event"]
            if ev:
                evx = f"{rs[ev]}_v" if ev in rs else f"__it.{ev}"
                cols.append(f"strftime({evx}, '%Y-%m') AS event_month")
            if its:
                structs = []
                for it, slots in its:
                    parts = ", ".join(
                        f"{sql_str(n)}: CAST({s}_v AS {SQL_TYPE[next(d.ty for d in ent['fields'] if d.name == n)]})"
                        for n, s in slots.items())
                    present = "TRUE"
                    if not src.unpivot[1]:
                        present = f"{self.cell(it[1])} IS NOT NULL"
                    structs.append(f"CASE WHEN {present} THEN {{{parts}}} END")
                items_sql = "list_filter([" + ", ".join(structs) + "], lambda x: x IS NOT NULL)"
                body = (f"SELECT {', '.join(cols)} FROM (SELECT *, unnest({items_sql}) AS __it "
                        f"FROM __stage WHERE {cond})")
            else:
                body = f"SELECT {', '.join(cols)} FROM __stage WHERE {cond}"
            copies[f"{oi}:{o.entity}"] = body
        # ingest dedup.rs: a record whose canonical values repeat an earlier accepted record of
        # the same entity in this load (file order, then line) is rejected as a duplicate.
        # (Unpivoted sources are fingerprinted per item by vigie; their synthetic records
        # never repeat, so they are left out here.)
        dedup = []
        for oi, o, rs, its in outs:
            if its:
                continue
            vals = ", ".join(f"{rs[d.name]}_v" for d in ENTITIES[o.entity]["fields"] if d.name in rs)
            cond = "__ok" + (f" AND __case = {sql_str(o.case)}" if o.case is not None else "")
            dedup.append(
                "UPDATE __stage SET __ok = FALSE, __errs = [{'column': '', 'reason': 'duplicate', "
                "'value': CAST(NULL AS VARCHAR)}] WHERE rowid IN (SELECT rowid FROM (SELECT rowid, "
                f"row_number() OVER (PARTITION BY {vals} ORDER BY __file, __line) AS __n "
                f"FROM __stage WHERE {cond}) WHERE __n > 1)")
        # One quarantine row per problem of each rejected record.
        pk = norm_hash(self.key, pk_cell) if pk_cell else "CAST(NULL AS VARCHAR)"
        quarantine = (f"SELECT {sql_str(src.source)} AS _source, __file AS _file, CAST(__line AS BIGINT) AS _line, "
                      f"{sql_str(load_id)} AS _load_id, __e.column AS \"column\", __e.reason AS reason, "
                      f"__e.value AS value, {pk} AS person_key "
                      f"FROM (SELECT *, unnest(__errs) AS __e FROM __stage WHERE NOT __ok)")
        return {"stage": stage, "dedup": dedup, "copies": copies, "quarantine": quarantine}


def norm_identifier(col: str) -> str:
    # pseudonym.rs: white space and dashes removed, upper case.
    return f"upper(regexp_replace({col}, '[\\s-]', '', 'g'))"


def norm_hash(key: str, col: str) -> str:
    return f"sha256({sql_str(key)} || {norm_identifier(col)})"


LUHN_MACRO = """
CREATE OR REPLACE MACRO vigie_luhn(s) AS coalesce(
    regexp_full_match(s, '[0-9 -]*')
    AND length(replace(replace(s, ' ', ''), '-', '')) >= 2
    AND list_sum(list_transform(
            string_split(reverse(replace(replace(s, ' ', ''), '-', '')), ''),
            -- 1-based index: every second digit from the right is doubled, minus 9 above 9
            lambda c, i: CASE WHEN i % 2 = 0
                              THEN 2 * (ascii(c) - 48) - CASE WHEN ascii(c) - 48 >= 5 THEN 9 ELSE 0 END
                              ELSE ascii(c) - 48 END)) % 10 = 0,
    FALSE)
"""


def encoding_groups(src: Source, landing: Path, scratch: Path, notes: list[str]) -> tuple[list[tuple[str, list[Path]]], Path | None]:
    """The files to read, grouped by the DuckDB encoding to read them with (a transcoded copy
    replaces a file DuckDB cannot decode), and the transcoding directory if one was used."""
    enc = str(src.fmt.get("encoding", "utf-8")).lower()
    if enc in ("utf-8", "utf8"):
        return [("utf-8", src.files)], None
    if enc in ("windows-1252", "cp1252", "iso-8859-1", "latin1", "latin-1"):
        # vigie decodes both as Windows-1252 (WHATWG). DuckDB reads latin-1 natively but not
        # Windows-1252 (that needs the `encodings` extension, not installed offline). The two
        # differ only on bytes 0x80-0x9F, so: scan for those bytes; a file without them is
        # read as latin-1 (identical text); a file with them is transcoded to UTF-8 first.
        # The scan and any transcoding are timed with the load.
        c1 = re.compile(rb"[\x80-\x9f]")
        latin1, utf8, tdir = [], [], None
        for f in src.files:
            data = f.read_bytes()
            if not c1.search(data):
                latin1.append(f)
                continue
            tdir = scratch / "_transcoded"
            # Same key under the transcoding directory, so `_file` keeps the landing key.
            dst = tdir / f.relative_to(landing)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(data.decode("cp1252", errors="vigie_c1"), encoding="utf-8")
            utf8.append(dst)
        if utf8:
            notes.append(f"{src.source}: {len(utf8)} of {len(src.files)} Windows-1252 files hold bytes 0x80-0x9F "
                         "(where Windows-1252 and latin-1 differ) and were transcoded to UTF-8 in Python "
                         "before DuckDB read them (DuckDB has no native Windows-1252); timed with the load")
        if latin1:
            notes.append(f"{src.source}: {len(latin1)} Windows-1252 files read as latin-1 by DuckDB: they hold "
                         "no byte in 0x80-0x9F, where the two encodings differ (scan timed with the load)")
        return [g for g in (("latin-1", latin1), ("utf-8", utf8)) if g[1]], tdir
    raise BenchError(f"{src.spec_path.name}: encoding {enc!r} is not supported by this bench")


def _c1_handler(e: UnicodeDecodeError):
    # The five bytes Python's cp1252 leaves undefined decode to the same code point (WHATWG).
    b = e.object[e.start:e.end]
    return "".join(chr(x) for x in b), e.end


codecs.register_error("vigie_c1", _c1_handler)


def ingest_source(con, src: Source, landing: Path, scratch: Path, key: str, load_id: str,
                  notes: list[str]) -> dict:
    if not src.files:
        raise BenchError(f"no file in {landing} matches {src.files_glob!r} ({src.spec_path.name})")
    t0 = time.perf_counter()
    phases: dict[str, float] = {}
    lap = [t0]

    def phase(name: str) -> None:
        now = time.perf_counter()
        phases[name] = round(phases.get(name, 0.0) + now - lap[0], 4)
        lap[0] = now

    input_bytes = sum(f.stat().st_size for f in src.files)
    # vigie's load manifest records each file's SHA-256: the same work here, in DuckDB.
    con.execute(f"CREATE OR REPLACE TEMP TABLE __manifest AS SELECT filename, size, sha256(content) AS content_sha256 "
                f"FROM read_blob({sql_list([str(f) for f in src.files])})")
    phase("file_sha256")
    ftype = src.fmt.get("type")
    tdir = None
    if ftype == "csv":
        if src.fmt.get("header", True) is not True:
            raise BenchError(f"{src.spec_path.name}: `header: false` is not supported by this bench")
        groups, tdir = encoding_groups(src, landing, scratch, notes)
        enc = "+".join(g[0] for g in groups)
        delim = str(src.fmt.get("delimiter", ","))
        delim = "\t" if delim in ("\\t", "\t") else delim
        quote = str(src.fmt.get("quote", '"'))
        # Explicit dialect; every cell as text (vigie converts text itself); a record with the
        # wrong field count fails the read (vigie rejects such a file whole). A UTF-8 BOM is
        # skipped by DuckDB as by vigie. One reader per encoding; `ordinality` numbers the
        # records of each reader in file order (line numbers are derived from it per file).
        readers = [
            f"SELECT * FROM read_csv({sql_list([str(f) for f in files])}, delim = {sql_str(delim)}, "
            f"quote = {sql_str(quote)}, escape = {sql_str(quote)}, header = true, "
            f"all_varchar = true, encoding = {sql_str(e)}, filename = true, "
            f"strict_mode = true, null_padding = false) WITH ORDINALITY"
            for e, files in groups]
        reader = "(" + " UNION ALL BY NAME ".join(readers) + ")"
    else:
        enc = "parquet"
        reader = f"(SELECT * FROM read_parquet({sql_list([str(f) for f in src.files])}, filename = true) WITH ORDINALITY)"
    try:
        header = [r[0] for r in con.execute(f"DESCRIBE SELECT * EXCLUDE (filename, ordinality) FROM {reader}").fetchall()]
    except duckdb.Error as e:
        raise BenchError(f"DuckDB cannot read {src.files_glob} ({src.spec_path.name}): {e}") from e
    gen = SourceSQL(src, header, key)
    phase("encoding_and_header")
    if ftype == "parquet":
        # vigie reads Parquet columns as text.
        casts = ", ".join(f"CAST({sql_ident(h)} AS VARCHAR) AS {sql_ident(h)}" for h in header)
        reader = f"(SELECT {casts}, filename, ordinality FROM {reader})"
    prefixes = [str(landing) + "/"] + ([str(tdir) + "/"] if tdir else [])
    file_expr = "filename"
    for pre in prefixes:
        file_expr = f"replace({file_expr}, {sql_str(pre)}, '')"
    sql = gen.build(reader, file_expr, load_id)
    try:
        con.execute(sql["stage"])
        for statement in sql["dedup"]:
            con.execute(statement)
    except duckdb.Error as e:
        raise BenchError(f"DuckDB failed on {src.source} ({src.files_glob}): {e}") from e
    counts = con.execute("SELECT count(*), count(*) FILTER (WHERE __ok) FROM __stage").fetchone()
    rows_read, accepted = int(counts[0]), int(counts[1])
    phase("read_convert_validate")
    entities: dict[str, int] = {}
    for k, body in sql["copies"].items():
        entity = k.split(":", 1)[1]
        ent = ENTITIES[entity]
        target = scratch / entity / src.source
        target.parent.mkdir(parents=True, exist_ok=True)
        if ent["event"]:
            # Partitioned by event month, as the warehouse tables are.
            con.execute(f"COPY ({body}) TO {sql_str(str(target))} "
                        "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (event_month), OVERWRITE_OR_IGNORE true)")
        else:
            target.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY ({body}) TO {sql_str(str(target / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION zstd)")
        n = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(target) + '/**/*.parquet')})").fetchone()[0]
        entities[entity] = entities.get(entity, 0) + int(n)
    phase("write_parquet")
    qdir = scratch / "quarantine"
    qdir.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({sql['quarantine']}) TO {sql_str(str(qdir / (src.source + '.parquet')))} "
                "(FORMAT parquet, COMPRESSION zstd)")
    problems = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(qdir / (src.source + '.parquet')))})").fetchone()[0]
    con.execute(f"COPY __manifest TO {sql_str(str(scratch / ('manifest_' + src.source + '.parquet')))} (FORMAT parquet)")
    con.execute("DROP TABLE __stage")
    phase("write_quarantine_and_manifest")
    seconds = time.perf_counter() - t0
    rejected = rows_read - accepted
    return {
        "files": len(src.files),
        "encoding_read_as": enc,
        "rows_read": rows_read,
        "rows_accepted": accepted,
        "rows_rejected": rejected,
        "quarantine_problems": int(problems),
        "entity_rows": entities,
        "input_bytes": input_bytes,
        "seconds": round(seconds, 4),
        "rows_per_s": round(rows_read / seconds, 1) if seconds > 0 else None,
        "mb_per_s": round(input_bytes / seconds / 1e6, 3) if seconds > 0 else None,
        "phases_seconds": phases,
    }


def vigie_load_counts(con, warehouse: Path) -> dict[str, dict[str, int]] | None:
    """vigie's rows read/accepted/rejected per source: the latest load of each file."""
    table = warehouse / "load_manifest"
    if not (table / "_delta_log").is_dir():
        return None
    files = delta_active_files(con, table)
    if not files:
        return None
    rows = con.execute(f"""
        SELECT source, sum(rows_read), sum(rows_accepted), sum(rows_rejected), count(*)
        FROM (SELECT * FROM read_parquet({sql_list(files)}, union_by_name = true)
              QUALIFY row_number() OVER (PARTITION BY source, file ORDER BY finished_at DESC) = 1)
        GROUP BY source""").fetchall()
    return {r[0]: {"rows_read": int(r[1] or 0), "rows_accepted": int(r[2] or 0),
                   "rows_rejected": int(r[3] or 0), "files": int(r[4])} for r in rows}


def run_load(con, args, scratch: Path, notes: list[str]) -> tuple[dict, dict, bool]:
    landing = Path(args.landing).resolve()
    if not landing.is_dir():
        raise BenchError(f"the landing zone {landing} does not exist")
    sources, key, n = load_sources(Path(args.pipeline).resolve(), landing)
    notes.extend(n)
    con.execute(LUHN_MACRO)
    load_id = str(uuid.uuid4())
    results: dict[str, dict] = {}
    t0 = time.perf_counter()
    for src in sources:
        try:
            results[src.source] = ingest_source(con, src, landing, scratch, key, load_id, notes)
        except duckdb.Error as e:
            raise BenchError(f"DuckDB failed while loading {src.source} ({src.files_glob}): {e}") from e
    total_s = time.perf_counter() - t0
    tot = {k: sum(r[k] for r in results.values())
           for k in ("files", "rows_read", "rows_accepted", "rows_rejected", "input_bytes")}
    tot["seconds"] = round(total_s, 4)
    tot["rows_per_s"] = round(tot["rows_read"] / total_s, 1) if total_s > 0 else None
    tot["mb_per_s"] = round(tot["input_bytes"] / total_s / 1e6, 3) if total_s > 0 else None
    # Check (untimed): the same records accepted and rejected as vigie's ingest.
    ok = True
    vigie = vigie_load_counts(con, Path(args.warehouse).resolve())
    if vigie is None:
        notes.append("the warehouse has no load_manifest: load counts not checked against vigie")
    else:
        for s, r in results.items():
            v = vigie.get(s)
            if v is None:
                r["check"] = {"vigie": None, "pass": None, "note": "source absent from vigie's load_manifest"}
                continue
            same = all(r[k] == v[k] for k in ("rows_read", "rows_accepted", "rows_rejected"))
            r["check"] = {"vigie_rows_read": v["rows_read"], "vigie_rows_accepted": v["rows_accepted"],
                          "vigie_rows_rejected": v["rows_rejected"], "pass": same}
            ok &= same
    return results, tot, ok


# ---------------------------------------------------------------------------------------------
# Indicators: helpers (crates/vigie-indicators/src/functions.rs) and query translations
# ---------------------------------------------------------------------------------------------

STD_BANDS = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
             "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+"]

HELPERS = f"""
-- functions.rs `age_band`: NULL age gives NULL, as the Rust UDF does.
CREATE OR REPLACE MACRO vigie_age_band(age) AS CASE
    WHEN age IS NULL THEN NULL
    WHEN age <= 17 THEN '0-17' WHEN age <= 44 THEN '18-44' WHEN age <= 64 THEN '45-64'
    WHEN age <= 79 THEN '65-79' ELSE '80+' END;
-- functions.rs `std_age_band`: age clamped to 0..120, five-year bands, 90+ last.
CREATE OR REPLACE MACRO vigie_std_age_band(age) AS CASE WHEN age IS NULL THEN NULL ELSE
    {STD_BANDS}[least(least(greatest(age, 0), 120) // 5, 18) + 1] END;
"""

# First 16 hex digits of functions.rs's SHA-256 when HELPERS and
# calendar_rows were translated from it (a change is reported in the notes).
FUNCTIONS_RS_SHA = "0a09fcaabe89865e"


def strata_decls() -> list[dict]:
    """queries/strata.yaml's declarations, read at run time like the queries."""
    return load_yaml(REPO / "queries" / "strata.yaml")["strata"]


def person_view_sql(decls: list[dict]) -> str:
    """person_view.rs `register_person_view`: the registry, plus one column per stratum read
    through a reference table (an area attribute; a person attribute). Governed strata are
    not enabled by the benchmark pipeline: their column is NULL. A value that is not a
    declared category is `unknown`, as in vigie."""
    select, joins = ["p.*"], []
    for i, d in enumerate(decls):
        src = d.get("source")
        if not isinstance(src, dict) or "person" in src:
            continue
        if d.get("governed"):
            select.append(f'CAST(NULL AS VARCHAR) AS "{d["id"]}"')
            continue
        (kind, attribute), = src.items()
        table, key = {"area": ("area_attribute", "area"),
                      "person_attribute": ("person_attribute", "person_number")}[kind]
        value = f"s{i}.value"
        codes = [str(c["code"]) for c in d.get("categories") or []]
        if codes:
            column = f"CASE WHEN {value} IN ({', '.join(sql_str(c) for c in codes)}) THEN {value} ELSE 'unknown' END"
        else:
            column = f"coalesce({value}, 'unknown')"
        select.append(f'{column} AS "{d["id"]}"')
        joins.append(f"LEFT JOIN (SELECT {key}, max(CAST(value AS VARCHAR)) AS value FROM {table} "
                     f"WHERE attribute = {sql_str(attribute)} GROUP BY {key}) AS s{i} ON s{i}.{key} = p.{key}")
    return f"CREATE OR REPLACE TEMP VIEW person AS SELECT {', '.join(select)} FROM person__registry AS p {' '.join(joins)}"


def population_month_sql(decls: list[dict]) -> str:
    """person_view.rs `population_month_sql`: the attributed population alive at the start of
    each month by team, sex, language, rurality, birth year and every stratum `person`
    carries. Materialised once in the setup, as vigie does, so each indicator's time covers
    the same work in both engines."""
    columns = ["team", "sex", "language", "rurality", "birth_year"]
    columns += [d["id"] for d in decls if d.get("source") != "query" and d["id"] not in columns]
    g = ", ".join(f'g."{c}"' for c in columns)
    p = ", ".join(f'p."{c}"' for c in columns)
    groups = ", ".join(str(i) for i in range(1, len(columns) + 2))
    return f"""CREATE OR REPLACE TEMP TABLE population_month AS
WITH population_groups AS (
    SELECT {p}, CAST(date_trunc('month', p.death_date) AS DATE) AS death_month, count(*) AS persons
    FROM person AS p
    GROUP BY {groups}
)
SELECT c.period_start, {g}, g.persons
FROM population_groups AS g
CROSS JOIN calendar AS c
WHERE c.period_type = 'month'
  AND (g.death_month IS NULL OR g.death_month >= c.period_start)"""

# engine.rs `data_span`.
DATA_SPAN = """SELECT min(d) AS lo, max(d) AS hi FROM (
    SELECT CAST(arrival AS DATE) AS d FROM ed_visit UNION ALL SELECT admit_date FROM admission)"""

# The headline indicators, run from vigie's own queries/<id>.sql (read at run time, so the
# two engines cannot drift apart): DuckDB accepts them as they are, but for the textual
# rewrites below. Strata and whether a region total row exists drive the checks.
INDICATORS: dict[str, dict] = {
    "ed_visits_per_1000": {"strata": ["sex", "age_band", "language", "rurality", "deprivation_quintile"],
                           "include_total": True},
    # The Dobson weighting on the 2011 standard is done in Rust after the SQL, so the SQL
    # cells (events and population by standard age band) are what is compared.
    "ed_visits_per_1000_asr": {"strata": ["sex"], "include_total": True},
    "admissions_per_1000": {"strata": ["sex", "age_band", "language", "rurality"], "include_total": True},
    # date + interval is a timestamp in DuckDB, a date in DataFusion: same comparisons.
    "readmission_30d_pct": {"strata": ["sex", "age_band"], "include_total": True},
    "alc_days_pct": {"strata": [], "include_total": True},
    "experience_top_box_pct": {"strata": ["item"], "include_total": False},
}

# DataFusion constructs DuckDB lacks, and their equivalents: `cast(date as int)` (days
# since 1970) has no DuckDB cast; the difference of two dates is the same number of days.
REWRITES: list[tuple[str, str]] = [
    (r"cast\(\s*cast\((\w+\.\w+) as int\)\s*-\s*cast\((\w+\.\w+) as int\)\s+as double\)",
     r"cast(\1 - \2 as double)"),
]


def indicator_sql(qdir: Path, ind_id: str) -> str:
    """vigie's query for an indicator, with the DuckDB rewrites applied."""
    f = qdir / f"{ind_id}.sql"
    if not f.is_file():
        raise BenchError(f"{f}: not found (--queries must name vigie's queries/ folder)")
    sql = f.read_text(encoding="utf-8")
    for pattern, replacement in REWRITES:
        sql = re.sub(pattern, replacement, sql, flags=re.IGNORECASE)
    if re.search(r"as int\)", sql, flags=re.IGNORECASE):
        raise BenchError(f"{f}: a `cast(... as int)` on dates that DuckDB reads differently: add a rewrite")
    return sql


def add_months(d, n: int):
    import datetime as dt
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)


def calendar_rows(lo, hi) -> tuple[list[tuple[str, object, object]], object, object]:
    """engine.rs `data_span` and functions.rs `periods`: months, quarters and years of
    [first day of the first month, first day after the last complete month)."""
    import datetime as dt
    first = dt.date(lo.year, lo.month, 1)
    next_month = add_months(dt.date(hi.year, hi.month, 1), 1)
    # The last month counts only if the data reach its last day.
    end = next_month if hi + dt.timedelta(days=1) == next_month else dt.date(hi.year, hi.month, 1)
    rows = []
    for kind, step in (("month", 1), ("quarter", 3), ("year", 12)):
        start = first
        if kind == "quarter":
            start = dt.date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
        elif kind == "year":
            start = dt.date(first.year, 1, 1)
        while start < end:
            e = add_months(start, step)
            rows.append((kind, start, e))
            start = e
    return rows, first, end


def pipeline_instruments(pipeline: Path) -> list[dict]:
    """The survey instruments of the pipeline's sources, each once (their files as written)."""
    out, seen = [], set()
    for rel in load_yaml(pipeline).get("sources") or []:
        sp = (pipeline.parent / rel).resolve()
        survey = load_yaml(sp).get("survey")
        if not survey:
            continue
        inst = load_yaml((sp.parent / survey["instrument"]).resolve())
        if inst["instrument"] not in seen:
            seen.add(inst["instrument"])
            out.append(inst)
    return out


def register_instruments(con, instruments: list[dict]) -> None:
    """survey_item and survey_item_answer, as crates/vigie-indicators/src/survey.rs makes them."""
    con.execute("CREATE OR REPLACE TEMP TABLE survey_item (instrument VARCHAR, item_code VARCHAR, "
                "position INTEGER, scale VARCHAR, wording_fr VARCHAR, wording_en VARCHAR, "
                "answer_min INTEGER, answer_max INTEGER)")
    con.execute("CREATE OR REPLACE TEMP TABLE survey_item_answer (instrument VARCHAR, item_code VARCHAR, "
                "answer INTEGER, label_fr VARCHAR, label_en VARCHAR, top_box BOOLEAN)")
    items, answers = [], []
    for inst in instruments:
        scales = inst["scales"]
        for pos, item in enumerate(inst["items"], start=1):
            scale = scales[item["scale"]]
            values = [v["value"] for v in scale["values"]]
            top = item.get("top_box") or scale["top_box"]
            items.append((inst["instrument"], item["code"], pos, item["scale"],
                          item["wording"]["fr"], item["wording"]["en"], min(values), max(values)))
            for v in scale["values"]:
                answers.append((inst["instrument"], item["code"], v["value"], str(v["fr"]),
                                str(v["en"]), v["value"] in top))
    if items:
        con.executemany("INSERT INTO survey_item VALUES (?, ?, ?, ?, ?, ?, ?, ?)", items)
        con.executemany("INSERT INTO survey_item_answer VALUES (?, ?, ?, ?, ?, ?)", answers)


def setup_indicator_session(con, warehouse: Path, instruments: list[dict]) -> dict:
    """Views over the active files of vigie's tables, the helpers, the calendar and the survey
    instruments' tables."""
    tables = {}
    for t in ("person", "ed_visit", "admission", "survey_response", "area_attribute"):
        tdir = warehouse / t
        if not tdir.is_dir():
            raise BenchError(f"the warehouse {warehouse} has no table {t}: run `vigie ingest` first")
        files = delta_active_files(con, tdir)
        if not files:
            raise BenchError(f"the table {tdir} has no active file: run `vigie ingest` first")
        tables[t] = files
        # A view, not a table: every query reads the Parquet files, as vigie's session does.
        name = "person__registry" if t == "person" else t
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet({sql_list(files)}, union_by_name = true)")
    decls = strata_decls()
    con.execute(person_view_sql(decls))
    con.execute(HELPERS)
    lo, hi = con.execute(DATA_SPAN).fetchone()
    if lo is None or hi is None:
        raise BenchError(f"the warehouse {warehouse} holds no ED visits or admissions yet")
    rows, first, end = calendar_rows(lo, hi)
    con.execute("CREATE OR REPLACE TEMP TABLE calendar (period_type VARCHAR, period_start DATE, period_end DATE)")
    con.executemany("INSERT INTO calendar VALUES (?, ?, ?)", rows)
    con.execute(population_month_sql(decls))
    register_instruments(con, instruments)
    return {"files": {t: len(f) for t, f in tables.items()}, "span": (first, end)}


def vigie_results(con, warehouse: Path) -> None:
    table = warehouse / "indicator_results"
    if not table.is_dir():
        raise BenchError(f"the warehouse {warehouse} has no indicator_results table: run `vigie compute` first")
    files = delta_active_files(con, table)
    if not files:
        raise BenchError(f"{table} has no active file: run `vigie compute` first")
    # One row per cell; should a cell appear twice (overlapping runs), keep the latest.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __vigie AS
        SELECT * FROM read_parquet({sql_list(files)}, union_by_name = true)
        QUALIFY row_number() OVER (
            PARTITION BY indicator, period_type, period_start, org_level, org_unit,
                         stratum_dimension, stratum_value
            ORDER BY computed_at DESC) = 1""")


def same(a: float, b: float) -> bool:
    if a == b:
        return True
    if float(a).is_integer() and float(b).is_integer():
        return False  # counts must be equal
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


# vigie_stats::CANADA_2011_STANDARD weights, in STD_BANDS order (for the ASR rate check).
CANADA_2011_WEIGHTS = [0.055325, 0.052736, 0.055857, 0.065121, 0.068506, 0.068967, 0.067743, 0.066176,
                       0.069477, 0.079209, 0.078366, 0.068519, 0.059696, 0.044613, 0.033573, 0.026761,
                       0.020406, 0.012420, 0.006529]


def compare(rows: list[tuple]) -> dict:
    """rows: (period_start, org_unit, dimension, value, vigie n, vigie d, duckdb n, duckdb d)."""
    both = [r for r in rows if r[6] is not None]
    bad = [r for r in both if not (same(r[4] or 0.0, r[6]) and same(r[5] or 0.0, r[7]))]
    out = {
        "rows_compared": len(both),
        "periods_compared": len({r[0] for r in both}),
        "max_abs_diff_numerator": max((abs((r[4] or 0.0) - r[6]) for r in both), default=0.0),
        "max_abs_diff_denominator": max((abs((r[5] or 0.0) - r[7]) for r in both), default=0.0),
        "mismatched_rows": len(bad),
        "vigie_rows_without_duckdb_cell": len(rows) - len(both),
    }
    if bad:
        r = bad[0]
        out["first_mismatch"] = {"period_start": str(r[0]), "org_unit": r[1], "stratum": f"{r[2]}={r[3]}",
                                 "vigie": [r[4], r[5]], "duckdb": [r[6], r[7]]}
    return out


def check_indicator(con, ind_id: str, meta: dict, span) -> dict:
    """The DuckDB cells rolled up as vigie rolls them up, against vigie's indicator_results.

    aggregate.rs sums each cell into the region (every row) and into its team, for the `all`
    stratum (unless include_total: false) and for each stratum dimension (NULL -> 'unknown').
    `region_totals` is the headline check: the region row with no stratum per period (per
    item for an indicator without a total). `all_rows` repeats it for every published region
    and team row of every stratum dimension, so stratum definitions (age bands...) are checked
    too. Suppressed rows are left out: their numbers are not published."""
    dims = (["all"] if meta["include_total"] else []) + meta["strata"]
    parts = []
    for dim in dims:
        sv = "'all'" if dim == "all" else f"coalesce(CAST({dim} AS VARCHAR), 'unknown')"
        for org in ("'region'", "team"):
            where = "" if org == "'region'" else " AND team IS NOT NULL"
            parts.append(f"SELECT period_start, {org} AS org_unit, '{dim}' AS dim, {sv} AS sv, "
                         f"sum(CAST(numerator AS DOUBLE)) AS n, sum(CAST(denominator AS DOUBLE)) AS d "
                         f"FROM __res WHERE period_start IS NOT NULL{where} GROUP BY ALL")
    con.execute("CREATE OR REPLACE TEMP TABLE __duck_tot AS " + " UNION ALL ".join(parts))
    rows = con.execute("""
        SELECT v.period_start, v.org_unit, v.stratum_dimension, v.stratum_value,
               v.numerator, v.denominator, k.n, k.d
        FROM __vigie AS v
        LEFT JOIN __duck_tot AS k
          ON k.period_start = v.period_start AND k.org_unit = v.org_unit
         AND k.dim = v.stratum_dimension AND k.sv = v.stratum_value
        WHERE v.indicator = ? AND NOT coalesce(v.suppressed, false)
          AND ((v.org_level = 'region' AND v.org_unit = 'region') OR v.org_level = 'team')""",
                       [ind_id]).fetchall()
    head = dims[0]
    out = {
        "region_totals": {"stratum_dimension": head,
                          **compare([r for r in rows if r[1] == "region" and r[2] == head])},
        "all_rows": compare(rows),
    }
    ok = out["region_totals"]["rows_compared"] > 0
    for k in ("region_totals", "all_rows"):
        ok &= out[k]["mismatched_rows"] == 0 and out[k]["vigie_rows_without_duckdb_cell"] == 0
    if "std_age_band" in meta.get("extra_columns", []):
        # The standardised rate vigie computes from the same cells (standardise.rs
        # `dsr_dobson`: sum w*x/n over sum w, per 1,000), only when every band has people:
        # this checks the standard age bands, which the sums above do not see.
        w = ", ".join(f"({sql_str(b)}, {x!r})" for b, x in zip(STD_BANDS, CANADA_2011_WEIGHTS))
        rates = con.execute(f"""
            WITH w(band, weight) AS (VALUES {w}),
            cells AS (
                SELECT period_start, 'region' AS org_unit, std_age_band, sum(numerator) AS x, sum(denominator) AS n
                FROM __res WHERE period_start IS NOT NULL GROUP BY ALL
                UNION ALL
                SELECT period_start, team, std_age_band, sum(numerator), sum(denominator)
                FROM __res WHERE period_start IS NOT NULL AND team IS NOT NULL GROUP BY ALL),
            dsr AS (
                SELECT c.period_start, c.org_unit,
                       1000 * sum(w.weight * c.x / c.n) / sum(w.weight) AS rate,
                       count(*) FILTER (WHERE c.n > 0) AS bands
                FROM cells AS c JOIN w ON w.band = c.std_age_band GROUP BY ALL)
            SELECT v.value, d.rate
            FROM __vigie AS v JOIN dsr AS d ON d.period_start = v.period_start AND d.org_unit = v.org_unit
            WHERE v.indicator = ? AND v.stratum_dimension = 'all' AND NOT coalesce(v.suppressed, false)
              AND v.value IS NOT NULL AND d.bands = {len(STD_BANDS)}""", [ind_id]).fetchall()
        bad = [r for r in rates if not abs(r[0] - r[1]) <= 1e-9 * max(abs(r[0]), abs(r[1]))]
        out["standardised_rate"] = {
            "rows_compared": len(rates),
            "max_rel_diff": max((abs(a - b) / max(abs(a), abs(b)) for a, b in rates if a or b), default=0.0),
            "mismatched_rows": len(bad),
        }
        ok &= len(rates) > 0 and not bad
    # DuckDB periods inside vigie's span that vigie has no region row for (informative).
    first, end = span
    out["duckdb_periods_in_span_absent_from_vigie"] = int(con.execute("""
        SELECT count(DISTINCT period_start) FROM __duck_tot
        WHERE org_unit = 'region' AND period_start >= ? AND period_start < ?
          AND period_start NOT IN (SELECT period_start FROM __vigie
                                   WHERE indicator = ? AND org_level = 'region')""",
                                                          [first, end, ind_id]).fetchone()[0])
    out["pass"] = bool(ok)
    return out


def run_indicators(con, args, notes: list[str]) -> tuple[dict, float, float, bool]:
    warehouse = Path(args.warehouse).resolve()
    if not warehouse.is_dir():
        raise BenchError(f"the warehouse {warehouse} does not exist")
    qdir = Path(args.queries).resolve()
    sqls = {ind_id: indicator_sql(qdir, ind_id) for ind_id in INDICATORS}
    instruments = pipeline_instruments(Path(args.pipeline).resolve())
    helpers = REPO / "crates" / "vigie-indicators" / "src" / "functions.rs"
    if helpers.is_file() and hashlib.sha256(helpers.read_bytes()).hexdigest()[:16] != FUNCTIONS_RS_SHA:
        notes.append(f"{helpers} changed since its helpers were translated: review HELPERS "
                     "and calendar_rows")
    # Timed: the session setup (data span, calendar, views) then each query, materialised in
    # full; one run each, no warm-up, file reading included (views over the Parquet files).
    t_all = time.perf_counter()
    info = setup_indicator_session(con, warehouse, instruments)
    setup_s = time.perf_counter() - t_all
    timings, cells = {}, {}
    for ind_id, meta in INDICATORS.items():
        t = time.perf_counter()
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE __res_{ind_id} AS {sqls[ind_id]}")
        except duckdb.Error as e:
            raise BenchError(f"the DuckDB translation of {ind_id} failed: {e}") from e
        timings[ind_id] = time.perf_counter() - t
    total_s = time.perf_counter() - t_all
    for ind_id in INDICATORS:
        cells[ind_id] = con.execute(f"SELECT count(*) FROM __res_{ind_id}").fetchone()[0]
    # Untimed: compare with vigie.
    vigie_results(con, warehouse)
    out, ok = {}, True
    for ind_id, meta in INDICATORS.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW __res AS SELECT * FROM __res_{ind_id}")
        check = check_indicator(con, ind_id, meta, info["span"])
        ok &= bool(check["pass"])
        out[ind_id] = {"seconds": round(timings[ind_id], 4), "cells": int(cells[ind_id]), "check": check}
    notes.append(f"indicators read vigie's active Delta files: "
                 + ", ".join(f"{t} {n} files" for t, n in info["files"].items())
                 + f"; data span {info['span'][0]} to {info['span'][1]} (exclusive)")
    return out, setup_s, total_s, ok


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--landing", required=True, help="landing zone made by `vigie synth` (CSV extracts)")
    ap.add_argument("--warehouse", required=True, help="the warehouse vigie built from it (Delta tables)")
    ap.add_argument("--out", required=True, help="where to write the results (JSON)")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit (default 4GB)")
    ap.add_argument("--scratch", default=None,
                    help="directory for the DuckDB Parquet output and spill files "
                         "(default: a temporary directory, deleted at the end)")
    ap.add_argument("--only", choices=("all", "load", "indicators"), default="all",
                    help="run one step only, e.g. to measure each step's peak memory separately")
    ap.add_argument("--pipeline", default=str(REPO / "pipelines" / "demo.yaml"),
                    help="pipeline whose sources and key to use (default pipelines/demo.yaml)")
    ap.add_argument("--queries", default=str(REPO / "queries"),
                    help="catalogue directory, to detect a translation gone stale (default queries/)")
    args = ap.parse_args()
    if args.threads < 1:
        ap.error("--threads must be at least 1")

    own_scratch = args.scratch is None
    scratch = Path(tempfile.mkdtemp(prefix="duckdb-bench-")) if own_scratch else Path(args.scratch).resolve()
    notes: list[str] = [
        "load: pseudonymisation is sha256(key || identifier) (DuckDB has no HMAC; vigie uses "
        "HMAC-SHA256, two SHA-256 passes over short input: same order of work)",
        "load: DuckDB writes Parquet files (zstd, partitioned by event month) and a quarantine file; "
        "vigie also commits Delta log entries and its load manifest rows, which DuckDB does not",
        "load: _line is the record number + 1 (the physical line unless a quoted cell spans lines); "
        "a file vigie would reject whole (ragged CSV, bad encoding) stops this script instead",
        "indicators: DuckDB times cover the SQL (and the session setup, reported apart); vigie's "
        "per-indicator seconds also include its Rust roll-up to teams, region and strata with "
        "intervals, and its compute run adds SPC, disclosure and the results write",
    ]
    result: dict = {
        "duckdb_version": duckdb.__version__,
        "threads": args.threads,
        "memory_limit": args.memory_limit,
        "landing": str(Path(args.landing).resolve()),
        "warehouse": str(Path(args.warehouse).resolve()),
        "only": args.only,
    }
    ok = True
    try:
        if not own_scratch:
            scratch.mkdir(parents=True, exist_ok=True)
            if any(scratch.iterdir()):
                raise BenchError(f"--scratch {scratch} is not empty: give an empty or new directory")
        con = duckdb.connect(":memory:")
        con.execute(f"SET threads = {int(args.threads)}")
        try:
            con.execute(f"SET memory_limit = {sql_str(args.memory_limit)}")
        except duckdb.Error as e:
            raise BenchError(f"--memory-limit {args.memory_limit!r} is not a DuckDB memory size: {e}") from e
        con.execute(f"SET temp_directory = {sql_str(str(scratch / '_spill'))}")
        # No caching of file contents between queries: each query reads its files, as vigie's
        # do (DuckDB does not cache local files by default; this makes it explicit).
        try:
            con.execute("SET enable_external_file_cache = false")
        except duckdb.Error:
            pass  # a DuckDB without that cache
        if args.only in ("all", "load"):
            load, load_total, load_ok = run_load(con, args, scratch, notes)
            result["load"] = load
            result["load_total"] = load_total
            ok &= load_ok
        if args.only in ("all", "indicators"):
            inds, setup_s, total_s, ind_ok = run_indicators(con, args, notes)
            result["indicators"] = inds
            result["indicators_setup_seconds"] = round(setup_s, 4)
            result["indicators_total_seconds"] = round(total_s, 4)
            ok &= ind_ok
        result["all_checks_pass"] = ok
        result["notes"] = notes
    except BenchError as e:
        print(f"duckdb_bench: {e}", file=sys.stderr)
        return 2
    finally:
        if own_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            shutil.rmtree(scratch / "_spill", ignore_errors=True)
            shutil.rmtree(scratch / "_transcoded", ignore_errors=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print_summary(result)
    return 0 if ok else 1


def print_summary(r: dict) -> None:
    print(f"DuckDB {r['duckdb_version']}, {r['threads']} threads, memory_limit {r['memory_limit']}")
    if "load" in r:
        print("load (CSV -> validated, pseudonymised zstd Parquet)")
        for s, x in r["load"].items():
            c = x.get("check", {})
            verdict = {True: "same counts as vigie", False: "COUNTS DIFFER FROM VIGIE", None: "not checked"}[c.get("pass")]
            print(f"  {s:<22}{x['seconds']:>8.2f} s  {x['rows_read']:>10,} rows  {x['rows_accepted']:>10,} accepted "
                  f"{x['rows_rejected']:>7,} rejected  {x['rows_per_s']:>11,.0f} rows/s  {x['mb_per_s']:>6.1f} MB/s  {verdict}")
        t = r["load_total"]
        print(f"  {'total':<22}{t['seconds']:>8.2f} s  {t['rows_read']:>10,} rows  {t['rows_accepted']:>10,} accepted "
              f"{t['rows_rejected']:>7,} rejected  {t['rows_per_s']:>11,.0f} rows/s  {t['mb_per_s']:>6.1f} MB/s")
    if "indicators" in r:
        print(f"indicators (setup {r['indicators_setup_seconds']:.2f} s: data span, calendar, views)")
        for i, x in r["indicators"].items():
            c = x["check"]
            reg, allr = c["region_totals"], c["all_rows"]
            verdict = "PASS" if c["pass"] else "FAIL"
            extra = ""
            if "standardised_rate" in c:
                extra = f"; {c['standardised_rate']['rows_compared']} DSR rates"
            print(f"  {i:<26}{x['seconds']:>8.2f} s  {x['cells']:>8,} cells  {verdict}: region {reg['periods_compared']} periods, "
                  f"max |diff| num {reg['max_abs_diff_numerator']:g} den {reg['max_abs_diff_denominator']:g}; "
                  f"{allr['rows_compared']:,} region/team/stratum rows, {allr['mismatched_rows']} differ{extra}")
        print(f"  {'total (with setup)':<26}{r['indicators_total_seconds']:>8.2f} s")
    print("all checks pass" if r.get("all_checks_pass") else "SOME CHECKS FAIL: see the JSON")


if __name__ == "__main__":
    sys.exit(main())
