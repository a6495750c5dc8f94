-- Where each alert sink (SIEM syslog, webhook) stands in the audit trail: the position and time
-- of the last alert it received. Alerts are AuditEvents; the sinks are fed from the trail, so an
-- alert raised while a sink is down, or before a restart, is delivered later (docs/detection.md).
create table alert_delivery (
    sink          varchar(32) not null primary key,
    delivered_seq bigint      not null,
    delivered_at  timestamp with time zone not null,
    updated_at    timestamp with time zone not null
);
