-- FHIR Bulk Data exports (bulk.ExportJobs): a job in the shared database, so that any node
-- answers its status and a node that dies mid-export leaves it to another (the lease).
create table export_job (
    job_id           varchar(64)   not null primary key,
    owner_key        varchar(600)  not null,
    requester        varchar(255)  not null,
    client_id        varchar(128),
    request_json     varchar(64000) not null,
    request_url      varchar(8000) not null,
    kek_id           varchar(64)   not null,
    status           varchar(16)   not null,
    transaction_time timestamp with time zone not null,
    created_at       timestamp with time zone not null,
    finished_at      timestamp with time zone,
    expires_at       timestamp with time zone,
    lease_owner      varchar(128),
    lease_until      timestamp with time zone,
    resume_type      varchar(64),
    resume_after_id  varchar(64),
    resources        bigint        not null,
    error            varchar(2000),
    polled_at        timestamp with time zone
);
create index export_job_status on export_job (status);

-- Each file an export wrote, sealed in the object store under the job's own key. Written with the
-- job's resume point in one transaction: a resumed export starts after its last file.
create table export_file (
    job_id        varchar(64)  not null,
    seq           integer      not null,
    resource_type varchar(64)  not null,
    kind          varchar(8)   not null,
    object_key    varchar(128) not null,
    resources     bigint       not null,
    sha256        varchar(64)  not null,
    primary key (job_id, seq)
);

-- The patients whose data an export holds: each gets one AuditEvent naming the client.
create table export_patient (
    job_id      varchar(64)  not null,
    compartment varchar(128) not null,
    primary key (job_id, compartment)
);

-- The patients an import (bulk.NdjsonImport; one CLI run, sent in parts) wrote data for: each gets
-- one AuditEvent per import, whichever part brought its first resource.
create table import_patient (
    import_id   varchar(64)  not null,
    compartment varchar(128) not null,
    primary key (import_id, compartment)
);
