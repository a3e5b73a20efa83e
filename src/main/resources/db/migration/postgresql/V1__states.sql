-- Statekeeper on PostgreSQL: the same contract as the file store (storage/StateRepository).
-- One row per state name (its revision counter survives deletes), one row per kept version
-- with its exact bytes and their SHA-256 (verified on every read), one row per lock.

CREATE TABLE states (
    name             text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
    -- the highest revision the name ever had: never reused, not after a delete
    last_revision    bigint      NOT NULL CHECK (last_revision >= 0),
    -- the committed version (a tombstone after DELETE); null before the first commit
    current_revision bigint
);

CREATE TABLE versions (
    name        text        NOT NULL REFERENCES states (name),
    revision    bigint      NOT NULL CHECK (revision >= 1),
    deleted     boolean     NOT NULL,
    -- the exact bytes the client sent (ciphertext with encryption at rest)
    body        bytea       NOT NULL,
    -- of the plaintext, hex: checked on every read, like a version file's header
    sha256      char(64)    NOT NULL,
    size        bigint      NOT NULL CHECK (size >= 0),
    updated_at  timestamptz NOT NULL,
    -- who wrote it: action, token, remote, the audit anchor (VersionHeader.Audit)
    audit       jsonb,
    PRIMARY KEY (name, revision)
);

CREATE TABLE locks (
    name        text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
    id          text        NOT NULL,
    info        bytea       NOT NULL,
    sha256      char(64)    NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
