-- Encryption at rest (statekeeper.encryption.*), as in a version file's header: with a key,
-- body holds nonce + AES-256-GCM ciphertext, sha256/size are of those stored bytes (checked
-- on every read, before decrypting) and plain_sha256/plain_size of the state itself (checked
-- after decrypting). Without a key the three new columns stay null and sha256/size are of
-- the state itself, as before.

ALTER TABLE versions
    ADD COLUMN key          text,
    ADD COLUMN plain_sha256 char(64),
    ADD COLUMN plain_size   bigint CHECK (plain_size >= 0),
    ADD CONSTRAINT versions_encrypted_whole CHECK (
        (key IS NULL AND plain_sha256 IS NULL AND plain_size IS NULL)
        OR (key IS NOT NULL AND plain_sha256 IS NOT NULL AND plain_size IS NOT NULL));

COMMENT ON COLUMN versions.sha256 IS 'SHA-256 (hex) of body as stored; see plain_sha256 when key is set';
