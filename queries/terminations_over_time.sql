-- How sessions ended, over time: per time bucket and termination code (the first two
-- characters of the termination state), the sessions, the decoded cause and phase and
-- what the code means. HTTP and TCP sessions alike. The bucket is an hour here;
-- `report --html` sets it from the time span, or from --bucket.
-- Buckets by date_bin: the times are UTC, where it equals date_trunc at a fifth of
-- its cost (DataFusion's date_trunc goes through the calendar for every row).
SELECT
    bucket,
    code,
    sum(n) AS sessions,
    termination_cause(code) AS cause,
    termination_phase(code) AS phase,
    termination_explain(code) AS meaning
FROM (
    SELECT
        date_bin(INTERVAL '1 hour', coalesce(request_time, accept_time)) AS bucket,
        substr(termination_state, 1, 2) AS code,
        count(*) AS n
    FROM logs
    WHERE termination_state IS NOT NULL AND (request_time IS NOT NULL OR accept_time IS NOT NULL)
    GROUP BY 1, termination_state
)
GROUP BY 1, 2
ORDER BY 1, 3 DESC, 2
