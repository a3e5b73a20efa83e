package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each state's history to {@code backups-kept} versions, behind the writes: one
 * thread prunes one state at a time once its write is durable (removing a large file
 * costs as much as a directory fsync, and nobody waits for it). A
 * {@link VersionRetention} may hold older versions back (the audit trail's, until their
 * entries are durable). What is listed and read goes by {@link #kept}, so it never
 * depends on whether a queued prune has run yet.
 */
final class VersionPruner implements AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(FileStateRepository.class);

	private final StorageIo io;

	private final StoreLayout layout;

	private final int versionsKept;

	private final StorageMeters meters;

	private volatile VersionRetention retention = VersionRetention.NONE;

	/** States whose pruning left versions that the retention held back. */
	private final Set<String> heldBack = ConcurrentHashMap.newKeySet();

	/** States with a prune queued: however many writes come first, one prune each. */
	private final Set<String> queued = ConcurrentHashMap.newKeySet();

	private final ExecutorService pruner = Executors.newSingleThreadExecutor(DaemonThreads.named("prune-versions"));

	VersionPruner(StorageIo io, StoreLayout layout, int versionsKept, StorageMeters meters) {
		this.io = io;
		this.layout = layout;
		this.versionsKept = versionsKept;
		this.meters = meters;
	}

	void setRetention(VersionRetention retention) {
		this.retention = retention;
	}

	/**
	 * The kept revisions as pruning leaves them, newest first: the newest
	 * {@code backups-kept}, and older ones the retention holds back.
	 */
	List<Long> kept(String name, List<Long> revisions) {
		if (revisions.size() <= this.versionsKept) {
			return revisions;
		}
		long retained = this.retention.firstRetained(name);
		List<Long> kept = new ArrayList<>(revisions.subList(0, this.versionsKept));
		for (Long revision : revisions.subList(this.versionsKept, revisions.size())) {
			if (revision >= retained) {
				kept.add(revision);
			}
		}
		return kept;
	}

	/** Queues a prune of a state whose write is durable. */
	void schedule(String name) {
		if (!this.queued.add(name)) {
			return;
		}
		try {
			this.pruner.execute(() -> {
				this.queued.remove(name);
				prune(name);
			});
		}
		catch (RejectedExecutionException ex) {
			// closing: the extra version is pruned after the next write
			this.queued.remove(name);
		}
	}

	/** Prunes again the states whose versions the retention held back. */
	void pruneHeldBack() {
		for (String name : this.heldBack) {
			this.heldBack.remove(name);
			schedule(name);
		}
	}

	private void prune(String name) {
		Path versions = this.layout.versionsDir(name);
		try {
			List<Long> revisions = StoreLayout.versionRevisions(this.io, versions);
			List<Long> kept = kept(name, revisions);
			if (kept.size() > this.versionsKept) {
				this.heldBack.add(name);
			}
			for (Long revision : revisions) {
				if (!kept.contains(revision) && this.io.delete(StoreLayout.versionFile(versions, revision))) {
					this.meters.versionPruned();
				}
			}
		}
		catch (IOException | RuntimeException ex) {
			// the write is durable; an extra old version is harmless and pruned next time
			logger.warn("Could not prune old versions of '{}': {}", name, ex.toString());
		}
	}

	/**
	 * Waits until every prune queued so far has run.
	 * @param timeout how long to wait at most
	 * @return whether they all ran in time
	 */
	boolean awaitPruned(Duration timeout) {
		try {
			this.pruner.submit(() -> {
			}).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
			return true;
		}
		catch (TimeoutException | ExecutionException | RejectedExecutionException ex) {
			return false;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return false;
		}
	}

	/** Lets queued prunes finish (at most 10 s), then stops. */
	@Override
	public void close() {
		this.pruner.shutdown();
		try {
			if (!this.pruner.awaitTermination(10, TimeUnit.SECONDS)) {
				logger.warn("Pruning did not finish within 10 s; stopping it");
				this.pruner.shutdownNow();
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			this.pruner.shutdownNow();
		}
	}

}
