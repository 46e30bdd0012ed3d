-- The call KPIs, defined once; every KPI view selects them over A-legs of cdr_enriched.
-- attempts: A-leg CDRs. answered: A-legs with disposition ANSWER.
-- asr (ITU-T E.411): answered / attempts.
-- ner (ITU-T E.425): A-legs ending with Q.850 cause 16, 17, 18, 19 or 21, over attempts.
-- acd_seconds: mean billsec (talk time, not duration, which includes ringing) over answered A-legs.
-- machine_share: answered A-legs that answering-machine detection marked as machine, over answered.
-- sample_ok: at least {min_sample} attempts, the smallest sample a rate is read from (labels.MIN_SAMPLE).
COUNT(*) AS attempts,
COUNT(*) FILTER (WHERE answered) AS answered,
CAST(COUNT(*) FILTER (WHERE answered) AS DOUBLE PRECISION) / NULLIF(COUNT(*), 0) AS asr,
CAST(COUNT(*) FILTER (WHERE ner_effective) AS DOUBLE PRECISION) / NULLIF(COUNT(*), 0) AS ner,
CAST(AVG(billsec) FILTER (WHERE answered) AS DOUBLE PRECISION) AS acd_seconds,
CAST(COALESCE(SUM(billsec) FILTER (WHERE answered), 0) AS BIGINT) AS billsec_total,
CAST(COUNT(*) FILTER (WHERE answered AND amd_status = 2) AS DOUBLE PRECISION)
    / NULLIF(COUNT(*) FILTER (WHERE answered), 0) AS machine_share,
COUNT(*) >= {min_sample} AS sample_ok
