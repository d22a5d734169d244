-- Per backend: requests, status classes, error rates, response time percentiles, retries
-- and queueing: which backend hurts, and how.
SELECT
    backend,
    count(*) AS requests,
    count(*) FILTER (WHERE status BETWEEN 200 AND 399) AS ok,
    count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS s4xx,
    count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS s5xx,
    round(100.0 * count(*) FILTER (WHERE status BETWEEN 500 AND 599) / count(*), 2) AS pct_5xx,
    count(*) FILTER (WHERE termination_cause IN ('server_abort', 'server_timeout')) AS server_failures,
    approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY response_ms) AS response_ms_p50,
    approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY response_ms) AS response_ms_p99,
    approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY total_ms) AS total_ms_p99,
    count(*) FILTER (WHERE retries > 0) AS retried,
    count(*) FILTER (WHERE redispatched) AS redispatched,
    max(backend_queue) AS max_backend_queue
FROM logs
WHERE backend IS NOT NULL
GROUP BY backend
ORDER BY requests DESC, backend
