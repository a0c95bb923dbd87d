-- 0004_mail: the outbox.  Every mail the daemon sends is a row here
-- first; certaos-mail delivers it and records the outcome.  The message
-- itself is sealed by certaos-keys (recipient, template and variables,
-- AES-256-GCM): the links it carries hold tokens, which the database
-- must not see in clear.  recipient and template are repeated in clear
-- for the operator (certaosctl mail queue).
--
-- A row is pending while sent_at and failed_at are both NULL; it is due
-- when next_attempt has come and no lease holds it.  A delivering daemon
-- takes rows with a lease (UPDATE ... FOR UPDATE SKIP LOCKED), so that
-- several daemons on one database never send one row twice, and a row
-- whose daemon died is taken again when its lease ends.  Rows are never
-- deleted by delivery: a failed one stays for the operator.

CREATE TABLE mail_outbox (
	id		bigserial PRIMARY KEY,
	recipient	text NOT NULL,
	template	text NOT NULL,
	sealed		bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	attempts	integer NOT NULL DEFAULT 0,
	next_attempt	timestamptz NOT NULL DEFAULT now(),
	lease_until	timestamptz,
	sent_at		timestamptz,
	failed_at	timestamptz,
	last_error	text
);

-- The due query and the queue listing look at pending rows only.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_unsent ON mail_outbox (id)
    WHERE sent_at IS NULL;

-- A new row: every daemon's certaos-db hears it and tells its mail
-- process, which delivers at once instead of at its next poll.  Flows
-- that queue mail need do nothing more than INSERT.
CREATE FUNCTION certaos_mail_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('certaos_mail', '');
	RETURN NULL;
END;
$$;

CREATE TRIGGER mail_outbox_notify AFTER INSERT ON mail_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION certaos_mail_notify();
