-- One holder at a time across vault instances (backup runs, retention, restore drills): see JdbcLock.
create table vault_lock (
    name         varchar(64)  not null primary key,
    locked_until timestamp with time zone not null,
    locked_at    timestamp with time zone not null,
    locked_by    varchar(255) not null
);

-- Restore drill reports (JSON), kept as evidence that backups restore.
create table restore_drill (
    id          varchar(64) not null primary key,
    started_at  timestamp with time zone not null,
    finished_at timestamp with time zone,
    status      varchar(16) not null,
    backup_id   varchar(64),
    report      text
);
create index restore_drill_started on restore_drill (started_at);
