package io.statekeeper.audit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What the file audit log's files are called and in which order they hold the chain:
 * {@value #CURRENT}, the one appended to, and the rotated {@code audit-NNNNNN.log} before
 * it, oldest first. Shared by {@link AuditLog} and {@link AuditLogVerifier}.
 */
final class AuditFiles {

	static final String CURRENT = "audit.log";

	private static final Pattern ROTATED = Pattern.compile("audit-(\\d{6})\\.log");

	private AuditFiles() {
	}

	/** The log's files, oldest first: the rotated ones, then {@value #CURRENT}. */
	static List<Path> list(Path dir) throws IOException {
		List<Path> files = new ArrayList<>();
		try (Stream<Path> list = Files.list(dir)) {
			list.filter((file) -> ROTATED.matcher(file.getFileName().toString()).matches()).forEach(files::add);
		}
		files.sort(Comparator.comparing((file) -> file.getFileName().toString()));
		Path current = dir.resolve(CURRENT);
		if (Files.exists(current)) {
			files.add(current);
		}
		return files;
	}

	/**
	 * The name the current file takes when it is rotated, after every rotated one in
	 * {@code names}.
	 */
	static String nextRotated(Collection<String> names) {
		int next = 1;
		for (String name : names) {
			Matcher matcher = ROTATED.matcher(name);
			if (matcher.matches()) {
				next = Math.max(next, Integer.parseInt(matcher.group(1)) + 1);
			}
		}
		return String.format("audit-%06d.log", next);
	}

}
