package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.storage.StorageException.Reason;

import static io.statekeeper.storage.StorageTestSupport.body;
import static io.statekeeper.storage.StorageTestSupport.current;
import static io.statekeeper.storage.StorageTestSupport.properties;
import static io.statekeeper.storage.StorageTestSupport.tempFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Real faults from a real file system: a small tmpfs that runs out of bytes or inodes,
 * and one remounted read-only. Needs root (to mount); skipped with the reason elsewhere.
 */
@org.junit.jupiter.api.Tag("reliability")
class RealFaultIT {

	@TempDir
	Path base;

	private Path mount;

	private FileStateRepository repository;

	@BeforeEach
	void mountTmpfs() throws Exception {
		this.mount = Tmpfs.mountOrSkip(this.base, "size=2m,nr_inodes=64,mode=0700");
	}

	@AfterEach
	void unmount() throws Exception {
		if (this.repository != null) {
			this.repository.close();
		}
		if (this.mount != null) {
			Tmpfs.unmount(this.mount);
		}
	}

	private static String run(String... command) throws IOException, InterruptedException {
		return Tmpfs.run(command);
	}

	private FileStateRepository open(StorageIo io) {
		this.repository = new FileStateRepository(properties(this.mount.resolve("data")), io,
				java.time.Clock.systemUTC(), new SimpleMeterRegistry());
		this.repository.loadAll();
		return this.repository;
	}

	private static byte[] state(int size) {
		StringBuilder json = new StringBuilder("{\"version\":1,\"resources\":{},\"metadata\":{\"pad\":\"");
		while (json.length() < size - 3) {
			json.append('x');
		}
		return json.append("\"}}").toString().getBytes();
	}

	private Path dataDir() {
		return this.mount.resolve("data");
	}

	@Test
	void runningOutOfBytesMidWriteIsNoSpaceAndLosesNothing() throws IOException {
		// the free-space check passes (another writer fills the disk after it): the write
		// itself hits ENOSPC
		FaultyStorageIo io = new FaultyStorageIo();
		io.reportFreeSpace(Long.MAX_VALUE / 4);
		FileStateRepository store = open(io);
		VersionHeader first = store.write("prod", null, 1, state(100_000), Instant.now());
		Path filler = this.mount.resolve("filler");
		fill(filler);

		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> store.write("prod", first, 2, state(600_000), Instant.now()))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.NO_SPACE));

		assertThat(body(current(dataDir(), "prod"))).isEqualTo(state(100_000));
		assertThat(tempFiles(dataDir())).isEmpty();
		Files.delete(filler);
		VersionHeader second = store.write("prod", first, 3, state(600_000), Instant.now());
		assertThat(body(current(dataDir(), "prod"))).isEqualTo(state(600_000));
		assertThat(second.revision()).isEqualTo(3);
	}

	@Test
	void theFreeSpaceCheckRefusesAWriteThatCannotFit() throws IOException {
		FileStateRepository store = open(new StorageIo());
		VersionHeader first = store.write("prod", null, 1, state(100_000), Instant.now());

		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> store.write("prod", first, 2, state(1_500_000), Instant.now()))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.NO_SPACE));
		assertThat(body(current(dataDir(), "prod"))).isEqualTo(state(100_000));
		assertThat(tempFiles(dataDir())).isEmpty();
	}

	@Test
	void runningOutOfInodesWithBytesFreeIsNoSpaceToo() throws IOException {
		FileStateRepository store = open(new StorageIo());
		VersionHeader first = store.write("prod", null, 1, state(1_000), Instant.now());
		List<Path> fillers = new ArrayList<>();
		try {
			for (int i = 0; i < 1000; i++) {
				fillers.add(Files.createFile(this.mount.resolve("inode-" + i)));
			}
		}
		catch (IOException ex) {
			assertThat(ex.getMessage()).contains("No space left on device");
		}

		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> store.write("prod", first, 2, state(1_000), Instant.now()))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.NO_SPACE));
		assertThat(body(current(dataDir(), "prod"))).isEqualTo(state(1_000));

		for (Path filler : fillers) {
			Files.delete(filler);
		}
		store.write("prod", first, 3, state(2_000), Instant.now());
		assertThat(body(current(dataDir(), "prod"))).isEqualTo(state(2_000));
	}

	@Test
	void aReadOnlyFileSystemIsReadOnlyAndLosesNothing() throws Exception {
		FileStateRepository store = open(new StorageIo());
		VersionHeader first = store.write("prod", null, 1, state(1_000), Instant.now());
		// a read-only bind mount over the data directory: the open lock file keeps the
		// tmpfs itself busy
		String data = dataDir().toString();
		assertThat(run("mount", "--bind", data, data)).isNull();
		assertThat(run("mount", "-o", "remount,bind,ro", data)).isNull();

		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> store.write("prod", first, 2, state(2_000), Instant.now()))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.READ_ONLY));
		assertThat(body(current(dataDir(), "prod"))).isEqualTo(state(1_000));

		assertThat(run("umount", data)).isNull();
		store.write("prod", first, 3, state(2_000), Instant.now());
		assertThat(body(current(dataDir(), "prod"))).isEqualTo(state(2_000));
		assertThat(tempFiles(dataDir())).isEmpty();
	}

	private static void fill(Path filler) {
		byte[] chunk = new byte[64 * 1024];
		try (var out = Files.newOutputStream(filler)) {
			while (true) {
				out.write(chunk);
			}
		}
		catch (IOException ex) {
			assertThat(ex.getMessage()).contains("No space left on device");
		}
	}

}
