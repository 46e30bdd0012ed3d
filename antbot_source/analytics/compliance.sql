-- Calling-rule compliance views; the same text runs on DuckDB and PostgreSQL.
-- antbot_source/compliance/rule_views.py fills in the quoted dataset name and the configured rules
-- ({timezone}, {first_hour}, {last_hour}, {max_calls}, {exempt}, {dnc_extra}) and the number keys
-- ({key:<column>}: a one-row SELECT of phone_e164, E.164 for a valid number of the account's region,
-- else 'raw:' and its digits, joined CROSS JOIN LATERAL).
-- Statements are separated by a line holding only ";".

-- The calls the rules count: A-legs of a campaign, not OTP or alarm calls, not of an exempted campaign.
CREATE VIEW {schema}.compliance_calls AS
SELECT
    c.id AS cdr_id,
    c.campaign AS campaign_id,
    camp.name AS campaign_name,
    c.phone_number,
    k.phone_e164,
    c.starting_date,
    c.starting_date AT TIME ZONE {timezone} AS starting_local,
    CAST(c.starting_date AT TIME ZONE {timezone} AS DATE) AS day_local,
    CAST(EXTRACT(HOUR FROM c.starting_date AT TIME ZONE {timezone}) AS INTEGER) AS hour_local
FROM {schema}.cdr AS c
JOIN (  -- each number's key computed once, however often it was called
    SELECT numbers.phone_number, key.phone_e164
    FROM (SELECT DISTINCT COALESCE(phone_number, '') AS phone_number FROM {schema}.cdr) AS numbers
    CROSS JOIN LATERAL ({key:numbers.phone_number}) AS key
) AS k ON k.phone_number = COALESCE(c.phone_number, '')
LEFT JOIN {schema}.campaigns AS camp ON camp.id = c.campaign
WHERE c.leg_type = 1
    AND c.campaign IS NOT NULL
    AND NOT COALESCE(c.otp, FALSE)
    AND NOT COALESCE(c.alarm, FALSE)
    AND NOT COALESCE({exempt}, FALSE)
;
-- Every number on a do-not-call list: the account's lists, and the configured table if any.
CREATE VIEW {schema}.compliance_dnc_numbers AS
SELECT d.id AS dnc_contact_id, d.dnc AS dnc_list_id, d.phone_number, k.phone_e164
FROM {schema}.dnc_contacts AS d
CROSS JOIN LATERAL ({key:d.phone_number}) AS k
{dnc_extra}
;
-- One row per counted call and rule broken: outside the calling hours, the N-th earlier counted call
-- to the number (by start, then id) less than 24 hours before, the number on a DNC list now.
CREATE VIEW {schema}.compliance_breaches AS
WITH ordered AS (
    SELECT
        calls.*,
        LAG(starting_date, {max_calls}) OVER (PARTITION BY phone_e164 ORDER BY starting_date, cdr_id)
            AS earlier_start,
        LAG(cdr_id, {max_calls}) OVER (PARTITION BY phone_e164 ORDER BY starting_date, cdr_id)
            AS earlier_cdr_id
    FROM {schema}.compliance_calls AS calls
),
flagged AS (
    SELECT
        ordered.*,
        CAST(starting_local AS TIME) < TIME {first_hour} OR CAST(starting_local AS TIME) >= TIME {last_hour}
            AS outside_hours,
        COALESCE(earlier_start > starting_date - INTERVAL '24 hours', FALSE) AS repeat_24h,
        dnc.phone_e164 IS NOT NULL AS on_dnc
    FROM ordered
    LEFT JOIN (SELECT DISTINCT phone_e164 FROM {schema}.compliance_dnc_numbers) AS dnc
        ON dnc.phone_e164 = ordered.phone_e164
)
SELECT
    f.cdr_id, f.campaign_id, f.campaign_name, f.phone_number, f.phone_e164, f.starting_date, f.starting_local,
    f.day_local, r.rule, CASE WHEN r.rule = 'repeat_24h' THEN f.earlier_cdr_id END AS related_cdr_id
FROM flagged AS f
JOIN (VALUES ('outside_hours'), ('repeat_24h'), ('dnc')) AS r(rule)
    ON (r.rule = 'outside_hours' AND f.outside_hours)
    OR (r.rule = 'repeat_24h' AND f.repeat_24h)
    OR (r.rule = 'dnc' AND f.on_dnc)
;
-- DNC entries of the account's lists that do not block every form of their number: the dialer matches
-- the exact string, and some contact holds the number in a form no entry of that list holds.
CREATE VIEW {schema}.dnc_ineffective AS
WITH forms AS (
    SELECT DISTINCT ct.contact AS phone_number, k.phone_e164
    FROM {schema}.contacts AS ct
    CROSS JOIN LATERAL ({key:ct.contact}) AS k
),
unblocked AS (
    SELECT d.*, f.phone_number AS form
    FROM {schema}.compliance_dnc_numbers AS d
    JOIN forms AS f ON f.phone_e164 = d.phone_e164
    WHERE d.dnc_contact_id IS NOT NULL
        AND NOT EXISTS (
            SELECT 1 FROM {schema}.dnc_contacts AS held
            WHERE held.dnc = d.dnc_list_id AND held.phone_number = f.phone_number
        )
)
SELECT
    u.dnc_contact_id,
    u.dnc_list_id,
    lists.name AS dnc_list_name,
    u.phone_number,
    u.phone_e164,
    STRING_AGG(u.form, ', ' ORDER BY u.form) AS unblocked_forms
FROM unblocked AS u
LEFT JOIN {schema}.dnc_lists AS lists ON lists.id = u.dnc_list_id
GROUP BY u.dnc_contact_id, u.dnc_list_id, lists.name, u.phone_number, u.phone_e164
;
-- Per campaign, local day and rule: the counted calls and the breaches of that rule among them.
CREATE VIEW {schema}.compliance_daily AS
WITH days AS (
    SELECT campaign_id, campaign_name, day_local, COUNT(*) AS counted_calls
    FROM {schema}.compliance_calls
    GROUP BY campaign_id, campaign_name, day_local
),
rules AS (
    SELECT * FROM (VALUES ('outside_hours'), ('repeat_24h'), ('dnc')) AS r(rule)
),
broken AS (
    SELECT campaign_id, day_local, rule, COUNT(*) AS breaches
    FROM {schema}.compliance_breaches
    GROUP BY campaign_id, day_local, rule
)
SELECT
    days.campaign_id,
    days.campaign_name,
    days.day_local AS day,
    rules.rule,
    days.counted_calls,
    COALESCE(broken.breaches, 0) AS breaches
FROM days
CROSS JOIN rules
LEFT JOIN broken
    ON broken.campaign_id = days.campaign_id AND broken.day_local = days.day_local AND broken.rule = rules.rule
