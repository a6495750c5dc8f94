-- The candidates' tokens, read by id after a date or string search's query, are all in the
-- by-id index once it holds the token too: H2 and PostgreSQL answer from the index alone instead
-- of fetching every row from the table. Without the token, H2 often judged the primary key
-- (tenant, resource_type, param, ...) cheaper and read every token of the parameter for the
-- type, comparing each against the list of ids: 17 ms a search for one patient's observations
-- in the US Core benchmark, against 2.6 ms with this index (docs/performance.md).
drop index search_token_resource;
create index search_token_resource on search_token (resource_id, tenant, resource_type, param, token);
