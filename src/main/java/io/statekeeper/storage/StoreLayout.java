package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the file store keeps what (see this package's documentation for the layout):
 * every path and file name the engine builds, and the patterns that read them back.
 */
final class StoreLayout {

	static final String STATES = "states";

	static final String QUARANTINE = "quarantine";

	static final String CURRENT = "current.json";

	static final String VERSIONS = "versions";

	static final String TEMP_PREFIX = ".tmp-";

	/**
	 * An empty file in a state's directory whose name says that start-up recovery found
	 * the state's current version damaged or missing at that revision and could not
	 * restore it. It keeps the state held or unrecoverable, and its revision counter,
	 * across restarts: without it, a state whose damaged files are all in quarantine
	 * would look like a first write that never completed, vanish, and start again at
	 * revision 1.
	 */
	static final String DAMAGED_MARK = "damaged-";

	static final Pattern VERSION_FILE = Pattern.compile("([1-9][0-9]{0,17})\\.json");

	static final Pattern TEMP_FILE = Pattern.compile("\\.tmp-([0-9]{1,18})-.*");

	static final Pattern DAMAGED_MARK_FILE = Pattern.compile("damaged-([0-9]{1,18})");

	private final Path dataDir;

	private final Path statesDir;

	private final Path quarantineDir;

	StoreLayout(Path dataDir) {
		this.dataDir = dataDir.toAbsolutePath().normalize();
		this.statesDir = this.dataDir.resolve(STATES);
		this.quarantineDir = this.dataDir.resolve(QUARANTINE);
	}

	Path dataDir() {
		return this.dataDir;
	}

	Path statesDir() {
		return this.statesDir;
	}

	Path quarantineDir() {
		return this.quarantineDir;
	}

	/** Where the locks are ({@link LockFiles}). */
	Path locksDir() {
		return this.dataDir.resolve(LockFiles.LOCKS);
	}

	/** A state's directory; the name is checked against {@link StateName} first. */
	Path stateDir(String name) {
		return this.statesDir.resolve(StateName.require(name));
	}

	Path versionsDir(String name) {
		return stateDir(name).resolve(VERSIONS);
	}

	static Path versionFile(Path versionsDir, long revision) {
		return versionsDir.resolve(revision + ".json");
	}

	static Path tempFile(Path stateDir, long revision) {
		return stateDir.resolve(TEMP_PREFIX + revision + "-" + randomSuffix());
	}

	/**
	 * The revisions of the version files in a versions directory, newest first.
	 * @param io the file-system seam
	 * @param versionsDir the directory
	 * @return the revisions
	 */
	static List<Long> versionRevisions(StorageIo io, Path versionsDir) throws IOException {
		List<Long> revisions = new ArrayList<>();
		for (Path entry : io.list(versionsDir)) {
			Matcher matcher = VERSION_FILE.matcher(entry.getFileName().toString());
			if (matcher.matches()) {
				revisions.add(Long.parseLong(matcher.group(1)));
			}
		}
		revisions.sort(Comparator.reverseOrder());
		return revisions;
	}

	static String randomSuffix() {
		return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
	}

}
