package io.statekeeper.state;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;

/**
 * How fast a request body must arrive: after {@code timeout}, at least {@code minRate}
 * bytes per second on average since then. A body that falls behind is refused with 408
 * and its connection closed: a client trickling a large body would otherwise hold its
 * memory reservation, and a request thread, for as long as it liked.
 */
public final class BodyPace {

	private final long timeoutNanos;

	private final long minRate;

	/**
	 * @param timeout how long a body may take before it must keep pace
	 * @param minRate bytes per second it must average after that
	 */
	public BodyPace(Duration timeout, long minRate) {
		this.timeoutNanos = timeout.toNanos();
		this.minRate = minRate;
	}

	/**
	 * Watches a body as it is read.
	 * @param body the request's input stream
	 * @return a stream that throws once the body falls behind
	 */
	InputStream watch(InputStream body) {
		return new Watched(body, System.nanoTime());
	}

	private final class Watched extends FilterInputStream {

		private final long start;

		private long read;

		Watched(InputStream in, long start) {
			super(in);
			this.start = start;
		}

		@Override
		public int read() throws IOException {
			int b = super.read();
			check((b >= 0) ? 1 : 0);
			return b;
		}

		@Override
		public int read(byte[] buffer, int offset, int length) throws IOException {
			int n = super.read(buffer, offset, length);
			check(Math.max(n, 0));
			return n;
		}

		private void check(int n) {
			this.read += n;
			long late = System.nanoTime() - this.start - BodyPace.this.timeoutNanos;
			if (late > 0 && this.read < BodyPace.this.minRate * (late / 1_000_000_000.0)) {
				throw new StateProblemException(StateProblem.BODY_TOO_SLOW, "The body arrived too slowly: " + this.read
						+ " bytes in " + (System.nanoTime() - this.start) / 1_000_000 + " ms; after "
						+ BodyPace.this.timeoutNanos / 1_000_000 + " ms a body must average " + BodyPace.this.minRate
						+ " bytes per second (statekeeper.http.body-timeout, body-min-rate)");
			}
		}

	}

}
