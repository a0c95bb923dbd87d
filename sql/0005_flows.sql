-- 0005_flows: the emailed tokens of verification, password reset,
-- change-email and delete-user.
--
-- A row of verifications is one token: its SHA-256 (value_hash, never
-- the token), what it is for (identifier: 'verify-email', 'reset-
-- password', 'change-email', 'delete-account'), whose it is, and for a
-- change of address the new one (data).  Its mail went to mail_outbox
-- (0004) in the same statement, sealed.
ALTER TABLE verifications
	ADD COLUMN user_id text REFERENCES users ON DELETE CASCADE,
	ADD COLUMN data text CHECK (octet_length(data) <= 254),
	ADD CONSTRAINT verifications_hash_len
	    CHECK (length(value_hash) = 32);

CREATE UNIQUE INDEX verifications_value_hash ON verifications (value_hash);
CREATE INDEX verifications_user_id ON verifications (user_id);
CREATE INDEX verifications_expires_at ON verifications (expires_at);
