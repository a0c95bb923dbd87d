-- 0006_invites: invitations (certaosctl user invite) and the attributes
-- they give the users who redeem them.
--
-- An invitation is for one address, with the role and attributes its
-- user gets.  Its link carries a token of which only the SHA-256 is kept
-- (token_hash).  It is pending until it is redeemed (redeemed_at, by
-- user_id) or expires; a redeemed or expired row stays, for the record.
CREATE TABLE invitations (
	id		text PRIMARY KEY DEFAULT certaos_id(),
	email		text NOT NULL CHECK (email = lower(email))
			    CHECK (octet_length(email) BETWEEN 1 AND 254),
	role		text NOT NULL CHECK (octet_length(role) BETWEEN 1 AND 64),
	attributes	jsonb NOT NULL DEFAULT '{}'
			    CHECK (jsonb_typeof(attributes) = 'object'),
	token_hash	bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	redeemed_at	timestamptz,
	user_id		text REFERENCES users ON DELETE SET NULL
);

-- the pending invitation of an address is looked up at each sign-up
CREATE INDEX invitations_pending ON invitations (email, created_at)
	WHERE redeemed_at IS NULL;

-- what invitations (or, later, the admin API) set on a user; Better Auth
-- keeps such "additional fields" as columns of its own
ALTER TABLE users
	ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'
	    CHECK (jsonb_typeof(attributes) = 'object');
