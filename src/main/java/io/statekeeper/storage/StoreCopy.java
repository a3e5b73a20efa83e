package io.statekeeper.storage;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Copies every state of one store into another (the file store into PostgreSQL, or back):
 * each state's kept versions and its current one (a tombstone too, when it is current)
 * with their revisions, times and audit fields, and the client locks. The source is read
 * as start-up reads it, verified; the target is read back and every copied version's
 * checksum compared with the source's.
 * <ul>
 * <li><b>Harmless twice.</b> A state the target already has with the same current
 * revision and checksum is left alone; one it has otherwise is reported as a difference
 * and left alone too (the copy fails: nothing is overwritten).</li>
 * <li><b>Damage is not copied.</b> A kept version that fails verification is left out and
 * reported; a state whose current version is damaged (held, unrecoverable) is left out
 * whole, since its newest kept version would silently become current in the target:
 * restore it in the source first.</li>
 * <li>Audit anchors (which point into one audit log) are dropped; who wrote each version,
 * from where and how, is copied.</li>
 * </ul>
 * The revisions a failed write burned in the source are not carried over: the target's
 * counter starts at the copied current revision.
 */
public final class StoreCopy {

	private final StateRepository source;

	private StateRepository target;

	private final PrintStream out;

	/** What a copy did. */
	public record Result(int states, int versions, int locks, int alreadyThere, int verified, List<String> excluded,
			List<String> differences) {

		/** Whether every state was copied or already there, and verified. */
		public boolean complete() {
			return this.differences.isEmpty();
		}

	}

	public StoreCopy(StateRepository source, StateRepository target, PrintStream out) {
		this.source = source;
		this.target = target;
		this.out = out;
	}

	/**
	 * Copies, then verifies.
	 * @param reopen opens the target again for the verification, as a restart would (the
	 * file store); a shared store is read as it is
	 * @return what was done
	 */
	public Result run(java.util.function.UnaryOperator<StateRepository> reopen) {
		Map<String, LoadedState> existing = this.target.loadAll()
			.stream()
			.collect(Collectors.toMap(LoadedState::name, Function.identity()));
		int states = 0;
		int alreadyThere = 0;
		List<StoredVersion> copied = new ArrayList<>();
		List<String> excluded = new ArrayList<>();
		List<String> differences = new ArrayList<>();
		List<LoadedState> all = new ArrayList<>(this.source.loadAll());
		all.sort(Comparator.comparing(LoadedState::name));
		for (LoadedState state : all) {
			String name = state.name();
			if (state.current() == null) {
				excluded.add(name + ": its current version is damaged (" + state.condition().name().toLowerCase()
						+ "); restore a valid revision in the source, then copy again");
				continue;
			}
			LoadedState there = existing.get(name);
			VersionHeader current = state.current().header();
			if (there != null) {
				VersionHeader theirs = (there.current() != null) ? there.current().header() : null;
				if (theirs != null && theirs.revision() == current.revision()
						&& theirs.checksum().equals(current.checksum())) {
					alreadyThere++;
					continue;
				}
				differences.add(name + ": the target already has it, at revision "
						+ ((theirs != null) ? theirs.revision() : "?") + " (the source is at " + current.revision()
						+ "); left as it is");
				continue;
			}
			List<StoredVersion> history = history(name, state.current(), excluded);
			VersionHeader previous = null;
			for (StoredVersion version : history) {
				previous = copy(name, previous, version);
				copied.add(version);
			}
			states++;
		}
		int locks = 0;
		Map<String, StoredLock> theirLocks = this.target.loadLocks();
		for (StoredLock lock : this.source.loadLocks().values()) {
			if (!lock.equals(theirLocks.get(lock.name()))) {
				this.target.writeLock(lock);
				locks++;
			}
		}
		this.target = reopen.apply(this.target);
		List<String> unreadable = verify(this.target, copied);
		differences.addAll(unreadable);
		Result result = new Result(states, copied.size(), locks, alreadyThere, copied.size() - unreadable.size(),
				List.copyOf(excluded), List.copyOf(differences));
		report(result);
		return result;
	}

	/** The target as the copy left it (reopened for the verification). */
	public StateRepository target() {
		return this.target;
	}

	/** Every readable version of a state, oldest first, the current one last. */
	private List<StoredVersion> history(String name, StoredVersion current, List<String> excluded) {
		List<StoredVersion> history = new ArrayList<>();
		for (VersionHeader kept : this.source.versions(name)) {
			if (kept.revision() == current.header().revision() || kept.deleted()) {
				// a tombstone that is not current holds nothing (the file store keeps
				// none)
				continue;
			}
			try {
				StoredVersion version = this.source.readVersion(name, kept.revision());
				if (version != null) {
					history.add(version);
				}
			}
			catch (StorageException ex) {
				if (ex.getReason() != StorageException.Reason.CORRUPT) {
					throw ex;
				}
				excluded.add(name + ": kept revision " + kept.revision() + " is damaged; left out");
			}
		}
		history.add(current);
		history.sort(Comparator.comparingLong((StoredVersion version) -> version.header().revision()));
		return history;
	}

	private VersionHeader copy(String name, VersionHeader previous, StoredVersion version) {
		VersionHeader header = version.header();
		VersionHeader.Audit audit = (header.audit() != null)
				? new VersionHeader.Audit(header.audit().action(), header.audit().token(), header.audit().remote())
				: null;
		if (header.deleted()) {
			return this.target.delete(name, previous, header.revision(), header.updatedAt(), audit, LockFence.NONE);
		}
		return this.target.write(name, previous, header.revision(), ChecksummedBody.of(version.body()),
				header.updatedAt(), audit, LockFence.NONE, () -> {
				});
	}

	/**
	 * Reads every copied version back from the target as a restart would (the current
	 * ones as start-up loads them, the kept ones verified) and compares it with the
	 * source's.
	 */
	private List<String> verify(StateRepository check, List<StoredVersion> copied) {
		Map<String, StoredVersion> currents = new java.util.HashMap<>();
		for (LoadedState state : check.loadAll()) {
			if (state.current() != null) {
				currents.put(state.name(), state.current());
			}
		}
		List<String> differences = new ArrayList<>();
		for (StoredVersion version : copied) {
			String name = version.header().name();
			long revision = version.header().revision();
			StoredVersion current = currents.get(name);
			StoredVersion read = (current != null && current.header().revision() == revision) ? current
					: check.readVersion(name, revision);
			if (read == null || !read.header().checksum().equals(version.header().checksum())
					|| !java.util.Arrays.equals(read.body(), version.body())) {
				differences.add(name + ": revision " + revision + " does not read back from the target as it was");
			}
		}
		return differences;
	}

	private void report(Result result) {
		this.out.printf("copied %d states (%d versions), %d locks; %d states already there; %d versions verified%n",
				result.states(), result.versions(), result.locks(), result.alreadyThere(), result.verified());
		result.excluded().forEach((line) -> this.out.println("left out: " + line));
		result.differences().forEach((line) -> this.out.println("DIFFERENT: " + line));
	}

}
