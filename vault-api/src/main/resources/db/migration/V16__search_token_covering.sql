-- The candidates' tokens, read by id after a date or string search's query, are all in the
-- by-id index once it holds the token too: H2 and PostgreSQL answer from the index alone instead
-- of fetching every row from the table. Without the token, H2 often judged the primary key
-- (tenant, resource_type, param, ...) cheaper and read every token of the parameter for the
-- type, comparing each against the list of ids: 17 ms a search for one patient's observations
-- in the US Core benchmark, against 2.6 ms with this index (docs/performance.md).
-- A new name, created if missing, so that a large PostgreSQL index can be built beforehand with
-- CREATE INDEX CONCURRENTLY, without blocking writes (docs/deploy.md, "Rolling update"); then
-- this migration only drops the index it replaces.
create index if not exists search_token_by_id on search_token (resource_id, tenant, resource_type, param, token);
drop index if exists search_token_resource;
