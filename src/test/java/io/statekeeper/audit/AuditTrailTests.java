package io.statekeeper.audit;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.util.unit.DataSize;

import io.statekeeper.security.SecurityProperties;
import io.statekeeper.state.Precondition;
import io.statekeeper.state.StateProblemException;
import io.statekeeper.state.StateService;
import io.statekeeper.state.StateValidator;
import io.statekeeper.state.StateWriteEvent;
import io.statekeeper.storage.FileStateRepository;
import io.statekeeper.storage.StorageProperties;
import io.statekeeper.storage.StorageTestSupport;
import io.statekeeper.storage.VersionHeader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The audit trail's group commit: which entries wait for it, and the barrier that makes
 * an entry durable before its version may leave the disk. The flusher is set to an hour,
 * so only those rules make anything durable here.
 */
class AuditTrailTests {

	@TempDir
	Path dataDir;

	private FileStateRepository repository;

	private AuditTrail trail;

	private StateService service;

	private void start(int backupsKept) {
		StorageProperties properties = StorageTestSupport.properties(this.dataDir, backupsKept,
				StorageProperties.OnCorruption.HOLD);
		SimpleMeterRegistry registry = new SimpleMeterRegistry();
		this.repository = StorageTestSupport.open(properties, new io.statekeeper.storage.StorageIo(), registry);
		this.trail = new AuditTrail(properties,
				new SecurityProperties(List.of(), DataSize.ofMegabytes(64), Duration.ofHours(1), 16, null),
				Clock.systemUTC(), registry, this.repository, new io.statekeeper.storage.StorageIo());
		this.repository.setRetention(this.trail);
		this.service = new StateService(this.repository, new StateValidator(properties), properties, Clock.systemUTC(),
				registry, (event) -> this.trail.written((StateWriteEvent) event), this.trail);
	}

	@AfterEach
	void stop() {
		this.trail.close();
		this.repository.close();
	}

	private void put(String name) {
		this.service.put(name, StorageTestSupport.state(name), Precondition.parse(null, null));
	}

	@Test
	void aSuccessfulWriteDoesNotWaitForTheLogWhileItsVersionStaysOnDisk() {
		start(2);
		put("a");
		put("a");
		put("a");
		put("b");
		assertThat(this.trail.durable()).isZero();
	}

	@Test
	void pruningLeavesAVersionOnDiskUntilItsEntryIsDurable() {
		start(2);
		for (int i = 0; i < 4; i++) {
			put("a");
		}
		// backups-kept 2 would prune revision 1; its entry is not durable yet
		assertThat(this.trail.durable()).isZero();
		assertThat(revisions("a")).containsExactly(3L, 2L, 1L);
		this.trail.sync();
		put("a");
		assertThat(revisions("a")).containsExactly(4L, 3L);
	}

	@Test
	void theFlusherPrunesWhatWasHeldBackWithoutWaitingForAnotherWrite() {
		start(1);
		for (int i = 0; i < 4; i++) {
			put("a");
		}
		assertThat(revisions("a")).containsExactly(3L, 2L, 1L);
		this.trail.flush();
		assertThat(this.trail.durable()).isEqualTo(4);
		assertThat(revisions("a")).containsExactly(3L);
		assertThat(this.repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
		assertThat(this.dataDir.resolve("states/a/versions/3.json")).exists();
		assertThat(this.dataDir.resolve("states/a/versions/2.json")).doesNotExist();
		assertThat(this.dataDir.resolve("states/a/versions/1.json")).doesNotExist();
	}

	private List<Long> revisions(String name) {
		return this.repository.versions(name).stream().map(VersionHeader::revision).toList();
	}

	@Test
	void withNoBackupsTheReplacedVersionsEntryIsDurableFirst() {
		start(0);
		put("a");
		assertThat(this.trail.durable()).isZero();
		put("a");
		assertThat(this.trail.durable()).isGreaterThanOrEqualTo(1);
	}

	@Test
	void aTombstoneIsNotKeptSoItsEntryIsDurableBeforeTheNextWrite() {
		start(5);
		put("a");
		this.service.delete("a", Precondition.parse(null, null));
		assertThat(this.trail.durable()).isZero();
		put("a");
		assertThat(this.trail.durable()).isGreaterThanOrEqualTo(2);
	}

	@Test
	void aRefusedWriteLeavesNothingOnDiskSoItsEntryIsDurableAtOnce() {
		start(5);
		put("a");
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.put("a", "{}".getBytes(), Precondition.parse(null, null)));
		assertThat(this.trail.durable()).isEqualTo(2);
	}

}
