-- The audit trail: one row per AuditEvent, a leaf of an append-only Merkle tree (RFC 9162).
-- The event itself is sealed under the audit KEK; the searchable columns hold no clinical value
-- (HMAC tokens, codes). Every column below is covered by the leaf hash (docs/audit.md).
create table audit_event (
    seq           bigint      not null primary key,
    recorded_at   timestamp with time zone not null,
    action        varchar(1)  not null,
    outcome       integer     not null,
    subtype       varchar(32) not null,
    agent_token   varchar(64),
    patient_token varchar(64),
    entity_token  varchar(64),
    envelope      bytea       not null,
    leaf_hash     bytea       not null
);
create index audit_event_patient on audit_event (patient_token, recorded_at);
create index audit_event_agent on audit_event (agent_token, recorded_at);
create index audit_event_recorded on audit_event (recorded_at);

-- Signed checkpoints (C2SP signed notes) of the tree; also written to the audit bucket.
create table audit_checkpoint (
    tree_size  bigint not null primary key,
    root_hash  bytea  not null,
    note       text   not null,
    created_at timestamp with time zone not null
);
