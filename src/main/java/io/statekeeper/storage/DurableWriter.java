package io.statekeeper.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statekeeper.storage.StorageException.Reason;

/**
 * The durable write recipe (this package's documentation, steps 2 to 9), for one version
 * file of one state at a time: free space, a 0600 temp file in the state's directory
 * written fully and forced, read back and compared byte for byte, the previous version
 * kept by a hard link, the atomic rename, the directory fsyncs. A failure before the
 * rename leaves the committed state as it was and removes the temp file; a failed fsync
 * after it leaves the store refusing writes until a restart re-verifies it.
 * <p>
 * Somewhat over 400 lines: the recipe's steps, their failure handling and the
 * degraded-store rule belong in one place, read in order; the small-file variant (locks)
 * shares that rule.
 */
final class DurableWriter implements AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(FileStateRepository.class);

	private static final int READ_BACK_BUFFER_SIZE = 256 * 1024;

	/**
	 * A body goes to its file in slices of at most this size. The JDK copies a heap
	 * buffer into a temporary direct one before each write and keeps that buffer for the
	 * thread, so one write of a whole 32 MiB body would leave 32 MiB of direct memory
	 * with every request thread that ever wrote one.
	 */
	static final int WRITE_SLICE = 256 * 1024;

	/** Direct buffers for reading written files back, one per concurrent writer. */
	private static final BlockingQueue<ByteBuffer> READ_BACK_BUFFERS = new ArrayBlockingQueue<>(16);

	private final StorageIo io;

	private final StoreLayout layout;

	private final long minFreeSpace;

	private final StorageMeters meters;

	private final Consumer<String> afterCommit;

	/** Fsyncs a state's versions directory alongside its own directory. */
	private final ExecutorService directoryFsyncs = Executors
		.newCachedThreadPool(DaemonThreads.named("fsync-versions"));

	private volatile String readOnlyReason;

	/**
	 * @param afterCommit told the name of each state whose write is durable (to prune
	 * behind it)
	 */
	DurableWriter(StorageIo io, StoreLayout layout, long minFreeSpace, StorageMeters meters,
			Consumer<String> afterCommit) {
		this.io = io;
		this.layout = layout;
		this.minFreeSpace = minFreeSpace;
		this.meters = meters;
		this.afterCommit = afterCommit;
	}

	/**
	 * Why the store refuses writes until a restart, {@code null} while it accepts them.
	 */
	String readOnlyReason() {
		return this.readOnlyReason;
	}

	/** Proves at start-up that the states directory takes a forced write. */
	void probe() throws IOException {
		Path probe = this.layout.statesDir().resolve(StoreLayout.TEMP_PREFIX + "probe-" + StoreLayout.randomSuffix());
		FileChannel channel = this.io.createNew(probe);
		try {
			this.io.writeFully(channel, ByteBuffer.wrap(new byte[] { '\n' }));
			this.io.force(channel);
		}
		finally {
			this.io.close(channel);
			this.io.delete(probe);
		}
	}

	/**
	 * Commits one version. Steps 2 to 7 leave the committed state untouched on failure
	 * and remove the temp file; a failure in step 8 leaves the store read-only.
	 * @param header the version's header
	 * @param body the bytes to store after it
	 * @param previous the current version's header, kept in the history ({@code null} or
	 * a tombstone: nothing to keep)
	 * @param beforePublish the caller's last word, once the file is written and verified
	 * @return {@code header}, committed
	 */
	VersionHeader commit(VersionHeader header, byte[] body, VersionHeader previous, Runnable beforePublish) {
		String name = StateName.require(header.name());
		refuseIfReadOnly();
		byte[] headerLine = VersionFormat.encodeHeader(header);
		// 2. free space: the temp file, a margin for the copy fallback, and the
		// configured reserve
		checkFreeSpace((headerLine.length + (long) body.length) * 2 + this.minFreeSpace);
		Path dir = this.layout.stateDir(name);
		Path versions = dir.resolve(StoreLayout.VERSIONS);
		Path temp = StoreLayout.tempFile(dir, header.revision());
		boolean created = false;
		boolean linked = false;
		RuntimeException refused = null;
		try {
			created = this.io.createDirectory(dir);
			this.io.createDirectory(versions);
			// 3.-4. temp file in the same directory, 0600, written fully, forced
			writeTemp(temp, headerLine, body);
			// 5. read back and verify: byte for byte against what was meant to be written
			verifyWritten(temp, headerLine, body);
			// the caller's last word (a large body's validation ran alongside)
			try {
				beforePublish.run();
			}
			catch (RuntimeException ex) {
				refused = ex;
				throw ex;
			}
			// 6. keep the previous version
			linked = keepPrevious(dir, previous);
			// 7. atomic publish
			this.io.move(temp, dir.resolve(StoreLayout.CURRENT));
		}
		catch (IOException | CorruptVersionException | RuntimeException ex) {
			StorageFailures.discard(this.io, temp);
			if (created) {
				StorageFailures.discard(this.io, versions);
				StorageFailures.discard(this.io, dir);
			}
			if (ex == refused) {
				throw refused;
			}
			throw StorageFailures.failure("write revision " + header.revision() + " of '" + name + "'", ex);
		}
		// 8. make the rename (and the kept version, and a new state's directory) durable
		try {
			// the two directories at once: with a journal both fsyncs share one commit;
			// without one (the benchmark disk) their writes and cache flushes overlap.
			// One after the other was slower either way (A/B, lower p50 in 2 of 10)
			Future<Void> keptDurable = linked ? this.directoryFsyncs.submit(() -> {
				this.io.fsyncDirectory(versions);
				return null;
			}) : null;
			this.io.fsyncDirectory(dir);
			if (keptDurable != null) {
				awaitFsync(keptDurable);
			}
			if (created) {
				this.io.fsyncDirectory(this.layout.statesDir());
			}
		}
		catch (IOException | RuntimeException ex) {
			throw degrade("fsync of " + dir + " failed after publishing revision " + header.revision() + " of '" + name
					+ "' (" + ex.getMessage() + ")", ex);
		}
		// 9. durable: versions beyond backups-kept can go, off the writer's path
		this.afterCommit.accept(name);
		return header;
	}

	/**
	 * From now on the store refuses writes: a directory fsync failed after a rename or an
	 * unlink, so whether that change is durable is unknown until a restart re-verifies
	 * the store.
	 * @return the failure to throw
	 */
	private StorageException degrade(String what, Throwable ex) {
		String reason = what + "; its durability is unknown, restart to re-verify the store";
		this.readOnlyReason = reason;
		logger.error("Storage is now read-only: {}", reason);
		return new StorageException(Reason.DURABILITY_UNKNOWN, reason, ex);
	}

	/**
	 * Replaces a small file that is not a state (a lock) with the same recipe: temp file,
	 * fsync, atomic rename, directory fsync.
	 * @param file the file
	 * @param content its new bytes
	 * @param what what this is, for messages
	 * @throws StorageException if the change was not made durable
	 */
	void replaceFile(Path file, byte[] content, String what) {
		refuseIfReadOnly();
		try {
			DurableFiles.renameInto(this.io, file, content);
		}
		catch (IOException | RuntimeException ex) {
			throw StorageFailures.failure(what, ex);
		}
		syncDirectory(file.getParent(), what);
	}

	/**
	 * Removes a small file that is not a state (a lock): unlink, directory fsync.
	 * @param file the file; nothing happens if it does not exist
	 * @param what what this is, for messages
	 * @throws StorageException if the removal was not made durable
	 */
	void removeFile(Path file, String what) {
		refuseIfReadOnly();
		boolean removed;
		try {
			removed = this.io.delete(file);
		}
		catch (IOException | RuntimeException ex) {
			throw StorageFailures.failure(what, ex);
		}
		if (removed) {
			syncDirectory(file.getParent(), what);
		}
	}

	private void syncDirectory(Path dir, String what) {
		try {
			this.io.fsyncDirectory(dir);
		}
		catch (IOException | RuntimeException ex) {
			throw degrade("fsync of " + dir + " failed (" + what + ": " + ex.getMessage() + ")", ex);
		}
	}

	private static void awaitFsync(Future<Void> fsync) throws IOException {
		try {
			fsync.get();
		}
		catch (ExecutionException ex) {
			if (ex.getCause() instanceof IOException io) {
				throw io;
			}
			if (ex.getCause() instanceof RuntimeException runtime) {
				throw runtime;
			}
			throw new IOException(ex.getCause());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IOException("interrupted while waiting for an fsync", ex);
		}
	}

	private void refuseIfReadOnly() {
		String reason = this.readOnlyReason;
		if (reason != null) {
			throw new StorageException(Reason.STORE_DEGRADED, "The store refuses writes: " + reason);
		}
	}

	private void checkFreeSpace(long needed) {
		long free;
		try {
			free = this.io.usableSpace(this.layout.statesDir());
		}
		catch (IOException ex) {
			throw StorageFailures.failure("read the free space", ex);
		}
		if (free < needed) {
			throw new StorageException(Reason.NO_SPACE,
					"Not enough free space on the store: " + free + " bytes free, " + needed + " needed");
		}
	}

	private void writeTemp(Path temp, byte[] headerLine, byte[] body) throws IOException {
		createForced(temp, (channel) -> {
			this.io.writeFully(channel, ByteBuffer.wrap(headerLine));
			for (int offset = 0; offset < body.length; offset += WRITE_SLICE) {
				this.io.writeFully(channel, ByteBuffer.wrap(body, offset, Math.min(WRITE_SLICE, body.length - offset)));
			}
		});
	}

	/**
	 * Reads the file back and compares it, byte for byte, with the header line and body
	 * it was written from: stronger than re-checking its checksum, and without a second
	 * SHA-256 pass. It reads into a pooled direct buffer (a heap buffer costs the JDK a
	 * copy through a direct one) and compares with vectorized mismatch.
	 */
	private void verifyWritten(Path file, byte[] headerLine, byte[] body) throws IOException, CorruptVersionException {
		ByteBuffer buffer = READ_BACK_BUFFERS.poll();
		if (buffer == null) {
			buffer = ByteBuffer.allocateDirect(READ_BACK_BUFFER_SIZE);
		}
		try {
			FileChannel channel = this.io.openRead(file);
			try {
				compareReadBack(file, channel, buffer, headerLine, body);
			}
			finally {
				this.io.close(channel);
			}
		}
		finally {
			READ_BACK_BUFFERS.offer(buffer);
		}
	}

	private void compareReadBack(Path file, FileChannel channel, ByteBuffer buffer, byte[] headerLine, byte[] body)
			throws IOException, CorruptVersionException {
		long expected = headerLine.length + (long) body.length;
		long offset = 0;
		buffer.clear();
		int read;
		while ((read = this.io.read(channel, buffer)) >= 0) {
			if (offset + read > expected) {
				throw new CorruptVersionException(file, "read back longer than written");
			}
			int at = 0;
			if (offset < headerLine.length) {
				at = (int) Math.min(read, headerLine.length - offset);
				if (buffer.slice(0, at).mismatch(ByteBuffer.wrap(headerLine, (int) offset, at)) >= 0) {
					throw new CorruptVersionException(file, "header read back differs from what was written");
				}
			}
			int bodyOffset = (int) (offset + at - headerLine.length);
			if (at < read && buffer.slice(at, read - at).mismatch(ByteBuffer.wrap(body, bodyOffset, read - at)) >= 0) {
				throw new CorruptVersionException(file, "body read back differs from what was written");
			}
			offset += read;
			buffer.clear();
		}
		if (offset != expected) {
			throw new CorruptVersionException(file, "read back " + offset + " of " + expected + " bytes");
		}
	}

	/**
	 * Creates {@code file} (0600, O_EXCL), lets {@code writer} fill it, fsyncs and closes
	 * it.
	 */
	private void createForced(Path file, ChannelWriter writer) throws IOException {
		FileChannel channel = this.io.createNew(file);
		boolean written = false;
		try {
			writer.write(channel);
			this.io.force(channel);
			written = true;
		}
		finally {
			if (written) {
				this.io.close(channel);
			}
			else {
				StorageFailures.closeQuietly(this.io, channel);
			}
		}
	}

	@FunctionalInterface
	private interface ChannelWriter {

		void write(FileChannel channel) throws IOException;

	}

	private boolean keepPrevious(Path dir, VersionHeader previous) throws IOException {
		if (previous == null || previous.deleted()) {
			return false;
		}
		Path current = dir.resolve(StoreLayout.CURRENT);
		Path target = StoreLayout.versionFile(dir.resolve(StoreLayout.VERSIONS), previous.revision());
		// no existence check first: Files.exists of a missing file costs an exception
		// (3% of a small write's CPU at 16 clients, in a profile); link() says EEXIST
		try {
			this.io.link(target, current);
		}
		catch (FileAlreadyExistsException ex) {
			// kept by an earlier attempt that did not publish; same revision, same bytes
			return false;
		}
		catch (UnsupportedOperationException ex) {
			if (this.io.exists(target)) {
				return false;
			}
			copy(current, target);
		}
		this.meters.versionKept();
		return true;
	}

	/** Where hard links are not supported: copy, fsync, rename. */
	private void copy(Path source, Path target) throws IOException {
		Path temp = target.resolveSibling(StoreLayout.TEMP_PREFIX + "copy-" + StoreLayout.randomSuffix());
		FileChannel in = this.io.openRead(source);
		try {
			createForced(temp, (out) -> {
				ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
				while (this.io.read(in, buffer) >= 0) {
					buffer.flip();
					this.io.writeFully(out, buffer);
					buffer.clear();
				}
			});
			this.io.move(temp, target);
		}
		catch (IOException | RuntimeException ex) {
			StorageFailures.discard(this.io, temp);
			throw ex;
		}
		finally {
			StorageFailures.closeQuietly(this.io, in);
		}
	}

	@Override
	public void close() {
		this.directoryFsyncs.shutdown();
	}

}
