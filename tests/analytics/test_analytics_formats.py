"""KPI formatting without pandas agrees with pandas on what is missing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from antbot_source.analytics.formats import campaign_label, fmt_count, fmt_percent, missing

VALUES = [None, float("nan"), np.nan, np.float64("nan"), pd.NA, pd.NaT, np.datetime64("NaT"), Decimal("NaN"),
          0, 0.0, "", "x", 12, np.int64(3), 0.5, Decimal("1.5"), pd.Timestamp("2026-11-27"), dt.date(2026, 11, 27)]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_missing_is_what_pandas_calls_missing(value):
    assert missing(value) == bool(pd.isna(value))


def test_formats_of_database_and_frame_values():
    assert fmt_count(1234) == fmt_count(np.int64(1234)) == "1,234"
    assert fmt_percent(0.4625) == "46.2%" and fmt_percent(pd.NA) == fmt_percent(None) == "–"
    assert campaign_label(np.nan, None) == "(no campaign)"
    assert campaign_label(None, None, "otp") == "(OTP calls)" and campaign_label(pd.NA, None, "alarm") == "(reminder calls)"
    assert campaign_label(4, "Nhắc phí", "campaign") == "Nhắc phí"
    assert campaign_label(3.0, np.nan) == "campaign 3"
    assert campaign_label(3, "Nhắc phí") == "Nhắc phí"
