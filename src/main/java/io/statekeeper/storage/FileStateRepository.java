package io.statekeeper.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Repository;
import org.springframework.util.function.SingletonSupplier;

import io.statekeeper.storage.LoadedState.Condition;
import io.statekeeper.storage.StorageException.Reason;

/**
 * The file-system {@link StateRepository}: one directory per state, every write made
 * durable with the recipe described in this package's documentation. Every file-system
 * call goes through {@link StorageIo}.
 */
@Repository
public class FileStateRepository implements StateRepository, AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(FileStateRepository.class);

	static final String STATES = "states";

	static final String QUARANTINE = "quarantine";

	static final String CURRENT = "current.json";

	static final String VERSIONS = "versions";

	static final String TEMP_PREFIX = ".tmp-";

	private static final Pattern VERSION_FILE = Pattern.compile("([1-9][0-9]{0,17})\\.json");

	private static final Pattern TEMP_FILE = Pattern.compile("\\.tmp-([0-9]{1,18})-.*");

	/**
	 * An empty file in a state's directory whose name says that start-up recovery found
	 * the state's current version damaged or missing at that revision and could not
	 * restore it. It keeps the state held or unrecoverable, and its revision counter,
	 * across restarts: without it, a state whose damaged files are all in quarantine
	 * would look like a first write that never completed, vanish, and start again at
	 * revision 1.
	 */
	static final String DAMAGED_MARK = "damaged-";

	private static final Pattern DAMAGED_MARK_FILE = Pattern.compile("damaged-([0-9]{1,18})");

	private static final byte[] EMPTY = new byte[0];

	private static final String EMPTY_SHA256 = Sha256.hex(EMPTY);

	private static final DateTimeFormatter QUARANTINE_STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
		.withZone(ZoneOffset.UTC);

	private static final int READ_BACK_BUFFER_SIZE = 256 * 1024;

	/**
	 * A body goes to its file in slices of at most this size. The JDK copies a heap
	 * buffer into a temporary direct one before each write and keeps that buffer for the
	 * thread, so one write of a whole 32 MiB body would leave 32 MiB of direct memory
	 * with every request thread that ever wrote one.
	 */
	static final int WRITE_SLICE = 256 * 1024;

	/** Direct buffers for reading written files back, one per concurrent writer. */
	private static final java.util.concurrent.BlockingQueue<ByteBuffer> READ_BACK_BUFFERS = new java.util.concurrent.ArrayBlockingQueue<>(
			16);

	/** Fsyncs a state's versions directory alongside its own directory. */
	private static final java.util.concurrent.ExecutorService DIRECTORY_FSYNCS = java.util.concurrent.Executors
		.newCachedThreadPool(DaemonThreads.named("fsync-versions"));

	private final StorageIo io;

	private final Clock clock;

	private final Path dataDir;

	private final Path statesDir;

	private final Path quarantineDir;

	private final int backupsKept;

	private final long minFreeSpace;

	private final StorageProperties.OnCorruption onCorruption;

	private final DataDirectoryLock lock;

	private final AtomicLong versionsKept = new AtomicLong();

	private final AtomicLong quarantined = new AtomicLong();

	private final Counter backupsCreated;

	private final Counter backupsPruned;

	private final Map<String, Counter> recoveries = new ConcurrentHashMap<>();

	private final MeterRegistry registry;

	private final StateCipher cipher;

	private volatile String readOnlyReason;

	private VersionRetention retention = VersionRetention.NONE;

	/** States whose pruning left versions that the retention held back. */
	private final java.util.Set<String> heldBack = ConcurrentHashMap.newKeySet();

	/**
	 * Prunes behind the writes, one state at a time: removing a large file costs as much
	 * as a directory fsync, and nobody waits for it.
	 */
	private final java.util.concurrent.ExecutorService pruner = java.util.concurrent.Executors
		.newSingleThreadExecutor(DaemonThreads.named("prune-versions"));

	/** States with a prune queued: however many writes come first, one prune each. */
	private final java.util.Set<String> pruneQueued = ConcurrentHashMap.newKeySet();

	/**
	 * A repository that stores bodies as they are (no encryption).
	 */
	public FileStateRepository(StorageProperties properties, StorageIo io, Clock clock, MeterRegistry registry) {
		this(properties, io, clock, registry, StateCipher.none());
	}

	@org.springframework.beans.factory.annotation.Autowired
	public FileStateRepository(StorageProperties properties, StorageIo io, Clock clock, MeterRegistry registry,
			StateCipher cipher) {
		this.io = io;
		this.cipher = cipher;
		this.clock = clock;
		this.registry = registry;
		this.dataDir = properties.dataDir().toAbsolutePath().normalize();
		this.statesDir = this.dataDir.resolve(STATES);
		this.quarantineDir = this.dataDir.resolve(QUARANTINE);
		this.backupsKept = properties.backupsKept();
		this.minFreeSpace = properties.minFreeSpace().toBytes();
		this.onCorruption = properties.onCorruption();
		prepareDataDirectory();
		this.lock = DataDirectoryLock.acquire(this.dataDir);
		try {
			this.io.createDirectory(this.statesDir);
			this.io.createDirectory(this.quarantineDir);
			probeWritable();
		}
		catch (IOException | RuntimeException ex) {
			this.lock.close();
			throw new IllegalStateException("The data directory " + this.dataDir + " is not writable: " + ex, ex);
		}
		this.backupsCreated = Counter.builder("statekeeper.state.backups.added")
			.description("Earlier versions kept in the history")
			.register(registry);
		this.backupsPruned = Counter.builder("statekeeper.state.backups.pruned")
			.description("Earlier versions removed beyond backups-kept")
			.register(registry);
		Gauge.builder("statekeeper.state.backups", this.versionsKept, AtomicLong::get)
			.description("Earlier versions kept on disk, over all states")
			.register(registry);
		Gauge.builder("statekeeper.storage.writable", this, (store) -> (store.readOnlyReason == null) ? 1 : 0)
			.description("1 while the store accepts writes, 0 once it refuses them until a restart")
			.register(registry);
		Gauge.builder("statekeeper.storage.free", this, (store) -> store.status().freeBytes())
			.description("Bytes usable on the data directory's file system")
			.baseUnit("bytes")
			.register(registry);
		Gauge.builder("statekeeper.storage.min.free", this, (store) -> store.minFreeSpace)
			.description("Configured free-space margin (min-free-space)")
			.baseUnit("bytes")
			.register(registry);
	}

	/**
	 * Which kept versions pruning must leave for a later write (the audit trail's, when
	 * there is one).
	 * @param retention the rule
	 */
	public void setRetention(VersionRetention retention) {
		this.retention = retention;
	}

	/**
	 * In the application: the {@link VersionRetention} bean, looked up once the first
	 * write prunes (the audit trail it comes from needs this repository first).
	 * @param retention the bean, if any
	 */
	@org.springframework.beans.factory.annotation.Autowired
	void retention(org.springframework.beans.factory.ObjectProvider<VersionRetention> retention) {
		SingletonSupplier<VersionRetention> resolved = SingletonSupplier
			.of(() -> retention.getIfAvailable(() -> VersionRetention.NONE));
		this.retention = (name) -> resolved.obtain().firstRetained(name);
	}

	private void prepareDataDirectory() {
		try {
			Path parent = this.dataDir.getParent();
			if (parent != null) {
				Files.createDirectories(parent);
			}
			this.io.createDirectory(this.dataDir);
		}
		catch (IOException | RuntimeException ex) {
			throw new IllegalStateException("Cannot create the data directory " + this.dataDir + ": " + ex, ex);
		}
	}

	private void probeWritable() throws IOException {
		Path probe = this.statesDir.resolve(TEMP_PREFIX + "probe-" + randomSuffix());
		FileChannel channel = this.io.createNew(probe);
		try {
			writeFully(channel, ByteBuffer.wrap(new byte[] { '\n' }));
			this.io.force(channel);
		}
		finally {
			this.io.close(channel);
			this.io.delete(probe);
		}
	}

	// ------------------------------------------------------------------ writes

	@Override
	public VersionHeader write(String name, VersionHeader previous, long revision, ChecksummedBody body,
			Instant updatedAt, VersionHeader.Audit audit, Runnable beforePublish) {
		if (!this.cipher.active()) {
			return commit(new VersionHeader(VersionFormat.FORMAT, name, revision, body.bytes().length, body.sha256(),
					updatedAt, false)
				.withAudit(audit), body.bytes(), previous, beforePublish);
		}
		byte[] stored = this.cipher.encrypt(name, revision, body.bytes());
		VersionHeader header = new VersionHeader(VersionFormat.FORMAT, name, revision, stored.length,
				Sha256.hex(stored), updatedAt, false, this.cipher.activeKey(), (long) body.bytes().length,
				body.sha256(), audit);
		return commit(header, stored, previous, beforePublish);
	}

	/**
	 * The state itself from a verified stored version: decrypted (and checked against
	 * {@code plainSha256}) when its header names a key.
	 */
	private StoredVersion plain(StoredVersion stored) throws java.security.GeneralSecurityException {
		VersionHeader header = stored.header();
		if (header.key() == null || stored.body() == null) {
			return stored;
		}
		byte[] plain = this.cipher.decrypt(header, stored.body());
		if (!Sha256.hex(plain).equals(header.plainSha256())) {
			throw new java.security.GeneralSecurityException("decrypted body does not match plainSha256");
		}
		return new StoredVersion(header, plain);
	}

	private void requireKnownKey(VersionHeader header, Path file) {
		if (header.key() != null && !this.cipher.knows(header.key())) {
			throw new IllegalStateException(file + " is encrypted with key '" + header.key()
					+ "', which is not configured (statekeeper.encryption.keys): keep every key that encrypted a kept "
					+ "version");
		}
	}

	@Override
	public VersionHeader delete(String name, VersionHeader previous, long revision, Instant deletedAt,
			VersionHeader.Audit audit) {
		VersionHeader tombstone = new VersionHeader(VersionFormat.FORMAT, name, revision, 0, EMPTY_SHA256, deletedAt,
				true)
			.withAudit(audit);
		return commit(tombstone, EMPTY, previous, () -> {
		});
	}

	/**
	 * The durable write recipe. Steps 2 to 7 leave the committed state untouched on
	 * failure and remove the temp file; a failure in step 8 leaves the store read-only.
	 */
	private VersionHeader commit(VersionHeader header, byte[] body, VersionHeader previous, Runnable beforePublish) {
		String name = StateName.require(header.name());
		refuseIfReadOnly();
		byte[] headerLine = VersionFormat.encodeHeader(header);
		// 2. free space: the temp file, a margin for the copy fallback, and the
		// configured reserve
		checkFreeSpace((headerLine.length + (long) body.length) * 2 + this.minFreeSpace);
		Path dir = this.statesDir.resolve(name);
		Path versions = dir.resolve(VERSIONS);
		Path temp = dir.resolve(TEMP_PREFIX + header.revision() + "-" + randomSuffix());
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
			this.io.move(temp, dir.resolve(CURRENT));
		}
		catch (IOException | CorruptVersionException | RuntimeException ex) {
			discard(temp);
			if (created) {
				discard(versions);
				discard(dir);
			}
			if (ex == refused) {
				throw refused;
			}
			throw failure("write revision " + header.revision() + " of '" + name + "'", ex);
		}
		// 8. make the rename (and the kept version, and a new state's directory) durable
		try {
			// the two directories at once: with a journal both fsyncs share one commit;
			// without one (the benchmark disk) their writes and cache flushes overlap.
			// One after the other was slower either way (A/B, lower p50 in 2 of 10)
			java.util.concurrent.Future<Void> keptDurable = linked ? DIRECTORY_FSYNCS.submit(() -> {
				this.io.fsyncDirectory(versions);
				return null;
			}) : null;
			this.io.fsyncDirectory(dir);
			if (keptDurable != null) {
				awaitFsync(keptDurable);
			}
			if (created) {
				this.io.fsyncDirectory(this.statesDir);
			}
		}
		catch (IOException | RuntimeException ex) {
			String reason = "fsync of " + dir + " failed after publishing revision " + header.revision() + " of '"
					+ name + "' (" + ex.getMessage() + "); its durability is unknown, restart to re-verify the store";
			this.readOnlyReason = reason;
			logger.error("Storage is now read-only: {}", reason);
			throw new StorageException(Reason.DURABILITY_UNKNOWN, reason, ex);
		}
		// 9. durable: versions beyond backups-kept can go, off the writer's path
		schedulePrune(name);
		return header;
	}

	private static void awaitFsync(java.util.concurrent.Future<Void> fsync) throws IOException {
		try {
			fsync.get();
		}
		catch (java.util.concurrent.ExecutionException ex) {
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
			free = this.io.usableSpace(this.statesDir);
		}
		catch (IOException ex) {
			throw failure("read the free space", ex);
		}
		if (free < needed) {
			throw new StorageException(Reason.NO_SPACE,
					"Not enough free space on the store: " + free + " bytes free, " + needed + " needed");
		}
	}

	private void writeTemp(Path temp, byte[] headerLine, byte[] body) throws IOException {
		createForced(temp, (channel) -> {
			writeFully(channel, ByteBuffer.wrap(headerLine));
			for (int offset = 0; offset < body.length; offset += WRITE_SLICE) {
				writeFully(channel, ByteBuffer.wrap(body, offset, Math.min(WRITE_SLICE, body.length - offset)));
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
				closeQuietly(channel);
			}
		}
	}

	@FunctionalInterface
	private interface ChannelWriter {

		void write(FileChannel channel) throws IOException;

	}

	private void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
		int stalls = 0;
		while (buffer.hasRemaining()) {
			if (this.io.write(channel, buffer) == 0 && ++stalls > 100) {
				throw new IOException("write made no progress");
			}
		}
	}

	private boolean keepPrevious(Path dir, VersionHeader previous) throws IOException {
		if (previous == null || previous.deleted()) {
			return false;
		}
		Path target = dir.resolve(VERSIONS).resolve(previous.revision() + ".json");
		// no existence check first: Files.exists of a missing file costs an exception
		// (3% of a small write's CPU at 16 clients, in a profile); link() says EEXIST
		try {
			this.io.link(target, dir.resolve(CURRENT));
		}
		catch (java.nio.file.FileAlreadyExistsException ex) {
			// kept by an earlier attempt that did not publish; same revision, same bytes
			return false;
		}
		catch (UnsupportedOperationException ex) {
			if (this.io.exists(target)) {
				return false;
			}
			copy(dir.resolve(CURRENT), target);
		}
		this.versionsKept.incrementAndGet();
		this.backupsCreated.increment();
		return true;
	}

	/** Where hard links are not supported: copy, fsync, rename. */
	private void copy(Path source, Path target) throws IOException {
		Path temp = target.resolveSibling(TEMP_PREFIX + "copy-" + randomSuffix());
		FileChannel in = this.io.openRead(source);
		try {
			createForced(temp, (out) -> {
				ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
				while (this.io.read(in, buffer) >= 0) {
					buffer.flip();
					writeFully(out, buffer);
					buffer.clear();
				}
			});
			this.io.move(temp, target);
		}
		catch (IOException | RuntimeException ex) {
			discard(temp);
			throw ex;
		}
		finally {
			closeQuietly(in);
		}
	}

	private void prune(String name) {
		Path versions = this.statesDir.resolve(name).resolve(VERSIONS);
		try {
			List<Long> revisions = versionRevisions(versions);
			List<Long> kept = kept(name, revisions);
			if (kept.size() > this.backupsKept) {
				this.heldBack.add(name);
			}
			for (Long revision : revisions) {
				if (!kept.contains(revision) && this.io.delete(versions.resolve(revision + ".json"))) {
					this.versionsKept.decrementAndGet();
					this.backupsPruned.increment();
				}
			}
		}
		catch (IOException | RuntimeException ex) {
			// the write is durable; an extra old version is harmless and pruned next time
			logger.warn("Could not prune old versions of '{}': {}", name, ex.toString());
		}
	}

	/**
	 * The kept revisions as pruning leaves them, newest first: the newest
	 * {@code backups-kept}, and older ones the retention holds back. What is listed and
	 * read goes by this, so it never depends on whether a queued prune has run yet.
	 */
	private List<Long> kept(String name, List<Long> revisions) {
		if (revisions.size() <= this.backupsKept) {
			return revisions;
		}
		long retained = this.retention.firstRetained(name);
		List<Long> kept = new ArrayList<>(revisions.subList(0, this.backupsKept));
		for (Long revision : revisions.subList(this.backupsKept, revisions.size())) {
			if (revision >= retained) {
				kept.add(revision);
			}
		}
		return kept;
	}

	@Override
	public void pruneHeldBack() {
		for (String name : this.heldBack) {
			this.heldBack.remove(name);
			schedulePrune(name);
		}
	}

	private void schedulePrune(String name) {
		if (!this.pruneQueued.add(name)) {
			return;
		}
		try {
			this.pruner.execute(() -> {
				this.pruneQueued.remove(name);
				prune(name);
			});
		}
		catch (java.util.concurrent.RejectedExecutionException ex) {
			// closing: the extra version is pruned after the next write
			this.pruneQueued.remove(name);
		}
	}

	/**
	 * Waits until every prune queued so far has run.
	 * @param timeout how long to wait at most
	 * @return whether they all ran in time
	 */
	public boolean awaitPruned(Duration timeout) {
		try {
			this.pruner.submit(() -> {
			}).get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
			return true;
		}
		catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException
				| java.util.concurrent.RejectedExecutionException ex) {
			return false;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return false;
		}
	}

	// ------------------------------------------------------------------ reads

	@Override
	public List<VersionHeader> versions(String name) {
		Path versions = this.statesDir.resolve(StateName.require(name)).resolve(VERSIONS);
		List<VersionHeader> headers = new ArrayList<>();
		try {
			for (Long revision : kept(name, versionRevisions(versions))) {
				Path file = versions.resolve(revision + ".json");
				try {
					headers.add(VersionFormat.readHeader(this.io, file, name, revision));
				}
				catch (CorruptVersionException ex) {
					quarantine(name, file, ex.getMessage());
				}
				catch (java.nio.file.NoSuchFileException ex) {
					// pruned meanwhile
				}
			}
		}
		catch (IOException ex) {
			throw failure("list the versions of '" + name + "'", ex);
		}
		return headers;
	}

	@Override
	public StoredVersion readVersion(String name, long revision) {
		Path versions = this.statesDir.resolve(StateName.require(name)).resolve(VERSIONS);
		Path file = versions.resolve(revision + ".json");
		try {
			if (revision < 1 || !kept(name, versionRevisions(versions)).contains(revision)) {
				return null;
			}
			return plain(VersionFormat.read(this.io, file, name, revision, true));
		}
		catch (java.security.GeneralSecurityException ex) {
			throw new StorageException(Reason.IO_ERROR,
					"Revision " + revision + " of '" + name + "' cannot be decrypted: " + ex.getMessage(), ex);
		}
		catch (CorruptVersionException ex) {
			quarantine(name, file, ex.getMessage());
			throw new StorageException(Reason.CORRUPT,
					"Revision " + revision + " of '" + name + "' is damaged and was moved to quarantine", ex);
		}
		catch (java.nio.file.NoSuchFileException ex) {
			return null;
		}
		catch (IOException ex) {
			throw failure("read revision " + revision + " of '" + name + "'", ex);
		}
	}

	@Override
	public StorageStatus status() {
		long free;
		try {
			free = this.io.usableSpace(this.statesDir);
		}
		catch (IOException | RuntimeException ex) {
			free = -1;
		}
		return new StorageStatus(this.dataDir, free, this.minFreeSpace, this.lock.isHeld(), this.readOnlyReason,
				this.versionsKept.get(), this.quarantined.get());
	}

	// ------------------------------------------------------------------ recovery

	/**
	 * {@inheritDoc}
	 * <p>
	 * States are recovered in parallel (each state's files are its own): verifying means
	 * reading and hashing every byte, and several reads in flight keep a disk busier than
	 * one.
	 */
	@Override
	public List<LoadedState> loadAll() {
		List<Path> entries;
		try {
			entries = this.io.list(this.statesDir);
		}
		catch (IOException ex) {
			throw new IllegalStateException("Start-up recovery of " + this.dataDir + " failed: " + ex, ex);
		}
		entries.sort(Comparator.naturalOrder());
		int threads = Math.min(Math.max(1, entries.size()),
				Math.max(4, 2 * Runtime.getRuntime().availableProcessors()));
		java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads,
				DaemonThreads.named("recovery"));
		try {
			List<java.util.concurrent.Future<LoadedState>> recovered = new ArrayList<>();
			for (Path dir : entries) {
				recovered.add(pool.submit(() -> recoverEntry(dir)));
			}
			List<LoadedState> states = new ArrayList<>();
			for (java.util.concurrent.Future<LoadedState> future : recovered) {
				LoadedState state = future.get();
				if (state != null) {
					states.add(state);
				}
			}
			return states;
		}
		catch (java.util.concurrent.ExecutionException ex) {
			Throwable cause = ex.getCause();
			if (cause instanceof RuntimeException runtime) {
				throw runtime;
			}
			throw new IllegalStateException("Start-up recovery of " + this.dataDir + " failed: " + cause, cause);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Start-up recovery of " + this.dataDir + " was interrupted", ex);
		}
		finally {
			pool.shutdownNow();
		}
	}

	private LoadedState recoverEntry(Path dir) throws IOException {
		String name = dir.getFileName().toString();
		if (name.startsWith(TEMP_PREFIX)) {
			removeLeftover(dir);
			return null;
		}
		if (!StateName.isValid(name) || !Files.isDirectory(dir)) {
			logger.warn("Ignoring {}: not a state directory", dir);
			return null;
		}
		try {
			return recover(name, dir);
		}
		catch (NewerFormatException ex) {
			throw new IllegalStateException("Start-up recovery stopped at state '" + name + "': " + ex.getMessage()
					+ ". Nothing was quarantined", ex);
		}
		catch (IOException ex) {
			// the disk failed, not the file: quarantining it would hide a good state
			// behind a bad read, so start-up stops and nothing is moved
			throw new IllegalStateException("Start-up recovery could not read state '" + name + "' in " + dir + " ("
					+ ex + "); none of its files was quarantined. Check the disk (dmesg), then start again", ex);
		}
	}

	private LoadedState recover(String name, Path dir) throws IOException {
		Path versions = dir.resolve(VERSIONS);
		long highest = 0;
		List<Path> marks = new ArrayList<>();
		for (Path dirToClean : List.of(dir, versions)) {
			for (Path entry : this.io.list(dirToClean)) {
				String file = entry.getFileName().toString();
				Matcher mark = DAMAGED_MARK_FILE.matcher(file);
				if (dirToClean == dir && mark.matches()) {
					highest = Math.max(highest, Long.parseLong(mark.group(1)));
					marks.add(entry);
				}
				else if (file.startsWith(TEMP_PREFIX)) {
					Matcher temp = TEMP_FILE.matcher(file);
					if (temp.matches()) {
						highest = Math.max(highest, Long.parseLong(temp.group(1)));
					}
					removeLeftover(entry);
				}
			}
		}
		List<Long> valid = new ArrayList<>();
		for (Long revision : versionRevisions(versions)) {
			highest = Math.max(highest, revision);
			Path file = versions.resolve(revision + ".json");
			try {
				requireKnownKey(VersionFormat.read(this.io, file, name, revision, false).header(), file);
				valid.add(revision);
			}
			catch (CorruptVersionException ex) {
				quarantine(name, file, ex.getMessage());
			}
		}
		this.versionsKept.addAndGet(valid.size());
		Path current = dir.resolve(CURRENT);
		String damage;
		if (this.io.exists(current)) {
			try {
				StoredVersion stored = VersionFormat.read(this.io, current, name, 0, true);
				requireKnownKey(stored.header(), current);
				StoredVersion version;
				try {
					version = plain(stored);
				}
				catch (java.security.GeneralSecurityException ex) {
					throw new IllegalStateException("Cannot decrypt " + current + " with key '" + stored.header().key()
							+ "' (" + ex.getMessage() + "): is the key file the one that encrypted it?", ex);
				}
				// restored or deleted through the API since it was found damaged
				marks.forEach(this::discard);
				return new LoadedState(name, version, Math.max(highest, version.header().revision()), Condition.OK,
						valid, false);
			}
			catch (CorruptVersionException ex) {
				damage = ex.getMessage();
				highest = Math.max(highest, damagedRevision(name, current, highest));
				// the mark first: with no valid version kept, once the current version is
				// in quarantine the mark is all that says this state exists (with one
				// kept, a missing current version is damage too, and a restore must not
				// rename over the damaged bytes before they are in quarantine)
				if (mark(dir, highest, marks) || !valid.isEmpty()) {
					quarantine(name, current, damage);
				}
				else {
					logger.error("Damaged file {} ({}) stays in place until a start-up can mark its state", current,
							damage);
				}
			}
		}
		else if (!marks.isEmpty()) {
			damage = CURRENT + " was found damaged or missing at an earlier start-up";
		}
		else if (valid.isEmpty()) {
			// nothing was ever committed here: a first write interrupted before its
			// rename
			discard(versions);
			discard(dir);
			return null;
		}
		else {
			damage = CURRENT + " is missing";
			highest++;
			logger.warn("State '{}' has kept versions but no {}: treating it as damaged", name, CURRENT);
			mark(dir, highest, marks);
		}
		LoadedState recovered = recoverDamaged(name, highest, valid, damage);
		if (recovered.current() != null) {
			// restored at start-up (restore-previous)
			marks.forEach(this::discard);
		}
		return recovered;
	}

	/**
	 * Leaves the {@link #DAMAGED_MARK} for {@code revision} unless {@code marks} has it.
	 * @return whether it is there and durable; if not, and no valid version is kept, the
	 * damaged current version must stay where it is, so that the next start-up finds the
	 * damage again
	 */
	private boolean mark(Path dir, long revision, List<Path> marks) {
		Path mark = dir.resolve(DAMAGED_MARK + revision);
		if (marks.contains(mark)) {
			return true;
		}
		try {
			this.io.close(this.io.createNew(mark));
			this.io.fsyncDirectory(dir);
			marks.add(mark);
			return true;
		}
		catch (IOException | RuntimeException ex) {
			logger.error("Could not leave {}: {}", mark, ex.toString());
			discard(mark);
			return false;
		}
	}

	/** The revision a damaged current version had, if its header still says so. */
	private long damagedRevision(String name, Path current, long highestKnown) {
		try {
			return VersionFormat.readHeader(this.io, current, name, 0).revision();
		}
		catch (CorruptVersionException | IOException ex) {
			// the current version is always newer than every kept one
			return highestKnown + 1;
		}
	}

	private LoadedState recoverDamaged(String name, long highest, List<Long> valid, String damage) {
		if (valid.isEmpty()) {
			count("unrecoverable");
			logger.error(
					"State '{}' is unrecoverable: its current version is damaged ({}) and no valid version is kept",
					name, damage);
			return new LoadedState(name, null, highest, Condition.UNRECOVERABLE, valid, false);
		}
		if (this.onCorruption == StorageProperties.OnCorruption.RESTORE_PREVIOUS) {
			for (Long revision : valid) {
				StoredVersion version = readVersionQuietly(name, revision);
				if (version != null) {
					long restored = highest + 1;
					VersionHeader header = write(name, null, restored, version.body(), this.clock.instant());
					count("restored");
					logger.warn("State '{}' was damaged ({}); restored revision {} as new revision {}", name, damage,
							revision, restored);
					return new LoadedState(name, new StoredVersion(header, version.body()), restored, Condition.OK,
							versionRevisionsQuietly(name), true);
				}
			}
			count("unrecoverable");
			logger.error("State '{}' is unrecoverable: no kept version could be read back", name);
			return new LoadedState(name, null, highest, Condition.UNRECOVERABLE, List.of(), false);
		}
		logger.warn("State '{}' is held: its current version is damaged ({}); an admin can restore one of the valid "
				+ "revisions {} as a new revision", name, damage, valid);
		return new LoadedState(name, null, highest, Condition.HELD, valid, false);
	}

	private StoredVersion readVersionQuietly(String name, long revision) {
		try {
			return readVersion(name, revision);
		}
		catch (StorageException ex) {
			return null;
		}
	}

	private List<Long> versionRevisionsQuietly(String name) {
		try {
			return versionRevisions(this.statesDir.resolve(name).resolve(VERSIONS));
		}
		catch (IOException ex) {
			return List.of();
		}
	}

	private void quarantine(String name, Path file, String problem) {
		Path target = null;
		try {
			Path dir = this.quarantineDir.resolve(name);
			this.io.createDirectory(dir);
			String kind = file.getParent().getFileName().toString().equals(VERSIONS)
					? VERSIONS + "-" + file.getFileName() : file.getFileName().toString();
			target = dir.resolve(QUARANTINE_STAMP.format(this.clock.instant()) + "-" + randomSuffix() + "-" + kind);
			this.io.move(file, target);
			this.io.fsyncDirectory(dir);
			this.io.fsyncDirectory(file.getParent());
			if (kind.startsWith(VERSIONS)) {
				this.versionsKept.updateAndGet((kept) -> Math.max(0, kept - 1));
			}
		}
		catch (IOException | RuntimeException ex) {
			logger.error("Could not move damaged file {} to quarantine: {}", file, ex.toString());
		}
		this.quarantined.incrementAndGet();
		count("quarantined");
		logger.warn("Damaged file {} ({}) moved to quarantine as {}", file, problem, target);
	}

	private void removeLeftover(Path temp) {
		try {
			this.io.delete(temp);
			count("temp-removed");
			logger.warn("Removed {}: left over by a write that did not complete", temp);
		}
		catch (IOException ex) {
			logger.warn("Could not remove leftover {}: {}", temp, ex.toString());
		}
	}

	private void count(String outcome) {
		this.recoveries
			.computeIfAbsent(outcome,
					(key) -> Counter.builder("statekeeper.storage.recoveries")
						.description("Start-up and run-time recovery actions")
						.tag("outcome", key)
						.register(this.registry))
			.increment();
	}

	// ------------------------------------------------------------------ helpers

	private List<Long> versionRevisions(Path versions) throws IOException {
		List<Long> revisions = new ArrayList<>();
		for (Path entry : this.io.list(versions)) {
			Matcher matcher = VERSION_FILE.matcher(entry.getFileName().toString());
			if (matcher.matches()) {
				revisions.add(Long.parseLong(matcher.group(1)));
			}
		}
		revisions.sort(Comparator.reverseOrder());
		return revisions;
	}

	private void discard(Path path) {
		try {
			this.io.delete(path);
		}
		catch (IOException | RuntimeException ex) {
			logger.warn("Could not remove {}: {}", path, ex.toString());
		}
	}

	private void closeQuietly(FileChannel channel) {
		try {
			this.io.close(channel);
		}
		catch (IOException | RuntimeException ex) {
			// already failing
		}
	}

	private static String randomSuffix() {
		return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
	}

	/**
	 * Translates a failure to a {@link StorageException} with a bounded reason,
	 * recognising a full store from the error itself: {@code ENOSPC} also happens with
	 * bytes free when inodes run out.
	 */
	static StorageException failure(String action, Throwable ex) {
		if (ex instanceof StorageException storage) {
			return storage;
		}
		Reason reason = classify(ex);
		return new StorageException(reason, "Could not " + action + ": " + ex.getMessage(), ex);
	}

	static Reason classify(Throwable ex) {
		if (ex instanceof CorruptVersionException) {
			return Reason.VERIFY_FAILED;
		}
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			String message = String.valueOf(cause.getMessage());
			if (message.contains("No space left on device") || message.contains("Disk quota exceeded")) {
				return Reason.NO_SPACE;
			}
			if (message.contains("Read-only file system")) {
				return Reason.READ_ONLY;
			}
			if (cause instanceof AccessDeniedException || message.contains("Permission denied")
					|| message.contains("Operation not permitted")) {
				return Reason.ACCESS_DENIED;
			}
		}
		return Reason.IO_ERROR;
	}

	/**
	 * Lets queued prunes finish (they must not touch the directory once its lock is
	 * released), then releases the data directory.
	 */
	@Override
	public void close() {
		this.pruner.shutdown();
		try {
			if (!this.pruner.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)) {
				logger.warn("Pruning did not finish within 10 s; stopping it");
				this.pruner.shutdownNow();
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			this.pruner.shutdownNow();
		}
		this.lock.close();
	}

}
