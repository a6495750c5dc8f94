-- The index: where each resource version's envelope is, and nothing clinical in clear.
-- Written for both H2 and PostgreSQL.

-- Key-encryption keys, wrapped by the root key (crypto KekRegistry).
create table kek_registry (
    kek_id           varchar(255) not null,
    version          integer      not null,
    root_key_version integer      not null,
    wrapped_key      bytea,
    created_at       timestamp with time zone not null,
    destroyed_at     timestamp with time zone,
    primary key (kek_id, version)
);

-- The opaque KEK id of each patient compartment (or '*' for the tenant's own key).
create table compartment_kek (
    tenant      varchar(64)  not null,
    compartment varchar(128) not null,
    kek_id      varchar(64)  not null unique,
    primary key (tenant, compartment)
);

-- Every version ever written; deleted versions have no object.
create table resource_version (
    tenant        varchar(64)  not null,
    resource_type varchar(64)  not null,
    resource_id   varchar(64)  not null,
    version_id    bigint       not null,
    object_key    varchar(128),
    deleted       boolean      not null,
    last_updated  timestamp with time zone not null,
    primary key (tenant, resource_type, resource_id, version_id)
);

-- The current version of each resource: the row optimistic concurrency is checked on.
create table resource_current (
    tenant        varchar(64)  not null,
    resource_type varchar(64)  not null,
    resource_id   varchar(64)  not null,
    version_id    bigint       not null,
    deleted       boolean      not null,
    last_updated  timestamp with time zone not null,
    compartment   varchar(128),
    primary key (tenant, resource_type, resource_id)
);
create index resource_current_updated on resource_current (tenant, resource_type, last_updated);
create index resource_current_compartment on resource_current (tenant, compartment);

-- Blind search tokens (HMAC of normalised values) of each current version.
create table search_token (
    tenant        varchar(64) not null,
    resource_type varchar(64) not null,
    resource_id   varchar(64) not null,
    param         varchar(64) not null,
    token         varchar(64) not null,
    primary key (tenant, resource_type, param, token, resource_id)
);
create index search_token_resource on search_token (tenant, resource_type, resource_id);
