-- Per server and hour (halog -srv, over time): requests, 5xx, error rate and average
-- connect and response times, to see when a server went bad.
-- Buckets by date_bin: the times are UTC, where it equals date_trunc at a fifth of
-- its cost (DataFusion's date_trunc goes through the calendar for every row).
SELECT
    date_bin(INTERVAL '1 hour', request_time) AS hour,
    CAST(backend AS VARCHAR) || '/' || CAST(server AS VARCHAR) AS srv_name,
    count(*) AS requests,
    count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS s5xx,
    round(100.0 * count(*) FILTER (WHERE status BETWEEN 500 AND 599) / count(*), 1) AS pct_5xx,
    round(avg(connect_ms), 1) AS avg_connect_ms,
    round(avg(response_ms), 1) AS avg_response_ms
FROM logs
WHERE status IS NOT NULL
GROUP BY date_bin(INTERVAL '1 hour', request_time), backend, server
ORDER BY 1, 2
