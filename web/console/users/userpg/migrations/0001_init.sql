CREATE TABLE console_users (
	id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	roles         TEXT NOT NULL,
	department    TEXT NOT NULL DEFAULT '',
	disabled      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at    TIMESTAMPTZ NOT NULL,
	updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE console_sessions (
	id_hash    TEXT PRIMARY KEY,
	user_id    BIGINT NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	ip         TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	seen_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);

CREATE TABLE console_throttle (
	key      TEXT PRIMARY KEY,
	count    INTEGER NOT NULL,
	first_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE console_audit (
	id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at     TIMESTAMPTZ NOT NULL,
	actor  TEXT NOT NULL DEFAULT '',
	action TEXT NOT NULL,
	target TEXT NOT NULL DEFAULT '',
	ip     TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX console_audit_actor ON console_audit(actor, id);
CREATE INDEX console_audit_target ON console_audit(target, id);

-- The audit log is append-only, enforced by the database itself.
CREATE FUNCTION console_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'console_audit is append-only';
END $$;
CREATE TRIGGER console_audit_no_change BEFORE UPDATE OR DELETE ON console_audit
	FOR EACH ROW EXECUTE FUNCTION console_audit_append_only();
