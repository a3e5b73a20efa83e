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

	/** A header line as a writer that knows more fields would seal it. */
	private static byte[] sealed(String json) {
		CRC32C crc = new CRC32C();
		byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
		crc.update(bytes);
		return (json.substring(0, json.length() - 1) + ",\"crc32c\":\"" + String.format("%08x", crc.getValue()) + "\"}")
			.getBytes(StandardCharsets.UTF_8);
	}

	private static VersionHeader decode(byte[] line) throws CorruptVersionException {
		return VersionFormat.decodeHeader(FILE, line, line.length);
	}

	@Test
	void aFieldANewerWriterAddedIsReadPastAtEveryLevel() throws CorruptVersionException {
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
	void aHeaderOfThePreviousReleaseWithoutAnAnchorStillReads() throws CorruptVersionException {
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

}
