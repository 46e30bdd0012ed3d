"""Row normalisation: ids from url, relation URLs, JSON strings, timestamps to UTC."""

from datetime import UTC, datetime

import pytest

from antbot_source.rows.normalise import normalise_row, parse_timestamp


def test_id_taken_from_url_and_relations_become_ids():
    row = normalise_row({
        "url": "https://alice.antbuddy.com/rest-api/contact/42/",
        "phonebook": "https://alice.antbuddy.com/rest-api/phonebook/7/",
        "campaigns": ["http://h/rest-api/campaigns/3/", "http://h/rest-api/campaigns/4/"],
        "description": "see https://example.com/page/3",
        "gateways": "sofia/gateway/AliceDevGateway/",
    })
    assert row == {
        "id": 42, "phonebook": 7, "campaigns": [3, 4],
        "description": "see https://example.com/page/3", "gateways": "sofia/gateway/AliceDevGateway/",
    }


def test_existing_id_wins_over_url():
    assert normalise_row({"id": 5, "url": "http://h/rest-api/contact/42/"})["id"] == 5


def test_json_strings_parsed_and_bad_json_kept():
    row = normalise_row({"id": 1, "additional_vars": '{"a": "1"}', "data": "not json {", "collected_data": ""})
    assert row["additional_vars"] == {"a": "1"}
    assert row["data"] == "not json {"
    assert row["collected_data"] is None


@pytest.mark.parametrize(("text", "value"), [("5", 5), ('"yes"', "yes"), ("true", True), ('["1", "4"]', ["1", "4"]),
                                             ("q1=2;rating=4", "q1=2;rating=4"), ('{"q1": "2", "rating": ', '{"q1": "2", "rating": ')])
def test_a_bare_json_value_is_the_value_it_encodes_on_every_destination(text, value):
    # "5" was kept as the text "5": DuckDB stored the JSON string "5", PostgreSQL the number 5
    assert normalise_row({"id": 1, "collected_data": text})["collected_data"] == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T08:00:00+07:00", datetime(2024, 3, 1, 1, 0, tzinfo=UTC)),
        ("2024-03-01T01:00:00Z", datetime(2024, 3, 1, 1, 0, tzinfo=UTC)),
        ("2024-03-01T01:00:00.123456Z", datetime(2024, 3, 1, 1, 0, 0, 123456, tzinfo=UTC)),
        ("2024-03-01T01:00:00", datetime(2024, 3, 1, 1, 0, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_timestamps_become_aware_utc(value, expected):
    parsed = parse_timestamp(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset().total_seconds() == 0


def test_normalise_row_parses_named_timestamps_only():
    row = normalise_row({"id": 1, "created_date": "2024-03-01T08:00:00+07:00", "name": "2024-03-01"},
                        timestamps=("created_date",))
    assert row["created_date"] == datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    assert row["name"] == "2024-03-01"
