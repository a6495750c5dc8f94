-- One identity for every node on this database: the origin of the audit checkpoints and the
-- issuer of the vault's tokens. The first node to start writes it; the others adopt it.
create table vault_identity (
    singleton  smallint primary key check (singleton = 1),
    vault_id   varchar(64) not null,
    created_at timestamp with time zone not null
);

-- The public keys of every node's token issuer, so that any node verifies a token another node
-- issued. Each row is authenticated by an HMAC under a key sealed by the root key (someone who
-- can only write to the database cannot add a key of theirs) and expires unless its node renews it.
create table issuer_key (
    key_id     varchar(64)   primary key,
    node_id    varchar(64)   not null,
    public_jwk varchar(4000) not null,
    expires_at timestamp with time zone not null,
    mac        varchar(64)   not null
);
