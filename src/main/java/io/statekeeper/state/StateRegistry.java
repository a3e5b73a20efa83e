package io.statekeeper.state;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;

import io.statekeeper.storage.LoadedState;
import io.statekeeper.storage.LoadedState.Condition;
import io.statekeeper.storage.SharedState;
import io.statekeeper.storage.StoredLock;
import io.statekeeper.storage.StoredVersion;
import io.statekeeper.storage.VersionHeader;

/**
 * Every state the service knows, in memory: per name, its writer lock, its current
 * version as an immutable snapshot that readers take without waiting, and its revision
 * counter.
 */
final class StateRegistry {

	private final Map<String, StateEntry> states = new ConcurrentHashMap<>();

	private final Duration lockTimeout;

	/**
	 * @param lockTimeout how long a writer waits for another writer of the same state
	 */
	StateRegistry(Duration lockTimeout) {
		this.lockTimeout = lockTimeout;
	}

	/** A state as start-up recovery found it. */
	void load(LoadedState loaded) {
		this.states.put(loaded.name(), new StateEntry(loaded));
	}

	/**
	 * A state as a shared store has it now (another replica may have changed it): its
	 * current version moves forward, never back, and so does its lock as last seen.
	 * @param shared what the store has
	 * @param underLock whether the caller holds the entry's writer lock: only a writer
	 * moves the revision counter
	 * @return the state's entry
	 */
	StateEntry refresh(SharedState shared, boolean underLock) {
		LoadedState loaded = shared.state();
		StateEntry entry = entry(loaded.name());
		entry.advance(Current.of(loaded));
		entry.heldLock = shared.lock();
		entry.storeNow = shared.now();
		if (underLock && loaded.lastRevision() > entry.lastRevision) {
			entry.lastRevision = loaded.lastRevision();
		}
		return entry;
	}

	/** A state's entry, created (unlocked) if the name was never used. */
	StateEntry entry(String name) {
		return this.states.computeIfAbsent(name, StateEntry::new);
	}

	/** A state's entry, {@code null} if the name was never used. */
	StateEntry get(String name) {
		return this.states.get(name);
	}

	void forEach(BiConsumer<String, StateEntry> action) {
		this.states.forEach(action);
	}

	/**
	 * Takes a state's writer lock, waiting at most the lock timeout.
	 * @return the state's entry, locked: the caller unlocks it
	 * @throws StateProblemException 503 if another writer kept it too long
	 */
	StateEntry lock(String name) {
		StateEntry entry = this.states.computeIfAbsent(name, StateEntry::new);
		boolean locked;
		try {
			locked = entry.lock.tryLock(this.lockTimeout.toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			locked = false;
		}
		if (!locked) {
			throw new StateProblemException(StateProblem.BUSY, "Another write to '" + name + "' did not finish within "
					+ this.lockTimeout.toMillis() + " ms; retry later");
		}
		return entry;
	}

	/**
	 * Every stored state, by name, damaged ones (held or unrecoverable) included with
	 * their status.
	 * @return their summaries
	 */
	List<StateSummary> list() {
		List<StateSummary> list = new ArrayList<>();
		for (Map.Entry<String, StateEntry> named : this.states.entrySet()) {
			StateEntry entry = named.getValue();
			Current current = entry.current;
			boolean locked = entry.heldLock != null;
			if (current.condition != Condition.OK) {
				list.add(StateSummary.damaged(named.getKey(), entry.lastRevision, current.status()).withLocked(locked));
			}
			else if (current.live()) {
				list.add(StateSummary.of(current.version.header()).withLocked(locked));
			}
		}
		list.sort(Comparator.comparing(StateSummary::name));
		return list;
	}

	/**
	 * The current version's header of every state that has one (tombstones included), for
	 * the audit trail's anchors.
	 * @return the headers, by state name
	 */
	Map<String, VersionHeader> currentHeaders() {
		Map<String, VersionHeader> headers = new java.util.TreeMap<>();
		this.states.forEach((name, entry) -> {
			VersionHeader header = entry.current.header();
			if (header != null) {
				headers.put(name, header);
			}
		});
		return headers;
	}

	/**
	 * The states that cannot be served because their current version is damaged.
	 * @return name to condition ({@code held} or {@code unrecoverable}), by name
	 */
	Map<String, String> damagedStates() {
		Map<String, String> damaged = new java.util.TreeMap<>();
		this.states.forEach((name, entry) -> {
			Condition condition = entry.current.condition;
			if (condition != Condition.OK) {
				damaged.put(name, condition.name().toLowerCase(java.util.Locale.ROOT));
			}
		});
		return damaged;
	}

	long countLive() {
		return this.states.values().stream().filter((entry) -> entry.current.live()).count();
	}

	/**
	 * A state's current version as readers see it: immutable, swapped whole.
	 *
	 * @param revision what orders snapshots of one state: the current version's revision
	 * (a damaged one's counter), 0 for nothing stored
	 */
	record Current(StoredVersion version, Condition condition, List<Long> validRevisions, long revision) {

		static Current of(LoadedState loaded) {
			return new Current(loaded.current(), loaded.condition(), loaded.validRevisions(),
					(loaded.current() != null) ? loaded.current().header().revision() : loaded.lastRevision());
		}

		boolean live() {
			return this.version != null && !this.version.header().deleted();
		}

		String status() {
			return (this.condition == Condition.OK) ? StateSummary.OK
					: this.condition.name().toLowerCase(java.util.Locale.ROOT);
		}

		VersionHeader header() {
			return (this.version != null) ? this.version.header() : null;
		}

		void refuseIfDamaged(String name) {
			if (this.condition == Condition.HELD) {
				throw new StateProblemException(StateProblem.HELD, "The current version of '" + name
						+ "' is damaged and was moved to quarantine. Valid revisions: " + this.validRevisions
						+ ". An admin restores one with POST /api/v1/states/" + name + "/versions/{revision}/restore",
						Map.of("validRevisions", this.validRevisions));
			}
			if (this.condition == Condition.UNRECOVERABLE) {
				throw new StateProblemException(StateProblem.UNRECOVERABLE,
						"The current version of '" + name
								+ "' is damaged and no valid version is kept; the damaged file is in quarantine",
						Map.of("validRevisions", List.of()));
			}
		}

	}

	static final class StateEntry {

		final ReentrantLock lock = new ReentrantLock();

		volatile Current current;

		/**
		 * The client lock on this state ({@link StateLocks}), {@code null} when unlocked;
		 * written under {@link #lock}, read without it. With a shared store it is what
		 * the last read-through saw (a reader may set it too): every decision on it reads
		 * through again under {@link #lock} first.
		 */
		volatile StoredLock heldLock;

		/**
		 * A shared store's clock when this state was last read through to it: what lock
		 * leases are judged by, so that replicas agree ({@code null} for a store one
		 * process writes, where the service's clock is used).
		 */
		volatile java.time.Instant storeNow;

		/**
		 * Written under {@link #lock} (after construction); volatile for the list, which
		 * shows a damaged state's last revision without taking the lock.
		 */
		volatile long lastRevision;

		StateEntry(String name) {
			this.current = new Current(null, Condition.OK, List.of(), 0);
		}

		StateEntry(LoadedState loaded) {
			this.current = Current.of(loaded);
			this.lastRevision = loaded.lastRevision();
		}

		/**
		 * Takes the next revision; a failed write burns it (its file may have been
		 * published before the failure), so none is ever reused.
		 */
		long nextRevision() {
			return ++this.lastRevision;
		}

		/**
		 * Gives back a revision that nothing published: only for a write refused before
		 * it reached the disk's publishing steps.
		 */
		void giveBack(long revision) {
			if (this.lastRevision == revision) {
				this.lastRevision = revision - 1;
			}
		}

		void commit(StoredVersion version) {
			advance(new Current(version, Condition.OK, List.of(), version.header().revision()));
		}

		/**
		 * Makes {@code next} current unless a newer snapshot is: with replicas, a reader
		 * that read through to the store and a writer that just committed race to
		 * publish, and what readers see must never go back.
		 */
		synchronized void advance(Current next) {
			Current now = this.current;
			if (next.revision() > now.revision()
					|| (next.revision() == now.revision() && (now.version() == null) != (next.version() == null))) {
				this.current = next;
			}
		}

	}

}
