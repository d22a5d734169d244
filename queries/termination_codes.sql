-- Termination codes: how many sessions ended each way, by the first two characters of
-- the termination state, with what each code means (halog -tc).
--
-- One row per code, in byte order as halog prints them. TCP sessions are counted too
-- (halog skips tcplog lines).
SELECT
    substr(termination_state, 1, 2) AS termination_code,
    count(*) AS sessions,
    termination_explain(substr(termination_state, 1, 2)) AS meaning
FROM logs
WHERE termination_state IS NOT NULL
GROUP BY 1
ORDER BY 1
