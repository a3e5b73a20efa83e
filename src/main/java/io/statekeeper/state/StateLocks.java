package io.statekeeper.state;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.ApplicationEventPublisher;

import io.statekeeper.state.StateRegistry.StateEntry;
import io.statekeeper.storage.StateRepository;
import io.statekeeper.storage.StorageException;
import io.statekeeper.storage.StoredLock;

/**
 * The rules of client locks, kept under each state's writer lock so that a lock and a
 * write never cross:
 * <ul>
 * <li>A lock is taken, renewed, taken over and released only once the store has made it
 * durable.</li>
 * <li>A write without a lock id to a locked state is refused (423, with the holder). A
 * write naming a lock id that is not the current holder's is refused (409
 * {@code lock-not-held}), also when nothing is locked any more: a client that lost its
 * lock never writes. A write by the holder renews its lease.</li>
 * <li>Locking a state held by another id is refused (423) while the holder's lease runs;
 * after it ran out, the new client takes the lock over and the old id is fenced from then
 * on. The same id again is success (clients retry).</li>
 * <li>Unlocking with the holder's id releases; with another id is refused (409, nothing
 * released); without an id forces whatever lock is held; with nothing locked is
 * success.</li>
 * </ul>
 * Every event is counted ({@code statekeeper.locks{outcome}}) and published to the audit
 * trail.
 */
final class StateLocks {

	private static final Logger logger = LoggerFactory.getLogger(StateLocks.class);

	/** Lock information is audited up to this many characters. */
	private static final int AUDITED_INFO = 1024;

	private final StateRegistry registry;

	private final StateRepository repository;

	private final Clock clock;

	private final Duration lease;

	private final ApplicationEventPublisher events;

	private final Map<String, Counter> outcomes;

	private final Timer held;

	private final ConflictRetry retry;

	StateLocks(StateRegistry registry, StateRepository repository, Clock clock, Duration lease, MeterRegistry meters,
			ApplicationEventPublisher events, ConflictRetry retry) {
		this.retry = retry;
		this.registry = registry;
		this.repository = repository;
		this.clock = clock;
		this.lease = lease;
		this.events = events;
		this.outcomes = new java.util.LinkedHashMap<>();
		for (String outcome : new String[] { "acquired", "conflict", "released", "forced", "expired", "fenced" }) {
			this.outcomes.put(outcome, Counter.builder("statekeeper.locks")
				.description("Lock events: acquired, conflict (held by another), released, forced (unlock without "
						+ "an id), expired (taken over after its lease), fenced (a write or unlock by a lost lock)")
				.tag("outcome", outcome)
				.register(meters));
		}
		this.held = Timer.builder("statekeeper.locks.held.duration")
			.description("How long locks were held, from acquiring to release, force or takeover")
			.register(meters);
		Gauge.builder("statekeeper.locks.held", this, StateLocks::count)
			.description("States locked now")
			.register(meters);
		Gauge.builder("statekeeper.locks.expired", this, StateLocks::countExpired)
			.description("Locks held past their lease now (their holder may be gone)")
			.register(meters);
	}

	/** Start-up: the store's locks. */
	void load(Map<String, StoredLock> locks) {
		locks.forEach((name, lock) -> this.registry.entry(name).heldLock = lock);
		if (!locks.isEmpty()) {
			logger.info("Loaded {} locks", locks.size());
		}
	}

	private long count() {
		long[] count = { 0 };
		this.registry.forEach((name, entry) -> count[0] += (entry.heldLock != null) ? 1 : 0);
		return count[0];
	}

	private long countExpired() {
		Instant now = this.clock.instant();
		long[] count = { 0 };
		this.registry.forEach((name, entry) -> {
			StoredLock lock = entry.heldLock;
			count[0] += (lock != null && lock.expired(now)) ? 1 : 0;
		});
		return count[0];
	}

	/**
	 * A state's lock now, {@code null} if unlocked (read without waiting; with a shared
	 * store, read through to it).
	 */
	StoredLock current(String name) {
		if (this.repository.shared()) {
			StateEntry entry = this.registry.get(name);
			var now = this.repository.reload(name, (entry != null) ? entry.current.version() : null);
			return (now.lock() != null) ? this.registry.refresh(now, false).heldLock : null;
		}
		StateEntry entry = this.registry.get(name);
		return (entry != null) ? entry.heldLock : null;
	}

	/**
	 * Takes a state's writer lock for a lock change; with a shared store, reads the
	 * state's lock through to it (another replica may have changed it).
	 */
	private StateEntry lockEntry(String name) {
		StateEntry entry = this.registry.lock(name);
		try {
			if (this.repository.shared()) {
				this.registry.refresh(this.repository.reload(name, entry.current.version()), true);
			}
			return entry;
		}
		catch (RuntimeException ex) {
			entry.lock.unlock();
			throw ex;
		}
	}

	/**
	 * What lease times are judged by: a shared store's clock as last read (under the
	 * writer lock, just read through), else the service's.
	 */
	private Instant now(StateEntry entry) {
		Instant store = entry.storeNow;
		return (this.repository.shared() && store != null) ? store : this.clock.instant();
	}

	/**
	 * Whether a write may go ahead; the caller holds the entry's writer lock.
	 * @throws StateProblemException 423 or 409 if not
	 */
	void admitWrite(StateEntry entry, String name, String lockId) {
		StoredLock lock = entry.heldLock;
		if (lockId == null) {
			if (lock != null) {
				this.outcomes.get("conflict").increment();
				throw locked(name, lock);
			}
			return;
		}
		if (lock == null || !lock.id().equals(lockId)) {
			throw fenced(name, lockId, lock, "write");
		}
	}

	/**
	 * After a write by the holder: its lease starts again. The write is acknowledged
	 * whatever happens here; a renewal the store refused leaves the old lease.
	 */
	void renewAfterWrite(StateEntry entry, String name) {
		StoredLock lock = entry.heldLock;
		if (lock == null) {
			return;
		}
		try {
			StoredLock renewed = lock.renewedUntil(now(entry).plus(this.lease));
			this.repository.writeLock(renewed, lock.id());
			entry.heldLock = renewed;
		}
		catch (StorageException ex) {
			logger.warn("The lease of the lock of '{}' was not renewed: {}", name, ex.getMessage());
		}
	}

	/**
	 * Takes a state's lock.
	 * @return the lock now held by {@code id}
	 * @throws StateProblemException 423 if another client holds it and its lease runs
	 */
	StoredLock acquire(String name, String id, byte[] info) {
		return this.retry.run(() -> acquireOnce(name, id, info));
	}

	private StoredLock acquireOnce(String name, String id, byte[] info) {
		StateEntry entry = lockEntry(name);
		try {
			StoredLock lock = entry.heldLock;
			Instant now = now(entry);
			String seen = (lock != null) ? lock.id() : null;
			if (lock != null && lock.id().equals(id)) {
				StoredLock renewed = lock.renewedUntil(now.plus(this.lease));
				this.repository.writeLock(renewed, seen);
				entry.heldLock = renewed;
				return renewed;
			}
			if (lock != null && !lock.expired(now)) {
				this.outcomes.get("conflict").increment();
				throw locked(name, lock);
			}
			StoredLock taken = new StoredLock(name, id, info, now, now.plus(this.lease));
			this.repository.writeLock(taken, seen);
			entry.heldLock = taken;
			if (lock != null) {
				this.outcomes.get("expired").increment();
				heldUntil(lock, now);
				logger.warn("Lock of '{}' taken over by {}: the lease of {} ran out at {}; that id is fenced from now",
						name, id, lock.id(), lock.expiresAt());
				publish("lock", name, "success", "took over the expired lock " + describe(lock));
			}
			else {
				this.outcomes.get("acquired").increment();
				publish("lock", name, "success", "locked by " + describe(taken));
			}
			return taken;
		}
		finally {
			entry.lock.unlock();
		}
	}

	/**
	 * Releases a state's lock, or forces it.
	 * @param id the holder's id, or {@code null} to force whatever lock is held
	 * @return the lock that was released, {@code null} if the state was not locked
	 * @throws StateProblemException 409 if {@code id} is not the holder's
	 */
	StoredLock release(String name, String id) {
		return this.retry.run(() -> releaseOnce(name, id));
	}

	private StoredLock releaseOnce(String name, String id) {
		StateEntry entry = lockEntry(name);
		try {
			StoredLock lock = entry.heldLock;
			if (lock == null) {
				return null;
			}
			if (id != null && !lock.id().equals(id)) {
				throw fenced(name, id, lock, "unlock");
			}
			this.repository.deleteLock(name, lock.id());
			entry.heldLock = null;
			heldUntil(lock, now(entry));
			if (id == null) {
				this.outcomes.get("forced").increment();
				logger.warn("Lock of '{}' forced: removed {}", name, describe(lock));
				publish("force-unlock", name, "success", "removed the lock " + describe(lock));
			}
			else {
				this.outcomes.get("released").increment();
				publish("unlock", name, "success", "released the lock " + lock.id());
			}
			return lock;
		}
		finally {
			entry.lock.unlock();
		}
	}

	private void heldUntil(StoredLock lock, Instant end) {
		this.held.record(Math.max(0, Duration.between(lock.acquiredAt(), end).toMillis()), TimeUnit.MILLISECONDS);
	}

	private StateProblemException fenced(String name, String id, StoredLock lock, String what) {
		this.outcomes.get("fenced").increment();
		logger.warn("Refused a {} of '{}' by lock {}: {}", what, name, id,
				(lock != null) ? "the state is locked by " + lock.id() : "the state is not locked");
		publish(what.equals("write") ? "lock-check" : "unlock", name, "rejected",
				"lock-not-held: " + id + ((lock != null) ? " (held by " + lock.id() + ")" : " (not locked)"));
		return new LockProblemException(StateProblem.LOCK_NOT_HELD,
				"The lock " + id + " is not the lock of '" + name + "'"
						+ ((lock != null) ? "; it is locked by " + lock.id() : "; it is not locked")
						+ ". A client whose lock was forced or taken over must lock again",
				lock);
	}

	static StateProblemException locked(String name, StoredLock lock) {
		return new LockProblemException(StateProblem.LOCKED,
				"'" + name + "' is locked by " + lock.id() + " (lease until " + lock.expiresAt() + ")", lock);
	}

	private void publish(String action, String name, String outcome, String reason) {
		this.events.publishEvent(new StateWriteEvent(action, name, 0, null, outcome, reason));
	}

	private static String describe(StoredLock lock) {
		String info = new String(lock.info(), StandardCharsets.UTF_8);
		if (info.length() > AUDITED_INFO) {
			info = info.substring(0, AUDITED_INFO) + "…";
		}
		return lock.id() + " " + info;
	}

}
