-- Termination codes per hour (halog -tc, over time): which ways sessions ended, hour by
-- hour, most frequent first within each hour, with what each code means.
SELECT
    date_trunc('hour', coalesce(request_time, accept_time)) AS hour,
    substr(termination_state, 1, 2) AS code,
    count(*) AS sessions,
    termination_explain(substr(termination_state, 1, 2)) AS meaning
FROM logs
WHERE termination_state IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 3 DESC, 2
