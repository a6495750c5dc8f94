-- The detection rules count an agent's recent events by outcome (refusals) and by patient
-- (distinct patients, bulk exports and imports aside): with these in the agent's index, the counts are read from the index alone,
-- however many events of other outcomes the agent has, instead of from every event of its window
-- (docs/detection.md). The agent's AuditEvent searches use it as they used the index it replaces.
-- A new name, created if missing, so that it can be built beforehand with CREATE INDEX
-- CONCURRENTLY on a large trail without blocking the audit writer (docs/deploy.md, "Rolling update").
create index if not exists audit_event_agent_outcome on audit_event (agent_token, recorded_at, outcome, patient_token, subtype);
drop index if exists audit_event_agent;
