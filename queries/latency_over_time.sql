-- Latency per backend over time: per time bucket and backend, the sessions and the
-- p50, p95 and p99 of the session's time (Ta for HTTP logs, which print it in Tt's
-- place; Tt for TCP) and of the server response time (Tr), in ms, rounded
-- (approximate percentiles). The bucket is an hour here; `report --html` sets it from
-- the time span, or from --bucket.
-- Buckets by date_bin: the times are UTC, where it equals date_trunc at a fifth of
-- its cost (DataFusion's date_trunc goes through the calendar for every row).
SELECT
    date_bin(INTERVAL '1 hour', coalesce(request_time, accept_time)) AS bucket,
    CAST(backend AS VARCHAR) AS backend,
    count(*) AS sessions,
    CAST(round(approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(active_ms, total_ms))) AS BIGINT) AS total_p50,
    CAST(round(approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY coalesce(active_ms, total_ms))) AS BIGINT) AS total_p95,
    CAST(round(approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY coalesce(active_ms, total_ms))) AS BIGINT) AS total_p99,
    CAST(round(approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY response_ms)) AS BIGINT) AS response_p50,
    CAST(round(approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY response_ms)) AS BIGINT) AS response_p95,
    CAST(round(approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY response_ms)) AS BIGINT) AS response_p99
FROM logs
WHERE backend IS NOT NULL AND (request_time IS NOT NULL OR accept_time IS NOT NULL)
GROUP BY 1, 2
ORDER BY 1, 2
