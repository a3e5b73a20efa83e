package io.statekeeper.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

/**
 * The storage seam as tests use it: records every operation (name and file name, in
 * order) and fails a chosen operation with a chosen error, once or every time.
 */
public class FaultyStorageIo extends StorageIo {

	/** The operations a fault can target. */
	public enum Op {

		CREATE, WRITE, FORCE, CLOSE, OPEN_READ, READ, LINK, MOVE, FSYNC_DIR, DELETE, LIST, MKDIR, FREE_SPACE,

		/** The audit log's own steps: open for appending, fdatasync, cut back. */
		OPEN_APPEND, FORCE_DATA, TRUNCATE

	}

	private final List<String> trace = Collections.synchronizedList(new ArrayList<>());

	private volatile Op faultOp;

	private volatile String faultPathPart;

	private volatile Supplier<? extends Exception> fault;

	private volatile int faultsLeft;

	private volatile long freeSpace = -1;

	private volatile int shortWriteBytes;

	private volatile boolean flipReads;

	private volatile long flipReadAt = -1;

	private volatile Op heldOp;

	private volatile java.util.concurrent.CountDownLatch heldUntil;

	private final java.util.concurrent.atomic.AtomicReference<Op> heldNextOp = new java.util.concurrent.atomic.AtomicReference<>();

	private volatile java.util.concurrent.CountDownLatch heldNextEntered;

	private volatile java.util.concurrent.CountDownLatch heldNextRelease;

	/**
	 * Calls of {@code op} wait until {@code release} opens: a slow disk, on one
	 * operation.
	 * @param op the operation
	 * @param release opens to let them go on
	 */
	public void hold(Op op, java.util.concurrent.CountDownLatch release) {
		this.heldUntil = release;
		this.heldOp = op;
	}

	/**
	 * The next call of {@code op} counts {@code entered} down and waits until
	 * {@code release} opens (a minute at most); later calls go on: one write caught in
	 * flight while others pass.
	 * @param op the operation
	 * @param entered counted down once the call is held
	 * @param release opens to let it go on
	 */
	public void holdNext(Op op, java.util.concurrent.CountDownLatch entered,
			java.util.concurrent.CountDownLatch release) {
		this.heldNextEntered = entered;
		this.heldNextRelease = release;
		this.heldNextOp.set(op);
	}

	/** Every read returns its bytes with the first one flipped: a disk that lies. */
	public void flipReads(boolean flip) {
		this.flipReads = flip;
	}

	/**
	 * Reads return the byte at this offset of any file flipped: a disk that lies about
	 * one byte.
	 * @param offset the file offset, or -1 for none
	 */
	public void flipReadAt(long offset) {
		this.flipReadAt = offset;
	}

	/**
	 * Fails the next {@code times} calls of {@code op} whose path contains
	 * {@code pathPart}.
	 * @param op the operation
	 * @param pathPart a part of the file name that must match, or {@code null} for any
	 * @param fault the exception to throw ({@link IOException} or a runtime exception)
	 * @param times how often, {@link Integer#MAX_VALUE} for always
	 */
	public void fail(Op op, String pathPart, Supplier<? extends Exception> fault, int times) {
		this.faultOp = op;
		this.faultPathPart = pathPart;
		this.fault = fault;
		this.faultsLeft = times;
	}

	public void clearFaults() {
		this.faultOp = null;
		this.faultsLeft = 0;
		this.shortWriteBytes = 0;
	}

	/** Every write call writes at most this many bytes (0: no limit). */
	public void shortWrites(int bytes) {
		this.shortWriteBytes = bytes;
	}

	public void reportFreeSpace(long bytes) {
		this.freeSpace = bytes;
	}

	public List<String> trace() {
		synchronized (this.trace) {
			return List.copyOf(this.trace);
		}
	}

	public void clearTrace() {
		this.trace.clear();
	}

	public static IOException noSpace() {
		return new IOException("No space left on device");
	}

	public static IOException ioError() {
		return new IOException("Input/output error");
	}

	public static IOException readOnly() {
		return new java.nio.file.FileSystemException("x", null, "Read-only file system");
	}

	public static IOException accessDenied() {
		return new java.nio.file.AccessDeniedException("x", null, "Permission denied");
	}

	private void enter(Op op, Path path) throws IOException {
		this.trace.add(op.name() + " " + ((path != null && path.getFileName() != null) ? path.getFileName() : ""));
		if (op == this.heldOp) {
			awaitRelease(this.heldUntil, Long.MAX_VALUE);
		}
		if (this.heldNextOp.compareAndSet(op, null)) {
			this.heldNextEntered.countDown();
			awaitRelease(this.heldNextRelease, java.util.concurrent.TimeUnit.MINUTES.toNanos(1));
		}
		if (op == this.faultOp && this.faultsLeft > 0
				&& (this.faultPathPart == null || (path != null && path.toString().contains(this.faultPathPart)))) {
			this.faultsLeft--;
			Exception ex = this.fault.get();
			if (ex instanceof IOException io) {
				throw io;
			}
			throw (RuntimeException) ex;
		}
	}

	private static void awaitRelease(java.util.concurrent.CountDownLatch release, long nanos)
			throws java.io.InterruptedIOException {
		try {
			release.await(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new java.io.InterruptedIOException("interrupted while held");
		}
	}

	private final java.util.Map<FileChannel, Path> open = new java.util.concurrent.ConcurrentHashMap<>();

	/** Remembers which file a channel is of, for the trace and path-targeted faults. */
	private FileChannel tracked(FileChannel channel, Path file) {
		this.open.put(channel, file);
		return channel;
	}

	@Override
	public FileChannel createNew(Path file) throws IOException {
		enter(Op.CREATE, file);
		return tracked(super.createNew(file), file);
	}

	@Override
	public int write(FileChannel channel, ByteBuffer buffer) throws IOException {
		enter(Op.WRITE, this.open.get(channel));
		int limit = this.shortWriteBytes;
		if (limit > 0 && buffer.remaining() > limit) {
			ByteBuffer slice = buffer.slice(buffer.position(), limit);
			int written = super.write(channel, slice);
			buffer.position(buffer.position() + written);
			return written;
		}
		return super.write(channel, buffer);
	}

	@Override
	public FileChannel openAppend(Path file) throws IOException {
		enter(Op.OPEN_APPEND, file);
		return tracked(super.openAppend(file), file);
	}

	@Override
	public void forceData(FileChannel channel) throws IOException {
		enter(Op.FORCE_DATA, this.open.get(channel));
		super.forceData(channel);
	}

	@Override
	public void truncate(FileChannel channel, long size) throws IOException {
		enter(Op.TRUNCATE, this.open.get(channel));
		super.truncate(channel, size);
	}

	@Override
	public void force(FileChannel channel) throws IOException {
		enter(Op.FORCE, this.open.get(channel));
		super.force(channel);
	}

	@Override
	public void close(FileChannel channel) throws IOException {
		Path path = this.open.remove(channel);
		try {
			enter(Op.CLOSE, path);
		}
		finally {
			super.close(channel);
		}
	}

	@Override
	public FileChannel openRead(Path file) throws IOException {
		enter(Op.OPEN_READ, file);
		return tracked(super.openRead(file), file);
	}

	@Override
	public int read(FileChannel channel, ByteBuffer buffer) throws IOException {
		Path path = this.open.get(channel);
		if (this.faultOp == Op.READ) {
			enter(Op.READ, path);
		}
		int start = buffer.position();
		long position = channel.position();
		int read = super.read(channel, buffer);
		if (this.flipReads && read > 0) {
			buffer.put(start, (byte) (buffer.get(start) ^ 0x01));
		}
		long flip = this.flipReadAt;
		if (flip >= position && flip < position + Math.max(read, 0)) {
			int at = start + (int) (flip - position);
			buffer.put(at, (byte) (buffer.get(at) ^ 0x01));
		}
		return read;
	}

	@Override
	public void link(Path link, Path existing) throws IOException {
		enter(Op.LINK, link);
		super.link(link, existing);
	}

	@Override
	public void move(Path source, Path target) throws IOException {
		enter(Op.MOVE, target);
		super.move(source, target);
	}

	@Override
	public void fsyncDirectory(Path directory) throws IOException {
		enter(Op.FSYNC_DIR, directory);
		super.fsyncDirectory(directory);
	}

	@Override
	public boolean delete(Path file) throws IOException {
		enter(Op.DELETE, file);
		return super.delete(file);
	}

	@Override
	public List<Path> list(Path directory) throws IOException {
		enter(Op.LIST, directory);
		return super.list(directory);
	}

	@Override
	public boolean createDirectory(Path directory) throws IOException {
		enter(Op.MKDIR, directory);
		return super.createDirectory(directory);
	}

	@Override
	public long usableSpace(Path path) throws IOException {
		enter(Op.FREE_SPACE, path);
		long reported = this.freeSpace;
		return (reported >= 0) ? reported : super.usableSpace(path);
	}

}
