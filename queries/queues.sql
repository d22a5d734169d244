-- Queue saturation: per backend and server, sessions that ended in a queue (sQ: server
-- timeout there, CQ: client gave up there) and the queue depths and waits seen.
SELECT
    backend,
    server,
    count(*) AS sessions,
    count(*) FILTER (WHERE queue_ms > 0) AS queued,
    count(*) FILTER (WHERE termination_cause = 'server_timeout' AND termination_phase = 'queue') AS timed_out_in_queue_sq,
    count(*) FILTER (WHERE termination_cause = 'client_abort' AND termination_phase = 'queue') AS client_left_queue_cq,
    max(server_queue) AS max_server_queue,
    max(backend_queue) AS max_backend_queue,
    round(avg(queue_ms), 1) AS avg_queue_ms,
    max(queue_ms) AS max_queue_ms
FROM logs
WHERE backend IS NOT NULL
GROUP BY backend, server
HAVING count(*) FILTER (WHERE queue_ms > 0 OR termination_phase = 'queue') > 0
ORDER BY timed_out_in_queue_sq + client_left_queue_cq DESC, queued DESC, backend, server
