-- SMART Backend Services clients (BackendClients): registered by an operator with their public
-- keys (a JWK set, or the URL where the client publishes it) and the system/ scopes they may be
-- granted. A client is disabled, never deleted: the audit trail names it.
create table backend_client (
    client_id     varchar(128)  not null primary key,
    jwks          varchar(16000),
    jwks_url      varchar(2000),
    scopes        varchar(2000) not null,
    registered_at timestamp with time zone not null,
    registered_by varchar(255)  not null,
    disabled_at   timestamp with time zone
);
-- Client assertions already used (AssertionReplays), kept until they expire: a jti is accepted
-- once across every node of the vault. The primary key is the check.
create table client_assertion_use (
    client_id  varchar(128) not null,
    jti        varchar(255) not null,
    expires_at timestamp with time zone not null,
    primary key (client_id, jti)
);
create index client_assertion_use_expires on client_assertion_use (expires_at);
