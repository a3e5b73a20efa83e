package io.statekeeper.audit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statekeeper.storage.DaemonThreads;
import io.statekeeper.storage.StorageIo;

/**
 * An append-only, hash-chained audit log: {@code <data-dir>/audit/audit.log}, one JSON
 * object per line, rotated by size into {@code audit-000001.log},
 * {@code audit-000002.log}, … with the chain going on across files.
 *
 * <pre>
 * {"seq":42,"time":"…","token":"ci","remote":"10.0.0.7","action":"put","state":"prod","revision":42,
 *  "checksum":"sha256:…","outcome":"success","reason":"none","prev":"&lt;hash of entry 41&gt;","mac":"hmac-sha256","hash":"…"}
 * </pre>
 *
 * Entries are numbered ({@code seq}, from 1, never reset) and sealed by
 * {@link AuditChain}: each names the previous entry's hash in {@code prev} (64 zeros for
 * the first), so editing, removing or reordering any entry breaks the chain from there
 * on. Entries are group-committed: {@link #append} writes the line and returns its
 * {@code seq}, {@link #sync} returns once that entry is fdatasync'ed (one fdatasync
 * covers every entry written before it, whoever waits), and a flusher makes whatever is
 * pending durable every flush interval.
 * <p>
 * <b>Start-up</b> verifies the whole chain. A torn last line (a crash mid-append, never
 * acknowledged) is copied to {@code quarantine/} and cut off; anything else is reported
 * as a break. <b>Anchors</b>: every state version records the newest durable entry
 * ({@link #durableHead}) in its header; {@link #checkAnchor} proves at start-up that the
 * log still holds it, so a log cut short or deleted is detected too. <b>Retention</b>:
 * beyond {@code maxFiles} rotated files the oldest is dropped, but only once an anchor
 * covers its last entry, and only after a {@code retention} entry in the chain says so:
 * the first entry left must follow what the newest such entry dropped.
 * <p>
 * <b>Space</b>: an append that would leave less than {@code reserve} bytes free is
 * refused (states are refused from a larger margin, so writes stop before their audit
 * does); a write that fails half-way is cut back, so the next entry never lands on a
 * partial line.
 * <p>
 * Why one class of about 500 lines: appending, the group commit, rotation, retention and
 * the anchor check all read or move the same numbered chain (its head, its files) under
 * this object's monitor; split apart, they would share that lock across classes. The
 * start-up check, which runs before anything else, is {@link AuditLogVerifier}; the
 * files' names and order, {@link AuditFiles}.
 */
final class AuditLog implements AuditStore {

	private static final Logger logger = LoggerFactory.getLogger(AuditLog.class);

	private static final String CURRENT = AuditFiles.CURRENT;

	static final String RETENTION = "retention";

	private final Path dir;

	private final long maxFileSize;

	private final int maxFiles;

	private final long reserve;

	private final AuditChain chain;

	private final StorageIo io;

	private FileChannel channel;

	private String lastHash = AuditChain.GENESIS;

	/** The newest entry's seq (guarded by this). */
	private long lastSeq;

	private String chainBreak;

	/** Per file name, the seqs of its first and last entries. */
	private final TreeMap<String, long[]> files = new TreeMap<>();

	/** The newest durable entry. */
	private final AtomicReference<Head> durable = new AtomicReference<>(new Head(0, AuditChain.GENESIS));

	/** The newest entry an anchor names: retention never drops past it. */
	private volatile long anchored;

	private final Object syncLock = new Object();

	/** Why an fdatasync failed, once one has: from then on nothing counts as durable. */
	private volatile String syncFailed;

	/** Per state, the newest revision a successful write of it is logged with. */
	private final Map<String, Long> lastLogged = new HashMap<>();

	private final ScheduledExecutorService flusher;

	private final Runnable afterFlush;

	/**
	 * The newest durable entry: its seq, and its hash.
	 *
	 * @param entries the seq of the newest durable entry (0 for none)
	 * @param hash its hash
	 */
	record Head(long entries, String hash) {

	}

	AuditLog(Path dir, StorageIo io, long maxFileSize, int maxFiles, long reserve, Duration flushInterval,
			AuditChain chain, Runnable afterFlush) {
		this.io = io;
		this.afterFlush = afterFlush;
		this.dir = dir;
		this.maxFileSize = maxFileSize;
		this.maxFiles = maxFiles;
		this.reserve = reserve;
		this.chain = chain;
		try {
			Files.createDirectories(dir,
					PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
			AuditLogVerifier.Verified verified = new AuditLogVerifier(dir, dir.resolveSibling("quarantine"), chain)
				.verify();
			this.lastHash = verified.lastHash();
			this.lastSeq = verified.lastSeq();
			this.files.putAll(verified.files());
			this.lastLogged.putAll(verified.lastLogged());
			if (verified.chainBreak() != null) {
				broken(verified.chainBreak());
			}
			this.channel = open();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot open the audit log in " + dir, ex);
		}
		this.durable.set(new Head(this.lastSeq, this.lastHash));
		this.flusher = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("audit-flush"));
		long millis = Math.max(1, flushInterval.toMillis());
		this.flusher.scheduleWithFixedDelay(this::flush, millis, millis, TimeUnit.MILLISECONDS);
	}

	/**
	 * Appends one entry; it is durable once {@link #sync} with its number returns (or the
	 * flusher got to it).
	 * @param fields the entry's members, in order (without {@code seq}, {@code prev} and
	 * {@code hash})
	 * @return the entry's seq
	 * @throws UncheckedIOException if it could not be written (nothing of it is left in
	 * the log)
	 */
	@Override
	public synchronized long append(Map<String, Object> fields) {
		Map<String, Object> entry = new LinkedHashMap<>();
		entry.put("seq", this.lastSeq + 1);
		entry.putAll(fields);
		entry.put("prev", this.lastHash);
		AuditChain.Sealed sealed = this.chain.seal(entry);
		byte[] line = sealed.line();
		long size = -1;
		try {
			if (this.io.usableSpace(this.dir) - line.length < this.reserve) {
				throw new IOException("No space left for the audit log: fewer than " + this.reserve
						+ " bytes would stay free (statekeeper.storage.min-free-space / 2)");
			}
			if (this.channel.size() + line.length > this.maxFileSize && this.channel.size() > 0) {
				rotate();
			}
			size = this.channel.size();
			this.io.writeFully(this.channel, ByteBuffer.wrap(line));
		}
		catch (IOException ex) {
			if (size >= 0) {
				cutBack(size);
			}
			throw new UncheckedIOException("Cannot append to the audit log", ex);
		}
		this.lastHash = sealed.hash();
		this.lastSeq++;
		this.files.computeIfAbsent(CURRENT, (name) -> new long[] { this.lastSeq, 0 })[1] = this.lastSeq;
		return this.lastSeq;
	}

	/** Removes what a failed append left of its line (ENOSPC after a short write). */
	private void cutBack(long size) {
		try {
			this.io.truncate(this.channel, size);
		}
		catch (IOException ex) {
			// the next start-up finds the partial line and quarantines it
			logger.error("Could not cut a failed audit append back: {}", ex.toString());
		}
	}

	/**
	 * Returns once entry {@code seq} (and every one before it) is durable: one fdatasync
	 * for all the entries written so far, shared by every thread that waits.
	 * @param seq an entry's number from {@link #append}
	 */
	@Override
	public void sync(long seq) {
		synchronized (this.syncLock) {
			if (this.durable.get().entries() >= seq) {
				return;
			}
			Head target;
			FileChannel current;
			synchronized (this) {
				target = new Head(this.lastSeq, this.lastHash);
				current = this.channel;
			}
			try {
				forceAndAdvance(current, target);
			}
			catch (ClosedChannelException ex) {
				// rotated meanwhile: the rotation forced that file and moved the head
				// past
				// target
			}
			catch (IOException ex) {
				throw new UncheckedIOException("Cannot fdatasync the audit log", ex);
			}
		}
	}

	/**
	 * The one way entries become durable (a sync, a rotation): fdatasync, then the head
	 * moves. After a failed fdatasync the kernel may have dropped the pages it could not
	 * write and cleared the error, so a later one that succeeds proves nothing about
	 * them: from the first failure on nothing counts as durable, until a restart verifies
	 * the log and completes it from the version headers.
	 */
	private void forceAndAdvance(FileChannel channel, Head head) throws IOException {
		if (this.syncFailed != null) {
			throw new IOException("the audit log cannot be made durable since an fdatasync failed (" + this.syncFailed
					+ "): restart the service");
		}
		try {
			this.io.forceData(channel);
		}
		catch (ClosedChannelException ex) {
			throw ex;
		}
		catch (IOException ex) {
			this.syncFailed = ex.toString();
			logger.error("An fdatasync of the audit log failed ({}): no entry counts as durable from now on, until "
					+ "a restart verifies the log and completes it from the version headers", ex.toString());
			throw ex;
		}
		advance(head);
	}

	private void advance(Head head) {
		this.durable.accumulateAndGet(head, (now, next) -> (next.entries() > now.entries()) ? next : now);
	}

	/**
	 * The seq of the newest durable entry.
	 * @return 0 if none
	 */
	@Override
	public long durable() {
		return this.durable.get().entries();
	}

	/**
	 * The newest durable entry, for a version header's anchor: a crash can never take it
	 * from the log, so an anchor that the log does not hold means the log was cut.
	 * @return the head
	 */
	@Override
	public Head durableHead() {
		Head head = this.durable.get();
		this.anchored = Math.max(this.anchored, head.entries());
		return head;
	}

	/**
	 * Makes everything written durable, drops what retention allows, then runs the
	 * after-flush action.
	 */
	@Override
	public void flush() {
		if (this.syncFailed != null) {
			// nothing can be made durable, nor pruned on its account, until a restart
			return;
		}
		long pending;
		synchronized (this) {
			pending = this.lastSeq;
		}
		try {
			if (pending > durable()) {
				sync(pending);
			}
			retain();
			// also when another entry's sync made them durable meanwhile
			this.afterFlush.run();
		}
		catch (RuntimeException ex) {
			logger.error("Could not flush the audit log: {}", ex.toString());
		}
	}

	/**
	 * Drops the oldest rotated files beyond {@code maxFiles} whose entries an anchor
	 * covers: first a durable {@code retention} entry says what goes, then the file goes.
	 */
	private void retain() {
		while (true) {
			String oldest;
			long[] seqs;
			synchronized (this) {
				List<String> rotated = this.files.keySet().stream().filter((name) -> !name.equals(CURRENT)).toList();
				if (this.maxFiles <= 0 || rotated.size() <= this.maxFiles) {
					return;
				}
				oldest = rotated.get(0);
				seqs = this.files.get(oldest);
				if (seqs[1] > this.anchored) {
					return;
				}
			}
			Map<String, Object> entry = AuditStore.entry(Instant.now(), "statekeeper", "-", RETENTION, "-", seqs[1],
					null, "success", "dropped " + oldest + " (entries " + seqs[0] + " to " + seqs[1]
							+ ") beyond statekeeper.security.audit-max-files");
			sync(append(entry));
			try {
				this.io.delete(this.dir.resolve(oldest));
				this.io.fsyncDirectory(this.dir);
			}
			catch (IOException ex) {
				logger.error("Could not drop {} from the audit log: {}", oldest, ex.toString());
				return;
			}
			synchronized (this) {
				this.files.remove(oldest);
			}
			logger.info("Dropped {} (audit entries {} to {}) beyond statekeeper.security.audit-max-files", oldest,
					seqs[0], seqs[1]);
		}
	}

	/**
	 * Per state, the newest revision whose successful write (put, delete, restore) the
	 * log held at start-up.
	 * @return state name to revision
	 */
	@Override
	public synchronized Map<String, Long> lastLogged() {
		return Map.copyOf(this.lastLogged);
	}

	/**
	 * Opens every file of the log for reading, oldest first, under the log's monitor so
	 * that no rotation or retention moves one meanwhile; the reading itself
	 * ({@link AuditReader}) holds no lock, so appends never wait for a reader (an open
	 * file stays readable if it is renamed or dropped afterwards).
	 * @return the open files; the caller closes them
	 */
	@Override
	public synchronized List<java.io.InputStream> openForReading() throws IOException {
		List<java.io.InputStream> opened = new ArrayList<>();
		try {
			for (Path file : files()) {
				opened.add(Files.newInputStream(file));
			}
		}
		catch (IOException ex) {
			for (java.io.InputStream in : opened) {
				in.close();
			}
			throw ex;
		}
		return opened;
	}

	/**
	 * Checks that the log still holds the entry an anchor names.
	 * @param head the anchor: an entry's seq and hash
	 * @param where what recorded it, for the message
	 */
	@Override
	public synchronized void checkAnchor(Head head, String where) {
		if (head.entries() == 0) {
			return;
		}
		if (head.entries() > this.lastSeq) {
			broken("the log ends at entry " + this.lastSeq + ", but " + where + " was written when entry "
					+ head.entries() + " was durable: entries were cut off or the log was replaced");
			return;
		}
		String hash = AuditReader.hashOf(this.dir, this.files, this.chain, head.entries());
		if (hash != null && !hash.equals(head.hash())) {
			broken("entry " + head.entries() + " is not the one " + where + " recorded: the log was rewritten");
		}
	}

	@Override
	public synchronized String chainBreak() {
		return this.chainBreak;
	}

	@Override
	public synchronized long entries() {
		return this.lastSeq;
	}

	@Override
	public boolean keyed() {
		return this.chain.keyed();
	}

	@Override
	public String durabilityLost() {
		return this.syncFailed;
	}

	private void broken(String problem) {
		if (this.chainBreak == null) {
			this.chainBreak = problem;
			logger.error("The audit log's hash chain is broken: {}. It was edited, cut, rewritten or reordered",
					problem);
		}
	}

	private List<Path> files() throws IOException {
		return AuditFiles.list(this.dir);
	}

	private FileChannel open() throws IOException {
		Path file = this.dir.resolve(CURRENT);
		boolean created = !this.io.exists(file);
		FileChannel opened = this.io.openAppend(file);
		if (created) {
			this.io.fsyncDirectory(this.dir);
		}
		return opened;
	}

	private void rotate() throws IOException {
		forceAndAdvance(this.channel, new Head(this.lastSeq, this.lastHash));
		this.io.close(this.channel);
		String rotated = AuditFiles.nextRotated(this.files.keySet());
		this.io.move(this.dir.resolve(CURRENT), this.dir.resolve(rotated));
		this.io.fsyncDirectory(this.dir);
		long[] seqs = this.files.remove(CURRENT);
		if (seqs != null) {
			this.files.put(rotated, seqs);
		}
		this.channel = open();
	}

	@Override
	public void close() {
		this.flusher.shutdownNow();
		long pending;
		synchronized (this) {
			pending = this.lastSeq;
		}
		try {
			sync(pending);
		}
		catch (RuntimeException ex) {
			logger.error("Could not flush the audit log on close: {}", ex.toString());
		}
		synchronized (this) {
			try {
				this.io.close(this.channel);
			}
			catch (IOException ex) {
				// flushed above
			}
		}
	}

}
