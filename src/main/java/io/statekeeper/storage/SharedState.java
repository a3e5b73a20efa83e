package io.statekeeper.storage;

import java.time.Instant;

/**
 * One state as a store that replicas share has it now (see
 * {@link StateRepository#shared()}): what a replica reads through to before it serves or
 * writes the state, since another replica may have changed it.
 *
 * @param state the state: its current version (verified), revision counter and condition
 * @param lock its client lock, {@code null} if it is not locked
 * @param now the store's clock when this was read: the one clock every replica judges
 * lock leases by
 */
public record SharedState(LoadedState state, StoredLock lock, Instant now) {

}
