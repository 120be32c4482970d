-- Whether a buyer session was opened through the platform's wallet key (docs/wallet.md, "Buyer-wide or
-- one merchant"). Only such a session reaches the buyer's purchases at every merchant: a merchant's page
-- holds the tokens of the sessions it opened, and the wallet key is public, so a session opened with a
-- merchant's key must never gain the wallet's reach by being sent with the wallet key. Sessions opened
-- before this column existed count as a merchant's (the wallet asks them to sign in again).
ALTER TABLE buyer_sessions ADD COLUMN wallet boolean NOT NULL DEFAULT false;
