-- Top client addresses per kind of client abort (who gives up, and when: during the
-- request headers, in the queue, while connecting, waiting for the response, or in the
-- data phase): the ten busiest clients of each kind.
WITH aborts AS (
    SELECT
        termination_cause AS cause,
        termination_phase AS phase,
        client_ip,
        count(*) AS sessions
    FROM logs
    WHERE termination_cause IN ('client_abort', 'client_timeout')
    GROUP BY 1, 2, 3
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY cause, phase ORDER BY sessions DESC, client_ip) AS rank
    FROM aborts
)
SELECT cause, phase, rank, client_ip, sessions
FROM ranked
WHERE rank <= 10
ORDER BY cause, phase, rank
