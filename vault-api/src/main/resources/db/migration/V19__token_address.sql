-- The client addresses each bearer token was used from, as keyed hashes of the token's jti and of
-- the address (the detection rule token-addresses, docs/detection.md): one row per token and
-- address, written the first time a node sees the pair, so that every node counts the addresses
-- of a token; rows older than the longest token lifetime are deleted by the detector.
create table token_address (
    token_hash   varchar(64) not null,
    address_hash varchar(64) not null,
    first_seen   timestamp with time zone not null,
    primary key (token_hash, address_hash)
);
create index token_address_seen on token_address (first_seen);
