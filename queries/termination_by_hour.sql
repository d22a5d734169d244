-- Termination codes per hour (halog -tc, over time): which ways sessions ended, hour by
-- hour, most frequent first within each hour, with what each code means.
-- Buckets by date_bin: the times are UTC, where it equals date_trunc at a fifth of
-- its cost (DataFusion's date_trunc goes through the calendar for every row).
SELECT
    hour,
    substr(state, 1, 2) AS code,
    sum(n) AS sessions,
    termination_explain(substr(state, 1, 2)) AS meaning
FROM (
    SELECT
        date_bin(INTERVAL '1 hour', coalesce(request_time, accept_time)) AS hour,
        termination_state AS state,
        count(*) AS n
    FROM logs
    WHERE termination_state IS NOT NULL
    GROUP BY 1, 2
)
GROUP BY 1, 2
ORDER BY 1, 3 DESC, 2
