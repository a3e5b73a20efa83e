package io.statekeeper.storage;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * What every {@link StateRepository} must honour, whatever keeps the states: one suite,
 * run against each engine ({@link FileStateRepositoryContractTests}, and the PostgreSQL
 * engine on a real server in {@code PostgresStateRepositoryContractIT}). Each test opens
 * the store again to stand for a restart.
 */
abstract class StateRepositoryContract {

	/** A repository on this test's store (the same store every time: a restart). */
	abstract StateRepository open(int backupsKept);

	abstract void close(StateRepository repository);

	/**
	 * Changes one byte of the stored bytes of a version, as a bad disk or a hand would.
	 */
	abstract void corrupt(String name, long revision) throws Exception;

	static byte[] state(String marker) {
		return ("{\"version\":1,\"resources\":{\"m\":\"" + marker + "\"},\"metadata\":{}}")
			.getBytes(StandardCharsets.UTF_8);
	}

	private static LoadedState loaded(StateRepository repository, String name) {
		return repository.loadAll().stream().filter((state) -> state.name().equals(name)).findFirst().orElseThrow();
	}

	@Test
	void aWriteIsThereAfterARestartByteForByte() {
		StateRepository repository = open(2);
		VersionHeader first = repository.write("a", null, 1, state("one"), Instant.now(),
				new VersionHeader.Audit("put", "ci", "10.0.0.1"));
		repository.write("a", first, 2, state("two"), Instant.now());
		close(repository);
		repository = open(2);
		LoadedState a = loaded(repository, "a");
		assertThat(a.condition()).isEqualTo(LoadedState.Condition.OK);
		assertThat(a.current().body()).isEqualTo(state("two"));
		assertThat(a.current().header().revision()).isEqualTo(2);
		assertThat(a.lastRevision()).isEqualTo(2);
		assertThat(repository.readVersion("a", 1).body()).isEqualTo(state("one"));
		assertThat(repository.readVersion("a", 1).header().audit().token()).isEqualTo("ci");
		assertThat(repository.readVersion("a", 9)).isNull();
		close(repository);
	}

	@Test
	void aDeleteIsATombstoneThatKeepsTheHistoryAndTheRevisionCounter() {
		StateRepository repository = open(5);
		VersionHeader one = repository.write("d", null, 1, state("one"), Instant.now());
		VersionHeader gone = repository.delete("d", one, 2, Instant.now());
		assertThat(gone.deleted()).isTrue();
		close(repository);
		repository = open(5);
		LoadedState d = loaded(repository, "d");
		assertThat(d.current().header().deleted()).isTrue();
		assertThat(d.lastRevision()).isEqualTo(2);
		assertThat(repository.versions("d")).extracting(VersionHeader::revision).containsExactly(1L);
		VersionHeader three = repository.write("d", d.current().header(), 3, state("three"), Instant.now());
		assertThat(three.revision()).isEqualTo(3);
		close(repository);
	}

	@Test
	void theHistoryKeepsTheNewestBackupsKeptVersions() {
		StateRepository repository = open(2);
		VersionHeader previous = null;
		for (int revision = 1; revision <= 5; revision++) {
			previous = repository.write("h", previous, revision, state("r" + revision), Instant.now());
		}
		if (repository instanceof FileStateRepository file) {
			assertThat(file.awaitPruned(java.time.Duration.ofSeconds(10))).isTrue();
		}
		assertThat(repository.versions("h")).extracting(VersionHeader::revision).containsExactly(4L, 3L);
		close(repository);
	}

	/**
	 * Writes revisions 1 and 2 of {@code name}, damages one of them while the store is
	 * closed, and opens it again.
	 */
	private StateRepository twoRevisionsThenDamage(String name, long damaged) throws Exception {
		StateRepository repository = open(3);
		VersionHeader one = repository.write(name, null, 1, state("one"), Instant.now());
		repository.write(name, one, 2, state("two"), Instant.now());
		close(repository);
		corrupt(name, damaged);
		return open(3);
	}

	@Test
	void aDamagedKeptVersionIsReportedAndNeverServed() throws Exception {
		StateRepository repository = twoRevisionsThenDamage("k", 1);
		// found at start-up and set aside (no longer a kept version), or refused when
		// read
		StoredVersion served = null;
		try {
			served = repository.readVersion("k", 1);
			assertThat(repository.versions("k")).extracting(VersionHeader::revision).doesNotContain(1L);
		}
		catch (StorageException ex) {
			assertThat(ex.getReason()).isEqualTo(StorageException.Reason.CORRUPT);
		}
		assertThat(served).isNull();
		assertThat(loaded(repository, "k").current().body()).isEqualTo(state("two"));
		close(repository);
	}

	@Test
	void aDamagedCurrentVersionIsHeldWithTheValidRevisions() throws Exception {
		StateRepository repository = twoRevisionsThenDamage("c", 2);
		LoadedState c = loaded(repository, "c");
		assertThat(c.condition()).isEqualTo(LoadedState.Condition.HELD);
		assertThat(c.validRevisions()).containsExactly(1L);
		assertThat(c.lastRevision()).isEqualTo(2);
		close(repository);
	}

	@Test
	void aWriteWhoseLastWordThrowsLeavesTheStoreAsItWas() {
		StateRepository repository = open(3);
		VersionHeader one = repository.write("w", null, 1, state("one"), Instant.now());
		assertThatExceptionOfType(IllegalStateException.class).isThrownBy(() -> repository.write("w", one, 2,
				ChecksummedBody.of(state("two")), Instant.now(), null, LockFence.NONE, () -> {
					throw new IllegalStateException("refused at the last moment");
				}));
		close(repository);
		StateRepository reopened = open(3);
		assertThat(loaded(reopened, "w").current().body()).isEqualTo(state("one"));
		assertThat(reopened.versions("w")).isEmpty();
		close(reopened);
	}

	@Test
	void locksAreKeptExactlyAndRemoved() {
		StateRepository repository = open(3);
		Instant at = Instant.parse("2026-12-06T10:00:00Z");
		byte[] info = "{\"ID\":\"id-1\",\"Who\":\"ünïcode\"}".getBytes(StandardCharsets.UTF_8);
		repository.writeLock(new StoredLock("l", "id-1", info, at, at.plusSeconds(60)));
		repository.writeLock(new StoredLock("m", "id-2", info, at, at.plusSeconds(60)));
		repository.writeLock(new StoredLock("l", "id-3", info, at, at.plusSeconds(120)));
		repository.deleteLock("m");
		repository.deleteLock("never");
		close(repository);
		repository = open(3);
		Map<String, StoredLock> locks = repository.loadLocks();
		assertThat(locks).containsOnlyKeys("l");
		assertThat(locks.get("l")).isEqualTo(new StoredLock("l", "id-3", info, at, at.plusSeconds(120)));
		assertThat(List.copyOf(locks.values())).hasSize(1);
		close(repository);
	}

}
