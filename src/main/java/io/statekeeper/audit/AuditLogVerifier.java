package io.statekeeper.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log's start-up check: every line of every file, oldest first, against the
 * chain (sealed hash, {@code prev}, {@code seq} without gaps, no unkeyed entry after a
 * keyed one) and the retention floor. A torn last line is kept in quarantine and cut off;
 * a whole last entry that lost only its newline is completed. Anything else is a break,
 * reported, never repaired.
 */
final class AuditLogVerifier {

	private static final Logger logger = LoggerFactory.getLogger(AuditLog.class);

	private static final Set<String> WRITES = Set.of("put", "delete", "restore");

	private final Path dir;

	private final Path quarantine;

	private final AuditChain chain;

	private boolean keyedSeen;

	private String chainBreak;

	private final TreeMap<String, long[]> files = new TreeMap<>();

	private final Map<String, Long> lastLogged = new HashMap<>();

	/**
	 * What the log holds.
	 *
	 * @param lastHash the newest entry's hash (the genesis for an empty log)
	 * @param lastSeq the newest entry's seq
	 * @param files per file name, the seqs of its first and last entries
	 * @param lastLogged per state, the newest revision a successful write is logged with
	 * @param chainBreak the first break found, {@code null} if none
	 */
	record Verified(String lastHash, long lastSeq, TreeMap<String, long[]> files, Map<String, Long> lastLogged,
			String chainBreak) {

	}

	AuditLogVerifier(Path dir, Path quarantine, AuditChain chain) {
		this.dir = dir;
		this.quarantine = quarantine;
		this.chain = chain;
	}

	Verified verify() throws IOException {
		String previous = AuditChain.GENESIS;
		long expected = 1;
		long firstSeq = 0;
		long droppedThrough = 0;
		for (Path file : AuditFiles.list(this.dir)) {
			String name = file.getFileName().toString();
			byte[] bytes = Files.readAllBytes(file);
			int start = 0;
			int lineNumber = 0;
			while (start < bytes.length) {
				int end = start;
				while (end < bytes.length && bytes[end] != '\n') {
					end++;
				}
				lineNumber++;
				byte[] line = java.util.Arrays.copyOfRange(bytes, start, end);
				AuditChain.Checked checked = this.chain.check(line);
				if (end == bytes.length) {
					if (name.equals(AuditFiles.CURRENT) && checked.problem() == null) {
						// whole but for its newline: complete it
						completeLastLine(file);
					}
					else if (name.equals(AuditFiles.CURRENT)) {
						quarantineTornLine(file, start, line);
						break;
					}
					else {
						broken(name + " line " + lineNumber + ": torn line");
						break;
					}
				}
				Map<String, Object> entry = checked.entry();
				long seq = (entry != null && entry.get("seq") instanceof Number number) ? number.longValue() : expected;
				if (firstSeq == 0) {
					firstSeq = seq;
					if (seq > 1 && entry != null) {
						// earlier entries were dropped by retention: the chain goes on
						// from the hash this entry names
						previous = String.valueOf(entry.get("prev"));
						expected = seq;
					}
				}
				String problem = checked.problem();
				if (problem == null && seq != expected) {
					problem = "entry " + expected + " is missing (found " + seq + ")";
				}
				if (problem == null && !previous.equals(entry.get("prev"))) {
					problem = "prev does not name the previous entry";
				}
				if (problem == null && !checked.keyed() && this.keyedSeen) {
					problem = "an unkeyed entry after keyed ones";
				}
				if (problem != null) {
					broken(name + " line " + lineNumber + ": " + problem);
				}
				this.keyedSeen |= checked.keyed();
				previous = checked.actual();
				if (entry != null && AuditLog.RETENTION.equals(entry.get("action"))
						&& entry.get("revision") instanceof Number through) {
					droppedThrough = Math.max(droppedThrough, through.longValue());
				}
				remember(entry);
				this.files.computeIfAbsent(name, (key) -> new long[] { seq, seq })[1] = seq;
				expected = seq + 1;
				start = end + 1;
			}
		}
		if (firstSeq > droppedThrough + 1) {
			broken("the log starts at entry " + firstSeq + ", but retention dropped only the entries up to "
					+ droppedThrough + ": older files were removed");
		}
		return new Verified(previous, expected - 1, this.files, this.lastLogged, this.chainBreak);
	}

	private void completeLastLine(Path file) throws IOException {
		try (FileChannel append = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
			append.write(ByteBuffer.wrap(new byte[] { '\n' }));
			append.force(true);
		}
	}

	/**
	 * A crash mid-append leaves a partial last line, which was never acknowledged: it is
	 * copied to {@code quarantine/} (evidence, if it was no crash) and cut off.
	 */
	private void quarantineTornLine(Path file, int start, byte[] torn) throws IOException {
		Files.createDirectories(this.quarantine,
				PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
		Path copy = this.quarantine.resolve("audit-torn-" + Instant.now().toEpochMilli() + ".log");
		try (FileChannel out = FileChannel.open(copy,
				EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
				PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
			out.write(ByteBuffer.wrap(torn));
			out.force(true);
		}
		try (FileChannel directory = FileChannel.open(this.quarantine, StandardOpenOption.READ)) {
			directory.force(true);
		}
		logger.warn("Cut a torn last line ({} bytes) off {} and kept it as {} (a crash during an append)", torn.length,
				file, copy);
		try (FileChannel truncate = FileChannel.open(file, StandardOpenOption.WRITE)) {
			truncate.truncate(start);
			truncate.force(true);
		}
	}

	private void remember(Map<String, Object> entry) {
		if (entry != null && "success".equals(entry.get("outcome")) && WRITES.contains(entry.get("action"))
				&& entry.get("state") instanceof String state && entry.get("revision") instanceof Number revision) {
			this.lastLogged.merge(state, revision.longValue(), Math::max);
		}
	}

	private void broken(String problem) {
		if (this.chainBreak == null) {
			this.chainBreak = problem;
		}
	}

}
