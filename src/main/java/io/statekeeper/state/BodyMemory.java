package io.statekeeper.state;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the memory that request bodies being received and written hold at once. Each PUT
 * reserves its size before it reads a byte (a chunked body as it grows), and gives it
 * back when its write is over. A write that does not get its reservation within the wait
 * is refused with 503 and {@code Retry-After}: without the bound, a handful of concurrent
 * large PUTs runs the heap out, and an {@link OutOfMemoryError} may then strike any
 * thread (the audit log's, the pruner's), not only the writers'.
 * <p>
 * Fair to everyone: one client (a token) holds at most {@code perClient} bytes at once,
 * refused at once beyond that, so a few slow large bodies of one client cannot take the
 * room of all the others; and bodies up to {@code exempt} bytes reserve nothing, so a
 * small PUT never waits behind large ones (they are bounded by the connection limit
 * instead: {@code server.tomcat.max-connections} of them at most).
 */
public final class BodyMemory {

	/** Reserved in units of this many bytes, so that a semaphore's int covers a GiB. */
	private static final int UNIT = 1024;

	private final Semaphore units;

	private final long limit;

	private final long perClient;

	private final long exempt;

	private final Duration wait;

	/** Units held per client (entries removed when they drop to 0). */
	private final java.util.concurrent.ConcurrentHashMap<String, Integer> clients = new java.util.concurrent.ConcurrentHashMap<>();

	/**
	 * One pool with no per-client share and no exemption.
	 * @param limit the bytes of bodies held at once
	 * @param wait how long a body waits for room before it is refused
	 */
	public BodyMemory(long limit, Duration wait) {
		this(limit, limit, 0, wait);
	}

	/**
	 * @param limit the bytes of bodies held at once
	 * @param perClient the bytes one client may hold at once
	 * @param exempt bodies up to this size reserve nothing
	 * @param wait how long a body waits for room before it is refused
	 */
	public BodyMemory(long limit, long perClient, long exempt, Duration wait) {
		this.limit = limit;
		this.perClient = perClient;
		this.exempt = exempt;
		// not fair: a small body takes its few units at once instead of queueing behind a
		// large one that waits for others to finish (small bodies hold next to nothing,
		// so the large one is not starved by them)
		this.units = new Semaphore(units(limit));
		this.wait = wait;
	}

	/**
	 * The default share of one client: half the limit, and at least one body of the
	 * largest size.
	 * @param limit the bytes of bodies held at once
	 * @param maxStateSize the largest body accepted
	 * @return the bytes one client may hold
	 */
	public static long defaultPerClient(long limit, long maxStateSize) {
		return Math.min(limit, Math.max(maxStateSize, limit / 2));
	}

	/**
	 * The default limit: a quarter of the heap, and at least one body of the largest
	 * size.
	 * @param maxStateSize the largest body accepted
	 * @return the limit in bytes
	 */
	public static long defaultLimit(long maxStateSize) {
		return Math.max(maxStateSize, Runtime.getRuntime().maxMemory() / 4);
	}

	/**
	 * @return the bytes of bodies held at once
	 */
	public long limit() {
		return this.limit;
	}

	/**
	 * @return the bytes reserved now
	 */
	public long reserved() {
		return (long) (units(this.limit) - this.units.availablePermits()) * UNIT;
	}

	/**
	 * Opens a reservation of an unnamed client, holding nothing yet.
	 * @return the reservation, to be closed when the body is no longer needed
	 */
	public Reservation open() {
		return open("-");
	}

	/**
	 * Opens a reservation, holding nothing yet.
	 * @param client who sends the body (a token's id)
	 * @return the reservation, to be closed when the body is no longer needed
	 */
	public Reservation open(String client) {
		return new Reservation(client);
	}

	/**
	 * @param client a client
	 * @return the bytes it holds now
	 */
	public long reservedBy(String client) {
		return (long) this.clients.getOrDefault(client, 0) * UNIT;
	}

	private static int units(long bytes) {
		return (int) Math.min(Integer.MAX_VALUE, (bytes + UNIT - 1) / UNIT);
	}

	/**
	 * Memory held for one body; grows with it, given back once by {@link #close()}.
	 */
	public final class Reservation implements AutoCloseable {

		private final String client;

		private int held;

		private Reservation(String client) {
			this.client = client;
		}

		/**
		 * Makes the reservation cover at least {@code bytes}, waiting for room.
		 * @param bytes the size the body has, or is declared to have
		 * @throws StateProblemException 503 if there is no room within the wait
		 */
		public void cover(long bytes) {
			if (bytes <= BodyMemory.this.exempt) {
				return;
			}
			int needed = units(bytes) - this.held;
			if (needed <= 0) {
				return;
			}
			int share = units(BodyMemory.this.perClient);
			Integer now = BodyMemory.this.clients.merge(this.client, needed, Integer::sum);
			if (now > share && BodyMemory.this.perClient < BodyMemory.this.limit) {
				release(needed);
				throw new StateProblemException(StateProblem.OVERLOADED,
						"This client's bodies being written already hold " + ((long) (now - needed) * UNIT) + " of the "
								+ BodyMemory.this.perClient
								+ " bytes one client may hold (half of statekeeper.storage.max-body-memory, at least max-state-size);"
								+ " this one needs " + bytes + "; retry later");
			}
			boolean acquired;
			try {
				acquired = BodyMemory.this.units.tryAcquire(needed, BodyMemory.this.wait.toMillis(),
						TimeUnit.MILLISECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				acquired = false;
			}
			if (!acquired) {
				release(needed);
				throw new StateProblemException(StateProblem.OVERLOADED,
						"Bodies being written already hold " + reserved() + " of the " + limit()
								+ " bytes allowed (statekeeper.storage.max-body-memory); this one needs " + bytes
								+ "; retry later");
			}
			this.held += needed;
		}

		/** Gives back a client's share (not the pool's). */
		private void release(int units) {
			BodyMemory.this.clients.computeIfPresent(this.client, (key, held) -> (held > units) ? held - units : null);
		}

		@Override
		public void close() {
			BodyMemory.this.units.release(this.held);
			release(this.held);
			this.held = 0;
		}

	}

}
