-- 0001_init: signing keys.
--
-- One row per JWKS key.  The private key is sealed (AES-256-GCM) by
-- certaos-keys before it gets here; the db process never sees it in clear.
-- At most one current (not rotated) key per algorithm: when two instances
-- generate keys at once, the partial unique index picks one winner.

CREATE TABLE jwks (
	kid		text PRIMARY KEY,
	alg		text NOT NULL,
	public_jwk	text NOT NULL,
	private_sealed	bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	rotated_at	timestamptz
);

CREATE UNIQUE INDEX jwks_current_alg ON jwks (alg)
    WHERE rotated_at IS NULL;

-- Every change is announced on the channel "certaos_jwks" with the kid as
-- payload, so that every instance sharing the database reloads its keys.
CREATE FUNCTION certaos_jwks_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('certaos_jwks', OLD.kid);
	ELSE
		PERFORM pg_notify('certaos_jwks', NEW.kid);
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER jwks_notify AFTER INSERT OR UPDATE OR DELETE ON jwks
    FOR EACH ROW EXECUTE FUNCTION certaos_jwks_notify();
