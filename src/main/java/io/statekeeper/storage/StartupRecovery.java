package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statekeeper.storage.LoadedState.Condition;

/**
 * Start-up recovery of the file store (DESIGN §6): for each state, in parallel, the
 * leftovers of interrupted writes are removed, every kept version and the current one are
 * verified, damaged files are quarantined, and a damaged state is held, restored
 * ({@code restore-previous}) or reported unrecoverable. An I/O error is the disk's fault,
 * not the file's: start-up stops and nothing is moved.
 */
final class StartupRecovery {

	private static final Logger logger = LoggerFactory.getLogger(FileStateRepository.class);

	private final FileStateRepository store;

	private final StorageIo io;

	private final StoreLayout layout;

	private final StorageMeters meters;

	private final Quarantine quarantine;

	private final StorageProperties.OnCorruption onCorruption;

	private final Clock clock;

	StartupRecovery(FileStateRepository store, StorageIo io, StoreLayout layout, StorageMeters meters,
			Quarantine quarantine, StorageProperties.OnCorruption onCorruption, Clock clock) {
		this.store = store;
		this.io = io;
		this.layout = layout;
		this.meters = meters;
		this.quarantine = quarantine;
		this.onCorruption = onCorruption;
		this.clock = clock;
	}

	/**
	 * Recovers every state. States are recovered in parallel (each state's files are its
	 * own): verifying means reading and hashing every byte, and several reads in flight
	 * keep a disk busier than one.
	 * @return every state found, tombstones included
	 */
	List<LoadedState> recoverAll() {
		List<Path> entries;
		try {
			entries = this.io.list(this.layout.statesDir());
		}
		catch (IOException ex) {
			throw new IllegalStateException("Start-up recovery of " + this.layout.dataDir() + " failed: " + ex, ex);
		}
		entries.sort(Comparator.naturalOrder());
		int threads = Math.min(Math.max(1, entries.size()),
				Math.max(4, 2 * Runtime.getRuntime().availableProcessors()));
		ExecutorService pool = Executors.newFixedThreadPool(threads, DaemonThreads.named("recovery"));
		try {
			List<Future<LoadedState>> recovered = new ArrayList<>();
			for (Path dir : entries) {
				recovered.add(pool.submit(() -> recoverEntry(dir)));
			}
			List<LoadedState> states = new ArrayList<>();
			for (Future<LoadedState> future : recovered) {
				LoadedState state = future.get();
				if (state != null) {
					states.add(state);
				}
			}
			return states;
		}
		catch (ExecutionException ex) {
			Throwable cause = ex.getCause();
			if (cause instanceof RuntimeException runtime) {
				throw runtime;
			}
			throw new IllegalStateException("Start-up recovery of " + this.layout.dataDir() + " failed: " + cause,
					cause);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Start-up recovery of " + this.layout.dataDir() + " was interrupted", ex);
		}
		finally {
			pool.shutdownNow();
		}
	}

	private LoadedState recoverEntry(Path dir) throws IOException {
		String name = dir.getFileName().toString();
		if (name.startsWith(StoreLayout.TEMP_PREFIX)) {
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
		Path versions = dir.resolve(StoreLayout.VERSIONS);
		long highest = 0;
		List<Path> marks = new ArrayList<>();
		for (Path dirToClean : List.of(dir, versions)) {
			for (Path entry : this.io.list(dirToClean)) {
				String file = entry.getFileName().toString();
				Matcher mark = StoreLayout.DAMAGED_MARK_FILE.matcher(file);
				if (dirToClean == dir && mark.matches()) {
					highest = Math.max(highest, Long.parseLong(mark.group(1)));
					marks.add(entry);
				}
				else if (file.startsWith(StoreLayout.TEMP_PREFIX)) {
					Matcher temp = StoreLayout.TEMP_FILE.matcher(file);
					if (temp.matches()) {
						highest = Math.max(highest, Long.parseLong(temp.group(1)));
					}
					removeLeftover(entry);
				}
			}
		}
		List<Long> valid = new ArrayList<>();
		for (Long revision : StoreLayout.versionRevisions(this.io, versions)) {
			highest = Math.max(highest, revision);
			Path file = StoreLayout.versionFile(versions, revision);
			try {
				this.store.requireKnownKey(VersionFormat.read(this.io, file, name, revision, false).header(), file);
				valid.add(revision);
			}
			catch (CorruptVersionException ex) {
				this.quarantine.move(name, file, ex.getMessage());
			}
		}
		this.meters.versionsFound(valid.size());
		Path current = dir.resolve(StoreLayout.CURRENT);
		String damage;
		if (this.io.exists(current)) {
			try {
				StoredVersion stored = VersionFormat.read(this.io, current, name, 0, true);
				this.store.requireKnownKey(stored.header(), current);
				StoredVersion version;
				try {
					version = this.store.plain(stored);
				}
				catch (GeneralSecurityException ex) {
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
					this.quarantine.move(name, current, damage);
				}
				else {
					logger.error("Damaged file {} ({}) stays in place until a start-up can mark its state", current,
							damage);
				}
			}
		}
		else if (!marks.isEmpty()) {
			damage = StoreLayout.CURRENT + " was found damaged or missing at an earlier start-up";
		}
		else if (valid.isEmpty()) {
			// nothing was ever committed here: a first write interrupted before its
			// rename
			discard(versions);
			discard(dir);
			return null;
		}
		else {
			damage = StoreLayout.CURRENT + " is missing";
			highest++;
			logger.warn("State '{}' has kept versions but no {}: treating it as damaged", name, StoreLayout.CURRENT);
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
	 * Leaves the {@link StoreLayout#DAMAGED_MARK} for {@code revision} unless
	 * {@code marks} has it.
	 * @return whether it is there and durable; if not, and no valid version is kept, the
	 * damaged current version must stay where it is, so that the next start-up finds the
	 * damage again
	 */
	private boolean mark(Path dir, long revision, List<Path> marks) {
		Path mark = dir.resolve(StoreLayout.DAMAGED_MARK + revision);
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
			this.meters.recovery("unrecoverable");
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
					VersionHeader header = this.store.write(name, null, restored, version.body(), this.clock.instant());
					this.meters.recovery("restored");
					logger.warn("State '{}' was damaged ({}); restored revision {} as new revision {}", name, damage,
							revision, restored);
					return new LoadedState(name, new StoredVersion(header, version.body()), restored, Condition.OK,
							versionRevisionsQuietly(name), true);
				}
			}
			this.meters.recovery("unrecoverable");
			logger.error("State '{}' is unrecoverable: no kept version could be read back", name);
			return new LoadedState(name, null, highest, Condition.UNRECOVERABLE, List.of(), false);
		}
		logger.warn("State '{}' is held: its current version is damaged ({}); an admin can restore one of the valid "
				+ "revisions {} as a new revision", name, damage, valid);
		return new LoadedState(name, null, highest, Condition.HELD, valid, false);
	}

	private StoredVersion readVersionQuietly(String name, long revision) {
		try {
			return this.store.readVersion(name, revision);
		}
		catch (StorageException ex) {
			return null;
		}
	}

	private List<Long> versionRevisionsQuietly(String name) {
		try {
			return StoreLayout.versionRevisions(this.io, this.layout.versionsDir(name));
		}
		catch (IOException ex) {
			return List.of();
		}
	}

	private void removeLeftover(Path temp) {
		try {
			this.io.delete(temp);
			this.meters.recovery("temp-removed");
			logger.warn("Removed {}: left over by a write that did not complete", temp);
		}
		catch (IOException ex) {
			logger.warn("Could not remove leftover {}: {}", temp, ex.toString());
		}
	}

	private void discard(Path path) {
		StorageFailures.discard(this.io, path);
	}

}
