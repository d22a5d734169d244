-- One page overview: how much traffic, over what time, how much of it failed and where
-- the time went. One row per figure.
WITH figures AS (
    SELECT
        count(*) AS rows,
        count(status) AS http_requests,
        min(coalesce(request_time, accept_time)) AS first_seen,
        max(coalesce(request_time, accept_time)) AS last_seen,
        count(DISTINCT client_ip) AS clients,
        count(DISTINCT frontend) AS frontends,
        count(DISTINCT backend) AS backends,
        sum(bytes_to_client) AS bytes_to_clients,
        count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS status_5xx,
        count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS status_4xx,
        count(*) FILTER (WHERE termination_cause IN ('client_abort', 'client_timeout')) AS client_aborts,
        count(*) FILTER (WHERE termination_cause IN ('server_abort', 'server_timeout')) AS server_failures,
        count(*) FILTER (WHERE termination_cause IN ('proxy', 'resource', 'internal')) AS proxy_refusals,
        count(*) FILTER (WHERE termination_phase = 'queue') AS ended_in_queue,
        count(*) FILTER (WHERE retries > 0) AS retried,
        approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms) AS total_ms_p50,
        approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY total_ms) AS total_ms_p99,
        approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY response_ms) AS response_ms_p99
    FROM logs
)
SELECT
    unnest(make_array(
        'rows', 'HTTP requests', 'first seen (UTC)', 'last seen (UTC)', 'distinct clients',
        'frontends', 'backends', 'bytes to clients', 'HTTP 5xx', 'HTTP 4xx',
        'client aborts and timeouts', 'server aborts and timeouts', 'refused by the proxy',
        'ended in a queue', 'retried', 'total time p50 (ms)', 'total time p99 (ms)',
        'server response time p99 (ms)'
    )) AS figure,
    unnest(make_array(
        CAST(rows AS VARCHAR), CAST(http_requests AS VARCHAR), CAST(first_seen AS VARCHAR),
        CAST(last_seen AS VARCHAR), CAST(clients AS VARCHAR), CAST(frontends AS VARCHAR),
        CAST(backends AS VARCHAR), CAST(bytes_to_clients AS VARCHAR), CAST(status_5xx AS VARCHAR),
        CAST(status_4xx AS VARCHAR), CAST(client_aborts AS VARCHAR), CAST(server_failures AS VARCHAR),
        CAST(proxy_refusals AS VARCHAR), CAST(ended_in_queue AS VARCHAR), CAST(retried AS VARCHAR),
        CAST(total_ms_p50 AS VARCHAR), CAST(total_ms_p99 AS VARCHAR), CAST(response_ms_p99 AS VARCHAR)
    )) AS value
FROM figures
