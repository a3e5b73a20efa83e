package io.statekeeper.state;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * A body's validation. A small body is validated at once; a large one alongside its
 * durable write (temp file, SHA-256, fsync, read-back), which waits for the verdict
 * before it publishes anything. Either way an invalid body is refused with the
 * validation's problem, and the disk is left as it was.
 */
final class PendingValidation {

	/** Bodies from this size on are validated alongside the write. */
	static final int ALONGSIDE_FROM = 64 * 1024;

	static final PendingValidation NONE = new PendingValidation(null);

	private final CompletableFuture<Void> verdict;

	private PendingValidation(CompletableFuture<Void> verdict) {
		this.verdict = verdict;
	}

	static PendingValidation start(java.util.function.Consumer<byte[]> validator, byte[] body, Executor executor) {
		if (body.length < ALONGSIDE_FROM) {
			validator.accept(body);
			return NONE;
		}
		return new PendingValidation(CompletableFuture.runAsync(() -> validator.accept(body), executor));
	}

	/**
	 * Waits for the verdict.
	 * @throws StateProblemException if the body is invalid
	 */
	void await() {
		if (this.verdict == null) {
			return;
		}
		try {
			this.verdict.join();
		}
		catch (CompletionException ex) {
			if (ex.getCause() instanceof RuntimeException cause) {
				throw cause;
			}
			throw ex;
		}
	}

	/**
	 * What a write that failed with {@code failure} reports: an invalid body comes first,
	 * as if it had been validated before anything else.
	 * @param failure why the write failed
	 * @return the validation's problem if the body is invalid, else {@code failure}
	 */
	RuntimeException invalidBodyFirst(RuntimeException failure) {
		try {
			await();
		}
		catch (RuntimeException invalid) {
			return invalid;
		}
		return failure;
	}

}
