-- Per frontend: sessions, bytes, status classes, client aborts and refusals: what each
-- entry point receives and how it ends.
SELECT
    frontend,
    count(*) AS sessions,
    count(status) AS http_requests,
    sum(bytes_to_client) AS bytes_to_clients,
    count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS s4xx,
    count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS s5xx,
    count(*) FILTER (WHERE termination_cause IN ('client_abort', 'client_timeout')) AS client_aborts,
    count(*) FILTER (WHERE termination_cause IN ('proxy', 'resource', 'internal')) AS refused_by_proxy,
    count(*) FILTER (WHERE frontend_tls) AS over_tls,
    count(DISTINCT client_ip) AS clients
FROM logs
WHERE frontend IS NOT NULL
GROUP BY frontend
ORDER BY sessions DESC, frontend
