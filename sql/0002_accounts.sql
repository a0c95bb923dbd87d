-- 0002_accounts: users, their accounts, sessions, verifications and the
-- audit log, in Better Auth's model (snake_case).
--
-- What certaos-db copies into its messages has a bound (lib/certaos.h,
-- CERTAOS_MAX_*); the CHECKs below say the same, so that a row the daemon
-- could not carry cannot be written in the first place, by anybody.
-- Secrets are stored hashed: sessions keep the SHA-256 of their token,
-- never the token.

-- Row ids: 32 lower-case hex digits.
CREATE FUNCTION certaos_id() RETURNS text
    LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
	SELECT replace(gen_random_uuid()::text, '-', '')
$$;

CREATE TABLE users (
	id		text PRIMARY KEY DEFAULT certaos_id()
			    CHECK (octet_length(id) BETWEEN 1 AND 64),
	name		text NOT NULL CHECK (octet_length(name) <= 256),
	-- always lower case: the unique index is the case-insensitive one
	email		text NOT NULL UNIQUE
			    CHECK (email = lower(email))
			    CHECK (octet_length(email) BETWEEN 1 AND 254),
	email_verified	boolean NOT NULL DEFAULT false,
	image		text CHECK (octet_length(image) <= 2048),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	role		text NOT NULL DEFAULT 'user'
			    CHECK (octet_length(role) <= 64),
	banned		boolean NOT NULL DEFAULT false,
	ban_reason	text CHECK (octet_length(ban_reason) <= 512),
	ban_expires	timestamptz,
	two_factor_enabled boolean NOT NULL DEFAULT false
);

-- Credentials and linked providers.  A credential account has provider
-- 'credential' and the user's id as its account_id, as in Better Auth;
-- its password is an encoded argon2id, or an imported Better Auth scrypt
-- "salt:key".
CREATE TABLE accounts (
	id		text PRIMARY KEY DEFAULT certaos_id(),
	account_id	text NOT NULL,
	provider_id	text NOT NULL,
	user_id		text NOT NULL REFERENCES users ON DELETE CASCADE,
	password	text,
	access_token	text,
	refresh_token	text,
	id_token	text,
	access_token_expires_at timestamptz,
	refresh_token_expires_at timestamptz,
	scope		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (provider_id, account_id),
	CHECK (provider_id <> 'credential' OR account_id = user_id)
);

CREATE INDEX accounts_user_id ON accounts (user_id);

-- A session is found by the SHA-256 of its token.  lifetime (seconds) is
-- what the sliding expiry renews to (now() + lifetime), so that a short
-- (rememberMe false) session stays short.
CREATE TABLE sessions (
	id		text PRIMARY KEY DEFAULT certaos_id(),
	token_hash	bytea NOT NULL UNIQUE
			    CHECK (length(token_hash) = 32),
	user_id		text NOT NULL REFERENCES users ON DELETE CASCADE,
	expires_at	timestamptz NOT NULL,
	lifetime	integer NOT NULL CHECK (lifetime > 0),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	ip_address	text NOT NULL DEFAULT ''
			    CHECK (octet_length(ip_address) <= 64),
	user_agent	text NOT NULL DEFAULT ''
			    CHECK (octet_length(user_agent) <= 512)
);

CREATE INDEX sessions_user_id ON sessions (user_id);

-- Email verification, password reset and the like (used later); the
-- value is stored hashed.
CREATE TABLE verifications (
	id		text PRIMARY KEY DEFAULT certaos_id(),
	identifier	text NOT NULL,
	value_hash	bytea NOT NULL,
	expires_at	timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX verifications_identifier ON verifications (identifier);

-- What happened to whom.  user_id is no foreign key: the trail outlives
-- the user.
CREATE TABLE audit_log (
	id		bigserial PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	user_id		text,
	email		text,
	ip		text,
	user_agent	text,
	event		text NOT NULL,
	outcome		text NOT NULL,
	detail		text
);

CREATE INDEX audit_log_user_at ON audit_log (user_id, at);
CREATE INDEX audit_log_at ON audit_log (at);

-- A session that ends (deleted, by sign-out, by its user's deletion or by
-- the sweep, or expired by an update) is announced on "certaos_sessions"
-- with the hex of its token hash, so that session caches, ours and other
-- instances', drop it.
CREATE FUNCTION certaos_sessions_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('certaos_sessions', encode(OLD.token_hash, 'hex'));
	RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_notify_delete AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION certaos_sessions_notify();

CREATE TRIGGER sessions_notify_expire AFTER UPDATE OF expires_at ON sessions
    FOR EACH ROW
    WHEN (NEW.expires_at <= now() AND OLD.expires_at > now())
    EXECUTE FUNCTION certaos_sessions_notify();
