package io.statekeeper.storage;

/**
 * A verified version: its header and, when loaded, its exact body bytes. The body array
 * is never modified after construction; callers must not modify it either.
 *
 * @param header the header
 * @param body the body bytes, or {@code null} when only verified
 */
public record StoredVersion(VersionHeader header, byte[] body) {

}
