-- HTTP status codes: how many requests got each status (halog -st).
--
-- One row per status, ascending. -1 is HAProxy's "no status yet" (the client left before
-- a response); 0 counts connection errors (sessions that failed before any request, such
-- as a TLS handshake failure), as halog counts them. TCP sessions have no status and are
-- not counted (halog reads the byte count of a tcplog line as a status).
WITH statuses AS (
    SELECT CAST(status AS BIGINT) AS status
    FROM logs
    WHERE status IS NOT NULL
    UNION ALL
    SELECT 0
    FROM logs
    WHERE log_format = 'connection_error'
)
SELECT status, count(*) AS requests
FROM statuses
GROUP BY status
ORDER BY status
