-- A resource's tokens, looked up for a list of resources at once (the candidates of a date or
-- string search, whose tokens are compared after the query): with the id first, H2 probes the
-- index once per id of an "in (...)" list; with (tenant, resource_type) first it read every token
-- of the type for each such lookup. Every other use of the index is by equality on all of its
-- columns, for which the order does not matter.
drop index search_token_resource;
create index search_token_resource on search_token (resource_id, tenant, resource_type, param);
