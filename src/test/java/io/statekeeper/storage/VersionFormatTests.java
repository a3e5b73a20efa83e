package io.statekeeper.storage;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Headers across releases (DESIGN §14): a field a newer writer added is read past, a
 * header of the previous release (no audit anchor) still reads, and the CRC still tells
 * damage from an addition.
 */
class VersionFormatTests {

	private static final Path FILE = Path.of("current.json");

	@org.junit.jupiter.api.io.TempDir
	Path dataDir;

	/** A header line as a writer that knows more fields would seal it. */
	private static byte[] sealed(String json) {
		CRC32C crc = new CRC32C();
		byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
		crc.update(bytes);
		return (json.substring(0, json.length() - 1) + ",\"crc32c\":\"" + String.format("%08x", crc.getValue()) + "\"}")
			.getBytes(StandardCharsets.UTF_8);
	}

	private static VersionHeader decode(byte[] line) throws CorruptVersionException, NewerFormatException {
		return VersionFormat.decodeHeader(FILE, line, line.length);
	}

	@Test
	void aFieldANewerWriterAddedIsReadPastAtEveryLevel() throws Exception {
		byte[] line = sealed("{\"format\":1,\"name\":\"prod\",\"revision\":3,\"size\":2,\"sha256\":\"" + "a".repeat(64)
				+ "\",\"updatedAt\":\"2026-12-01T00:00:00Z\",\"audit\":{\"action\":\"put\",\"token\":\"ci\","
				+ "\"remote\":\"-\",\"logEntries\":7,\"logHead\":\"" + "b".repeat(64)
				+ "\",\"addedLater\":true},\"alsoAddedLater\":{\"x\":[1,2]}}");
		VersionHeader header = decode(line);
		assertThat(header.revision()).isEqualTo(3);
		assertThat(header.audit().logEntries()).isEqualTo(7);
		assertThat(header.audit().logHead()).isEqualTo("b".repeat(64));
	}

	@Test
	void aHeaderOfThePreviousReleaseWithoutAnAnchorStillReads() throws Exception {
		byte[] line = sealed("{\"format\":1,\"name\":\"prod\",\"revision\":3,\"size\":2,\"sha256\":\"" + "a".repeat(64)
				+ "\",\"updatedAt\":\"2026-12-01T00:00:00Z\",\"audit\":{\"action\":\"put\",\"token\":\"ci\","
				+ "\"remote\":\"-\"}}");
		assertThat(decode(line).audit()).isEqualTo(new VersionHeader.Audit("put", "ci", "-"));
	}

	@Test
	void anAddedFieldWithoutItsCrcIsDamageNotAnAddition() {
		VersionHeader header = new VersionHeader(VersionFormat.FORMAT, "prod", 3, 2, "a".repeat(64),
				Instant.parse("2026-12-01T00:00:00Z"), false);
		String line = new String(VersionFormat.encodeHeader(header), StandardCharsets.UTF_8).strip();
		byte[] edited = line.replace("\"revision\":3", "\"revision\":3,\"extra\":1").getBytes(StandardCharsets.UTF_8);
		assertThatExceptionOfType(CorruptVersionException.class).isThrownBy(() -> decode(edited))
			.withMessageContaining("crc32c mismatch");
	}

	@Test
	void aNewerFormatIsARollbackTooFarNotDamage() {
		String newer = "{\"format\":2,\"name\":\"prod\",\"revision\":3,\"size\":2,\"sha256\":\"" + "a".repeat(64)
				+ "\",\"updatedAt\":\"2026-12-01T00:00:00Z\"}";
		assertThatExceptionOfType(NewerFormatException.class).isThrownBy(() -> decode(sealed(newer)))
			.withMessageContaining("format 2, written by a newer release");
		// even when the newer format changed a field's shape so that it no longer parses
		String reshaped = newer.replace("\"revision\":3", "\"revision\":{\"n\":3}");
		assertThatExceptionOfType(NewerFormatException.class).isThrownBy(() -> decode(sealed(reshaped)));
	}

	@Test
	void startUpOnAStateOfANewerFormatStopsAndQuarantinesNothing() throws Exception {
		Path dataDir = this.dataDir;
		try (FileStateRepository repository = StorageTestSupport.open(dataDir, new StorageIo())) {
			repository.loadAll();
			repository.write("prod", null, 1, StorageTestSupport.state("a"), Instant.now());
		}
		Path current = StorageTestSupport.current(dataDir, "prod");
		byte[] file = java.nio.file.Files.readAllBytes(current);
		int newline = new String(file, StandardCharsets.ISO_8859_1).indexOf('\n');
		String header = new String(file, 0, newline, StandardCharsets.UTF_8);
		String json = header.substring(0, header.indexOf(",\"crc32c\"")).replace("\"format\":1", "\"format\":2") + "}";
		java.io.ByteArrayOutputStream rewritten = new java.io.ByteArrayOutputStream();
		rewritten.write(sealed(json));
		rewritten.write(file, newline, file.length - newline);
		java.nio.file.Files.write(current, rewritten.toByteArray());
		var before = io.statekeeper.RunningService.snapshot(dataDir);

		try (FileStateRepository repository = StorageTestSupport.open(dataDir, new StorageIo())) {
			org.assertj.core.api.Assertions.assertThatThrownBy(repository::loadAll)
				.hasMessageContaining("state 'prod'")
				.hasMessageContaining("written by a newer release")
				.hasMessageContaining("Nothing was quarantined");
		}
		assertThat(io.statekeeper.RunningService.snapshot(dataDir)).isEqualTo(before);
		assertThat(StorageTestSupport.quarantined(dataDir)).isEmpty();
	}

}
