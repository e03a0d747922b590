-- Registry version 5: a non-transactional migration's run is recorded before its first
-- statement, so a crash, a kill or a server restart in the middle leaves a trace.
CREATE TABLE IF NOT EXISTS dbkit.in_progress (
    revision text NOT NULL,
    phase text NOT NULL,
    direction text NOT NULL,
    statements_total integer NOT NULL,
    statements_done integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_by text NOT NULL DEFAULT current_user,
    CONSTRAINT pk_in_progress PRIMARY KEY (revision, direction)
);
