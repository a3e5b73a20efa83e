package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.stereotype.Repository;

import io.statekeeper.storage.StorageException.Reason;

/**
 * The file-system {@link StateRepository}: one directory per state, every write made
 * durable with the recipe described in this package's documentation. Every file-system
 * call goes through {@link StorageIo}. The engine is split along its seams:
 * <ul>
 * <li>{@link StoreLayout}: where what lives;</li>
 * <li>{@link DurableWriter}: the write recipe;</li>
 * <li>{@link StartupRecovery}: start-up recovery and the corruption policy;</li>
 * <li>{@link VersionPruner}: history beyond {@code backups-kept}, behind the writes;</li>
 * <li>{@link Quarantine}: damaged files moved aside;</li>
 * <li>{@link VersionFormat}: the version file format;</li>
 * <li>{@link StorageMeters}, {@link StorageFailures}: what is counted, and how failures
 * are told apart.</li>
 * </ul>
 * This class holds the data-directory lock, encrypts and decrypts through the
 * {@link StateCipher}, reads versions, and hands writes to the writer.
 */
@Repository
@ConditionalOnProperty(prefix = "statekeeper.storage", name = "type", havingValue = "file", matchIfMissing = true)
public class FileStateRepository implements StateRepository, AutoCloseable {

	private static final byte[] EMPTY = new byte[0];

	private static final String EMPTY_SHA256 = Sha256.hex(EMPTY);

	private final StorageIo io;

	private final StoreLayout layout;

	private final long minFreeSpace;

	private final DataDirectoryLock lock;

	private final StorageMeters meters;

	private final StateCipher cipher;

	private final VersionPruner pruner;

	private final DurableWriter writer;

	private final Quarantine quarantine;

	private final StartupRecovery recovery;

	private final LockFiles locks;

	/**
	 * A repository that stores bodies as they are (no encryption).
	 */
	public FileStateRepository(StorageProperties properties, StorageIo io, Clock clock, MeterRegistry registry) {
		this(properties, io, clock, registry, StateCipher.none());
	}

	@Autowired
	public FileStateRepository(StorageProperties properties, StorageIo io, Clock clock, MeterRegistry registry,
			StateCipher cipher) {
		this.io = io;
		this.cipher = cipher;
		this.layout = new StoreLayout(properties.dataDir());
		this.minFreeSpace = properties.minFreeSpace().toBytes();
		this.meters = new StorageMeters(registry);
		this.pruner = new VersionPruner(io, this.layout, properties.backupsKept(), this.meters);
		this.writer = new DurableWriter(io, this.layout, this.minFreeSpace, this.meters, this.pruner::schedule);
		this.quarantine = new Quarantine(io, this.layout, clock, this.meters);
		this.recovery = new StartupRecovery(this, io, this.layout, this.meters, this.quarantine,
				properties.onCorruption(), clock);
		this.locks = new LockFiles(io, this.layout, this.writer, this.quarantine, clock);
		prepareDataDirectory();
		this.lock = DataDirectoryLock.acquire(this.layout.dataDir());
		try {
			this.io.createDirectory(this.layout.statesDir());
			this.io.createDirectory(this.layout.quarantineDir());
			this.io.createDirectory(this.layout.locksDir());
			this.writer.probe();
		}
		catch (IOException | RuntimeException ex) {
			this.lock.close();
			throw new IllegalStateException("The data directory " + this.layout.dataDir() + " is not writable: " + ex,
					ex);
		}
		Gauge
			.builder("statekeeper.storage.writable", this.writer, (writer) -> (writer.readOnlyReason() == null) ? 1 : 0)
			.description("1 while the store accepts writes, 0 once it refuses them until a restart")
			.register(registry);
		Gauge.builder("statekeeper.storage.free", this, (store) -> store.status().freeBytes())
			.description("Bytes usable on the data directory's file system")
			.baseUnit("bytes")
			.register(registry);
		Gauge.builder("statekeeper.storage.min.free", this, (store) -> store.minFreeSpace)
			.description("Configured free-space margin (min-free-space)")
			.baseUnit("bytes")
			.register(registry);
	}

	@Override
	public Map<String, StoredLock> loadLocks() {
		return this.locks.loadAll();
	}

	@Override
	public void writeLock(StoredLock lock) {
		this.locks.write(lock);
	}

	@Override
	public void deleteLock(String name) {
		this.locks.delete(name);
	}

	@Override
	public void setRetention(VersionRetention retention) {
		this.pruner.setRetention(retention);
	}

	private void prepareDataDirectory() {
		Path dataDir = this.layout.dataDir();
		try {
			Path parent = dataDir.getParent();
			if (parent != null) {
				Files.createDirectories(parent);
			}
			this.io.createDirectory(dataDir);
		}
		catch (IOException | RuntimeException ex) {
			throw new IllegalStateException("Cannot create the data directory " + dataDir + ": " + ex, ex);
		}
	}

	// ------------------------------------------------------------------ writes

	@Override
	public VersionHeader write(String name, VersionHeader previous, long revision, ChecksummedBody body,
			Instant updatedAt, VersionHeader.Audit audit, LockFence fence, Runnable beforePublish) {
		// one process: the service changes locks and admits writes under one lock, so the
		// fence has nothing to add
		if (!this.cipher.active()) {
			return this.writer.commit(new VersionHeader(VersionFormat.FORMAT, name, revision, body.bytes().length,
					body.sha256(), updatedAt, false)
				.withAudit(audit), body.bytes(), previous, beforePublish);
		}
		byte[] stored = this.cipher.encrypt(name, revision, body.bytes());
		VersionHeader header = new VersionHeader(VersionFormat.FORMAT, name, revision, stored.length,
				Sha256.hex(stored), updatedAt, false, this.cipher.activeKey(), (long) body.bytes().length,
				body.sha256(), audit);
		return this.writer.commit(header, stored, previous, beforePublish);
	}

	@Override
	public VersionHeader delete(String name, VersionHeader previous, long revision, Instant deletedAt,
			VersionHeader.Audit audit, LockFence fence) {
		VersionHeader tombstone = new VersionHeader(VersionFormat.FORMAT, name, revision, 0, EMPTY_SHA256, deletedAt,
				true)
			.withAudit(audit);
		return this.writer.commit(tombstone, EMPTY, previous, () -> {
		});
	}

	/**
	 * The state itself from a verified stored version: decrypted (and checked against
	 * {@code plainSha256}) when its header names a key.
	 */
	StoredVersion plain(StoredVersion stored) throws GeneralSecurityException {
		VersionHeader header = stored.header();
		if (header.key() == null || stored.body() == null) {
			return stored;
		}
		byte[] plain = this.cipher.decrypt(header, stored.body());
		if (!Sha256.hex(plain).equals(header.plainSha256())) {
			throw new GeneralSecurityException("decrypted body does not match plainSha256");
		}
		return new StoredVersion(header, plain);
	}

	/**
	 * Stops start-up at a file whose key is not configured: never a silently unreadable
	 * state.
	 */
	void requireKnownKey(VersionHeader header, Path file) {
		if (header.key() != null && !this.cipher.knows(header.key())) {
			throw new IllegalStateException(file + " is encrypted with key '" + header.key()
					+ "', which is not configured (statekeeper.encryption.keys): keep every key that encrypted a kept "
					+ "version");
		}
	}

	@Override
	public void pruneHeldBack() {
		this.pruner.pruneHeldBack();
	}

	/**
	 * Waits until every prune queued so far has run.
	 * @param timeout how long to wait at most
	 * @return whether they all ran in time
	 */
	public boolean awaitPruned(Duration timeout) {
		return this.pruner.awaitPruned(timeout);
	}

	// ------------------------------------------------------------------ reads

	@Override
	public List<VersionHeader> versions(String name) {
		Path versions = this.layout.versionsDir(name);
		List<VersionHeader> headers = new ArrayList<>();
		try {
			for (Long revision : this.pruner.kept(name, StoreLayout.versionRevisions(this.io, versions))) {
				Path file = StoreLayout.versionFile(versions, revision);
				try {
					headers.add(VersionFormat.readHeader(this.io, file, name, revision));
				}
				catch (CorruptVersionException ex) {
					this.quarantine.move(name, file, ex.getMessage());
				}
				catch (NoSuchFileException ex) {
					// pruned meanwhile
				}
			}
		}
		catch (IOException ex) {
			throw StorageFailures.failure("list the versions of '" + name + "'", ex);
		}
		return headers;
	}

	@Override
	public StoredVersion readVersion(String name, long revision) {
		Path versions = this.layout.versionsDir(name);
		Path file = StoreLayout.versionFile(versions, revision);
		try {
			if (revision < 1
					|| !this.pruner.kept(name, StoreLayout.versionRevisions(this.io, versions)).contains(revision)) {
				return null;
			}
			return plain(VersionFormat.read(this.io, file, name, revision, true));
		}
		catch (GeneralSecurityException ex) {
			throw new StorageException(Reason.IO_ERROR,
					"Revision " + revision + " of '" + name + "' cannot be decrypted: " + ex.getMessage(), ex);
		}
		catch (CorruptVersionException ex) {
			this.quarantine.move(name, file, ex.getMessage());
			throw new StorageException(Reason.CORRUPT,
					"Revision " + revision + " of '" + name + "' is damaged and was moved to quarantine", ex);
		}
		catch (NoSuchFileException ex) {
			return null;
		}
		catch (IOException ex) {
			throw StorageFailures.failure("read revision " + revision + " of '" + name + "'", ex);
		}
	}

	@Override
	public StorageStatus status() {
		long free;
		try {
			free = this.io.usableSpace(this.layout.statesDir());
		}
		catch (IOException | RuntimeException ex) {
			free = -1;
		}
		return new StorageStatus(this.layout.dataDir(), free, this.minFreeSpace, this.lock.isHeld(),
				this.writer.readOnlyReason(), this.meters.versionsKept(), this.meters.quarantinedFiles(), "file",
				this.lock.isHeld() ? null : "the data-directory lock is not held");
	}

	// ------------------------------------------------------------------ recovery

	/**
	 * {@inheritDoc}
	 * <p>
	 * See {@link StartupRecovery}.
	 */
	@Override
	public List<LoadedState> loadAll() {
		return this.recovery.recoverAll();
	}

	/**
	 * Lets queued prunes finish (they must not touch the directory once its lock is
	 * released), then releases the data directory.
	 */
	@Override
	public void close() {
		this.pruner.close();
		this.writer.close();
		this.lock.close();
	}

}
