-- Registry version 3: row hashes of the tables a phase declared preserved.
CREATE TABLE IF NOT EXISTS dbkit.preserved_rows (
    snapshot_id bigint NOT NULL,
    relation text NOT NULL,
    row_hash text NOT NULL,
    CONSTRAINT fk_preserved_rows_snapshot FOREIGN KEY (snapshot_id)
        REFERENCES dbkit.phase_snapshots (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_preserved_rows_snapshot
    ON dbkit.preserved_rows (snapshot_id, relation);
