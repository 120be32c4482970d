-- Which claim of the payout dispatcher holds a payout (docs/api/payouts.md, "Who talks to the bank").
-- A claim writes a fresh random token with its lease (locked_until); every later write of that claim
-- (renewing the lease just before a bank request, recording an answer, releasing the payout) applies
-- only while the token is still the one it wrote. A claim whose lease ran out and was taken by another
-- dispatcher finds another token there: it sends nothing more and changes nothing. NULL when no claim
-- holds the payout (rows from before this column existed, like released ones).
ALTER TABLE payouts ADD COLUMN lease_token text;
