-- Analytics views over a loaded AntBot dataset; the same text runs on DuckDB and PostgreSQL.
-- views.py fills in the quoted dataset name and the KPI select list of kpi_columns.sql.
-- Statements are separated by a line holding only ";". Lookup views (lookup_*) are created first.

-- Each CDR with labels, Vietnam-local time, the leg and the flags the KPIs count.
CREATE VIEW {schema}.cdr_enriched AS
SELECT
    c.*,
    camp.name AS campaign_name,
    CAST(c.starting_local AS DATE) AS day_local,
    CAST(EXTRACT(HOUR FROM c.starting_local) AS INTEGER) AS hour_local,
    CAST(EXTRACT(ISODOW FROM c.starting_local) AS INTEGER) AS weekday_local,
    leg.label AS leg,
    COALESCE(c.leg_type = 1, FALSE) AS is_a_leg,
    COALESCE(c.disposition = 'ANSWER', FALSE) AS answered,
    disp.label AS disposition_label,
    amd.label AS amd_label,
    CASE
        WHEN c.disposition = 'ANSWER' THEN 'answered'
        ELSE COALESCE(cause.cause_group, disp.cause_group, 'other')
    END AS cause_group,
    COALESCE(cause.counts_for_ner, FALSE) AS ner_effective,
    CASE
        WHEN c.campaign IS NOT NULL THEN 'campaign'
        WHEN c.otp THEN 'otp'
        WHEN c.alarm THEN 'alarm'
        ELSE 'other'
    END AS call_kind
FROM (
    SELECT cdr.*, cdr.starting_date AT TIME ZONE 'Asia/Ho_Chi_Minh' AS starting_local
    FROM {schema}.cdr AS cdr
) AS c
LEFT JOIN {schema}.campaigns AS camp ON camp.id = c.campaign
LEFT JOIN {schema}.lookup_leg_type AS leg ON leg.code = c.leg_type
LEFT JOIN {schema}.lookup_disposition AS disp ON disp.code = c.disposition
LEFT JOIN {schema}.lookup_amd_status AS amd ON amd.code = c.amd_status
LEFT JOIN {schema}.lookup_hangup_cause AS cause
    ON CAST(cause.code AS VARCHAR) = TRIM(CAST(c.hangup_cause_q850 AS VARCHAR))
;
-- Headline KPIs over every A-leg.
CREATE VIEW {schema}.cdr_kpis AS
SELECT {kpi_columns}
FROM {schema}.cdr_enriched
WHERE is_a_leg
;
-- KPIs per campaign (campaign_id NULL: calls outside any campaign, one row per call_kind).
CREATE VIEW {schema}.cdr_campaign_kpis AS
SELECT campaign AS campaign_id, campaign_name, call_kind, {kpi_columns}
FROM {schema}.cdr_enriched
WHERE is_a_leg
GROUP BY campaign, campaign_name, call_kind
;
-- KPIs per campaign and Vietnam-local day.
CREATE VIEW {schema}.cdr_campaign_daily AS
SELECT campaign AS campaign_id, campaign_name, call_kind, day_local AS day, {kpi_columns}
FROM {schema}.cdr_enriched
WHERE is_a_leg
GROUP BY campaign, campaign_name, call_kind, day_local
;
-- KPIs per Vietnam-local ISO weekday (1 Monday) and hour, over all campaigns.
CREATE VIEW {schema}.cdr_hourly_profile AS
SELECT e.weekday_local AS weekday, wd.label AS weekday_name, e.hour_local AS hour, {kpi_columns}
FROM {schema}.cdr_enriched AS e
LEFT JOIN {schema}.lookup_weekday AS wd ON wd.code = e.weekday_local
WHERE e.is_a_leg
GROUP BY e.weekday_local, wd.label, e.hour_local
;
-- A-legs per campaign and hangup-cause group, with the group's share of the campaign's attempts.
CREATE VIEW {schema}.cdr_hangup_causes AS
SELECT
    campaign AS campaign_id,
    campaign_name,
    call_kind,
    cause_group,
    COUNT(*) AS calls,
    CAST(COUNT(*) AS DOUBLE PRECISION)
        / CAST(SUM(COUNT(*)) OVER (PARTITION BY campaign, call_kind) AS DOUBLE PRECISION) AS share
FROM {schema}.cdr_enriched
WHERE is_a_leg
GROUP BY campaign, campaign_name, call_kind, cause_group
;
-- One row per campaign: subscribers by status and how far the campaign has got.
CREATE VIEW {schema}.campaign_progress AS
WITH subs AS (
    SELECT
        campaign,
        COUNT(*) AS subscribers,
        COUNT(*) FILTER (WHERE status = 1) AS pending,
        COUNT(*) FILTER (WHERE status = 2) AS paused,
        COUNT(*) FILTER (WHERE status = 3) AS aborted,
        COUNT(*) FILTER (WHERE status = 4) AS failed,
        COUNT(*) FILTER (WHERE status = 5) AS sent,
        COUNT(*) FILTER (WHERE status = 6) AS in_process,
        COUNT(*) FILTER (WHERE status = 7) AS dnc_refusals,
        COUNT(*) FILTER (WHERE status = 8) AS completed,
        COUNT(*) FILTER (WHERE count_attempt > 0) AS attempted,
        CAST(COALESCE(SUM(count_attempt), 0) AS BIGINT) AS subscriber_attempts
    FROM {schema}.subscribers
    GROUP BY campaign
),
reached AS (
    SELECT campaign, COUNT(DISTINCT subscriber) AS reached
    FROM {schema}.cdr_enriched
    WHERE is_a_leg AND answered AND subscriber IS NOT NULL
    GROUP BY campaign
)
SELECT
    camp.id AS campaign_id,
    camp.name AS campaign_name,
    camp.status,
    st.label AS status_label,
    COALESCE(subs.subscribers, 0) AS subscribers,
    COALESCE(subs.pending, 0) AS pending,
    COALESCE(subs.paused, 0) AS paused,
    COALESCE(subs.aborted, 0) AS aborted,
    COALESCE(subs.failed, 0) AS failed,
    COALESCE(subs.sent, 0) AS sent,
    COALESCE(subs.in_process, 0) AS in_process,
    COALESCE(subs.dnc_refusals, 0) AS dnc_refusals,
    COALESCE(subs.completed, 0) AS completed,
    COALESCE(subs.attempted, 0) AS attempted,
    COALESCE(reached.reached, 0) AS reached,
    CAST(subs.completed AS DOUBLE PRECISION) / NULLIF(subs.subscribers, 0) AS completion_rate,
    CAST(subs.attempted AS DOUBLE PRECISION) / NULLIF(subs.subscribers, 0) AS attempted_share,
    CAST(subs.subscriber_attempts AS DOUBLE PRECISION) / NULLIF(subs.subscribers, 0)
        AS attempts_per_subscriber
FROM {schema}.campaigns AS camp
LEFT JOIN subs ON subs.campaign = camp.id
LEFT JOIN reached ON reached.campaign = camp.id
LEFT JOIN {schema}.lookup_campaign_status AS st ON st.code = camp.status
;
-- Operations views: the daily trend, gateways, survey answers, reminder calls.
-- KPIs per Vietnam-local day and call kind, with the talk time in minutes.
CREATE VIEW {schema}.cdr_daily AS
SELECT daily.*, CAST(daily.billsec_total AS DOUBLE PRECISION) / 60 AS talk_minutes
FROM (
    SELECT day_local AS day, call_kind, {kpi_columns}
    FROM {schema}.cdr_enriched
    WHERE is_a_leg
    GROUP BY day_local, call_kind
) AS daily
;
-- KPIs per gateway (used_gateway) and campaign, with the A-legs that ended in each hangup-cause group.
CREATE VIEW {schema}.cdr_gateway_kpis AS
SELECT
    e.used_gateway AS gateway_id,
    gw.name AS gateway_name,
    e.campaign AS campaign_id,
    e.campaign_name,
    e.call_kind,
    {kpi_columns},
    {cause_group_calls}
FROM {schema}.cdr_enriched AS e
LEFT JOIN {schema}.gateways AS gw ON gw.id = e.used_gateway
WHERE e.is_a_leg
GROUP BY e.used_gateway, gw.name, e.campaign, e.campaign_name, e.call_kind
;
-- One row per subscriber and answer in `collected_data`: a JSON object's leaves, nested keys joined by
-- "." into `question`; text that is not a JSON object (malformed, a bare value) is one row with
-- `malformed` TRUE and no question. Empty, absent and JSON-null values give no row.
CREATE VIEW {schema}.survey_answers AS
WITH RECURSIVE collected AS (
    SELECT
        s.id AS subscriber_id,
        s.campaign AS campaign_id,
        s.contact AS contact_id,
        CAST(s.collected_data AS JSON) AS data,
        LEFT(LTRIM(CAST(s.collected_data AS VARCHAR)), 1) = '{' AS is_object
    FROM {schema}.subscribers AS s
    WHERE s.collected_data IS NOT NULL
),
nodes (subscriber_id, campaign_id, contact_id, question, value, is_object) AS (
    SELECT c.subscriber_id, c.campaign_id, c.contact_id, e.key, e.value,
        LEFT(LTRIM(CAST(e.value AS VARCHAR)), 1) = '{'
    FROM collected AS c,
        json_each(CASE WHEN c.is_object THEN c.data ELSE CAST('{}' AS JSON) END) AS e
    UNION ALL
    SELECT n.subscriber_id, n.campaign_id, n.contact_id, n.question || '.' || e.key, e.value,
        LEFT(LTRIM(CAST(e.value AS VARCHAR)), 1) = '{'
    FROM nodes AS n,
        json_each(CASE WHEN n.is_object THEN n.value ELSE CAST('{}' AS JSON) END) AS e
    WHERE n.is_object
),
answers AS (
    -- a JSON value as text (a string without its quotes), read the same way by both databases
    SELECT subscriber_id, campaign_id, contact_id, question,
        CAST('{"v":' || CAST(value AS VARCHAR) || '}' AS JSON) ->> 'v' AS answer, FALSE AS malformed
    FROM nodes
    WHERE NOT is_object
    UNION ALL
    SELECT subscriber_id, campaign_id, contact_id, CAST(NULL AS VARCHAR),
        CAST('{"v":' || CAST(data AS VARCHAR) || '}' AS JSON) ->> 'v', TRUE
    FROM collected
    WHERE NOT is_object AND CAST(data AS VARCHAR) <> 'null'
)
SELECT a.campaign_id, camp.name AS campaign_name, a.subscriber_id, a.contact_id, a.question, a.answer,
    a.malformed
FROM answers AS a
LEFT JOIN {schema}.campaigns AS camp ON camp.id = a.campaign_id
WHERE NOT (a.malformed AND TRIM(COALESCE(a.answer, '')) = '')
;
-- The distribution of the answers to each question of a campaign's survey (malformed rows left out).
CREATE VIEW {schema}.survey_answer_shares AS
SELECT
    campaign_id,
    campaign_name,
    question,
    answer,
    COUNT(*) AS subscribers,
    CAST(SUM(COUNT(*)) OVER (PARTITION BY campaign_id, question) AS BIGINT) AS respondents,
    CAST(COUNT(*) AS DOUBLE PRECISION)
        / CAST(SUM(COUNT(*)) OVER (PARTITION BY campaign_id, question) AS DOUBLE PRECISION) AS share,
    SUM(COUNT(*)) OVER (PARTITION BY campaign_id, question) >= {min_sample} AS sample_ok
FROM {schema}.survey_answers
WHERE NOT malformed
GROUP BY campaign_id, campaign_name, question, answer
;
-- Reminder calls (alarms) per Vietnam-local day of their notice, calendar, status and result.
CREATE VIEW {schema}.reminder_outcomes AS
SELECT
    CAST(a.date_start_notice AT TIME ZONE 'Asia/Ho_Chi_Minh' AS DATE) AS day,
    ev.calendar AS calendar_id,
    cal.name AS calendar_name,
    a.status,
    st.label AS status_label,
    a.result,
    res.label AS result_label,
    COUNT(*) AS alarms,
    CAST(COALESCE(SUM(a.num_attempt), 0) AS BIGINT) AS call_attempts
FROM {schema}.alarms AS a
LEFT JOIN {schema}.events AS ev ON ev.id = a.event
LEFT JOIN {schema}.calendars AS cal ON cal.id = ev.calendar
LEFT JOIN {schema}.lookup_alarm_status AS st ON st.code = a.status
LEFT JOIN {schema}.lookup_alarm_result AS res ON res.code = a.result
GROUP BY
    CAST(a.date_start_notice AT TIME ZONE 'Asia/Ho_Chi_Minh' AS DATE), ev.calendar, cal.name, a.status,
    st.label, a.result, res.label
