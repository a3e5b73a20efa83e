package io.statekeeper.storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * Encryption at rest: AES-256-GCM bodies, keys named in the header, rotation, and clear
 * start-up failures for a missing or wrong key.
 */
class EncryptionTests {

	@TempDir
	Path dataDir;

	@TempDir
	Path keys;

	private final byte[] secret = StorageTestSupport.state("password=hunter2");

	private Path key(String name) throws IOException {
		byte[] bytes = new byte[32];
		new SecureRandom().nextBytes(bytes);
		return Files.writeString(this.keys.resolve(name), Base64.getEncoder().encodeToString(bytes) + "\n");
	}

	private static StateCipher cipher(String active, Object... idsAndFiles) {
		List<EncryptionProperties.Key> list = new java.util.ArrayList<>();
		for (int i = 0; i < idsAndFiles.length; i += 2) {
			list.add(new EncryptionProperties.Key((String) idsAndFiles[i], (Path) idsAndFiles[i + 1]));
		}
		return StateCipher.of(new EncryptionProperties(list, active));
	}

	private FileStateRepository open(StateCipher cipher) {
		return new FileStateRepository(StorageTestSupport.properties(this.dataDir), new StorageIo(), Clock.systemUTC(),
				new SimpleMeterRegistry(), cipher);
	}

	@Test
	void bodiesAreEncryptedOnDiskAndReadBackAsWritten() throws IOException {
		Path k1 = key("k1");
		VersionHeader header;
		try (FileStateRepository repository = open(cipher("k1", "k1", k1))) {
			repository.loadAll();
			header = repository.write("prod", null, 1, this.secret, Instant.now());
		}
		byte[] file = Files.readAllBytes(StorageTestSupport.current(this.dataDir, "prod"));
		assertThat(new String(file, StandardCharsets.ISO_8859_1)).doesNotContain("hunter2").contains("\"key\":\"k1\"");
		assertThat(header.checksum()).isEqualTo("sha256:" + Sha256.hex(this.secret));
		assertThat(header.stateSize()).isEqualTo(this.secret.length);

		try (FileStateRepository repository = open(cipher("k1", "k1", k1))) {
			LoadedState loaded = repository.loadAll().get(0);
			assertThat(loaded.current().body()).isEqualTo(this.secret);
			assertThat(loaded.current().header()).isEqualTo(header);
		}
	}

	@Test
	void startUpVerifiesEncryptedFilesWithoutAnyKey() throws IOException, CorruptVersionException {
		try (FileStateRepository repository = open(cipher("k1", "k1", key("k1")))) {
			repository.loadAll();
			repository.write("prod", null, 1, this.secret, Instant.now());
		}
		Path current = StorageTestSupport.current(this.dataDir, "prod");
		StoredVersion verified = VersionFormat.read(new StorageIo(), current, "prod", 1, false);
		assertThat(verified.header().key()).isEqualTo("k1");
		Files.write(current, Damage.BODY_BYTE_FLIPPED.apply(Files.readAllBytes(current)));
		org.assertj.core.api.Assertions.assertThatExceptionOfType(CorruptVersionException.class)
			.isThrownBy(() -> VersionFormat.read(new StorageIo(), current, "prod", 1, false));
	}

	@Test
	void afterRotationOldVersionsStayReadableWithTheirKey() throws IOException {
		Path k1 = key("k1");
		Path k2 = key("k2");
		byte[] second = StorageTestSupport.state("second");
		try (FileStateRepository repository = open(cipher("k1", "k1", k1))) {
			repository.loadAll();
			VersionHeader first = repository.write("prod", null, 1, this.secret, Instant.now());
			repository.close();
			try (FileStateRepository rotated = open(cipher("k2", "k1", k1, "k2", k2))) {
				rotated.loadAll();
				VersionHeader header = rotated.write("prod", first, 2, second, Instant.now());
				assertThat(header.key()).isEqualTo("k2");
			}
		}
		try (FileStateRepository repository = open(cipher("k2", "k1", k1, "k2", k2))) {
			assertThat(repository.loadAll().get(0).current().body()).isEqualTo(second);
			StoredVersion old = repository.readVersion("prod", 1);
			assertThat(old.header().key()).isEqualTo("k1");
			assertThat(old.body()).isEqualTo(this.secret);
		}
	}

	@Test
	void aMissingKeyStopsStartUpWithAClearMessage() throws IOException {
		Path k1 = key("k1");
		try (FileStateRepository repository = open(cipher("k1", "k1", k1))) {
			repository.loadAll();
			repository.write("prod", null, 1, this.secret, Instant.now());
		}
		Map<String, String> before = io.statekeeper.RunningService.snapshot(this.dataDir);
		try (FileStateRepository repository = open(cipher("k2", "k2", key("k2")))) {
			assertThatIllegalStateException().isThrownBy(repository::loadAll)
				.withMessageContaining("key 'k1'")
				.withMessageContaining("not configured");
		}
		// the refused start changed nothing on disk: nothing quarantined, nothing
		// rewritten
		assertThat(io.statekeeper.RunningService.snapshot(this.dataDir)).isEqualTo(before);
	}

	@Test
	void aWrongKeyStopsStartUpWithAClearMessage() throws IOException {
		try (FileStateRepository repository = open(cipher("k1", "k1", key("k1")))) {
			repository.loadAll();
			repository.write("prod", null, 1, this.secret, Instant.now());
		}
		Path impostor = key("other");
		Map<String, String> before = io.statekeeper.RunningService.snapshot(this.dataDir);
		try (FileStateRepository repository = open(cipher("k1", "k1", impostor))) {
			assertThatIllegalStateException().isThrownBy(repository::loadAll)
				.withMessageContaining("Cannot decrypt")
				.withMessageContaining("key 'k1'");
		}
		// the refused start changed nothing on disk: nothing quarantined, nothing
		// rewritten
		assertThat(io.statekeeper.RunningService.snapshot(this.dataDir)).isEqualTo(before);
	}

	@Test
	void badKeyConfigurationIsRefused() throws IOException {
		Path shortKey = Files.writeString(this.keys.resolve("short"), Base64.getEncoder().encodeToString(new byte[16]));
		assertThatIllegalStateException().isThrownBy(() -> cipher("k", "k", shortKey))
			.withMessageContaining("32 bytes");
		assertThatIllegalStateException().isThrownBy(() -> cipher("k", "k", this.keys.resolve("absent")))
			.withMessageContaining("Cannot read encryption key 'k'");
		Path k1 = key("k1");
		assertThatIllegalStateException().isThrownBy(() -> cipher("k9", "k1", k1)).withMessageContaining("active-key");
	}

	@Test
	void overHttpAnEncryptedStateRoundTripsWithThePlainChecksum() throws IOException {
		Path k1 = key("k1");
		try (io.statekeeper.RunningService service = io.statekeeper.RunningService.start(this.dataDir,
				"statekeeper.encryption.keys[0].id=k1", "statekeeper.encryption.keys[0].file=" + k1,
				"statekeeper.encryption.active-key=k1")) {
			var put = service.put("/api/v1/states/prod", this.secret);
			assertThat(put.statusCode()).isEqualTo(201);
			assertThat(io.statekeeper.RunningService.text(put))
				.contains("\"checksum\":\"sha256:" + Sha256.hex(this.secret) + "\"")
				.contains("\"size\":" + this.secret.length);
			assertThat(service.get("/api/v1/states/prod").body()).isEqualTo(this.secret);
		}
		assertThat(new String(Files.readAllBytes(StorageTestSupport.current(this.dataDir, "prod")),
				StandardCharsets.ISO_8859_1))
			.doesNotContain("hunter2");
	}

}
