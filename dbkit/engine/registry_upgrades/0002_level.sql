-- Registry version 2: the rollback level of a history row, and the phase snapshots.
ALTER TABLE dbkit.history ADD COLUMN IF NOT EXISTS level text NOT NULL DEFAULT 'schema';
ALTER TABLE dbkit.history DROP CONSTRAINT IF EXISTS ck_history_level;
ALTER TABLE dbkit.history
    ADD CONSTRAINT ck_history_level CHECK (level IN ('schema', 'data', 'feature'));
CREATE TABLE IF NOT EXISTS dbkit.phase_snapshots (
    id bigint GENERATED ALWAYS AS IDENTITY,
    phase text NOT NULL,
    revision_before text,
    taken_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    tables jsonb NOT NULL,
    CONSTRAINT pk_phase_snapshots PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_phase_snapshots_phase ON dbkit.phase_snapshots (phase, id);
