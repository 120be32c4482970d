-- Step-ups by payment: the risk engine's decision history (training, back-tests) joins each payment
-- decision to its step-ups, and a payment's step-ups are read by payment; without this index each
-- such lookup scanned the whole table. The risk metrics read a window of step-ups by mode and time.
CREATE INDEX checkout_authentications_payment ON checkout_authentications (payment_id);
CREATE INDEX checkout_authentications_time ON checkout_authentications (livemode, created_at);
