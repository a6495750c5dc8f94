-- One row per scheduled run (backup, restore drill) claimed by a node: every node of a cluster
-- fires the same cron, and only the node whose insert of the slot succeeds runs it (ScheduleSlots).
create table schedule_slot (
    job        varchar(32) not null,
    slot_at    timestamp with time zone not null,
    node       varchar(64) not null,
    claimed_at timestamp with time zone not null,
    primary key (job, slot_at)
);
