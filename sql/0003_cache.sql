-- 0003_cache: what the session caches of certaos-db need to hear.
--
-- Every certaos-db keeps the sessions it answered for in memory, keyed
-- by token hash, and drops an entry when it hears that the row changed:
-- "certaos_sessions" (the hex of the token hash, 0002) and
-- "certaos_users" (the user id, here).  A change nobody announces would
-- be served stale, so the rule is: announce every change except the one
-- a cache may miss, a renewal that only pushes the expiry later.

-- A session changed in any other way: its owner, its token, what the
-- record shows, an expiry brought forward (into the past, or only
-- nearer, as by an instance with a shorter "session lifetime"), or a
-- last renewal moved back (due again sooner).  This replaces 0002's
-- trigger, which announced only an expiry moved into the past.
DROP TRIGGER sessions_notify_expire ON sessions;

CREATE TRIGGER sessions_notify_update AFTER UPDATE ON sessions
    FOR EACH ROW
    WHEN (NEW.expires_at < OLD.expires_at OR
	NEW.updated_at < OLD.updated_at OR
	to_jsonb(OLD) - 'expires_at' - 'updated_at' IS DISTINCT FROM
	to_jsonb(NEW) - 'expires_at' - 'updated_at')
    EXECUTE FUNCTION certaos_sessions_notify();

-- A user changed (a ban, a role, a name) or went away: every cached
-- session of that user carries the old user object.
CREATE FUNCTION certaos_users_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('certaos_users', OLD.id);
	RETURN NULL;
END;
$$;

CREATE TRIGGER users_notify_update AFTER UPDATE ON users
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION certaos_users_notify();

CREATE TRIGGER users_notify_delete AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION certaos_users_notify();
