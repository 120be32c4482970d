-- The staff audit log is written ahead (docs/api/staff.md, "Audit log"): a change's event is inserted
-- with outcome `unknown` before the change runs and completed with its status when the answer leaves,
-- so a process killed in between leaves an `unknown` event, never a change without one.
ALTER TABLE staff_audit_events DROP CONSTRAINT staff_audit_events_outcome_check;
ALTER TABLE staff_audit_events ADD CONSTRAINT staff_audit_events_outcome_check CHECK (outcome IN ('succeeded', 'refused', 'failed', 'unknown'));
ALTER TABLE staff_audit_events ALTER COLUMN status_code DROP NOT NULL;
ALTER TABLE staff_audit_events ADD CONSTRAINT staff_audit_events_status_check CHECK ((outcome = 'unknown') = (status_code IS NULL));
