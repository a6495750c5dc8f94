-- Search results kept between pages, for any node (DatabasePaging): the matches sealed under the
-- paging KEK, the SHA-256 of the grants that may read them, and when they expire.
create table search_result (
    id         varchar(36)  not null primary key,
    owner      varchar(64)  not null,
    kind       varchar(32)  not null,
    page_size  integer,
    created_at timestamp with time zone not null,
    expires_at timestamp with time zone not null,
    matches    bytea        not null
);
create index search_result_expires on search_result (expires_at);
