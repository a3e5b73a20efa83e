-- The audit trail of every replica, as one hash chain (audit/AuditChain): each line is the
-- sealed JSON entry exactly as the file store writes it to audit.log, numbered by seq. A
-- replica extends the chain under the single audit_head row's lock, so two replicas can
-- never both append entry N: the chain never forks.

CREATE TABLE audit (
    seq  bigint PRIMARY KEY CHECK (seq >= 1),
    line text   NOT NULL
);

CREATE TABLE audit_head (
    id   int      PRIMARY KEY CHECK (id = 1),
    -- the newest entry's seq and hash (64 zeros before the first)
    seq  bigint   NOT NULL,
    hash char(64) NOT NULL
);

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));
