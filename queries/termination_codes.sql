-- Termination codes: how many sessions ended each way, by the first two characters of
-- the termination state, with what each code means (halog -tc).
--
-- One row per code, in byte order as halog prints them. TCP sessions are counted too
-- (halog skips tcplog lines). Sessions are counted per state as stored (a dictionary
-- of a few dozen values) and only those are cut to their first two characters.
SELECT
    substr(state, 1, 2) AS termination_code,
    sum(n) AS sessions,
    termination_explain(substr(state, 1, 2)) AS meaning
FROM (
    SELECT termination_state AS state, count(*) AS n
    FROM logs
    WHERE termination_state IS NOT NULL
    GROUP BY 1
)
GROUP BY 1
ORDER BY 1
