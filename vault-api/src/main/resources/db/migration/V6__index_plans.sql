-- Indexes the queries need to keep index-backed plans as the index grows (PostgresPlansTest):
-- type history by time (_since, _at) walks versions by last_updated instead of reading every
-- version of the type; a resource's tokens of one parameter (the exists / not exists clauses of
-- a search, :missing) are found in the index alone.
create index resource_version_updated on resource_version (tenant, resource_type, last_updated);
drop index search_token_resource;
create index search_token_resource on search_token (tenant, resource_type, resource_id, param);
-- The audit trail searched by entity (AuditEvent?entity=) reads that entity's events only.
create index audit_event_entity on audit_event (entity_token, recorded_at);
