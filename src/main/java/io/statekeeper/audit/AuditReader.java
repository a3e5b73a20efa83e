package io.statekeeper.audit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Reads the audit log: for {@code GET /api/v1/audit}, every entry of every file, oldest
 * first, filtered, the newest {@code limit} kept, from files the log opened for it and
 * without the log's lock, so writers never wait for a reader; and one entry's hash for
 * the start-up anchor check.
 */
final class AuditReader {

	private AuditReader() {
	}

	/**
	 * @param log the log
	 * @param filter which entries to keep
	 * @param limit at most this many (the newest of them)
	 * @return the entries, oldest first
	 */
	static List<Map<String, Object>> read(AuditStore log, Predicate<Map<String, Object>> filter, int limit) {
		ArrayDeque<Map<String, Object>> result = new ArrayDeque<>();
		List<InputStream> files;
		try {
			files = log.openForReading();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot read the audit log", ex);
		}
		try {
			for (InputStream file : files) {
				BufferedReader lines = new BufferedReader(new InputStreamReader(file, StandardCharsets.UTF_8));
				for (String line = lines.readLine(); line != null; line = lines.readLine()) {
					// a line being appended right now may be partial: it does not parse
					Map<String, Object> entry = AuditChain.parse(line.getBytes(StandardCharsets.UTF_8));
					if (entry != null && filter.test(entry)) {
						result.addLast(entry);
						if (result.size() > limit) {
							result.removeFirst();
						}
					}
				}
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot read the audit log", ex);
		}
		finally {
			for (InputStream file : files) {
				try {
					file.close();
				}
				catch (IOException ex) {
					// read already
				}
			}
		}
		return new ArrayList<>(result);
	}

	/**
	 * The hash of one entry, read from the file that holds it, for the anchor check.
	 * @param dir the log's directory
	 * @param files per file name, the seqs of its first and last entries
	 * @param chain how entries are sealed
	 * @param seq the entry
	 * @return its hash, {@code null} if no file holds it (retention dropped it)
	 */
	static String hashOf(Path dir, Map<String, long[]> files, AuditChain chain, long seq) {
		for (Map.Entry<String, long[]> file : files.entrySet()) {
			long[] seqs = file.getValue();
			if (seq >= seqs[0] && seq <= seqs[1]) {
				try (Stream<String> lines = Files.lines(dir.resolve(file.getKey()), StandardCharsets.UTF_8)) {
					return lines.skip(seq - seqs[0])
						.findFirst()
						.map((line) -> chain.check(line.getBytes(StandardCharsets.UTF_8)).actual())
						.orElse(null);
				}
				catch (IOException ex) {
					throw new UncheckedIOException("Cannot read the audit log", ex);
				}
			}
		}
		return null;
	}

	/** For a time filter: whether an entry is from {@code since} on. */
	static boolean after(Map<String, Object> entry, Instant since) {
		Object time = entry.get("time");
		return time != null && !Instant.parse(time.toString()).isBefore(since);
	}

}
