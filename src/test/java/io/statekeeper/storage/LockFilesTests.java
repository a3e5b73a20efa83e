package io.statekeeper.storage;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * The file engine's locks across restarts: a lock is there after a restart exactly as it
 * was written, a released one is gone, a damaged one is quarantined and replaced by a
 * lock nobody holds, leftovers of interrupted lock writes are removed, and a lock file
 * from a newer release stops start-up without quarantining anything.
 */
class LockFilesTests {

	@TempDir
	Path dataDir;

	private static final Instant AT = Instant.parse("2026-12-06T10:00:00Z");

	private FileStateRepository open() {
		FileStateRepository repository = new FileStateRepository(
				StorageTestSupport.properties(this.dataDir, 2, StorageProperties.OnCorruption.HOLD), new StorageIo(),
				Clock.systemUTC(), new SimpleMeterRegistry());
		repository.loadAll();
		return repository;
	}

	private static StoredLock lock(String name, String id) {
		byte[] info = ("{\"ID\":\"" + id + "\",\"Who\":\"ci@runner\",\"Info\":\"ünïcode\"}")
			.getBytes(StandardCharsets.UTF_8);
		return new StoredLock(name, id, info, AT, AT.plus(2, ChronoUnit.HOURS));
	}

	/**
	 * Writes the lock of {@code prod} by {@code id-1} and returns its file as written.
	 */
	private String writeOneLock() throws java.io.IOException {
		try (FileStateRepository repository = open()) {
			repository.writeLock(lock("prod", "id-1"));
		}
		return Files.readString(lockFile("prod"));
	}

	private Path lockFile(String name) {
		return this.dataDir.resolve("locks").resolve(name + ".json");
	}

	@Test
	void aLockIsThereAfterARestartExactlyAsWrittenAndAReleasedOneIsGone() throws Exception {
		try (FileStateRepository repository = open()) {
			assertThat(repository.loadLocks()).isEmpty();
			repository.writeLock(lock("prod", "id-1"));
			repository.writeLock(lock("stage", "id-2"));
			repository.writeLock(lock("prod", "id-3"));
			repository.deleteLock("stage");
			repository.deleteLock("never-locked");
		}
		assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(lockFile("prod"))))
			.isEqualTo("rw-------");
		try (FileStateRepository repository = open()) {
			Map<String, StoredLock> locks = repository.loadLocks();
			assertThat(locks).containsOnlyKeys("prod");
			assertThat(locks.get("prod")).isEqualTo(lock("prod", "id-3"));
		}
	}

	@Test
	void aDamagedLockIsQuarantinedAndLeavesALockNobodyHolds() throws Exception {
		String file = writeOneLock();
		Files.writeString(lockFile("prod"), file.replace("ci@runner", "ci@intruder"));
		try (FileStateRepository repository = open()) {
			StoredLock damaged = repository.loadLocks().get("prod");
			assertThat(damaged.id()).isEqualTo(StoredLock.DAMAGED_ID);
			assertThat(damaged.expired(Instant.now())).isTrue();
		}
		assertThat(lockFile("prod")).doesNotExist();
		assertThat(StorageTestSupport.quarantined(this.dataDir)).singleElement()
			.satisfies((quarantined) -> assertThat(Files.readString(quarantined)).contains("ci@intruder"));
	}

	@Test
	void leftoversOfInterruptedLockWritesAreRemovedAndOtherNamesIgnored() throws Exception {
		try (FileStateRepository repository = open()) {
			repository.writeLock(lock("prod", "id-1"));
		}
		Files.writeString(this.dataDir.resolve("locks/.tmp-prod.json-0123"), "{\"format\":1,");
		Files.writeString(this.dataDir.resolve("locks/not a state.json"), "{}");
		try (FileStateRepository repository = open()) {
			assertThat(repository.loadLocks()).containsOnlyKeys("prod");
		}
		assertThat(StorageTestSupport.tempFiles(this.dataDir)).isEmpty();
		assertThat(this.dataDir.resolve("locks/not a state.json")).exists();
	}

	@Test
	void unknownFieldsAreIgnoredAndANewerFormatStopsStartUpWithoutQuarantine() throws Exception {
		String file = writeOneLock();
		Files.writeString(lockFile("prod"), file.replace("{\"format\":1,", "{\"format\":1,\"addedLater\":true,"));
		try (FileStateRepository repository = open()) {
			assertThat(repository.loadLocks().get("prod")).isEqualTo(lock("prod", "id-1"));
		}
		Files.writeString(lockFile("prod"), file.replace("{\"format\":1,", "{\"format\":2,"));
		try (FileStateRepository repository = open()) {
			assertThatIllegalStateException().isThrownBy(repository::loadLocks)
				.withMessageContaining("format 2, written by a newer release")
				.withMessageContaining("Nothing was quarantined");
		}
		assertThat(lockFile("prod")).exists();
		assertThat(this.dataDir.resolve("quarantine")).isEmptyDirectory();
	}

}
