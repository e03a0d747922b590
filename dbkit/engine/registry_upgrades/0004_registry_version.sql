-- Registry version 4: the registry says its own version; a run stopped by a signal is
-- recorded as 'interrupted'; every registry column carries a comment.
CREATE TABLE IF NOT EXISTS dbkit.registry (
    version integer NOT NULL,
    upgraded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    dbkit_version text NOT NULL,
    CONSTRAINT pk_registry PRIMARY KEY (version)
);
ALTER TABLE dbkit.history DROP CONSTRAINT IF EXISTS ck_history_outcome;
ALTER TABLE dbkit.history ADD CONSTRAINT ck_history_outcome
    CHECK (outcome IN ('success', 'failed', 'interrupted'));
