-- The audit log's head: its size and the peaks of its Merkle tree, one row. Each group of events
-- locks it to take its positions, so that every vault node appends to one log (AuditHead). The
-- vault creates the row at start-up from the events already stored.
create table audit_head (
    id         integer not null primary key,
    tree_size  bigint  not null,
    peaks      bytea   not null,
    updated_at timestamp with time zone not null
);
