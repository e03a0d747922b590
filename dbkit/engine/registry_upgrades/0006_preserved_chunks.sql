-- Registry version 6: a preserved table's content digest per key range (O(chunks) rows), in
-- place of one md5 per row in dbkit.preserved_rows (kept, read only for older snapshots).
CREATE TABLE IF NOT EXISTS dbkit.preserved_chunks (
    snapshot_id bigint NOT NULL,
    relation text NOT NULL,
    chunk integer NOT NULL,
    low_key jsonb,
    high_key jsonb,
    row_count bigint NOT NULL,
    digest numeric NOT NULL,
    CONSTRAINT pk_preserved_chunks PRIMARY KEY (snapshot_id, relation, chunk),
    CONSTRAINT fk_preserved_chunks_snapshot FOREIGN KEY (snapshot_id)
        REFERENCES dbkit.phase_snapshots (id) ON DELETE CASCADE
);
