-- The gate of a ledger batch written by one statement on its own, outside BEGIN ... COMMIT (a batch
-- decided ahead of the lock, docs/ledger.md "A batch written alone"). The statement calls it before any
-- of its parts writes: it takes the ledger lock (the same advisory lock a batch's transaction takes at
-- BEGIN), bounds the statement's later lock waits, then locks the head row, and raises a serialization
-- failure (SQLSTATE 40001) when the head is no longer the one the batch was decided from. Raising
-- undoes the whole statement, the parts that ran before it included; the batch is then redone in a
-- transaction under the lock.
CREATE FUNCTION ledger_enter(expected uuid, lock_key bigint, lock_timeout_ms integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(lock_key);
  PERFORM set_config('lock_timeout', lock_timeout_ms || 'ms', true);
  SELECT seq INTO head_seq FROM ledger_head WHERE token = expected FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the ledger head moved since this batch was decided' USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN head_seq;
END
$$;
