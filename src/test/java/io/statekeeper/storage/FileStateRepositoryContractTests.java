package io.statekeeper.storage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage contract, honoured by the file engine.
 */
class FileStateRepositoryContractTests extends StateRepositoryContract {

	@TempDir
	Path dataDir;

	@Override
	StateRepository open(int backupsKept) {
		FileStateRepository repository = new FileStateRepository(
				StorageTestSupport.properties(this.dataDir, backupsKept, StorageProperties.OnCorruption.HOLD),
				new StorageIo(), Clock.systemUTC(), new SimpleMeterRegistry());
		repository.loadAll();
		repository.loadLocks();
		return repository;
	}

	@Override
	void close(StateRepository repository) {
		((FileStateRepository) repository).close();
	}

	@Override
	void corrupt(String name, long revision) throws Exception {
		Path dir = StorageTestSupport.stateDir(this.dataDir, name);
		Path current = dir.resolve("current.json");
		Path file = (Files.readString(current).contains("\"revision\":" + revision + ",")) ? current
				: dir.resolve("versions").resolve(revision + ".json");
		byte[] bytes = Files.readAllBytes(file);
		bytes[bytes.length - 3] ^= 1;
		Files.write(file, bytes);
	}

}
