-- HTTP status codes: how many requests got each status (halog -st).
--
-- One row per status, ascending. -1 is HAProxy's "no status yet" (the client left before
-- a response); 0 counts connection errors (sessions that failed before any request, such
-- as a TLS handshake failure), as halog counts them. TCP sessions have no status and are
-- not counted (halog reads the byte count of a tcplog line as a status).
SELECT
    CASE WHEN log_format = 'connection_error' THEN 0 ELSE CAST(status AS BIGINT) END AS status,
    count(*) AS requests
FROM logs
WHERE status IS NOT NULL OR log_format = 'connection_error'
GROUP BY 1
ORDER BY 1
