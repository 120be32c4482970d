-- Which merchant's pages a buyer session was opened on (docs/wallet.md, "Which sessions get the wallet's
-- reach"). A merchant may sign a buyer in with a one-time code from its own pages, so its JavaScript
-- holds the token: such a session is bound to that merchant and refused with any other merchant's key
-- (publishable keys are public). NULL for a session opened by a passkey ceremony (WebAuthn's origin check
-- keeps those on Micropay's own pages) or through the wallet key, and for sessions opened before this
-- column existed (they keep the behaviour they had).
ALTER TABLE buyer_sessions ADD COLUMN merchant_id text;

-- Who asked for a one-time code: the merchant of the key, and whether that key was the platform's wallet
-- key. A sign-in code is verified only through a key of the same merchant and the same wallet-ness, so
-- a code requested on a merchant's page cannot open a wallet session (or another merchant's). Codes
-- recorded before this column existed have no merchant and no longer sign in (the buyer asks again).
ALTER TABLE buyer_codes ADD COLUMN merchant_id text;
ALTER TABLE buyer_codes ADD COLUMN wallet boolean NOT NULL DEFAULT false;
