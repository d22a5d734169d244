-- Retries and redispatches per backend and server: how often connecting needed another
-- try, how often the session moved to another server, and how those sessions ended.
SELECT
    backend,
    server,
    count(*) AS sessions,
    count(*) FILTER (WHERE retries > 0) AS retried,
    sum(retries) AS retries,
    count(*) FILTER (WHERE redispatched) AS redispatched,
    count(*) FILTER (WHERE retries > 0 AND status BETWEEN 200 AND 399) AS retried_then_ok,
    count(*) FILTER (WHERE retries > 0 AND (status >= 500 OR status < 100)) AS retried_then_failed
FROM logs
WHERE backend IS NOT NULL
GROUP BY backend, server
HAVING count(*) FILTER (WHERE retries > 0 OR redispatched) > 0
ORDER BY retried DESC, backend, server
