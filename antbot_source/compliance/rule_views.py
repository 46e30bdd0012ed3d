"""The compliance views (analytics/compliance.sql) rendered with the configured calling rules.

Numbers compare by the push's key (`push.validate.number_key`: E.164 for a valid number of the
account's region, else `raw:` and its digits). SQL cannot run libphonenumber, so `number_key_select`
renders the same decision from libphonenumber's own metadata for the region: the national prefix,
the country code, and the pattern and lengths of every number type. It agrees with `number_key` on
every number of the region written with digits, spaces, dots, dashes, brackets and a leading `+` or
`00`; a number of another country written with `+` or `00` keeps its digits unchecked. Computing the
key in the views rather than in the load keeps the load as fast as it was.
"""

from __future__ import annotations

import re
from importlib.resources import files

import phonenumbers

from antbot_source.compliance.rules import CallingRules
from antbot_source.push.validate import DEFAULT_REGION

# the tables the compliance views read, besides the configured DNC table
TABLES = ("cdr", "campaigns", "contacts", "dnc_contacts", "dnc_lists")
RULES = ("outside_hours", "repeat_24h", "dnc")
_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip",
          "pager", "uan", "voicemail")
_KEY = re.compile(r"\{key:([\w.]+)\}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _matches(expr: str, pattern: str, lengths: tuple[int, ...]) -> str:
    """`expr` is a whole match of `pattern` with one of `lengths` digits (DuckDB's `~` matches whole
    strings, PostgreSQL's anywhere: anchored, both agree)."""
    sizes = ", ".join(str(n) for n in lengths)
    return f"(LENGTH({expr}) IN ({sizes}) AND {expr} ~ {_literal(f'^(?:{pattern})$')})"


def number_key_select(column: str, region: str = DEFAULT_REGION) -> str:
    """A one-row SELECT of `column`'s number key as `phone_e164`, as `number_key(column, region)`
    computes it; a view joins it `CROSS JOIN LATERAL (...) AS k`, so that each step is computed once."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert meta is not None, region
    code, prefix = str(meta.country_code), meta.national_prefix or ""
    general = meta.general_desc
    types = [desc for name in _TYPES if (desc := getattr(meta, name)) and desc.national_number_pattern]

    def national(digits: str) -> str:  # the national prefix stripped, as libphonenumber does
        if not prefix:
            return digits
        return (f"(CASE WHEN SUBSTR({digits}, 1, {len(prefix)}) = {_literal(prefix)} "
                f"THEN SUBSTR({digits}, {len(prefix) + 1}) ELSE {digits} END)")

    text, digits = "_key_text", "_key_digits"
    intl = f"(CASE WHEN SUBSTR({text}, 1, 1) = '+' THEN {digits} ELSE SUBSTR({digits}, 3) END)"
    is_intl = f"(SUBSTR({text}, 1, 1) = '+' OR SUBSTR({digits}, 1, 2) = '00')"
    after_code = national(f"SUBSTR({digits}, {len(code) + 1})")
    pattern, lengths = general.national_number_pattern, general.possible_length
    strip_code = (f"(SUBSTR({digits}, 1, {len(code)}) = {_literal(code)} AND ("
                  f"(NOT {_matches(digits, pattern, lengths)} AND {_matches(after_code, pattern, lengths)}) "
                  f"OR LENGTH({digits}) > {max(lengths)}))")
    # the usual national form first: later branches are evaluated only for the rows left
    nsn = (f"(CASE WHEN {is_intl} THEN {national(f'SUBSTR({intl}, {len(code) + 1})')} "
           f"WHEN SUBSTR({digits}, 1, {len(prefix) or 1}) = {_literal(prefix)} THEN {national(digits)} "
           f"WHEN {strip_code} THEN {after_code} ELSE {digits} END)")
    # one regular expression for every type; libphonenumber's possible lengths of each type are
    # those its pattern allows, for the regions the key test checks
    valid = f"_key_nsn ~ {_literal('^(?:' + '|'.join(d.national_number_pattern for d in types) + ')$')}"
    return (f"SELECT CASE WHEN {is_intl} AND SUBSTR({intl}, 1, {len(code)}) <> {_literal(code)} "
            f"THEN '+' || {intl} WHEN {valid} THEN {_literal('+' + code)} || _key_nsn "
            "ELSE 'raw:' || REGEXP_REPLACE(COALESCE(_key_source, ''), '[^0-9+]', '', 'g') END AS phone_e164 "
            f"FROM (SELECT _key_parts.*, {nsn} AS _key_nsn FROM ("
            f"SELECT CAST({column} AS VARCHAR) AS _key_source, TRIM(CAST({column} AS VARCHAR)) AS {text}, "
            f"REGEXP_REPLACE(CAST({column} AS VARCHAR), '[^0-9]', '', 'g') AS {digits}) AS _key_parts) AS _key_steps")


def _exempt(campaigns: tuple[str, ...]) -> str:
    if not campaigns:
        return "FALSE"
    names = ", ".join(_literal(c) for c in campaigns)
    return f"(CAST(c.campaign AS VARCHAR) IN ({names}) OR camp.name IN ({names}))"


def _dnc_extra(schema: str, table: str | None) -> str:
    if not table:
        return ""
    return (f"UNION ALL\nSELECT CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(t.phone_number AS VARCHAR), "
            f"k.phone_e164\nFROM {schema}.{table} AS t\nCROSS JOIN LATERAL ({{key:t.phone_number}}) AS k")


def source_tables(rules: CallingRules) -> tuple[str, ...]:
    """Every table the compliance views read: the loaded ones and the configured DNC table."""
    return TABLES + ((rules.dnc_table,) if rules.dnc_table else ())


def compliance_statements(schema: str, rules: CallingRules, region: str = DEFAULT_REGION) -> list[str]:
    """The CREATE VIEW statements of the compliance views for the dataset `schema` (already quoted)."""
    text = files("antbot_source.analytics").joinpath("compliance.sql").read_text()
    text = re.sub(r"^--.*\n", "", text, flags=re.MULTILINE)  # the comments name the placeholders
    text = text.replace("{dnc_extra}", _dnc_extra(schema, rules.dnc_table))
    values = {
        "{schema}": schema,
        "{timezone}": _literal(rules.timezone),
        "{first_hour}": _literal(rules.first_hour.isoformat()),
        "{last_hour}": _literal(rules.last_hour.isoformat()),
        "{max_calls}": str(rules.max_calls_per_24h),
        "{exempt}": _exempt(rules.exempt_campaigns),
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    text = _KEY.sub(lambda m: number_key_select(m.group(1), region), text)
    return [part.strip() for part in re.split(r"^;$", text, flags=re.MULTILINE) if part.strip()]
