package io.statekeeper.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The file engine's locks: one file per locked state, {@code locks/<name>.json}, written
 * with the same recipe as a state (temp file, fsync, atomic rename, directory fsync) and
 * removed by unlink and directory fsync. A lock is acknowledged only once durable, so it
 * survives a restart, a kill and a power loss.
 *
 * <p>
 * The file is one JSON object: {@code format} (1), {@code name}, {@code id},
 * {@code acquiredAt}, {@code expiresAt}, {@code info} (the client's lock information, as
 * the string of its exact bytes) and {@code sha256} of those bytes. Start-up verifies
 * each file; a damaged one goes to quarantine and leaves {@link StoredLock#damaged} in
 * its place, so that no write slips through a lock that was there.
 */
final class LockFiles {

	private static final Logger logger = LoggerFactory.getLogger(LockFiles.class);

	static final String LOCKS = "locks";

	static final int FORMAT = 1;

	private static final JsonMapper MAPPER = JsonMapper.builder()
		.disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
		.build();

	private final StorageIo io;

	private final Path dir;

	private final DurableWriter writer;

	private final Quarantine quarantine;

	private final Clock clock;

	LockFiles(StorageIo io, StoreLayout layout, DurableWriter writer, Quarantine quarantine, Clock clock) {
		this.io = io;
		this.dir = layout.locksDir();
		this.writer = writer;
		this.quarantine = quarantine;
		this.clock = clock;
	}

	/** The file as written: what {@link #decode} reads back. */
	record LockFile(int format, String name, String id, String acquiredAt, String expiresAt, String info,
			String sha256) {

	}

	private Path file(String name) {
		return this.dir.resolve(StateName.require(name) + ".json");
	}

	/**
	 * Start-up: creates {@code locks/}, removes leftovers of interrupted lock writes and
	 * reads every lock, verified.
	 * @return the locks, by state name
	 */
	Map<String, StoredLock> loadAll() {
		Map<String, StoredLock> locks = new TreeMap<>();
		try {
			if (this.io.createDirectory(this.dir)) {
				this.io.fsyncDirectory(this.dir.getParent());
			}
			for (Path file : this.io.list(this.dir)) {
				String fileName = file.getFileName().toString();
				if (fileName.startsWith(StoreLayout.TEMP_PREFIX)) {
					this.io.delete(file);
					logger.info("Removed {}, a lock write that never completed", file);
					continue;
				}
				if (!fileName.endsWith(".json")) {
					continue;
				}
				String name = fileName.substring(0, fileName.length() - ".json".length());
				if (!StateName.isValid(name)) {
					logger.warn("Ignoring {}: not a state name", file);
					continue;
				}
				StoredLock lock = read(name, file);
				locks.put(name, lock);
			}
		}
		catch (NewerFormatException ex) {
			throw new IllegalStateException(
					"Start-up stopped at the locks: " + ex.getMessage() + ". Nothing was quarantined", ex);
		}
		catch (IOException ex) {
			// the disk failed, not the file: start-up stops and nothing is moved
			throw new IllegalStateException("Start-up could not read the locks in " + this.dir + " (" + ex
					+ "); nothing was quarantined. Check the disk (dmesg), then start again", ex);
		}
		return locks;
	}

	private StoredLock read(String name, Path file) throws IOException {
		byte[] bytes = readAll(file);
		int format = format(bytes);
		if (format > FORMAT) {
			// a newer release wrote it: not damage, and never quarantined (a rollback)
			throw new NewerFormatException(file, format, FORMAT);
		}
		try {
			return decode(name, bytes);
		}
		catch (IllegalArgumentException | JacksonException | java.time.DateTimeException ex) {
			this.quarantine.move(name, file, "damaged lock file: " + ex.getMessage());
			StoredLock damaged = StoredLock.damaged(name, this.clock.instant());
			logger.warn("The lock of '{}' was damaged; it is held by '{}' until a client locks the state again or "
					+ "an operator forces it", name, StoredLock.DAMAGED_ID);
			return damaged;
		}
	}

	private byte[] readAll(Path file) throws IOException {
		FileChannel channel = this.io.openRead(file);
		try {
			long size = channel.size();
			if (size > 16 * 1024 * 1024) {
				throw new IOException(file + " is " + size + " bytes: not a lock file");
			}
			ByteBuffer buffer = ByteBuffer.allocate((int) size);
			while (buffer.hasRemaining() && this.io.read(channel, buffer) >= 0) {
				// until full or at the end
			}
			return java.util.Arrays.copyOf(buffer.array(), buffer.position());
		}
		finally {
			StorageFailures.closeQuietly(this.io, channel);
		}
	}

	/** The file's {@code format}, 0 if it cannot be read (then it is damaged). */
	private static int format(byte[] bytes) {
		try {
			return MAPPER.readTree(bytes).path("format").asInt(0);
		}
		catch (JacksonException ex) {
			return 0;
		}
	}

	static byte[] encode(StoredLock lock) {
		return MAPPER.writeValueAsBytes(new LockFile(FORMAT, lock.name(), lock.id(), lock.acquiredAt().toString(),
				lock.expiresAt().toString(), new String(lock.info(), StandardCharsets.UTF_8), sha256(lock.info())));
	}

	static StoredLock decode(String name, byte[] bytes) {
		LockFile file = MAPPER.readValue(bytes, LockFile.class);
		if (file.format() != FORMAT) {
			throw new IllegalArgumentException("unknown lock file format " + file.format());
		}
		if (!name.equals(file.name()) || file.id() == null || file.info() == null) {
			throw new IllegalArgumentException("the file does not hold the lock of '" + name + "'");
		}
		byte[] info = file.info().getBytes(StandardCharsets.UTF_8);
		if (!sha256(info).equals(file.sha256())) {
			throw new IllegalArgumentException("the lock information does not match its SHA-256");
		}
		return new StoredLock(name, file.id(), info, Instant.parse(file.acquiredAt()), Instant.parse(file.expiresAt()));
	}

	private static String sha256(byte[] bytes) {
		return HexFormat.of().formatHex(Sha256.digest().digest(bytes));
	}

	/**
	 * Makes {@code lock} the state's lock, durably.
	 * @param lock the lock
	 */
	void write(StoredLock lock) {
		this.writer.replaceFile(file(lock.name()), encode(lock), "write the lock of '" + lock.name() + "'");
	}

	/**
	 * Removes the state's lock, durably; nothing if there is none.
	 * @param name the state
	 */
	void delete(String name) {
		this.writer.removeFile(file(name), "remove the lock of '" + name + "'");
	}

}
