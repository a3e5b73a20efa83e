package io.statekeeper.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A state body with its SHA-256, which a write puts in the version header. Only made
 * here, so the checksum always is the body's: {@link #of(byte[])} computes it in one
 * pass; {@link #read(InputStream, int)} computes it while the body arrives, so that
 * hashing overlaps with receiving instead of following it: chunk by chunk on the reading
 * thread for a small body, on a second thread that follows the reader for a large one
 * (hashing is about 40% of receiving a large body, so the reader goes on reading).
 */
public final class ChecksummedBody {

	/** Hashed as they arrive: big enough for few calls, small enough to stay in cache. */
	private static final int CHUNK = 64 * 1024;

	/** From this size on, a second thread hashes the body behind the reader. */
	static final int HASH_ALONGSIDE_FROM = 256 * 1024;

	/** Marks the end of a body for the hashing thread. */
	private static final int END = -1;

	/**
	 * One thread per core at most; a hash that has to queue runs once its body is in, no
	 * slower than hashing on the reading thread.
	 */
	private static final ExecutorService HASHERS = DaemonThreads.pool("hash-body",
			Runtime.getRuntime().availableProcessors());

	private final byte[] bytes;

	private final String sha256;

	private ChecksummedBody(byte[] bytes, String sha256) {
		this.bytes = bytes;
		this.sha256 = sha256;
	}

	/**
	 * A body whose checksum is computed now.
	 * @param bytes the exact bytes
	 * @return the body with its checksum
	 */
	public static ChecksummedBody of(byte[] bytes) {
		return new ChecksummedBody(bytes, Sha256.hex(bytes));
	}

	/**
	 * Reads up to {@code length} bytes, hashing each chunk as it arrives.
	 * @param in the stream
	 * @param length the declared length
	 * @return what was read (shorter if the stream ended early) with its checksum
	 * @throws IOException if reading fails
	 */
	public static ChecksummedBody read(InputStream in, int length) throws IOException {
		return read(in, length, HASH_ALONGSIDE_FROM);
	}

	static ChecksummedBody read(InputStream in, int length, int hashAlongsideFrom) throws IOException {
		byte[] bytes = new byte[length];
		if (length < hashAlongsideFrom) {
			MessageDigest digest = Sha256.digest();
			int arrived = readInto(in, bytes, (offset, read) -> digest.update(bytes, offset, read));
			return arrived(bytes, arrived, Sha256.hex(digest));
		}
		BlockingQueue<Integer> arrivedUpTo = new LinkedBlockingQueue<>();
		Future<String> hashed = HASHERS.submit(() -> {
			MessageDigest digest = Sha256.digest();
			int done = 0;
			for (int upTo = arrivedUpTo.take(); upTo != END; upTo = arrivedUpTo.take()) {
				digest.update(bytes, done, upTo - done);
				done = upTo;
			}
			return Sha256.hex(digest);
		});
		int arrived;
		try {
			arrived = readInto(in, bytes, (offset, read) -> arrivedUpTo.add(offset + read));
		}
		finally {
			// also when reading fails: the hashing thread must not wait for ever
			arrivedUpTo.add(END);
		}
		try {
			return arrived(bytes, arrived, hashed.get());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new InterruptedIOException("interrupted while hashing the body");
		}
		catch (ExecutionException ex) {
			throw new IllegalStateException("hashing the body failed", ex.getCause());
		}
	}

	/** Reads until {@code bytes} is full or the stream ends, telling each chunk. */
	private static int readInto(InputStream in, byte[] bytes, Arrival arrival) throws IOException {
		int offset = 0;
		while (offset < bytes.length) {
			int read = in.read(bytes, offset, Math.min(CHUNK, bytes.length - offset));
			if (read < 0) {
				break;
			}
			arrival.arrived(offset, read);
			offset += read;
		}
		return offset;
	}

	private static ChecksummedBody arrived(byte[] bytes, int length, String sha256) {
		return new ChecksummedBody((length == bytes.length) ? bytes : Arrays.copyOf(bytes, length), sha256);
	}

	@FunctionalInterface
	private interface Arrival {

		void arrived(int offset, int length);

	}

	/**
	 * The body.
	 * @return the exact bytes (not a copy)
	 */
	public byte[] bytes() {
		return this.bytes;
	}

	/**
	 * Its checksum.
	 * @return the SHA-256 of {@link #bytes()}, lowercase hex
	 */
	public String sha256() {
		return this.sha256;
	}

}
