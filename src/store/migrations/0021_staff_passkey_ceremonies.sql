-- A signed-in staff user adds a passkey to their account (docs/api/staff.md, "Your passkeys"): a third
-- kind of ceremony, `passkey` (ids sadd_...), which names the user it adds to and no invitation.
ALTER TABLE staff_ceremonies DROP CONSTRAINT staff_ceremonies_kind_check;
ALTER TABLE staff_ceremonies ADD CONSTRAINT staff_ceremonies_kind_check CHECK (kind IN ('enrollment', 'sign_in', 'passkey'));
ALTER TABLE staff_ceremonies ADD CONSTRAINT staff_ceremonies_passkey_id_check CHECK ((kind = 'passkey') = (id LIKE 'sadd\_%'));
ALTER TABLE staff_ceremonies ADD CONSTRAINT staff_ceremonies_passkey_user_check CHECK (kind <> 'passkey' OR user_id IS NOT NULL);
-- A user's active passkeys, for the list and the last-passkey check.
CREATE INDEX staff_passkeys_user_active ON staff_passkeys (user_id, created_at) WHERE revoked_at IS NULL;
