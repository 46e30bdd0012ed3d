"""The compliance views (analytics/compliance.sql) rendered with the configured calling rules.

Numbers compare by the push's key (`push.normalise.number_key`: E.164 for a valid number of the
account's region, else `raw:` and its digits). SQL cannot run libphonenumber, so `number_key_sql`
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
from antbot_source.push.normalise import DEFAULT_REGION

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


def number_key_sql(column: str, region: str = DEFAULT_REGION) -> str:
    """An SQL expression of `column`'s number key, as `number_key(column, region)` computes it."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert meta is not None, region
    code, prefix = str(meta.country_code), meta.national_prefix or ""
    general = meta.general_desc

    def valid(nsn: str) -> str:
        types = [desc for name in _TYPES if (desc := getattr(meta, name)) and desc.national_number_pattern]
        return "(" + " OR ".join(_matches(nsn, d.national_number_pattern,
                                          d.possible_length or general.possible_length) for d in types) + ")"

    def national(digits: str) -> str:  # the national prefix stripped, as libphonenumber does
        if not prefix:
            return digits
        return (f"(CASE WHEN SUBSTR({digits}, 1, {len(prefix)}) = {_literal(prefix)} "
                f"THEN SUBSTR({digits}, {len(prefix) + 1}) ELSE {digits} END)")

    text = f"TRIM(CAST({column} AS VARCHAR))"
    digits = f"REGEXP_REPLACE({column}, '[^0-9]', '', 'g')"
    intl = f"(CASE WHEN SUBSTR({text}, 1, 1) = '+' THEN {digits} ELSE SUBSTR({digits}, 3) END)"
    after_code = national(f"SUBSTR({digits}, {len(code) + 1})")
    general_match = f"{general.national_number_pattern}"
    strip_code = (f"(SUBSTR({digits}, 1, {len(code)}) = {_literal(code)} AND ("
                  f"(NOT {_matches(digits, general_match, general.possible_length)} "
                  f"AND {_matches(after_code, general_match, general.possible_length)}) "
                  f"OR LENGTH({digits}) > {max(general.possible_length)}))")
    nsn = (f"(CASE WHEN SUBSTR({text}, 1, 1) = '+' OR SUBSTR({digits}, 1, 2) = '00' "
           f"THEN {national(f'SUBSTR({intl}, {len(code) + 1})')} "
           f"WHEN {strip_code} THEN {after_code} ELSE {national(digits)} END)")
    own = (f"(SUBSTR({text}, 1, 1) <> '+' AND SUBSTR({digits}, 1, 2) <> '00') "
           f"OR SUBSTR({intl}, 1, {len(code)}) = {_literal(code)}")
    raw = f"'raw:' || REGEXP_REPLACE(COALESCE({column}, ''), '[^0-9+]', '', 'g')"
    return (f"(CASE WHEN NOT ({own}) THEN '+' || {intl} "
            f"WHEN {valid(nsn)} THEN {_literal('+' + code)} || {nsn} ELSE {raw} END)")


def _exempt(campaigns: tuple[str, ...]) -> str:
    if not campaigns:
        return "FALSE"
    names = ", ".join(_literal(c) for c in campaigns)
    return f"(CAST(c.campaign AS VARCHAR) IN ({names}) OR camp.name IN ({names}))"


def _dnc_extra(schema: str, table: str | None) -> str:
    if not table:
        return ""
    return (f"UNION ALL\nSELECT CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(t.phone_number AS VARCHAR), "
            f"{{key:t.phone_number}}\nFROM {schema}.{table} AS t")


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
    text = _KEY.sub(lambda m: number_key_sql(m.group(1), region), text)
    return [part.strip() for part in re.split(r"^;$", text, flags=re.MULTILINE) if part.strip()]
