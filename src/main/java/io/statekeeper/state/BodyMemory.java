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
 */
public final class BodyMemory {

	/** Reserved in units of this many bytes, so that a semaphore's int covers a GiB. */
	private static final int UNIT = 1024;

	private final Semaphore units;

	private final long limit;

	private final Duration wait;

	/**
	 * @param limit the bytes of bodies held at once
	 * @param wait how long a body waits for room before it is refused
	 */
	public BodyMemory(long limit, Duration wait) {
		this.limit = limit;
		// not fair: a small body takes its few units at once instead of queueing behind a
		// large one that waits for others to finish (small bodies hold next to nothing,
		// so the large one is not starved by them)
		this.units = new Semaphore(units(limit));
		this.wait = wait;
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
	 * Opens a reservation, holding nothing yet.
	 * @return the reservation, to be closed when the body is no longer needed
	 */
	public Reservation open() {
		return new Reservation();
	}

	private static int units(long bytes) {
		return (int) Math.min(Integer.MAX_VALUE, (bytes + UNIT - 1) / UNIT);
	}

	/**
	 * Memory held for one body; grows with it, given back once by {@link #close()}.
	 */
	public final class Reservation implements AutoCloseable {

		private int held;

		private Reservation() {
		}

		/**
		 * Makes the reservation cover at least {@code bytes}, waiting for room.
		 * @param bytes the size the body has, or is declared to have
		 * @throws StateProblemException 503 if there is no room within the wait
		 */
		public void cover(long bytes) {
			int needed = units(bytes) - this.held;
			if (needed <= 0) {
				return;
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
				throw new StateProblemException(StateProblem.OVERLOADED,
						"Bodies being written already hold " + reserved() + " of the " + limit()
								+ " bytes allowed (statekeeper.storage.max-body-memory); this one needs " + bytes
								+ "; retry later");
			}
			this.held += needed;
		}

		@Override
		public void close() {
			BodyMemory.this.units.release(this.held);
			this.held = 0;
		}

	}

}
