-- The state of each indexed token parameter of each type (index.ParameterIndexer): a parameter
-- added, or whose definition changed, is built in the background from the stored records while
-- the vault serves; searches on it answer 400 until its state is 'ready'. One row per tenant,
-- type and parameter; resume_after is the last resource id done, so a restart resumes there.
create table search_param (
    tenant        varchar(64)  not null,
    resource_type varchar(64)  not null,
    param         varchar(64)  not null,
    definition    varchar(1000) not null,
    state         varchar(16)  not null,
    resume_after  varchar(64),
    indexed       bigint       not null,
    updated_at    timestamp with time zone not null,
    primary key (tenant, resource_type, param)
);

-- identifier and code were indexed by every earlier version, at Type.identifier and Type.code:
-- ready, under the definition 'baseline' that the indexer reads as exactly that.
insert into search_param (tenant, resource_type, param, definition, state, indexed, updated_at)
    select distinct tenant, resource_type, 'identifier', 'baseline', 'ready', 0, current_timestamp from resource_current;
insert into search_param (tenant, resource_type, param, definition, state, indexed, updated_at)
    select distinct tenant, resource_type, 'code', 'baseline', 'ready', 0, current_timestamp from resource_current;
