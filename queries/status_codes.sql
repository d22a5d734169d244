-- HTTP status codes: how many requests got each status (halog -st).
--
-- One row per status, ascending. -1 is HAProxy's "no status yet" (the client left before
-- a response); 0 counts connection errors (sessions that failed before any request, such
-- as a TLS handshake failure), as halog counts them. TCP sessions have no status and are
-- not counted (halog reads the byte count of a tcplog line as a status).
--
-- Rows are grouped by the stored status alone, a small integer: connection errors have
-- none, so they are counted within the group without one and become status 0 after.
SELECT status, requests
FROM (
    SELECT
        coalesce(CAST(status AS BIGINT), 0) AS status,
        sum(CASE WHEN status IS NULL THEN connection_errors ELSE rows END) AS requests
    FROM (
        SELECT
            status,
            count(*) AS rows,
            count(*) FILTER (WHERE log_format = 'connection_error') AS connection_errors
        FROM logs
        GROUP BY status
    )
    GROUP BY 1
)
WHERE requests > 0
ORDER BY 1
