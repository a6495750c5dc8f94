-- Retention: events older than the retention period are deleted in whole checkpointed ranges.
-- The tree's peaks at the pruning point let the log, and its verification, continue; their
-- fold must equal the signed checkpoint of that size.
create table audit_prune (
    tree_size bigint not null primary key,
    peaks     bytea  not null,
    pruned_at timestamp with time zone not null
);
