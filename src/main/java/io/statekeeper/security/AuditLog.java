package io.statekeeper.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

import io.statekeeper.storage.DaemonThreads;
import io.statekeeper.storage.Sha256;

/**
 * An append-only, hash-chained audit log: {@code <data-dir>/audit/audit.log}, one JSON
 * object per line, rotated by size into {@code audit-000001.log},
 * {@code audit-000002.log}, … with the chain going on across files.
 *
 * <pre>
 * {"time":"…","token":"ci","remote":"10.0.0.7","action":"put","state":"prod","revision":42,
 *  "checksum":"sha256:…","outcome":"success","prev":"&lt;hash of the previous entry&gt;","hash":"&lt;sha256&gt;"}
 * </pre>
 *
 * {@code hash} is the SHA-256 of the line as it reads without its {@code ,"hash":"…"}
 * member; each entry names the previous entry's hash in {@code prev} (64 zeros for the
 * first), so editing, removing or reordering any entry breaks the chain from there on.
 * Entries are group-committed: {@link #append} writes the line and returns its sequence
 * number, {@link #sync} returns once that entry is fdatasync'ed (one fdatasync covers
 * every entry written before it, whoever waits), and a flusher makes whatever is pending
 * durable every flush interval. Start-up verifies the whole chain; a torn last line (a
 * crash mid-append, never acknowledged) is cut off, anything else is reported as a break.
 */
final class AuditLog implements AutoCloseable {

	static final String GENESIS = "0".repeat(64);

	private static final Logger logger = LoggerFactory.getLogger(AuditLog.class);

	private static final String CURRENT = "audit.log";

	private static final Pattern ROTATED = Pattern.compile("audit-(\\d{6})\\.log");

	private static final byte[] HASH_FIELD = ",\"hash\":\"".getBytes(StandardCharsets.US_ASCII);

	private static final JsonMapper MAPPER = JsonMapper.builder().build();

	private static final java.util.Set<String> WRITES = java.util.Set.of("put", "delete", "restore");

	private final Path dir;

	private final long maxFileSize;

	private FileChannel channel;

	private String lastHash = GENESIS;

	private long entries;

	private String chainBreak;

	/** Entries written (guarded by this). */
	private long written;

	/** Entries known to be durable. */
	private final java.util.concurrent.atomic.AtomicLong durable = new java.util.concurrent.atomic.AtomicLong();

	private final Object syncLock = new Object();

	/** Per state, the newest revision a successful write of it is logged with. */
	private final Map<String, Long> lastLogged = new java.util.HashMap<>();

	private final java.util.concurrent.ScheduledExecutorService flusher;

	private final Runnable afterFlush;

	AuditLog(Path dir, long maxFileSize, java.time.Duration flushInterval, Runnable afterFlush) {
		this.afterFlush = afterFlush;
		this.dir = dir;
		this.maxFileSize = maxFileSize;
		try {
			Files.createDirectories(dir,
					PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
			verify();
			this.channel = open();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot open the audit log in " + dir, ex);
		}
		this.flusher = java.util.concurrent.Executors
			.newSingleThreadScheduledExecutor(DaemonThreads.named("audit-flush"));
		long millis = Math.max(1, flushInterval.toMillis());
		this.flusher.scheduleWithFixedDelay(this::flush, millis, millis, java.util.concurrent.TimeUnit.MILLISECONDS);
	}

	/**
	 * Appends one entry; it is durable once {@link #sync} with its number returns (or the
	 * flusher got to it).
	 * @param fields the entry's members, in order (without {@code prev} and {@code hash})
	 * @return the entry's sequence number
	 */
	synchronized long append(Map<String, Object> fields) {
		Map<String, Object> entry = new LinkedHashMap<>(fields);
		entry.put("prev", this.lastHash);
		byte[] json = MAPPER.writeValueAsBytes(entry);
		String hash = Sha256.hex(json);
		byte[] line = new byte[json.length - 1 + HASH_FIELD.length + 64 + 3];
		System.arraycopy(json, 0, line, 0, json.length - 1);
		System.arraycopy(HASH_FIELD, 0, line, json.length - 1, HASH_FIELD.length);
		System.arraycopy(hash.getBytes(StandardCharsets.US_ASCII), 0, line, json.length - 1 + HASH_FIELD.length, 64);
		line[line.length - 3] = '"';
		line[line.length - 2] = '}';
		line[line.length - 1] = '\n';
		try {
			if (this.channel.size() + line.length > this.maxFileSize && this.channel.size() > 0) {
				rotate();
			}
			ByteBuffer buffer = ByteBuffer.wrap(line);
			while (buffer.hasRemaining()) {
				this.channel.write(buffer);
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot append to the audit log", ex);
		}
		this.lastHash = hash;
		this.entries++;
		return ++this.written;
	}

	/**
	 * Returns once entry {@code sequence} (and every one before it) is durable: one
	 * fdatasync for all the entries written so far, shared by every thread that waits.
	 * @param sequence an entry's number from {@link #append}
	 */
	void sync(long sequence) {
		synchronized (this.syncLock) {
			if (this.durable.get() >= sequence) {
				return;
			}
			long target;
			FileChannel current;
			synchronized (this) {
				target = this.written;
				current = this.channel;
			}
			try {
				current.force(false);
			}
			catch (java.nio.channels.ClosedChannelException ex) {
				// rotated meanwhile: rotation forced that file before closing it
			}
			catch (IOException ex) {
				throw new UncheckedIOException("Cannot fdatasync the audit log", ex);
			}
			this.durable.accumulateAndGet(target, Math::max);
		}
	}

	/**
	 * How many entries are durable.
	 * @return the sequence number of the newest durable entry
	 */
	long durable() {
		return this.durable.get();
	}

	/** Makes everything written durable, then runs the after-flush action. */
	void flush() {
		long pending;
		synchronized (this) {
			pending = this.written;
		}
		try {
			if (pending > this.durable.get()) {
				sync(pending);
			}
			// also when another entry's sync made them durable meanwhile
			this.afterFlush.run();
		}
		catch (RuntimeException ex) {
			logger.error("Could not flush the audit log: {}", ex.toString());
		}
	}

	/**
	 * Per state, the newest revision whose successful write (put, delete, restore) the
	 * log held at start-up.
	 * @return state name to revision
	 */
	synchronized Map<String, Long> lastLogged() {
		return Map.copyOf(this.lastLogged);
	}

	/**
	 * Reads entries, oldest first.
	 * @param filter which entries to keep
	 * @param limit at most this many (the newest of them)
	 * @return the entries
	 */
	synchronized List<Map<String, Object>> read(Predicate<Map<String, Object>> filter, int limit) {
		List<Map<String, Object>> result = new ArrayList<>();
		try {
			for (Path file : files()) {
				for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
					Map<String, Object> entry = parse(line);
					if (entry != null && filter.test(entry)) {
						result.add(entry);
						if (result.size() > limit) {
							result.remove(0);
						}
					}
				}
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot read the audit log", ex);
		}
		return result;
	}

	synchronized String chainBreak() {
		return this.chainBreak;
	}

	synchronized long entries() {
		return this.entries;
	}

	Path directory() {
		return this.dir;
	}

	@SuppressWarnings("unchecked")
	private static Map<String, Object> parse(String line) {
		try {
			return MAPPER.readValue(line, LinkedHashMap.class);
		}
		catch (JacksonException ex) {
			return null;
		}
	}

	private void verify() throws IOException {
		String previous = GENESIS;
		for (Path file : files()) {
			byte[] bytes = Files.readAllBytes(file);
			int start = 0;
			int lineNumber = 0;
			while (start < bytes.length) {
				int end = start;
				while (end < bytes.length && bytes[end] != '\n') {
					end++;
				}
				lineNumber++;
				if (end == bytes.length) {
					if (file.getFileName().toString().equals(CURRENT)) {
						logger.warn("Cutting a torn last line off {} (a crash during an append)", file);
						try (FileChannel truncate = FileChannel.open(file, StandardOpenOption.WRITE)) {
							truncate.truncate(start);
							truncate.force(true);
						}
					}
					else {
						broken(file, lineNumber, "torn line");
					}
					break;
				}
				Map<String, Object> entry = parse(new String(bytes, start, end - start, StandardCharsets.UTF_8));
				String problem = check(bytes, start, end, entry, previous);
				if (problem != null) {
					broken(file, lineNumber, problem);
					previous = hashOf(bytes, start, end);
				}
				else {
					previous = new String(bytes, end - 66, 64, StandardCharsets.US_ASCII);
				}
				remember(entry);
				this.entries++;
				start = end + 1;
			}
		}
		this.lastHash = previous;
	}

	private void remember(Map<String, Object> entry) {
		if (entry != null && "success".equals(entry.get("outcome")) && WRITES.contains(entry.get("action"))
				&& entry.get("state") instanceof String state && entry.get("revision") instanceof Number revision) {
			this.lastLogged.merge(state, revision.longValue(), Math::max);
		}
	}

	private void broken(Path file, int line, String problem) {
		if (this.chainBreak == null) {
			this.chainBreak = file.getFileName() + " line " + line + ": " + problem;
			logger.error("The audit log's hash chain is broken at {}: it was edited, truncated or reordered",
					this.chainBreak);
		}
	}

	/** Checks one line; {@code null} if it holds. */
	private static String check(byte[] bytes, int start, int end, Map<String, Object> entry, String previous) {
		int hashAt = end - 66 - HASH_FIELD.length;
		if (hashAt <= start
				|| !java.util.Arrays.equals(bytes, hashAt, hashAt + HASH_FIELD.length, HASH_FIELD, 0, HASH_FIELD.length)
				|| bytes[end - 1] != '}') {
			return "not an audit entry";
		}
		String stored = new String(bytes, end - 66, 64, StandardCharsets.US_ASCII);
		if (!stored.equals(hashOf(bytes, start, end))) {
			return "hash mismatch";
		}
		if (entry == null || !previous.equals(entry.get("prev"))) {
			return "prev does not name the previous entry";
		}
		return null;
	}

	private static String hashOf(byte[] bytes, int start, int end) {
		int hashAt = end - 66 - HASH_FIELD.length;
		if (hashAt <= start) {
			return Sha256.hex(java.util.Arrays.copyOfRange(bytes, start, end));
		}
		byte[] json = java.util.Arrays.copyOfRange(bytes, start, hashAt + 1);
		json[json.length - 1] = '}';
		return Sha256.hex(json);
	}

	private List<Path> files() throws IOException {
		List<Path> rotated = new ArrayList<>();
		try (Stream<Path> list = Files.list(this.dir)) {
			list.filter((file) -> ROTATED.matcher(file.getFileName().toString()).matches()).forEach(rotated::add);
		}
		rotated.sort(Comparator.comparing((file) -> file.getFileName().toString()));
		Path current = this.dir.resolve(CURRENT);
		if (Files.exists(current)) {
			rotated.add(current);
		}
		return rotated;
	}

	private FileChannel open() throws IOException {
		Path file = this.dir.resolve(CURRENT);
		boolean created = !Files.exists(file);
		FileChannel opened = FileChannel.open(file,
				EnumSet.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND),
				PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
		if (created) {
			Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
			fsyncDirectory();
		}
		return opened;
	}

	private void rotate() throws IOException {
		this.channel.force(false);
		this.durable.accumulateAndGet(this.written, Math::max);
		this.channel.close();
		int next = 1;
		for (Path file : files()) {
			Matcher matcher = ROTATED.matcher(file.getFileName().toString());
			if (matcher.matches()) {
				next = Math.max(next, Integer.parseInt(matcher.group(1)) + 1);
			}
		}
		Files.move(this.dir.resolve(CURRENT), this.dir.resolve(String.format("audit-%06d.log", next)),
				StandardCopyOption.ATOMIC_MOVE);
		fsyncDirectory();
		this.channel = open();
	}

	private void fsyncDirectory() throws IOException {
		try (FileChannel directory = FileChannel.open(this.dir, StandardOpenOption.READ)) {
			directory.force(true);
		}
	}

	@Override
	public void close() {
		this.flusher.shutdownNow();
		long pending;
		synchronized (this) {
			pending = this.written;
		}
		try {
			sync(pending);
		}
		catch (RuntimeException ex) {
			logger.error("Could not flush the audit log on close: {}", ex.toString());
		}
		synchronized (this) {
			try {
				this.channel.close();
			}
			catch (IOException ex) {
				// flushed above
			}
		}
	}

	/** For a time filter. */
	static boolean after(Map<String, Object> entry, Instant since) {
		Object time = entry.get("time");
		return time != null && !Instant.parse(time.toString()).isBefore(since);
	}

}
